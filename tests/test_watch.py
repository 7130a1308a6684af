"""``nnbook-grade --watch`` (autograde/watch.py): grading on submit, and nothing a learner puts in
the exchange stops it or earns what it should not.

The submissions are real nbgrader inbound entries owned by real local accounts (created here and
deleted afterwards), as the hub's learners make them; the service is the Watcher the hub runs.
Needs root (useradd, chown). The feedback plug-ins (autograde/feedback.py) are checked at the end.
"""
from __future__ import annotations

import base64
import io
import json
import os
import pwd
import secrets
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from autograde import feedback
from autograde.hub import class_setup

REPO = Path(__file__).resolve().parents[1]
CHAPTER = "01_neuron"
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates local accounts")


def _solution() -> nbformat.NotebookNode:
    return nbformat.read(REPO / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)


def _with_mistake() -> nbformat.NotebookNode:
    nb = _solution()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "perceptron":
            cell.source = cell.source.replace(">= 0", "> 0")
    return nb


_clock = [datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)]


def submit(exchange: Path, student: str, files: dict, owner: str | None = None) -> str:
    """An inbound entry as nbgrader's submit makes it, owned by ``owner`` (default: the student)."""
    _clock[0] += timedelta(seconds=1)
    stamp = _clock[0].strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    entry = exchange / "nnbook" / "inbound" / f"{student}+{CHAPTER}+{stamp}+{secrets.token_hex(4)}"
    entry.mkdir()
    for name, content in {"timestamp.txt": stamp, "submission_secret.txt": secrets.token_hex(64), **files}.items():
        if callable(content):
            content(entry / name)
        elif isinstance(content, nbformat.NotebookNode):
            nbformat.write(content, entry / name)
        else:
            (entry / name).write_bytes(content.encode() if isinstance(content, str) else content)
    user = pwd.getpwnam(owner or student)
    for path in [entry, *entry.rglob("*")]:
        os.lchown(path, user.pw_uid, user.pw_gid)
    return stamp


def _class_dir(base: Path, names: list[str]) -> None:
    """A class folder as `make class` lays it out: the learners' accounts, the exchange (mode 0777), course/."""
    for n in names:
        class_setup.ensure_user(n, None)
    (base / "exchange").mkdir()
    os.chmod(base / "exchange", 0o777)
    (base / "course").mkdir()


@pytest.fixture(scope="module")
def course():
    from autograde import watch
    tag = secrets.token_hex(3)
    names = [f"nnw{c}{tag}" for c in "abcdefg"]
    base = Path(tempfile.mkdtemp(prefix="nnbook-watch-"))
    try:
        _class_dir(base, names)
        w = watch.Watcher(base, [CHAPTER], jobs=2)
        w.release()
        yield w, names
    finally:
        for n in names:
            class_setup.remove_user(n)
        shutil.rmtree(base, ignore_errors=True)


def _score(w, learner):
    from autograde.course import read_results
    return read_results(w.root, CHAPTER, [learner])[learner].total


def _released(w, learner) -> bool:
    from nbgrader.utils import notebook_hash
    secret = (w.inbox / learner / CHAPTER / "submission_secret.txt").read_text()
    return (w.exchange / "nnbook" / "feedback" / f"{notebook_hash(secret=secret, notebook_id=CHAPTER)}.html").is_file()


