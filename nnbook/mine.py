"""Your own library: the functions you wrote in earlier chapters, used by the later ones.

``nnbook-mine`` (or the button of :func:`progress`) runs each of your chapter notebooks' visible tests
and writes the definitions that pass into ``mynnbook/`` beside your chapter folders, one module per
chapter (``mynnbook/activations.py``, ...), through the same export code that builds the book's
``nnbook/`` (``autograde/book/build.py``). ``mynnbook/status.json`` says, per chapter and exercise,
what passed, what fails (with the first message) and what is not started.

A chapter's first cell calls :func:`use_my_library`. From then on ``from nnbook.activations import relu``
gives *your* ``relu`` when it passed its test, and otherwise the book's, saying so in one line::

    using the book's `relu`: yours fails `test_relu`, see 02 §2.4

It works function by function: the module ``nnbook.activations`` is the book's module with your passing
definitions put in its place, so the book's code that calls ``relu`` calls yours too.

The library is never used where it must not be: ``NNBOOK_LIBRARY=book`` turns it off, and the grader's
judge (which evaluates the tests) never calls :func:`use_my_library`.

This module is written by hand; it is not generated from a chapter. It needs nothing but the standard
library (it is imported in the grading sandbox too); building the library lives in ``autograde.mylib``.
"""
from __future__ import annotations

import html
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import types
from pathlib import Path

from .i18n import gettext, tr, translate_note

__all__ = ["use_my_library", "find_library", "course_folders", "progress", "progress_text", "LIBRARY_DIR", "ENV"]

LIBRARY_DIR = "mynnbook"
STATUS_FILE = "status.json"
ENV = "NNBOOK_LIBRARY"          # "book": never use the learner's library; a folder: use that one
_NOTIFIED: set[tuple[str, str]] = set()
CHAPTER_DIR = re.compile(r"^\d\d_[A-Za-z0-9_]+$")


def find_library(start: Path | str | None = None) -> Path | None:
    """The learner's ``mynnbook/`` folder: in ``start`` (default: the current folder), its parent or
    grandparent (a chapter folder, ``chapters/``, the book's folder), or ``$NNBOOK_LIBRARY``."""
    env = os.environ.get(ENV, "")
    if env == "book":
        return None
    if env:
        p = Path(env).expanduser()
        return p if (p / STATUS_FILE).is_file() else None
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *list(here.parents)[:2]):
        if (d / LIBRARY_DIR / STATUS_FILE).is_file():
            return d / LIBRARY_DIR
    return None


