"""The one place that finds the book: the folder holding ``solutions/``, ``chapters/`` and ``nnbook/``.

Every module that needs the course (the build, the grader, the demo class, the sandbox's copy
of the helper library, the tests) asks here instead of computing a path from its own
``__file__``, so that a non-editable install (``pip install .``, a wheel) works as well as a
checkout. The course root is, in this order:

1. the folder given with :func:`set_course_root` (``nnbook-grade --course DIR``);
2. ``$NNBOOK_COURSE``;
3. the current directory or one of its parents, if it holds ``solutions/`` with a chapter
   (an instructor working in a clone of the book);
4. the source checkout this package was imported from (an editable install, ``make setup``).

A wheel installs the ``nnbook`` and ``autograde`` packages, not the book's notebooks: with a
wheel, run ``nnbook-grade`` inside a clone of the book, or pass ``--course`` / set
``NNBOOK_COURSE``. When none of these finds a book, :class:`CourseNotFound` says what was tried.

The helper library used inside the grading sandbox is the *importable* ``nnbook`` package
(:func:`library_dir`), wherever it is installed.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV = "NNBOOK_COURSE"
_explicit: Path | None = None


class CourseNotFound(RuntimeError):
    """No folder with the book's ``solutions/`` was found; the message lists where it looked."""


def _is_course(path: Path) -> bool:
    sol = path / "solutions"
    try:
        return sol.is_dir() and any((d / f"{d.name}.ipynb").is_file() for d in sol.iterdir())
    except OSError:
        return False


def set_course_root(path: Path | str | None) -> None:
    """Use ``path`` as the course root for this process (``None``: back to the search)."""
    global _explicit
    if path is None:
        _explicit = None
        return
    p = Path(path).expanduser().resolve()
    if not _is_course(p):
        raise CourseNotFound(f"{p} is not a copy of the book: it has no solutions/<chapter>/<chapter>.ipynb")
    _explicit = p


def candidates() -> list[tuple[str, Path]]:
    """Where :func:`course_root` looks, in order, with the reason for each."""
    found: list[tuple[str, Path]] = []
    if _explicit is not None:
        found.append(("--course", _explicit))
    if os.environ.get(ENV):
        found.append((f"${ENV}", Path(os.environ[ENV]).expanduser().resolve()))
    cwd = Path.cwd().resolve()
    for p in (cwd, *cwd.parents):
        found.append(("current directory" if p == cwd else "a parent of the current directory", p))
    found.append(("the checkout this package was imported from", Path(__file__).resolve().parent.parent))
    return found


def course_root() -> Path:
    """The folder holding ``solutions/`` (and, in a checkout, ``chapters/``, ``nnbook/``, ``tests/``)."""
    tried = []
    for why, p in candidates():
        if why in ("--course", f"${ENV}") and not _is_course(p):
            raise CourseNotFound(f"{why} points at {p}, which has no solutions/<chapter>/<chapter>.ipynb")
        if _is_course(p):
            return p
        if why.startswith("a parent"):
            continue
        tried.append(f"{why} ({p})")
    raise CourseNotFound(
        "cannot find the book (a folder with solutions/<chapter>/<chapter>.ipynb); looked in: "
        + "; ".join(tried)
        + f". Run inside a clone of the book, or pass --course DIR, or set {ENV}=DIR.")


def solutions_dir() -> Path:
    return course_root() / "solutions"


def chapters_dir() -> Path:
    return course_root() / "chapters"


def tests_dir() -> Path:
    return course_root() / "tests"


def library_dir() -> Path:
    """The importable ``nnbook`` package (a checkout's ``nnbook/`` or the installed one)."""
    import nnbook
    return Path(nnbook.__file__).resolve().parent


def autograde_dir() -> Path:
    """This package's folder (its ``nbgrader_config.py``, ``kernel.py``, ``wire.py``)."""
    return Path(__file__).resolve().parent


def nbgrader_config_file() -> Path:
    return autograde_dir() / "nbgrader_config.py"


def source_notebook(chapter: str) -> Path:
    """The chapter's instructor notebook (nbgrader's source)."""
    return solutions_dir() / chapter / f"{chapter}.ipynb"


def release_notebook(chapter: str) -> Path:
    """The chapter's learner notebook (nbgrader's release, generated)."""
    return chapters_dir() / chapter / f"{chapter}.ipynb"
