"""``nnbook-grade --db postgresql://...``: the gradebook on a real PostgreSQL server that this suite
starts itself (tests/pgserver.py; Debian's ``postgresql``, installed by .ci/system-deps), through
nbgrader's own ``db_url``: the same grades as with SQLite, on one machine and on a Dask cluster."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograde import cli
from autograde.grader.driver import course_config
from autograde.grader.gradebook import db_url, done_digests, redact
from dask_helpers import CHAPTER, FLAGS, assert_same_grades, cluster_stats, small_class

pytestmark = pytest.mark.slow
KINDS = ["correct-000", "wrong-perceptron-forgot-return", "blank-000", "fault-os-exit", "hack-numpy-patch",
         "fault-invalid-json"]


@pytest.fixture(scope="module")
def postgres():
    from pgserver import PostgresServer
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return small_class(tmp_path_factory.mktemp("pg-class") / "demo", KINDS)


@pytest.fixture(scope="module")
def sqlite_run(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("sqlite")
    assert cli.main([str(demo), CHAPTER, "-o", str(out), "-j", "2", *FLAGS]) == 0
    return out


def _rows(url: str) -> dict:
    """What the PostgreSQL gradebook holds, read with nbgrader's API: {learner: (total score, max)}."""
    from nbgrader.api import Gradebook
    course_id = course_config(Path("/nonexistent")).CourseDirectory.course_id
    with Gradebook(url, course_id) as gb:
        assignment = gb.find_assignment(CHAPTER)
        return {s.student.id: (s.score, s.max_score) for s in assignment.submissions}


def test_gradebook_on_postgres_gives_the_sqlite_grades(postgres, demo, sqlite_run, tmp_path):
    url = postgres.create_database()
    out = tmp_path / "pg"
    assert cli.main([str(demo), CHAPTER, "-o", str(out), "-j", "2", "--db", url, *FLAGS]) == 0
    assert_same_grades(sqlite_run, out)
    assert not (out / "course" / "gradebook.db").exists()          # nothing went to SQLite
    assert db_url(out / "course").startswith("postgresql+psycopg://")
    rows = _rows(url)
    assert sorted(rows) == sorted(KINDS)
    assert rows["correct-000"][0] == rows["correct-000"][1] > 0 and rows["blank-000"][0] == 0

    # the same output folder again, now on a Dask cluster (a LocalCluster here): the URL is remembered,
    # the single writer updates the PostgreSQL rows (one submission per learner, never two)
    assert cli.main([str(demo), CHAPTER, "-o", str(out), "--scheduler", "local:2", *FLAGS]) == 0
    assert_same_grades(sqlite_run, out)
    assert cluster_stats(out)["written"] == len(KINDS)
    assert _rows(url) == rows
    assert sorted(done_digests(db_url(out / "course"), "nnbook", CHAPTER)) == sorted(KINDS)


def test_the_database_password_stays_out_of_messages(tmp_path):
    assert redact("postgresql://grader:s3cret@db.example/course") == "postgresql://grader:***@db.example/course"
    url_file = tmp_path / "course"
    url_file.mkdir()
    from autograde.grader.gradebook import DB_FILE, set_db_url
    set_db_url(url_file, "postgresql://grader:s3cret@db/course")
    assert (url_file / DB_FILE).stat().st_mode & 0o077 == 0              # the remembered URL is private


def test_a_bad_db_url_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main([str(tmp_path), CHAPTER, "-o", str(tmp_path / "o"), "--db", "not a url"])
    assert "--db: not a database URL" in capsys.readouterr().err
