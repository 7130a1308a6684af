"""Benchmark (not a test): ``nnbook-grade`` on one machine vs on a Dask scheduler with workers on
localhost, and gradebook writes per second on SQLite vs PostgreSQL.

    python bench/dask_bench.py [--learners 1000] [--workers 2] [--no-feedback] [--writes 400]

1. Builds a class of N learners of chapter 01 (honest kinds of ``autograde.demo_class``: mostly
   correct, some with a typical mistake, some blank; the faulty and hostile kinds would spend most of
   the time in their timeouts, which is the same on both sides).
2. Grades it with ``nnbook-grade -j W`` (the process pool), then with ``nnbook-grade --scheduler`` on a
   ``dask scheduler`` and W ``dask worker --nthreads 1`` processes started here (the cluster is started
   before the clock runs: it stands for an existing cluster). Checks that both give the same grades.csv.
3. Replays the graded results into fresh gradebooks through the single writer
   (``autograde.grader.gradebook.write_graded``): SQLite, and PostgreSQL started in a temporary folder
   (tests/pgserver.py), in batches of 1 and of 8 learners; learners written per second.

Prints a Markdown table and the load (``uptime``) before and after.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = "1"

CHAPTER = "01_neuron"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def grade(args: list[str]) -> float:
    cmd = [sys.executable, "-m", "autograde.cli", *args]
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        print(r.stdout[-3000:], r.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return time.monotonic() - t


def build_class(dest: Path, n: int) -> None:
    from autograde import demo_class
    seed = dest.parent / "seed"
    demo_class.build(CHAPTER, 30, seed)
    kinds = sorted(p.name for p in (seed / "submitted").iterdir())
    correct = [k for k in kinds if k.startswith("correct-")]
    wrong = [k for k in kinds if k.startswith("wrong-")]
    blank = [k for k in kinds if k.startswith("blank-")]
    for i in range(n):                               # 90 % correct, 8 % wrong, 2 % blank
        pool = blank if i % 50 == 49 else wrong if i % 25 in (3, 11) else correct
        src = seed / "submitted" / pool[i % len(pool)]
        shutil.copytree(src, dest / "submitted" / f"learner-{i:05d}")
    shutil.rmtree(seed)


def results_for_replay(out: Path) -> list[dict]:
    """Each graded learner's gradebook rows as the plain results a Dask worker returns."""
    from nbgrader.api import Gradebook

    from autograde.grader.driver import course_config
    config = course_config(out / "course")
    found = []
    with Gradebook(config.CourseDirectory.db_url, config.CourseDirectory.course_id) as gb:
        for sub in gb.find_assignment(CHAPTER).submissions:
            r = {"learner": sub.student.id, "error": None, "digest": "0" * 64,
                 "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
                 "grades": [], "comments": [], "penalties": {}}
            for nb in sub.notebooks:
                r["penalties"][nb.name] = nb.late_submission_penalty
                r["grades"] += [{"name": g.name, "notebook": nb.name, "auto_score": g.auto_score} for g in nb.grades]
                r["comments"] += [{"name": c.name, "notebook": nb.name, "auto_comment": c.auto_comment}
                                  for c in nb.comments]
            found.append(r)
    return found


def writes_per_second(url: str, work: Path, results: list[dict], batch: int) -> float:
    """Learners written per second by the single writer into a fresh gradebook at ``url``."""
    from autograde.grader.driver import course_config, prepare_course
    from autograde.grader.gradebook import set_db_url, write_graded
    root = work / f"course-{abs(hash((url, batch)))}"
    root.mkdir(parents=True)
    set_db_url(root, url)
    config = course_config(root)
    prepare_course(root, CHAPTER, config)
    cd = config.CourseDirectory
    t = time.monotonic()
    for i in range(0, len(results), batch):
        write_graded(cd.db_url, cd.course_id, CHAPTER, results[i:i + batch])
    return len(results) / (time.monotonic() - t)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-feedback", action="store_true")
    p.add_argument("--writes", type=int, default=400, help="learners replayed into each gradebook")
    p.add_argument("--workdir", type=Path, default=None)
    a = p.parse_args()

    from autograde.grader.driver import _quiet_gradebook_warnings, ensure_bin_on_path
    from autograde.grader.gradebook import tune_sqlite
    from dask_helpers import LocalDask, assert_same_grades, cluster_stats
    from pgserver import PostgresServer

    ensure_bin_on_path()
    tune_sqlite()
    _quiet_gradebook_warnings()
    work = a.workdir or Path(tempfile.mkdtemp(prefix="nnbook-dask-bench-"))
    demo = work / "class"
    build_class(demo, a.learners)
    flags = ["-q"] + (["--no-feedback"] if a.no_feedback else [])
    print(f"{a.learners} learners of {CHAPTER}, {a.workers} workers, feedback {'off' if a.no_feedback else 'on'}")
    before = uptime()
    print("load before:", before)

    t_pool = grade([str(demo), CHAPTER, "-o", str(work / "pool"), "-j", str(a.workers), *flags])
    print(f"one machine (process pool): {t_pool:.1f} s")
    cluster = LocalDask(work / "cluster", workers=a.workers)
    try:
        t_dask = grade([str(demo), CHAPTER, "-o", str(work / "dask"), "--scheduler", cluster.address, *flags])
    finally:
        cluster.stop()
    print(f"Dask scheduler + {a.workers} workers on localhost: {t_dask:.1f} s")
    stats = cluster_stats(work / "dask")
    if not a.no_feedback:
        assert_same_grades(work / "pool", work / "dask")
        same = "the same grades.csv (every cell, note, total) in both runs"
    else:
        same = "(no feedback: grades compared only with feedback on)"
    print(same)

    results = results_for_replay(work / "dask")
    results = (results * (a.writes // max(1, len(results)) + 1))[:a.writes]
    for i, r in enumerate(results):
        results[i] = {**r, "learner": f"replay-{i:05d}"}
    writes = {}
    writes[("SQLite", 1)] = writes_per_second(f"sqlite:///{work}/replay-1.db", work, results, 1)
    writes[("SQLite", 8)] = writes_per_second(f"sqlite:///{work}/replay-8.db", work, results, 8)
    server = PostgresServer()
    try:
        for b in (1, 8):
            writes[("PostgreSQL", b)] = writes_per_second(server.create_database().replace(
                "postgresql://", "postgresql+psycopg://"), work, results, b)
    finally:
        server.stop()
    after = uptime()

    n = a.learners
    print()
    print("| run | wall time | s per notebook |")
    print("|---|---|---|")
    print(f"| `nnbook-grade -j {a.workers}` (one machine) | {t_pool:.1f} s | {t_pool / n:.3f} |")
    print(f"| `nnbook-grade --scheduler` ({a.workers} `dask worker` processes on localhost) | {t_dask:.1f} s "
          f"| {t_dask / n:.3f} |")
    print(f"| Dask overhead | {t_dask - t_pool:+.1f} s | {(t_dask - t_pool) / n:+.3f} |")
    print()
    print(f"cluster: {', '.join(f'{k} {v:g}' for k, v in stats.items())}")
    print()
    print("| gradebook | batch | learners written per s | grade rows per s |")
    print("|---|---|---|---|")
    rows = len(results[0]["grades"]) if results else 0
    for (db, b), v in writes.items():
        print(f"| {db} | {b} | {v:.1f} | {v * rows:.0f} |")
    print()
    print("load before:", before)
    print("load after: ", after)
    if a.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
