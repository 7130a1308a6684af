"""``nnbook-grade --scheduler``: a real Dask scheduler and two worker processes on localhost (started
as separate processes, as on a cluster) grade a demo class with hostile submissions exactly as the
one-machine process pool does; a worker killed mid-run loses and duplicates nothing; a scheduler
that goes away is a clear error and the rerun continues from the gradebook; a learner's own library
(``mynnbook/``) handed in with a chapter is used on the workers as on one machine."""
from __future__ import annotations

import json
import shutil
import threading
import time

import nbformat
import pytest

from autograde import cli
from pathlib import Path

from autograde.grader import cluster
from autograde.grader.driver import course_config
from autograde.grader.gradebook import db_url, done_digests
from dask_helpers import CHAPTER, FLAGS, KINDS, LocalDask, assert_same_grades, cluster_stats, grades, small_class

pytestmark = pytest.mark.slow
COURSE_ID = course_config(Path("/nonexistent")).CourseDirectory.course_id


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return small_class(tmp_path_factory.mktemp("dask-class") / "demo")


@pytest.fixture(scope="module")
def one_machine(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("one-machine")
    assert cli.main([str(demo), CHAPTER, "-o", str(out), "-j", "2", *FLAGS]) == 0
    return out


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    c = LocalDask(tmp_path_factory.mktemp("cluster"), workers=2)
    yield c
    c.stop()


def _submissions(out):
    from nbgrader.api import Gradebook
    with Gradebook(db_url(out / "course"), COURSE_ID) as gb:
        return sorted(s.student.id for s in gb.find_assignment(CHAPTER).submissions)


def _written(out) -> int:
    """Learners the writer has recorded so far, read without touching the gradebook's schema (an
    nbgrader Gradebook opened while the run creates the database would race it creating tables)."""
    import sqlite3
    db = out / "course" / "gradebook.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT count(*) FROM nnbook_graded").fetchone()[0]
    except sqlite3.OperationalError:          # no table yet
        return 0


def test_two_workers_grade_exactly_as_one_machine(demo, one_machine, dask_cluster, tmp_path):
    out = tmp_path / "dask"
    assert cli.main([str(demo), CHAPTER, "-o", str(out), "--scheduler", dask_cluster.address, *FLAGS]) == 0
    assert_same_grades(one_machine, out)
    row = grades(out)["correct-000"]            # late (FLAGS): the penalty came back from a worker
    assert float(row[f"{CHAPTER}:penalty"]) == 1 and float(row[f"{CHAPTER}:total"]) == float(row[f"{CHAPTER}:max"]) - 1
    stats = cluster_stats(out)
    assert stats["workers used"] == 2 and stats["written"] == len(KINDS) and stats["duplicates ignored"] == 0
    # the workers got bytes, not paths: each has its own scratch course, and the client's course has what
    # came back (autograded notebooks, feedback pages) and a gradebook written by the client alone
    for name in ("w0", "w1"):
        assert any(p.parent.parent.parent.name.startswith("nnbook-")
                   for p in (dask_cluster.folder / name).rglob("courses/*/gradebook.db"))
    assert _submissions(out) == sorted(KINDS)


def test_rerun_on_the_cluster_regrades_nothing_unchanged(demo, one_machine, dask_cluster, tmp_path):
    out = tmp_path / "dask"
    args = [str(demo), CHAPTER, "-o", str(out), "--scheduler", dask_cluster.address, *FLAGS]
    assert cli.main(args) == 0
    assert cli.main(args) == 0
    stats = cluster_stats(out)
    assert stats["skipped (already graded)"] == len(KINDS) and stats["batches"] == 0
    assert_same_grades(one_machine, out)
    assert _submissions(out) == sorted(KINDS)


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(demo, one_machine, dask_cluster, tmp_path):
    out = tmp_path / "killed"
    rc = []
    run = threading.Thread(target=lambda: rc.append(cli.main(
        [str(demo), CHAPTER, "-o", str(out), "--scheduler", dask_cluster.address, "--batch", "2", *FLAGS])))
    run.start()
    killed = None
    with dask_cluster.client() as side:
        deadline = time.monotonic() + 600
        while killed is None and run.is_alive() and time.monotonic() < deadline:
            busy = {addr: keys for addr, keys in side.processing().items() if keys}
            names = {addr: w["name"] for addr, w in side.scheduler_info(n_workers=-1)["workers"].items()}
            if _written(out) and busy:                   # one batch is in the gradebook, another one is running
                addr = next(iter(busy))
                killed = (names[addr], list(busy[addr]))
                dask_cluster.workers[killed[0]].kill()
                print(f"killed worker {killed[0]} while it ran {killed[1]} ({_written(out)} learner(s) written)")
                break
            time.sleep(0.3)
    run.join(900)
    assert killed, "no worker was busy while the run went on"
    assert rc == [0]
    assert_same_grades(one_machine, out)                  # nothing lost: everyone graded, the same grades
    assert _submissions(out) == sorted(KINDS)             # nothing duplicated in the gradebook
    stats = cluster_stats(out)
    assert stats["written"] == len(KINDS) and stats["duplicates ignored"] == 0
    dask_cluster.add_worker(killed[0] + "-again")         # the cluster as it was, for any later test
    dask_cluster.wait_for_workers(2)