@root_only
def test_each_submission_graded_feedback_released_hostile_ones_change_nothing(course):
    w, (good, bad, broken, crasher, victim, liar, linker) = course
    submit(w.exchange, good, {f"{CHAPTER}.ipynb": _solution()})
    submit(w.exchange, bad, {f"{CHAPTER}.ipynb": _with_mistake()})
    submit(w.exchange, broken, {f"{CHAPTER}.ipynb": "{ this is not json"})
    crash = _solution()
    crash.cells.insert(3, nbformat.v4.new_code_cell("import os\nos._exit(3)"))
    submit(w.exchange, crasher, {f"{CHAPTER}.ipynb": crash})
    # a learner who names another learner: the entry is ignored, the victim's own work counts
    victim_stamp = submit(w.exchange, victim, {f"{CHAPTER}.ipynb": _with_mistake()})
    submit(w.exchange, victim, {f"{CHAPTER}.ipynb": nbformat.v4.new_notebook()}, owner=liar)
    # a symbolic link to the course's solutions and a named pipe are not collected
    solutions = w.root / "source" / CHAPTER / f"{CHAPTER}.ipynb"
    submit(w.exchange, linker, {f"{CHAPTER}.ipynb": lambda p: os.symlink(solutions, p),
                                "pipe": lambda p: os.mkfifo(p)})
    assert w.once() == 6
    assert _score(w, good) == 17
    assert _score(w, bad) == 15
    assert _score(w, broken) == 0
    assert _score(w, crasher) == 17           # its kernel died in an extra cell; the exercises are graded
    assert _score(w, victim) == 15
    assert (w.inbox / victim / CHAPTER / "timestamp.txt").read_text() == victim_stamp
    assert _score(w, linker) == 0
    assert not (w.inbox / linker / CHAPTER / f"{CHAPTER}.ipynb").exists()
    assert not (w.inbox / linker / CHAPTER / "pipe").exists()
    assert not (w.inbox / liar).exists()
    for learner in (good, bad, broken, victim):
        assert _released(w, learner), learner
    assert w.once() == 0                                   # nothing new: nothing graded again


@root_only
def test_resubmission_is_graded_again_and_the_latest_counts(course):
    w, (good, bad, *_rest) = course
    submit(w.exchange, bad, {f"{CHAPTER}.ipynb": _solution()})      # fixed it
    submit(w.exchange, good, {f"{CHAPTER}.ipynb": _with_mistake()})  # broke it
    assert w.once() == 2
    assert _score(w, bad) == 17
    assert _score(w, good) == 15
    assert _released(w, bad) and _released(w, good)


@root_only
def test_a_grader_failure_is_noted_and_the_service_goes_on(course, monkeypatch):
    from autograde.grader import driver as pipeline
    w, (good, bad, *_rest) = course
    real = pipeline.grade_chapter

    def flaky(chapter, submitted, out, **kw):
        if good in kw["learners"]:
            raise RuntimeError("the grader broke on this one")
        return real(chapter, submitted, out, **kw)
    monkeypatch.setattr(pipeline, "grade_chapter", flaky)
    submit(w.exchange, good, {f"{CHAPTER}.ipynb": _solution()})
    submit(w.exchange, bad, {f"{CHAPTER}.ipynb": _with_mistake()})
    assert w.once() == 2                                   # both handled; the batch was retried one by one
    assert _score(w, bad) == 15                            # the other learner is graded normally
    assert _score(w, good) == 15                           # the failed one keeps its last grade ...
    assert w.once() == 0                                   # ... and is not retried in a loop
    monkeypatch.setattr(pipeline, "grade_chapter", real)
    submit(w.exchange, good, {f"{CHAPTER}.ipynb": _solution()})      # a new submission is graded
    assert w.once() == 1 and _score(w, good) == 17


# ------------------------------------------------------------------------------------------------
# the class gradebook on PostgreSQL (--db)
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def postgres():
    from pgserver import PostgresServer
    server = PostgresServer()
    yield server
    server.stop()


def _pg_submissions(url: str) -> dict:
    """What the PostgreSQL gradebook holds, read with nbgrader's API: {learner: (score, max, timestamp)}."""
    from nbgrader.api import Gradebook
    from autograde.grader.gradebook import normalize_db_url
    with Gradebook(normalize_db_url(url), "nnbook") as gb:
        return {s.student.id: (s.score, s.max_score, s.timestamp) for s in gb.find_assignment(CHAPTER).submissions}


