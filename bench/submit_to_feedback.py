"""Benchmark (not a test): time from a learner's submit to the feedback being available to fetch.

    sudo .venv/bin/python bench/submit_to_feedback.py [--learners 50] [--window 60] [--alone 3]

A class like `make class`'s, in a temporary folder: one instructor, N learners as real local accounts
(created here, deleted afterwards), the grading service ``nnbook-grade --watch`` running as the
instructor from the class environment (`make class-env`), exactly as the hub starts it. Each learner
fetches chapter 01 and submits with nbgrader's own exchange API (``ExchangeFetchAssignment``,
``ExchangeSubmit``), in a child process running as that learner; no browser. The clock stops when
the learner's feedback file is in the exchange (what *Fetch Feedback* looks for).

1. ``alone``: one learner submits while nobody else does (``--alone`` times, different learners).
2. ``class``: N learners submit at random moments within ``--window`` seconds.
Three quarters of the learners submit the solution, the others a typical mistake.
"""
from __future__ import annotations

import argparse
import os
import pwd
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CHAPTER = "01_neuron"
CLASS_VENV = Path(os.environ.get("NNBOOK_CLASS_VENV", "/srv/nnbook/venv"))


def _config(class_dir: Path, home: Path):
    from traitlets.config import Config
    return Config({"CourseDirectory": {"course_id": "nnbook", "root": str(home)},
                   "Exchange": {"root": str(class_dir / "exchange"), "path_includes_course": False}})


def _preload() -> None:
    """Import what the child needs before it becomes the learner (this interpreter may live where a
    learner cannot read, e.g. under root's home)."""
    import traceback  # noqa: F401
    import nbgrader.exchange.default  # noqa: F401
    from nbgrader.auth import Authenticator  # noqa: F401
    from nbgrader.coursedir import CourseDirectory  # noqa: F401
    import nbgrader.utils, nbformat, jupyter_core.paths, glob, shutil, secrets, datetime, logging  # noqa: F401,E401
    import encodings.idna, uuid, json  # noqa: F401,E401


def as_learner(name: str, action: str, class_dir: Path, notebook: str | None = None) -> None:
    """Fetch or submit as the learner's own OS user (nbgrader takes the identity from it)."""
    _preload()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            user = pwd.getpwnam(name)
            os.initgroups(name, user.pw_gid)
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.environ.update(HOME=user.pw_dir, USER=name, LOGNAME=name)
            os.chdir(user.pw_dir)
            from nbgrader.auth import Authenticator
            from nbgrader.coursedir import CourseDirectory
            from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeSubmit
            cfg = _config(class_dir, Path(user.pw_dir))
            cd = CourseDirectory(config=cfg)
            cd.assignment_id = CHAPTER
            if action == "fetch":
                ExchangeFetchAssignment(coursedir=cd, authenticator=Authenticator(config=cfg), config=cfg).start()
            else:
                if notebook is not None:
                    Path(user.pw_dir, CHAPTER, f"{CHAPTER}.ipynb").write_text(notebook)
                ExchangeSubmit(coursedir=cd, authenticator=Authenticator(config=cfg), config=cfg).start()
            code = 0
        except BaseException as e:  # noqa: BLE001
            print(f"{name} {action}: {type(e).__name__}: {e}", file=sys.stderr)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError(f"{action} as {name} failed")


def latest_feedback_file(class_dir: Path, name: str) -> Path:
    """The exchange file Fetch Feedback will look for, for this learner's latest submission."""
    from nbgrader.utils import notebook_hash
    cache = Path(pwd.getpwnam(name).pw_dir) / ".local" / "share" / "jupyter" / "nbgrader_cache" / "nnbook"
    latest = max(cache.glob(f"{name}+{CHAPTER}+*"), key=lambda p: p.name)
    secret = (latest / "submission_secret.txt").read_text()
    return class_dir / "exchange" / "nnbook" / "feedback" / f"{notebook_hash(secret=secret, notebook_id=CHAPTER)}.html"


