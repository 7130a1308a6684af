"""Make what a learner wrote inert before it reaches a page or a spreadsheet an instructor opens.

* :class:`SanitizeLearnerContent` -- an nbgrader preprocessor (for the ``Autograde`` and
  ``GenerateFeedback`` preprocessor lists) that cleans every cell of a submission:
  markdown (raw HTML in it is cleaned by bleach_ with an allow-list of tags, attributes and
  URL schemes; ``javascript:`` and other unsafe URLs in markdown links, images and link
  definitions become ``#``), raw cells (no HTML mime type, source cleaned), outputs (only
  ``text/plain`` and base64-valid ``image/png`` / ``image/jpeg`` / ``image/gif`` are kept; HTML,
  SVG, JavaScript, Markdown, LaTeX and widget outputs are dropped, and replaced by a plain note
  when nothing else is left; output
  metadata is dropped), attachments (only base64-valid PNG, JPEG and GIF) and cell metadata
  (only ``nbgrader``, ``tags`` of safe characters, and a few plain booleans survive).
* :func:`csv_cell` -- OWASP's rule against spreadsheet formula injection.
* :func:`check_learner_name` -- whether a learner name can be used as given, with a safe
  display form and path form otherwise.

.. _bleach: https://bleach.readthedocs.io
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass

import bleach
from nbgrader.preprocessors import NbGraderPreprocessor

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "samp",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "u", "ul", "var"})
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title", "width", "height"],
                      "td": ["colspan", "rowspan", "align"], "th": ["colspan", "rowspan", "align"],
                      "abbr": ["title"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "attachment"})
SAFE_IMAGE_TYPES = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
                    "image/gif": (b"GIF87a", b"GIF89a")}
SAFE_OUTPUT_TYPES = ("text/plain", *SAFE_IMAGE_TYPES)
# "nnbook_notes": the grader's notes cell (autograde/grader/plugins.py); plain strings, shown escaped
SAFE_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable", "collapsed", "scrolled", "nnbook_notes")
_TAG_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]+")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")

_cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS,
                          strip=False, strip_comments=True)


# ----------------------------------------------------------------------------- URLs and markdown
def safe_url(url: str) -> str:
    """``url`` if its scheme (as a browser reads it: entities decoded, blanks ignored) is allowed
    or it is relative; ``"#"`` otherwise."""
    probe = _CONTROL.sub("", html.unescape(html.unescape(url))).lower()
    m = _SCHEME.match(probe)
    if m and m.group(1) not in ALLOWED_PROTOCOLS:
        return "#"
    if probe.startswith("attachment:") and not re.fullmatch(r"attachment:[\w.\-]+", probe):
        return "#"
    return url


# [text](url ...)  ![alt](url ...)  with or without <...> around the url
_INLINE_LINK = re.compile(r"(\]\(\s*)(<[^>\n]*>|[^\s)]+)")
# [ref]: url  (link reference definitions)
_REF_DEF = re.compile(r"(?m)^(\s{0,3}\[[^\]\n]+\]:\s*)(<[^>\n]*>|\S+)")
# <scheme:...> autolinks
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]*:[^\s<>]*)>")


def _fix_link(m: re.Match) -> str:
    target = m.group(2)
    inner = target[1:-1] if target.startswith("<") and target.endswith(">") else target
    return m.group(1) + (target if safe_url(inner) == inner else "#")


def cached_if_short(max_chars: int = 20_000, maxsize: int = 2048):
    """Memoise a function of a text (first argument) per process, for texts up to ``max_chars``: the book's
    own cells repeat in every learner's notebook and are worked on once per worker, while a learner's
    huge cells are worked on each time and never kept (they cannot fill a worker's memory)."""
    def wrap(fn):
        cached = functools.lru_cache(maxsize=maxsize)(fn)

        @functools.wraps(fn)
        def call(text, *args):
            return cached(text, *args) if len(text) <= max_chars else fn(text, *args)
        call.cache_info = cached.cache_info
        return call
    return wrap


@cached_if_short()
def clean_markdown(source: str) -> str:
    """Markdown with its raw HTML cleaned (disallowed tags escaped, so they show as text) and every
    link, image and autolink URL with an unsafe scheme replaced by ``#``."""
    text = _INLINE_LINK.sub(_fix_link, source)
    text = _REF_DEF.sub(_fix_link, text)
    text = _AUTOLINK.sub(lambda m: m.group(0) if safe_url(m.group(1)) == m.group(1) else "#", text)
    text = _cleaner.clean(text)
    # bleach escapes every '>' in text; '>' alone can open no tag, and markdown needs it (block quotes)
    return text.replace("&gt;", ">")


# ----------------------------------------------------------------------------- images
def valid_image(mime: str, data) -> bool:
    """``data`` is base64 (a string, or a list of lines) of a ``mime`` image with the right magic bytes."""
    if mime not in SAFE_IMAGE_TYPES:
        return False
    if isinstance(data, list) and all(isinstance(x, str) for x in data):
        data = "".join(data)
    if not isinstance(data, str):
        return False
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return raw.startswith(SAFE_IMAGE_TYPES[mime])


def clean_attachments(attachments) -> tuple[dict, list[str]]:
    """Only base64-valid PNG/JPEG/GIF attachments with plain names; the names of what was dropped."""
    kept, dropped = {}, []
    if not isinstance(attachments, dict):
        return kept, ["attachments"] if attachments else []
    for name, bundle in attachments.items():
        if not isinstance(name, str) or not re.fullmatch(r"[\w.\-]{1,128}", name) or not isinstance(bundle, dict):
            dropped.append(str(name)[:60])
            continue
        ok = {m: d for m, d in bundle.items() if valid_image(m, d)}
        if ok:
            kept[name] = ok
        if len(ok) != len(bundle):
            dropped.append(name)
    return kept, dropped


# ----------------------------------------------------------------------------- outputs
def clean_output(output) -> dict:
    """A copy of one output with only inert content."""
    out = dict(output)
    kind = out.get("output_type")
    if kind == "stream":
        text = out.get("text", "")
        out["text"] = "".join(text) if isinstance(text, list) else str(text)
        out["name"] = "stderr" if out.get("name") == "stderr" else "stdout"
        return out
    if kind == "error":
        tb = out.get("traceback", [])
        out["traceback"] = [str(x) for x in tb] if isinstance(tb, list) else [str(tb)]
        out["ename"], out["evalue"] = str(out.get("ename", "")), str(out.get("evalue", ""))
        return out
    if kind in ("display_data", "execute_result"):
        data = out.get("data") if isinstance(out.get("data"), dict) else {}
        kept = {}
        for mime, value in data.items():
            if mime == "text/plain":
                kept[mime] = "".join(value) if isinstance(value, list) else str(value)
            elif valid_image(mime, value):
                kept[mime] = "".join(value) if isinstance(value, list) else value
        removed = sorted(m for m in data if m not in kept)
        if removed and not kept:
            kept["text/plain"] = f"[output of type {', '.join(removed)} removed by the grader]"
        out["data"] = kept
        out["metadata"] = {}
        return out
    return {"output_type": "stream", "name": "stdout",
            "text": f"[output of type {str(kind)[:40]!r} removed by the grader]\n"}


def clean_cell_metadata(md) -> dict:
    if not isinstance(md, dict):
        return {}
    out = {}
    for key in SAFE_CELL_METADATA:
        if key not in md:
            continue
        value = md[key]
        if key == "nbgrader":
            out[key] = value
        elif key == "tags":
            if isinstance(value, list):
                out[key] = [t for t in value if isinstance(t, str) and _TAG_RE.match(t)]
        elif key == "nnbook_notes":
            if isinstance(value, list):
                out[key] = [str(n) for n in value]
        elif isinstance(value, bool):
            out[key] = value
    return out


class SanitizeLearnerContent(NbGraderPreprocessor):
    """nbgrader preprocessor: every learner-written part of the notebook becomes inert HTML material.

    Safe to run more than once (cleaning clean content changes nothing)."""

    def preprocess_cell(self, cell, resources, index):
        cell.metadata = type(cell.metadata)(clean_cell_metadata(cell.get("metadata", {})))
        kind = cell.get("cell_type")
        if kind in ("markdown", "raw") and "attachments" in cell:
            kept, dropped = clean_attachments(cell.attachments)
            if kept:
                cell.attachments = kept
            else:
                del cell["attachments"]
            if dropped:
                self.log.warning("cell %d: attachment(s) removed: %s", index, ", ".join(dropped))
        if kind == "markdown":
            cell.source = clean_markdown(cell.source)
        elif kind == "raw":
            cell.source = _cleaner.clean(cell.source)
        elif kind == "code":
            if "outputs" in cell:
                cell.outputs = [type(o)(clean_output(o)) if isinstance(o, dict) else o for o in cell.outputs
                                if isinstance(o, dict)]
        return cell, resources


# ----------------------------------------------------------------------------- CSV
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A CSV field a spreadsheet will not read as a formula (OWASP: prefix such fields with ``'``)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# ----------------------------------------------------------------------------- learner names
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class LearnerName:
    ok: bool             # usable as given: as a folder name, an nbgrader student id, in HTML and CSV
    display: str         # printable form for reports (control characters shown escaped, formula-safe)
    path: str            # a safe folder name / student id (the name itself when ``ok``)
    note: str | None     # why the name was changed, for the learner's report


def check_learner_name(name: str) -> LearnerName:
    """Whether ``name`` can be used as given; else a safe display and path form and a note.

    Usable names: 1 to 64 characters, ASCII letters, digits, ``_``, ``.``, ``-``, starting with a
    letter or digit (no ``..``, no leading ``-`` or ``.``, nothing a spreadsheet or a shell reads)."""
    name = str(name)
    if _NAME_OK.match(name) and ".." not in name:
        return LearnerName(True, name, name, None)
    printable = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in name)
    display = csv_cell(printable[:80] + ("..." if len(printable) > 80 else ""))
    ascii_form = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "_", ascii_form).strip("._-")
    slug = re.sub(r"\.{2,}", ".", slug)[:40] or "learner"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    path = f"{slug}-{digest}"
    reasons = []
    if not name:
        reasons.append("it is empty")
    if len(name) > 64:
        reasons.append("it is longer than 64 characters")
    if name[:1] in FORMULA_STARTS or name[:1] in (".", "_"):
        reasons.append(f"it starts with {name[:1]!r}")
    if re.search(r"[^A-Za-z0-9_.\-]", name):
        reasons.append("it has characters other than letters, digits, '_', '.', '-'")
    if ".." in name:
        reasons.append("it contains '..'")
    note = (f"the learner name {display!r} cannot be used as given ({'; '.join(reasons) or 'not allowed'}); "
            f"graded as {path}")
    return LearnerName(False, display, path, note)