def test_scheduler_gone_is_a_clear_error_and_the_rerun_continues(demo, one_machine, tmp_path, capsys):
    out = tmp_path / "lost"
    first = LocalDask(tmp_path / "cluster-1", workers=1)
    rc = []
    try:
        args = [str(demo), CHAPTER, "-o", str(out), "--batch", "1", *FLAGS]
        run = threading.Thread(target=lambda: rc.append(cli.main([*args, "--scheduler", first.address])))
        run.start()
        deadline = time.monotonic() + 600
        while run.is_alive() and time.monotonic() < deadline:
            if _written(out) >= 2:
                break
            time.sleep(0.3)
        first.kill_scheduler()
        run.join(300)
    finally:
        first.stop()
    assert rc == [3]
    err = capsys.readouterr().err
    assert f"the Dask scheduler at {first.address} is gone" in err and "Run the same command again" in err
    done = done_digests(db_url(out / "course"), COURSE_ID, CHAPTER)
    assert 2 <= len(done) < len(KINDS)
    second = LocalDask(tmp_path / "cluster-2", workers=1)
    try:
        assert cli.main([*args, "--scheduler", second.address]) == 0
    finally:
        second.stop()
    stats = cluster_stats(out)
    assert stats["skipped (already graded)"] == len(done)           # what was done is not graded again
    assert stats["written"] == len(KINDS) - len(done)
    assert_same_grades(one_machine, out)
    assert _submissions(out) == sorted(KINDS)


def test_an_unreachable_scheduler_is_a_clear_error():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                          # nothing listens there now
    with pytest.raises(cluster.SchedulerLost, match="cannot reach the Dask scheduler"):
        cluster.connect(f"tcp://127.0.0.1:{port}", timeout=3)


# ---------------------------------------------------------------------------------------------- the learner's library
LIB_CHAPTER = "03_forward"            # imports relu from nnbook.activations: the learner's own, when handed in
SEEN = "LIBRARY SEEN "
# a cell the learner added at the end of chapter 03: what their code sees in the sandbox's working folder
SEEN_CELL = ("import hashlib, inspect, json, pathlib\n"
             "lib = pathlib.Path('mynnbook')\n"
             f"print({SEEN!r} + json.dumps({{'files': {{p.name: hashlib.sha256(p.read_bytes()).hexdigest()\n"
             "                                          for p in sorted(lib.iterdir())} if lib.is_dir() else None,\n"
             "                                'relu': inspect.getsourcefile(relu)}))")


def _sha(folder: Path) -> dict | None:
    import hashlib
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())} if folder.is_dir() else None


