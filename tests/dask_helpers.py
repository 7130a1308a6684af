"""Helpers of tests/test_dask.py and tests/test_postgres.py: a small demo class with hostile
submissions, a real Dask scheduler and workers started as separate processes on localhost, and the
comparison of two grading runs."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from autograde import demo_class

CHAPTER = "01_neuron"
# honest, wrong, blank, faulty and hostile learners (autograde/demo_class.py's kinds)
KINDS = ["correct-000", "correct-001", "wrong-perceptron-forgot-return", "blank-000", "fault-endless-loop",
         "fault-os-exit", "hack-numpy-patch", "hack-read-tests"]
# every submission late (nbgrader's timestamp.txt, written by small_class, 3 h after the due date): the
# due date, lateness and penalties travel to the workers and back into the gradebook too
SUBMITTED = "2026-01-02 03:04:05.000000 UTC"
FLAGS = ["--cell-timeout", "4", "--notebook-timeout", "60", "-q", "--due", "2026-01-01", "--late-penalty", "1/day"]


def small_class(dest: Path, kinds: list[str] = KINDS) -> Path:
    """``dest/submitted/<learner>/01_neuron/`` for the learners ``kinds`` of the demo class."""
    full = dest.parent / (dest.name + "-full")
    demo_class.build(CHAPTER, 30, full)
    for k in kinds:
        shutil.copytree(full / "submitted" / k, dest / "submitted" / k)
        if (dest / "submitted" / k / CHAPTER).is_dir():
            (dest / "submitted" / k / CHAPTER / "timestamp.txt").write_text(SUBMITTED + "\n")
    shutil.rmtree(full)
    return dest


def grades(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv") as f:
        return {r["learner"]: r for r in csv.DictReader(f)}


def assert_same_grades(a: Path, b: Path) -> None:
    """Every column of grades.csv (each test cell's score, times, lateness, totals, the grader's notes)
    is the same in both runs, and both wrote every learner's feedback page."""
    ga, gb = grades(a), grades(b)
    assert sorted(ga) == sorted(gb)
    for learner in ga:
        diff = {k: (ga[learner][k], gb[learner].get(k)) for k in ga[learner] if ga[learner][k] != gb[learner].get(k)}
        assert not diff, f"{learner}: {diff}"
    for out in (a, b):
        for learner in ga:
            assert (out / "feedback" / learner / f"{CHAPTER}.html").is_file(), (out, learner)


def cluster_stats(out: Path) -> dict:
    """The ``on the Dask cluster:`` line of summary.txt as a dict of numbers."""
    line = next(l for l in (out / "summary.txt").read_text().splitlines() if "on the Dask cluster:" in l)
    stats = {}
    for part in line.split(":", 1)[1].split(","):
        key, _, value = part.strip().rpartition(" ")
        stats[key] = float(value)
    return stats


def _env():
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class LocalDask:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, as on a cluster (separate
    processes, each worker with its own local directory, no nanny: killing one kills that worker)."""

    def __init__(self, folder: Path, workers: int = 2):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.file = self.folder / "scheduler.json"
        self.file.unlink(missing_ok=True)
        self.procs: list[subprocess.Popen] = []
        self.scheduler = self._spawn("scheduler", ["distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                                   "--port", "0", "--no-dashboard", "--scheduler-file", str(self.file)])
        deadline = time.monotonic() + 90
        while not self.file.exists() or not self.file.read_text().strip():
            self._check(deadline, "the scheduler did not write its file")
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]
        self.workers = {}
        for i in range(workers):
            self.add_worker(f"w{i}")
        self.wait_for_workers(workers)

    def _spawn(self, name, args):
        log = open(self.folder / f"{name}.log", "ab")
        p = subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT, env=_env(),
                             cwd=self.folder)
        self.procs.append(p)
        return p

    def _check(self, deadline, what):
        if time.monotonic() > deadline or any(p.poll() is not None for p in [self.scheduler]):
            self.stop()
            raise RuntimeError(what + ": " + (self.folder / "scheduler.log").read_text()[-2000:])

    def add_worker(self, name: str):
        local = self.folder / name
        local.mkdir(exist_ok=True)
        self.workers[name] = self._spawn(name, ["distributed.cli.dask_worker", "--scheduler-file", str(self.file),
                                                "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", name,
                                                "--local-directory", str(local)])

    def client(self):
        from distributed import Client
        return Client(self.address, timeout=30)

    def wait_for_workers(self, n: int):
        with self.client() as c:
            c.wait_for_workers(n, timeout=120)

    def kill_scheduler(self):
        self.scheduler.kill()
        self.scheduler.wait()

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