@root_only
def test_watch_once_with_db_grades_into_postgres(postgres):
    from nbgrader.utils import parse_utc

    from autograde import watch
    from autograde.grader.gradebook import db_url
    url = postgres.create_database()
    tag = secrets.token_hex(3)
    good, bad = names = [f"nnp{c}{tag}" for c in "ab"]
    base = Path(tempfile.mkdtemp(prefix="nnbook-watch-pg-"))
    args = ["--class-dir", str(base), "--chapters", CHAPTER, "-j", "2", "--once"]
    try:
        _class_dir(base, names)
        assert watch.main([*args, "--db", url]) == 0                    # releases the chapter; nothing to grade yet
        stamps = {good: submit(base / "exchange", good, {f"{CHAPTER}.ipynb": _solution()}),
                  bad: submit(base / "exchange", bad, {f"{CHAPTER}.ipynb": _with_mistake()})}
        assert watch.main([*args, "--db", url]) == 0
        rows = _pg_submissions(url)
        assert {l: r[:2] for l, r in rows.items()} == {good: (17, 17), bad: (15, 17)}, rows
        assert {l: r[2] for l, r in rows.items()} == {l: parse_utc(s).replace(tzinfo=None) for l, s in stamps.items()}
        # the URL is remembered for the course: a resubmission, the service started without --db, goes there too
        assert db_url(base / "course").startswith("postgresql+psycopg://")
        assert os.stat(base / "course" / ".nnbook" / "db_url").st_mode & 0o077 == 0
        submit(base / "exchange", bad, {f"{CHAPTER}.ipynb": _solution()})
        assert watch.main(args) == 0
        assert {l: r[:2] for l, r in _pg_submissions(url).items()} == {good: (17, 17), bad: (17, 17)}
        # nothing went to SQLite; the feedback of every submission was released
        assert not list(base.rglob("*.db")) and not list(base.rglob("*.sqlite*")), list(base.rglob("*.db"))
        w = watch.Watcher(base, [CHAPTER])
        assert _released(w, good) and _released(w, bad)
    finally:
        for n in names:
            class_setup.remove_user(n)
        shutil.rmtree(base, ignore_errors=True)


def test_a_bad_db_url_is_refused(capsys):
    from autograde import watch
    with pytest.raises(SystemExit) as e:
        watch.main(["--class-dir", "/nonexistent", "--once", "--db", "not a url"])
    assert e.value.code == 2 and "--db: not a database URL" in capsys.readouterr().err


def test_hub_hands_the_db_url_to_the_service_and_the_formgrader_never_on_a_command_line(tmp_path, monkeypatch):
    import runpy
    from types import SimpleNamespace

    from traitlets.config import Config

    url = "postgresql://grader:s3cret@db.example/nnbook"
    monkeypatch.setenv("NNBOOK_CLASS_DIR", str(tmp_path))
    monkeypatch.setenv("NNBOOK_INSTRUCTOR", "teacher")
    monkeypatch.setenv("NNBOOK_DB", url)
    hub = Config()
    ns = runpy.run_path(str(class_setup.HERE / "jupyterhub_config.py"), init_globals={"get_config": lambda: hub})
    service = hub.JupyterHub.services[0]
    assert service["environment"]["NNBOOK_DB"] == url
    assert not any("s3cret" in part for part in service["command"])
    teacher = SimpleNamespace(user=SimpleNamespace(name="teacher"), environment={}, notebook_dir="~")
    learner = SimpleNamespace(user=SimpleNamespace(name="alice"), environment={}, notebook_dir="~")
    ns["_pre_spawn"](teacher)
    ns["_pre_spawn"](learner)
    assert teacher.environment["NNBOOK_DB"] == url and "NNBOOK_DB" not in learner.environment
    # the service's --db defaults to $NNBOOK_DB
    from autograde import watch
    seen = {}
    monkeypatch.setattr(watch, "Watcher", lambda *a, **kw: seen.update(kw) or (_ for _ in ()).throw(SystemExit(0)))
    with pytest.raises(SystemExit):
        watch.main(["--class-dir", str(tmp_path), "--once"])
    assert seen["db"] == url

    # the instructor's formgrader reads the same gradebook: $NNBOOK_DB, else the URL the service remembered
    def formgrader_db() -> str:
        cfg = Config()
        runpy.run_path(str(class_setup.HERE / "nbgrader_config.py"), init_globals={"get_config": lambda: cfg})
        return cfg.CourseDirectory.db_url
    monkeypatch.setenv("NNBOOK_ROLE", "instructor")
    assert formgrader_db() == "postgresql+psycopg://grader:s3cret@db.example/nnbook"
    monkeypatch.delenv("NNBOOK_DB")
    assert formgrader_db() == f"sqlite:///{tmp_path / 'course'}/gradebook.db"
    from autograde.grader.gradebook import set_db_url
    set_db_url(tmp_path / "course", "postgresql+psycopg://grader@db.example/other")
    assert formgrader_db() == "postgresql+psycopg://grader@db.example/other"


# ------------------------------------------------------------------------------------------------
# the feedback plug-ins
# ------------------------------------------------------------------------------------------------