@pytest.fixture(scope="module")
def library_class(tmp_path_factory):
    """Three learners hand in the same solved chapter 03 (with SEEN_CELL): ``own-library`` with the
    ``mynnbook/`` that ``nnbook-mine`` built from their solved chapter 02 (their relu passes its test and is
    used); ``edited-library`` with that library after editing its relu by hand into ``np.abs`` (the
    library is learner code: it runs, and chapter 03's forward, which calls relu, loses its points);
    ``no-library`` without one (the book's relu)."""
    from autograde.course import write_submission
    from test_mylib import learner_folder, mine, solved

    base = tmp_path_factory.mktemp("library-class")
    ch03 = solved(LIB_CHAPTER)
    ch03.cells.append(nbformat.v4.new_code_cell(SEEN_CELL))
    own = learner_folder(base / "own", {"02_activations": solved("02_activations"), LIB_CHAPTER: ch03})
    r = mine("02_activations", cwd=own)
    assert r.returncode == 0, r.stderr[-3000:]
    handed = own / "chapters" / LIB_CHAPTER / "mynnbook"           # the copy that travels with the hand-in
    assert "relu" in json.loads((handed / "status.json").read_text())["modules"]["activations"]["yours"]
    raw = base / "submitted"
    for learner in ("own-library", "edited-library", "no-library"):
        write_submission(raw, LIB_CHAPTER, learner, ch03)
    shutil.copytree(handed, raw / "own-library" / LIB_CHAPTER / "mynnbook")
    shutil.copytree(handed, raw / "edited-library" / LIB_CHAPTER / "mynnbook")
    with open(raw / "edited-library" / LIB_CHAPTER / "mynnbook" / "activations.py", "a") as f:
        f.write("\n\ndef relu(z):\n    return np.abs(z)\n")
    return raw


def _grade_library_class(raw: Path, out: Path, session=None):
    from autograde.grader.driver import grade_chapter
    from autograde.sandbox import Limits

    result = grade_chapter(LIB_CHAPTER, raw, out, progress=False, feedback=False, jobs=2, session=session,
                           limits=Limits(cell_timeout=60, notebook_timeout=300))
    assert not result.grader_errors, result.grader_errors
    seen = {}
    for learner in result.results:
        nb = nbformat.read(out / "course" / "autograded" / learner / LIB_CHAPTER / f"{LIB_CHAPTER}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        line = next((l for l in text.splitlines() if l.startswith(SEEN)), None)
        assert line, (learner, text[-3000:])
        seen[learner] = json.loads(line[len(SEEN):])
    scores = {learner: {g: (c.score, c.max_score, c.errors, c.stdout) for g, c in res.cells.items()}
              for learner, res in result.results.items()}
    return result, scores, seen


def test_a_handed_in_library_is_graded_on_the_workers_as_on_one_machine(library_class, dask_cluster, tmp_path):
    from autograde.grader.driver import execute_traits
    from autograde.sandbox import Limits

    one, one_scores, one_seen = _grade_library_class(library_class, tmp_path / "one")
    session = cluster.connect(dask_cluster.address, chapters=[LIB_CHAPTER],
                              execute=execute_traits(Limits(cell_timeout=60, notebook_timeout=300), True))
    try:
        on_dask, dask_scores, dask_seen = _grade_library_class(library_class, tmp_path / "dask", session)
    finally:
        session.close()
    assert on_dask.stats["written"] == 3
    # the same grades, cell by cell, messages included
    assert dask_scores == one_scores
    assert {l: r.notes for l, r in on_dask.results.items()} == {l: r.notes for l, r in one.results.items()}
    # the library was used, on the workers too: the edited relu costs chapter 03's forward its points there
    totals = {l: r.total for l, r in on_dask.results.items()}
    assert totals["own-library"] == totals["no-library"] == on_dask.results["no-library"].max_total > 0, totals
    assert totals["edited-library"] < totals["no-library"], totals
    assert dask_scores["edited-library"]["test_forward"][0] == 0, dask_scores["edited-library"]["test_forward"]
    # the same library staged for each learner: the files handed in (mynnbook/ as the grader lays it out,
    # in the client's course) are the files the learner's code saw in the sandbox, on one machine and on Dask
    for learner in ("own-library", "edited-library", "no-library"):
        handed = _sha(library_class / learner / LIB_CHAPTER / "mynnbook")
        for out in (tmp_path / "one", tmp_path / "dask"):
            assert _sha(out / "course" / "submitted" / learner / LIB_CHAPTER / "mynnbook") == handed, (out, learner)
        assert dask_seen[learner] == one_seen[learner] == {
            "files": handed, "relu": one_seen[learner]["relu"]}, (learner, dask_seen[learner], one_seen[learner])
    assert one_seen["own-library"]["relu"].endswith("/mynnbook/activations.py")
    assert one_seen["edited-library"]["relu"].endswith("/mynnbook/activations.py")
    assert not one_seen["no-library"]["relu"].endswith("/mynnbook/activations.py")
    assert one_seen["no-library"]["files"] is None
