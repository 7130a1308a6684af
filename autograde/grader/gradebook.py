"""The gradebook side: reading scores back from nbgrader's gradebook, SQLite tuned for workers, where a
course's gradebook is (SQLite in the course, or the database ``--db`` named), and the single writer
that records results graded elsewhere (on Dask workers) in batches.

Scores come from the gradebook (what nbgrader's ``SaveAutoGrades`` recorded), error messages and the
grader's notes from the autograded notebooks.
"""
from __future__ import annotations

import datetime as dt
import os
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


# ----------------------------------------------------------------------------- where the gradebook is
DB_FILE = ".nnbook/db_url"


def db_url(root: Path) -> str:
    """The gradebook of the course in ``root``: the URL ``--db`` gave when it was graded (kept in
    ``root/.nnbook/db_url``), else nbgrader's usual SQLite file ``root/gradebook.db``."""
    f = Path(root) / DB_FILE
    if f.is_file():
        url = f.read_text().strip()
        if url:
            return url
    return f"sqlite:///{Path(root)}/gradebook.db"


def normalize_db_url(url: str) -> str:
    """``postgresql://...`` names the driver this package installs (psycopg 3), whatever SQLAlchemy's
    default for the dialect is; other URLs are kept as given."""
    from sqlalchemy.engine import make_url
    u = make_url(url)
    if u.drivername == "postgresql":
        return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def db_url_problem(url: str) -> str | None:
    """Why ``url`` is not a database URL for ``--db`` (``None`` when it is one): for the command lines."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        make_url(url)
    except ArgumentError:
        return "--db: not a database URL (sqlite:///PATH or postgresql://USER@HOST/DB)"
    return None


def set_db_url(root: Path, url: str | None) -> None:
    """Remember the gradebook URL of the course in ``root`` (``None``: the SQLite default). The file is
    private to the owner: a PostgreSQL URL may carry a password."""
    f = Path(root) / DB_FILE
    if not url or url == f"sqlite:///{Path(root)}/gradebook.db":
        f.unlink(missing_ok=True)
        return
    f.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(url + "\n")


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: say nothing of it
        return "<database URL>"


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


# ----------------------------------------------------------------------------- the single writer
def _done_table():
    """``nnbook_graded``: which submission (its digest) each gradebook row was graded from, written in
    the same transaction as the scores; a rerun skips a learner whose digest is unchanged."""
    from sqlalchemy import Column, DateTime, MetaData, String, Table
    meta = MetaData()
    return Table("nnbook_graded", meta,
                 Column("course_id", String(128), primary_key=True),
                 Column("assignment", String(128), primary_key=True),
                 Column("student", String(128), primary_key=True),
                 Column("digest", String(64), nullable=False),
                 Column("graded_at", DateTime, nullable=False))


def _table(gb):
    table = _done_table()
    table.metadata.create_all(gb.db.get_bind(), checkfirst=True)
    return table


def done_digests(url: str, course_id: str, chapter: str) -> dict[str, str]:
    """``{learner: digest}`` of the learners of ``chapter`` whose results the writer recorded."""
    from nbgrader.api import Gradebook
    from sqlalchemy import select
    with Gradebook(url, course_id) as gb:
        t = _table(gb)
        rows = gb.db.execute(select(t.c.student, t.c.digest).where(t.c.course_id == course_id,
                                                                    t.c.assignment == chapter))
        return {s: d for s, d in rows}


def forget_digests(url: str, course_id: str, chapter: str, learners: list[str]) -> None:
    """These learners are being graded another way (the process pool): a rerun must not skip them."""
    from nbgrader.api import Gradebook
    with Gradebook(url, course_id) as gb:
        t = _table(gb)
        for chunk in (learners[i:i + 500] for i in range(0, len(learners), 500)):
            gb.db.execute(t.delete().where(t.c.course_id == course_id, t.c.assignment == chapter,
                                           t.c.student.in_(chunk)))
        gb.db.commit()


def write_graded(url: str, course_id: str, chapter: str, batch: list[dict]) -> int:
    """Record results graded elsewhere (plain dicts from :func:`autograde.grader.cluster.grade_batch`)
    in nbgrader's gradebook, as ``Autograde`` and ``SaveAutoGrades`` would have: the student, the
    submission with its timestamp, each grade's ``auto_score`` (``needs_manual_grade`` when a grader
    already gave a manual score or there is no auto score), each comment's ``auto_comment``, each
    notebook's late penalty, and the submission's digest. Rows are created through nbgrader's
    ``update_or_create_*`` (a commit each, only when created or changed); every score of the batch is
    then written in one transaction. Returns how many learners were written."""
    from nbgrader.api import Gradebook, MissingEntry
    written = 0
    with Gradebook(url, course_id) as gb:
        t = _table(gb)
        for r in batch:
            if r.get("error"):
                continue
            learner = r["learner"]
            try:
                gb.find_student(learner)
            except MissingEntry:
                gb.update_or_create_student(learner)
            ts = dt.datetime.fromisoformat(r["timestamp"]) if r.get("timestamp") else None
            sub = gb.update_or_create_submission(chapter, learner, **({"timestamp": ts} if ts else {}))
            by_nb = {nb.name: nb for nb in sub.notebooks}
            # the submission's own rows, two queries per notebook (not nbgrader's find_grade: one per cell)
            grades = {(nb.name, g.name): g for nb in by_nb.values() for g in nb.grades}
            comments = {(nb.name, c.name): c for nb in by_nb.values() for c in nb.comments}
            for g in r["grades"]:
                grade = grades.get((g["notebook"], g["name"])) or gb.find_grade(g["name"], g["notebook"], chapter,
                                                                                 learner)
                grade.auto_score = g["auto_score"]
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            for c in r["comments"]:
                comment = comments.get((c["notebook"], c["name"])) or gb.find_comment(c["name"], c["notebook"],
                                                                                     chapter, learner)
                comment.auto_comment = c["auto_comment"]
            for name, pen in r["penalties"].items():
                if name in by_nb:
                    by_nb[name].late_submission_penalty = pen
            gb.db.execute(t.delete().where(t.c.course_id == course_id, t.c.assignment == chapter,
                                           t.c.student == learner))
            gb.db.execute(t.insert().values(course_id=course_id, assignment=chapter, student=learner,
                                            digest=r["digest"], graded_at=dt.datetime.utcnow()))
            written += 1
        gb.db.commit()
    return written