def _png() -> bytes:
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def test_valid_png_accepts_real_pngs_and_nothing_else():
    png = _png()
    b64 = base64.b64encode(png).decode()
    assert feedback.valid_png(b64) == png
    assert feedback.valid_png(b64[:60] + "\n" + b64[60:]) == png            # nbformat may wrap lines
    assert feedback.valid_png(base64.b64encode(png + b"<script>").decode()) is None   # trailing bytes
    broken = bytearray(png)
    broken[40] ^= 0xFF                                                       # a chunk's CRC fails
    assert feedback.valid_png(base64.b64encode(bytes(broken)).decode()) is None
    assert feedback.valid_png(base64.b64encode(b"<svg onload=alert(1)>").decode()) is None
    assert feedback.valid_png("not base64 at all!") is None
    assert feedback.valid_png(None) is None


def test_safe_markdown_renders_maths_and_shows_html_as_text():
    out = feedback.safe_markdown("a <img src=x onerror=alert(1)> $\\sigma(z)$ and `x<y` and\n\n$$\\frac{1}{2}$$")
    assert "<img" not in out and "&lt;img" in out
    assert out.count("<math") == 2 and 'display="block"' in out
    assert "`x<y`" in out                                   # code keeps its text (markdown escapes it)
    assert feedback.safe_markdown("costs \\$5 and \\$6") == "costs \\$5 and \\$6"


def test_summary_names_exercises_and_escapes_messages():
    nb = _solution()
    for cell in nb.cells:
        md = cell.metadata.get("nbgrader", {})
        if md.get("grade") and not md.get("solution"):
            md["score"] = 0.0 if md["grade_id"] == "test_perceptron" else md["points"]
            if md["grade_id"] == "test_perceptron":
                cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError",
                                                       evalue="got <script>alert(1)</script>\nmore", traceback=[])]
    rows = feedback.exercise_rows(nb)
    assert [r["name"] for r in rows][:3] == ["weighted_sum", "bias_for_threshold", "perceptron"]
    html = feedback.summary_html(rows)
    assert "Your score: 15 / 17" in html
    assert "<script>" not in html and "&lt;script&gt;" in html and "more" not in html
    assert "Exercise 1 · weighted_sum" in html


@root_only
def test_a_korean_class_releases_and_grades_the_korean_edition(tmp_path, monkeypatch):
    """``make class EDITION=ko``: the service releases the Korean chapter (same grade ids, tests and points),
    grades it like the English one, and a learner's wrong answer gets its hint in Korean."""
    import re

    from autograde import watch
    from autograde.course import read_results

    book = class_setup.copy_book(tmp_path / "book", pwd.getpwuid(os.getuid()), edition="ko")
    monkeypatch.setenv("NNBOOK_COURSE", str(book))
    hangul = re.compile(r"[\uac00-\ud7a3]")
    tag = secrets.token_hex(3)
    good, bad = names = [f"nnk{c}{tag}" for c in "ab"]
    base = Path(tempfile.mkdtemp(prefix="nnbook-watch-ko-"))
    try:
        _class_dir(base, names)
        w = watch.Watcher(base, [CHAPTER], jobs=2)
        w.release()
        released = nbformat.read(w.exchange / "nnbook" / "outbound" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
        english = nbformat.read(REPO / "chapters" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
        assert released.metadata["nnbook"]["lang"] == "ko"
        assert hangul.search(released.cells[0].source) and not hangul.search(english.cells[0].source)
        graded = lambda nb: [(c.metadata["nbgrader"]["grade_id"], c.metadata["nbgrader"].get("points"), c.source)  # noqa: E731
                             for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded(released) == graded(english)
        korean = nbformat.read(book / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
        wrong = nbformat.from_dict(korean)
        for cell in wrong.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "perceptron":
                cell.source = cell.source.replace(">= 0", "> 0")
        submit(w.exchange, good, {f"{CHAPTER}.ipynb": korean})
        submit(w.exchange, bad, {f"{CHAPTER}.ipynb": wrong})
        assert w.once() == 2
        results = read_results(w.root, CHAPTER, names)
        assert results[good].total == 17 and results[bad].total == 15
        errors = [e for c in results[bad].cells.values() for e in c.errors]
        assert errors and all(hangul.search(e) for e in errors) and any("힌트" in e for e in errors), errors
        assert _released(w, good) and _released(w, bad)
    finally:
        for n in names:
            class_setup.remove_user(n)
        shutil.rmtree(base, ignore_errors=True)
