"""The gradebook side: reading scores back from nbgrader's gradebook, and SQLite tuned for workers.

Scores come from the gradebook (what nbgrader's ``SaveAutoGrades`` recorded), error messages and the
grader's notes from the autograded notebooks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import cells
from .plugins import notes_of


@dataclass
class CellResult:
    """The autograded outcome of one graded test cell."""
    grade_id: str
    score: float
    max_score: float
    errors: list[str] = field(default_factory=list)   # "ename: evalue" of each error output
    stdout: str = ""


@dataclass
class NotebookResult:
    """The autograded outcome of one learner's notebook for one chapter."""
    student: str
    chapter: str
    cells: dict[str, CellResult]
    problem: str | None = None                         # the grader's notes, joined, if any
    notes: list[str] = field(default_factory=list)
    grader_error: str | None = None                    # the grader failed: this is not a score

    @property
    def total(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_total(self) -> float:
        return sum(c.max_score for c in self.cells.values())


def read_results(root: Path, chapter: str, students: list[str], config=None) -> dict[str, NotebookResult]:
    """Scores from nbgrader's gradebook (of this course id), messages and notes from the autograded notebooks.

    ``config``: the course's nbgrader configuration (default: the book's, for a course in ``root``)."""
    from nbgrader.api import Gradebook, MissingEntry

    if config is None:
        from .driver import course_config
        config = course_config(Path(root))

    course_id = config.CourseDirectory.course_id
    results = {}
    with Gradebook(config.CourseDirectory.db_url, course_id) as gb:
        for student in students:
            found: dict[str, CellResult] = {}
            notes: list[str] = []
            try:
                sub = gb.find_submission_notebook(chapter, chapter, student)
                for grade in sub.grades:
                    if grade.cell_type != "code" or grade.max_score == 0:
                        continue
                    found[grade.name] = CellResult(grade.name, float(grade.score or 0.0), float(grade.max_score))
            except MissingEntry:
                notes.append("not graded: nbgrader recorded no submission")
            nb_path = root / "autograded" / student / chapter / f"{chapter}.ipynb"
            if nb_path.exists():
                nb = nbformat.read(nb_path, as_version=4)
                notes += notes_of(nb)
                for cell in nb.cells:
                    gid = cells.grade_id(cell)
                    if gid in found and cells.is_test(cell):
                        for out in cell.get("outputs", []):
                            if out.output_type == "error":
                                found[gid].errors.append(f"{out.ename}: {out.evalue}")
                            elif out.output_type == "stream" and out.name == "stdout":
                                found[gid].stdout += out.text
            results[student] = NotebookResult(student, chapter, found, "; ".join(notes) or None, notes)
    return results


_TUNED = False


def tune_sqlite() -> None:
    """WAL journal and a busy timeout for SQLite gradebooks (an SQLAlchemy connect event): parallel
    workers then wait for each other's short writes instead of failing with "database is locked"."""
    global _TUNED
    if _TUNED:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_connection, _record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()
    _TUNED = True
