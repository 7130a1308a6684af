"""``nnbook-grade --scheduler``: a real Dask scheduler and two worker processes on localhost (started
as separate processes, as on a cluster) grade a demo class with hostile submissions exactly as the
one-machine process pool does; a worker killed mid-run loses and duplicates nothing; a scheduler
that goes away is a clear error and the rerun continues from the gradebook."""
from __future__ import annotations

import threading
import time

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