def notebooks() -> tuple[str, str]:
    import nbformat
    nb = nbformat.read(REPO / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    good = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "perceptron":
            cell.source = cell.source.replace(">= 0", "> 0")
    return good, nbformat.writes(nb)


def wait_all(files: dict[str, tuple[Path, float]], timeout: float) -> dict[str, float]:
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(files) and time.monotonic() < deadline:
        for name, (path, t0) in files.items():
            if name not in done and path.exists():
                done[name] = time.monotonic() - t0
        time.sleep(0.05)
    return done


def describe(xs: list[float]) -> str:
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    return (f"n={len(xs)} median {statistics.median(xs):.1f} s, p90 {p90:.1f} s, "
            f"min {xs[0]:.1f} s, max {xs[-1]:.1f} s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", type=int, default=50)
    p.add_argument("--window", type=float, default=60.0)
    p.add_argument("--alone", type=int, default=3)
    p.add_argument("--jobs", type=int, default=None, help="the service's -j (default: its own)")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root: it creates the learners' local accounts")
    if not (CLASS_VENV / "bin" / "nnbook-grade").exists():
        sys.exit(f"{CLASS_VENV} is missing: run `make class-env`")
    from autograde.hub import class_setup
    tag = secrets.token_hex(2)
    instructor = f"nnbi{tag}"
    learners = [f"nnbl{tag}{i:02d}" for i in range(max(args.learners, args.alone))]
    class_dir = Path(tempfile.mkdtemp(prefix="nnbook-bench-", dir="/tmp"))
    os.chmod(class_dir, 0o755)
    service = None
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    try:
        t = time.monotonic()
        class_setup.lay_out(class_dir, instructor, learners, None)
        print(f"{len(learners)} learners' accounts in {time.monotonic() - t:.1f} s")
        env = ["env", f"PATH={CLASS_VENV / 'bin'}:/usr/bin:/bin", f"HOME={pwd.getpwnam(instructor).pw_dir}",
               "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1", "PYTHONUNBUFFERED=1"]
        cmd = ["runuser", "-u", instructor, "--", *env, str(CLASS_VENV / "bin" / "nnbook-grade"), "--watch",
               "--class-dir", str(class_dir), "--chapters", CHAPTER] + (["-j", str(args.jobs)] if args.jobs else [])
        log = open(class_dir / "service.log", "wb")
        service = subprocess.Popen(cmd, cwd=class_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while not (class_dir / "exchange" / "nnbook" / "outbound" / CHAPTER).is_dir():
            if service.poll() is not None:
                raise RuntimeError((class_dir / "service.log").read_text()[-3000:])
            time.sleep(0.2)
        for name in learners:
            as_learner(name, "fetch", class_dir)
        good, bad = notebooks()
        rng = random.Random(0)
        which = {name: (bad if i % 4 == 3 else good) for i, name in enumerate(learners)}

        alone = []
        for name in learners[:args.alone]:
            as_learner(name, "submit", class_dir, which[name])
            t0 = time.monotonic()
            got = wait_all({name: (latest_feedback_file(class_dir, name), t0)}, 300)
            alone.append(got[name])
            print(f"alone: {name} submit -> feedback available in {got[name]:.1f} s")
        print(f"ALONE: {describe(alone)}   (load average {os.getloadavg()[0]:.2f})")

        group = learners[:args.learners]
        moments = sorted((rng.uniform(0, args.window), name) for name in group)
        files = {}
        start = time.monotonic()
        for at, name in moments:
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            as_learner(name, "submit", class_dir, which[name])
            files[name] = (latest_feedback_file(class_dir, name), time.monotonic())
        got = wait_all(files, 900)
        last = max(t0 + got.get(n, 0) for n, (_, t0) in files.items())
        missing = sorted(set(group) - set(got))
        print(f"CLASS: {len(group)} learners submitting within {args.window:.0f} s: {describe(list(got.values()))}; "
              f"last feedback {last - start:.1f} s after the first submit"
              + (f"; NO feedback for {missing}" if missing else "")
              + f"   (load average {os.getloadavg()[0]:.2f})")
        graded = (class_dir / "service.log").read_text().count("; feedback released")
        print(f"service log: {graded} feedback pages released")
        return 0 if not missing else 1
    finally:
        if service is not None and service.poll() is None:
            os.killpg(service.pid, signal.SIGTERM)
            try:
                service.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(service.pid, signal.SIGKILL)
        if service is not None:
            try:
                os.killpg(service.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if os.environ.get("NNBOOK_KEEP_CLASS"):
            print(f"kept {class_dir}")
        else:
            shutil.rmtree(class_dir, ignore_errors=True)
        for name in [instructor, *learners]:
            class_setup.remove_user(name)


if __name__ == "__main__":
    sys.exit(main())
