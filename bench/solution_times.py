"""Benchmark (not a test): how long each chapter's solution notebook takes to run, top to bottom.

    python bench/solution_times.py [--runs 3] [CHAPTER ...]

The book promises every solution notebook runs in at most 15 s on a 2-core machine (what a learner's
"Restart and run all" and the instructor's Validate cost). Each run is a whole fresh kernel, started,
run and shut down, the way nbgrader's Validate runs a notebook (nbclient, IPC transport, one BLAS
thread, the agg backend); the table gives the median and the spread of ``--runs`` runs per chapter,
plus the machine load before and after (the figures mean little on a busy machine).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIMIT = 15.0


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_once(path: Path) -> float:
    import nbformat
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    sockets = Path(tempfile.mkdtemp(prefix="nbt-"))
    try:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / "k"))
        client = NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": str(path.parent)}})
        t = time.monotonic()
        client.execute()
        return time.monotonic() - t
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="*")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = "1"
    os.environ["MPLBACKEND"] = "agg"
    paths = sorted(REPO.glob("solutions/*/*.ipynb"))
    if args.chapters:
        paths = [p for p in paths if p.stem in args.chapters]
    print(f"{len(paths)} solution notebooks, {args.runs} runs each, {os.cpu_count()} cores")
    print("load before:", uptime())
    rows = []
    for path in paths:
        times = [run_once(path) for _ in range(args.runs)]
        rows.append((path.stem, statistics.median(times), min(times), max(times)))
        print(f"  {path.stem}: " + ", ".join(f"{t:.1f}" for t in times) + " s", file=sys.stderr)
    print("load after: ", uptime())
    print("\n| chapter | median | min | max | within 15 s |\n|---|---|---|---|---|")
    for name, med, lo, hi in rows:
        print(f"| {name} | {med:.1f} s | {lo:.1f} s | {hi:.1f} s | {'yes' if med <= LIMIT else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
