"""The book's two languages: English (the source) and Korean (hand-written, not generated).

Which language a message, a widget label or a figure title comes in is the *edition* the learner
works in, found in this order:

1. :func:`using` / :func:`set_language` (the grader's judge sets the edition of the notebook it grades,
   read from the notebook's ``metadata.nnbook.lang``, which ``nnbook-build`` writes);
2. the environment variable ``NNBOOK_LANG`` (``make start EDITION=ko`` sets it for the lab's kernels);
3. the notebook the kernel runs, when Jupyter says which (``JPY_SESSION_NAME``): its ``metadata.nnbook.lang``;
4. English.

Translations are GNU gettext catalogs: ``nnbook/locale/<lang>/LC_MESSAGES/nnbook.mo``, compiled by
``nnbook-build`` from ``nnbook/locale/<lang>.po`` (this library's own messages) and the chapters'
``solutions/<chapter>/i18n/<lang>.po`` (their test cells' hints, figure and widget labels). A message
without a translation stays in English. In a chapter's code, ``gettext("English text")`` marks a string to
translate (not ``_``, which a learner's ``for _ in ...`` rebinds in the kernel); ``nnbook-build`` collects every
such string and fails when a translation is missing.

Importing this module in the Korean edition also sets Matplotlib up with a font that has Hangul
(Nanum Gothic from Debian's ``fonts-nanum``, installed by ``.ci/system-deps``), so no label is drawn as boxes.
"""
from __future__ import annotations

import contextlib
import gettext as _gettext
import json
import os
import re
from pathlib import Path

__all__ = ["LANGUAGES", "language", "set_language", "using", "gettext", "_", "tr", "translate_note",
           "add_translations", "setup_matplotlib", "hangul_font", "edition_of"]

LANGUAGES = ("en", "ko")
LOCALE_DIR = Path(__file__).with_name("locale")
# Fonts with Hangul, best first: Debian's fonts-nanum, then Noto CJK and the usual desktop fonts.
HANGUL_FONTS = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic",
                "AppleGothic", "UnDotum")

_override: str | None = None
_extra: dict[str, dict[str, str]] = {}
_catalogs: dict[str, _gettext.NullTranslations] = {}


def _valid(lang) -> str | None:
    """``lang`` if it names one of the book's languages (``ko``, ``ko_KR.UTF-8`` -> ``ko``), else None."""
    if not isinstance(lang, str):
        return None
    short = lang.strip().lower()[:2]
    return short if short in LANGUAGES else None


def edition_of(nb) -> str:
    """The edition a notebook (an nbformat node or a plain dict, possibly hostile) says it is: 'en' or 'ko'."""
    try:
        meta = nb.get("metadata", {}).get("nnbook", {})
        return _valid(meta.get("lang")) or "en"
    except AttributeError:
        return "en"


_session_cache: dict[tuple, str | None] = {}


def _session_notebook_language() -> str | None:
    path = os.environ.get("JPY_SESSION_NAME", "")
    if not path.endswith(".ipynb"):
        return None
    try:
        p = Path(path)
        if not p.is_file():                  # a path relative to the server's root: the kernel runs in its folder
            p = Path.cwd() / p.name
        st = p.stat()
        if st.st_size > 50_000_000:
            return None
        # every message asks: the notebook is read again only when it changed (a test cell checks in loops)
        key = (str(p), st.st_mtime_ns, st.st_size)
        if key not in _session_cache:
            _session_cache.clear()
            _session_cache[key] = _valid(edition_of(json.loads(p.read_text(encoding="utf-8"))))
        return _session_cache[key]
    except (OSError, ValueError):
        return None


def language() -> str:
    """The current edition: 'en' or 'ko' (see the module's doc for where it comes from)."""
    return (_override or _valid(os.environ.get("NNBOOK_LANG")) or _session_notebook_language() or "en")


def set_language(lang: str | None) -> None:
    """Fix the edition for this process (None: back to the environment)."""
    global _override
    _override = _valid(lang) if lang is not None else None
    if lang is not None and _override is None:
        raise ValueError(f"unknown language {lang!r}; the book has {', '.join(LANGUAGES)}")