def read_status(library: Path) -> dict:
    """``mynnbook/status.json``, or ``{}`` when it cannot be read (then nothing of the library is used)."""
    try:
        status = json.loads((library / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


# the one-line notices of a name that falls back to the book's (written in English into status.json by
# autograde.mylib, shown in the learner's edition when the name is imported), by the exercise's status
NOTICES = {
    "passed": "using the book's `{name}`: yours passes `{test}` but is not exported ({why}), see {section}",
    "failing": "using the book's `{name}`: yours fails `{test}`, see {section}",
    "not started": "using the book's `{name}`: yours is not written yet, see {section}",
    "unloadable": "using the book's `{name}`: your library file {file} fails to load ({why})",
}
NOTICE_TEMPLATES = tuple(NOTICES.values())


class LibraryModule(types.ModuleType):
    """A book module with the learner's passing definitions in place; names that fall back to the book's
    print their one-line notice the first time they are imported (``from nnbook.x import name``)."""

    def __getattribute__(self, name):
        d = super().__getattribute__("__dict__")
        notices = d.get("__nnbook_fallbacks__")
        if notices and name in notices:
            key = (d.get("__name__", ""), name)
            if key not in _NOTIFIED:
                _NOTIFIED.add(key)
                print(translate_note(notices[name], NOTICE_TEMPLATES))
        return super().__getattribute__(name)


class _Loader(importlib.abc.Loader):
    def __init__(self, book_spec, mine: Path, entry: dict):
        self.book_spec, self.mine, self.entry = book_spec, mine, entry

    def create_module(self, spec):
        return LibraryModule(spec.name)

    def exec_module(self, module):
        module.__file__ = self.book_spec.origin
        self.book_spec.loader.exec_module(module)                 # the book's module, whole
        book = dict(module.__dict__)
        yours = [n for n in self.entry.get("yours", []) if isinstance(n, str)]
        notices = {str(k): str(v) for k, v in (self.entry.get("book") or {}).items()}
        try:
            code = compile(self.mine.read_text(), str(self.mine), "exec")
            exec(code, module.__dict__)                           # then your passing definitions over it
        except Exception as e:  # noqa: BLE001 - a broken library file: the book's module, and say why
            module.__dict__.clear()
            module.__dict__.update(book)
            why = f"{type(e).__name__}: {e}"
            notices = {n: NOTICES["unloadable"].format(name=n, file=self.mine.name, why=why) for n in yours}
            yours = []
        module.__nnbook_yours__ = yours
        module.__nnbook_fallbacks__ = notices


class _Finder(importlib.abc.MetaPathFinder):
    """Serves ``nnbook.<module>`` from the book's module plus the learner's ``mynnbook/<module>.py``."""

    def __init__(self, library: Path, status: dict):
        self.library, self.status = library, status

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("nnbook.") or fullname.count(".") != 1:
            return None
        module = fullname.split(".", 1)[1]
        entry = (self.status.get("modules") or {}).get(module)
        mine = self.library / f"{module}.py"
        if not isinstance(entry, dict) or not mine.is_file():
            return None
        import nnbook
        book_spec = importlib.machinery.PathFinder.find_spec(fullname, list(nnbook.__path__))
        if book_spec is None or book_spec.loader is None:
            return None                   # not in the book (the grader's sandbox leaves out this chapter's)
        spec = importlib.util.spec_from_loader(fullname, _Loader(book_spec, mine, entry), origin=book_spec.origin)
        return spec


def _remove_finders() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def stale_chapters(start: Path | str | None = None) -> tuple[Path | None, list[str]]:
    """``(root, chapters)``: the learner's earlier chapters whose saved notebook changed since the library was
    built (or that it lacks). Only in the learner's own folders (never under nbgrader, nor for ``solutions/``)."""
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get(ENV) == "book":
        return None, []
    here = Path(start or os.getcwd()).resolve()
    root, notebooks = course_folders(here)
    if not notebooks:
        return None, []
    current = here.name if CHAPTER_DIR.match(here.name) else None
    status = read_status(root / LIBRARY_DIR)
    built = status.get("chapters") or {}
    stale = []
    for nb in notebooks:
        chapter = nb.parent.name
        if current is not None and chapter >= current:
            continue                      # this chapter and later ones: not imported from here
        entry = built.get(chapter) if isinstance(built.get(chapter), dict) else {}
        try:
            changed = nb.stat().st_mtime_ns != entry.get("mtime_ns")
        except OSError:
            changed = False
        if changed:
            stale.append(chapter)
    return root, stale


def use_my_library(start: Path | str | None = None, quiet: bool = False, refresh: bool = True) -> Path | None:
    """Import the book's modules with your own passing definitions in them (see the module's docstring).

    With ``refresh`` (and not under nbgrader), first rebuild the library for the earlier chapters whose
    saved notebook changed since it was built (a few seconds per chapter). Returns the library folder
    used, or ``None`` (no ``mynnbook/`` yet, or ``NNBOOK_LIBRARY=book``: the book's modules as they are).
    Call it before importing from ``nnbook``; calling it again picks up a library rebuilt since."""
    if refresh:
        root, stale = stale_chapters(start)
        if stale:
            import time
            from autograde.mylib import build_library
            t0 = time.perf_counter()
            if not quiet:
                print(tr("Rebuilding your library from your saved {chapters} ...", chapters=", ".join(stale)),
                      flush=True)
            build_library(root, stale)
            if not quiet:
                print(tr("  done in {seconds:.1f} s", seconds=time.perf_counter() - t0))
    _remove_finders()
    for name in [m for m in sys.modules if m.startswith("nnbook.")]:
        if isinstance(sys.modules[name], LibraryModule):
            del sys.modules[name]
    _NOTIFIED.clear()
    library = find_library(start)
    status = read_status(library) if library else {}
    if not status.get("modules"):
        if not quiet:
            print(gettext("Your library: none built yet (run `nnbook-mine`, or the library cell at the end of a "
                          "chapter); the book's modules are used."))
        return None
    stale = [name for name, m in sys.modules.items() if name.startswith("nnbook.")
             and name.split(".", 1)[1] in status["modules"]]
    for name in stale:                      # imported before: import again, with your definitions
        del sys.modules[name]
    sys.meta_path.insert(0, _Finder(library, status))
    if not quiet:
        yours = sum(len(m.get("yours", [])) for m in status["modules"].values() if isinstance(m, dict))
        book = sum(len(m.get("book") or {}) for m in status["modules"].values() if isinstance(m, dict))
        print(tr("Your library ({library}, built {built}): {yours} of your functions are used, the book's for "
                 "{book} other(s).", library=library, built=status.get("built", "?"), yours=yours, book=book))
    return library


def course_folders(start: Path) -> tuple[Path, list[Path]]:
    """``(root, notebooks)``: the folder the library goes in and the chapter notebooks, in chapter order.

    ``start`` may be the book's folder (with ``chapters/``), ``chapters/`` itself, a chapter folder, or a
    folder holding chapter folders (a learner's home on the hub)."""
    start = Path(start).resolve()
    if CHAPTER_DIR.match(start.name) and (start / f"{start.name}.ipynb").is_file():
        start = start.parent
    holder = start / "chapters" if (start / "chapters").is_dir() else start
    root = holder.parent if holder.name == "chapters" else holder
    if holder.name == "solutions" or (holder / "solutions").is_dir() and not (holder / "chapters").is_dir():
        return root, []          # the book's instructor notebooks are nobody's library
    notebooks = [d / f"{d.name}.ipynb" for d in sorted(holder.iterdir())
                 if d.is_dir() and CHAPTER_DIR.match(d.name) and (d / f"{d.name}.ipynb").is_file()] \
        if holder.is_dir() else []
    return root, notebooks


# ----------------------------------------------------------------------------- progress at a glance
MARK = {"passed": "✓", "failing": "✗", "not started": "·"}


def _word(status) -> str:
    """A status as shown, in the edition (the keys stay English: they are what status.json says)."""
    return {"passed": gettext("passed"), "failing": gettext("failing"),
            "not started": gettext("not started")}.get(status, str(status))


def _whose(e: dict) -> str:
    return gettext("yours") if e.get("status") == "passed" and e.get("exported") else gettext("the book's")


def progress_text(status: dict) -> str:
    """The progress view as plain text: per chapter and exercise, passed / failing (first message) /
    not started, and whose each library function is."""
    if not status.get("chapters"):
        return gettext("Your library: nothing built yet (run `nnbook-mine`).")
    lines = [tr("Your library: {library} (built {built})", library=status.get("library", LIBRARY_DIR),
                built=status.get("built", "?"))]
    for chapter, info in sorted(status["chapters"].items()):
        exercises = info.get("exercises", [])
        counts = {k: sum(1 for e in exercises if e.get("status") == k) for k in MARK}
        lines.append(f"{chapter} (nnbook.{info.get('module', '?')}): " + ", ".join(
            f"{n} {_word(k)}" for k, n in counts.items() if n) + (f"; {info['error']}" if info.get("error") else ""))
        for e in exercises:
            names = ", ".join(e.get("names", [])) or e.get("id", "?")
            line = (f"  {MARK.get(e.get('status'), '?')} {e.get('id', '?'):<24} {_word(e.get('status', '?')):<12} "
                    f"{names}: {_whose(e)}")
            if e.get("status") == "failing" and e.get("message"):
                line += f"  -- {e['message']}"
            elif e.get("status") == "passed" and not e.get("exported"):
                line += "  -- " + tr("not exported: {why}", why=e.get("refused", ""))
            lines.append(line)
    return "\n".join(lines)


def _progress_html(status: dict) -> str:
    if not status.get("chapters"):
        return f"<p>{html.escape(gettext('Your library: nothing built yet. Press the button.'))}</p>"
    colour = {"passed": "#2e7d32", "failing": "#c62828", "not started": "#757575"}
    rows = []
    for chapter, info in sorted(status["chapters"].items()):
        rows.append(f"<tr><th colspan='4' style='text-align:left'>{html.escape(chapter)} "
                    f"(nnbook.{html.escape(str(info.get('module', '?')))})"
                    f"{' -- ' + html.escape(str(info['error'])) if info.get('error') else ''}</th></tr>")
        for e in info.get("exercises", []):
            st = str(e.get("status", "?"))
            whose = _whose(e)
            msg = e.get("message", "") if st == "failing" else ("" if e.get("exported") or st != "passed"
                                                                else tr("not exported: {why}", why=str(e.get("refused", ""))))
            rows.append(f"<tr class='nnbook-{st.replace(' ', '-')}'><td style='color:{colour.get(st, '#000')}'>"
                        f"{MARK.get(st, '?')} {html.escape(_word(st))}</td><td><code>{html.escape(str(e.get('id', '?')))}"
                        f"</code></td><td>{html.escape(whose)}</td><td>{html.escape(str(msg))}</td></tr>")
    head = "".join(f"<th>{html.escape(h)}</th>"
                   for h in (gettext("status"), gettext("exercise"), gettext("used"), gettext("first message")))
    return ("<p>" + tr("Your library: {library} (built {built})",
                       library=f"<code>{html.escape(str(status.get('library', LIBRARY_DIR)))}</code>",
                       built=html.escape(str(status.get("built", "?")))) + "</p>"
            f"<table class='nnbook-progress'><tr>{head}</tr>" + "".join(rows) + "</table>")


def progress(chapter: str | None = None, start: Path | str | None = None, build: bool = True):
    """The progress widget: your library's table and a button that rebuilds it from your saved notebooks.

    Under nbgrader (``NBGRADER_EXECUTION``: Validate, the grader) it only prints the last table, builds
    nothing. In the lab, when ``build``, it first rebuilds ``chapter``'s part of the library (every chapter
    when ``chapter`` is None); the button rebuilds every chapter. Save your notebooks first: the build
    reads the files."""
    grading = bool(os.environ.get("NBGRADER_EXECUTION"))
    if grading or not build:
        library = find_library(start)
        print(progress_text(read_status(library) if library else {}))
        return None
    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.HTML()
    button = widgets.Button(description=gettext("Refresh my library"), icon="refresh",
                            tooltip=gettext("run every chapter's visible tests (from the saved notebooks) and "
                                            "rebuild mynnbook/"))
    note = widgets.Label("")

    def refresh(_=None, only=None):
        button.disabled, note.value = True, gettext("running your chapters' visible tests ...")
        try:
            root, notebooks = course_folders(Path(start or os.getcwd()))
            if notebooks:
                from autograde.mylib import build_library
            else:
                note.value = gettext("no chapter notebooks of yours around this folder: nothing to build")
                library = find_library(start)
                out.value = _progress_html(read_status(library) if library else {})
                return
            status = build_library(root, [only] if only else None)
            out.value = _progress_html(status)
            note.value = ""
            use_my_library(start, quiet=True)
        except Exception as e:  # noqa: BLE001 - shown in the widget, the lab keeps going
            note.value = tr("could not build the library: {error}: {message}", error=type(e).__name__, message=e)
        finally:
            button.disabled = False

    button.on_click(refresh)
    box = widgets.VBox([widgets.HBox([button, note]), out])
    box.add_class("nnbook-progress-view")
    display(box)
    refresh(only=chapter)