@contextlib.contextmanager
def using(lang: str | None):
    """``with using('ko'): ...`` -- messages in that edition inside the block."""
    global _override
    old = _override
    _override = _valid(lang) or "en"
    try:
        yield
    finally:
        _override = old


def _catalog(lang: str) -> _gettext.NullTranslations:
    if lang not in _catalogs:
        _catalogs[lang] = _gettext.translation("nnbook", localedir=str(LOCALE_DIR), languages=[lang], fallback=True)
    return _catalogs[lang]


def add_translations(lang: str, table: dict[str, str]) -> None:
    """Add ``{English: translation}`` entries at run time (the grader adds the hidden tests' own hints)."""
    _extra.setdefault(_valid(lang) or lang, {}).update(table)


def gettext(message: str) -> str:
    """``message`` in the current edition (unchanged when it is English or has no translation)."""
    return _in(language(), message)


def _in(lang: str, message: str) -> str:
    if lang == "en" or not isinstance(message, str) or not message:
        return message
    extra = _extra.get(lang, {})
    if message in extra:
        return extra[message]
    return _catalog(lang).gettext(message)


_ = gettext


def tr(template: str, **values) -> str:
    """``gettext(template).format(**values)``: a message with values, translated as a whole.

    A value that is itself a sentence (a string with a space: a test cell's ``what``, "sigmoid(z) for z
    of shape (3,)") is looked up too, so a description passed down to ``check_close`` comes out in the
    edition as well; a name without spaces (``"W1"``, ``"output"``) is code and left alone."""
    lang = language()                        # once: a test cell's checks call tr() in loops
    if lang == "en":
        return template.format(**values)
    return _in(lang, template).format(**{k: _in(lang, v) if isinstance(v, str) and " " in v else v
                                         for k, v in values.items()})


_FIELD = re.compile(r"\{(\w+)\}")


def translate_note(note: str, templates: tuple[str, ...]) -> str:
    """Translate an English ``note`` built from one of ``templates`` (``"test cell {gid} was deleted"``):
    the values are recovered by matching the template and put into its translation."""
    if language() == "en":
        return note
    for template in templates:
        parts = _FIELD.split(template)
        pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        m = re.fullmatch(pattern, note, flags=re.DOTALL)
        if m:
            translated = gettext(template)
            return translated.format(**m.groupdict()) if translated != template else note
    return note


# ----------------------------------------------------------------------------- figures
def hangul_font() -> str | None:
    """The name of an installed font that has Hangul, or None.

    Matplotlib keeps its list of fonts in a cache made the first time it ran: a font installed after
    that (``fonts-nanum`` by ``.ci/system-deps``) is not in it, so the system's font folders are
    looked through for one, which is then added."""
    from matplotlib import font_manager
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in HANGUL_FONTS if name in installed), None)
    if found is None:
        files = [f for f in font_manager.findSystemFonts()
                 if re.search(r"Nanum|NotoSans(CJK|KR)|NotoSansKR|malgun|AppleGothic|UnDotum", Path(f).name, re.I)]
        for f in sorted(files):
            try:
                font_manager.fontManager.addfont(f)
            except (OSError, RuntimeError, ValueError):
                continue
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in HANGUL_FONTS if name in installed), None)
    return found


def setup_matplotlib(lang: str | None = None) -> str | None:
    """In the Korean edition, draw figures with a Hangul font (returned); English figures are left alone."""
    if (lang or language()) != "ko":
        return None
    import matplotlib
    font = hangul_font()
    if font is None:
        import warnings
        warnings.warn("no font with Hangul is installed (Debian: apt-get install fonts-nanum, "
                      "or run `bash .ci/system-deps`): Korean labels will show as boxes")
        return None
    families = list(matplotlib.rcParams["font.sans-serif"])
    matplotlib.rcParams["font.sans-serif"] = [font] + [f for f in families if f != font]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False     # Nanum Gothic has no U+2212 MINUS SIGN
    return font


setup_matplotlib()
