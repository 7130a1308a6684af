"""What one learner costs in a grading slot: fork a kernel, run one tiny cell, clean up.

    python bench/slot_bench.py                      # this checkout's autograde
    python bench/slot_bench.py --repo /path/to/old  # another checkout (e.g. before a change), to compare

Per learner the slot forks a confined kernel (for the hardened sandbox: a fresh PID, mount
and IPC namespace, fresh /proc and /tmp, capabilities dropped, seccomp filter), the kernel
runs ``1``, and ``clean`` kills it (with its whole PID namespace) and wipes its folders. The
table gives the median and quartiles over ``--learners`` cycles, after ``--warmup`` ones, and
the slot's start-up (bwrap + the warm Python) once.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--learners", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args(argv)
    sys.path.insert(0, args.repo)
    from autograde import sandbox
    ok, why = sandbox.bwrap_available()
    if not ok:
        print(f"bubblewrap cannot run here ({why}); nothing to measure")
        return 0
    with tempfile.TemporaryDirectory(dir="/tmp") as d:
        stage = Path(d)
        sandbox.stage_library(stage, "neuron", [])
        t0 = time.perf_counter()
        slot = sandbox.Slot(stage, "neuron", sandbox.Limits())
        slot.fork(None).request({"op": "run", "source": "1"})
        slot.clean()
        startup = time.perf_counter() - t0
        forks, runs, cleans = [], [], []
        for i in range(args.warmup + args.learners):
            a = time.perf_counter()
            k = slot.fork(None)
            b = time.perf_counter()
            k.request({"op": "run", "source": "1"})
            c = time.perf_counter()
            slot.clean()
            e = time.perf_counter()
            if i >= args.warmup:
                forks.append(b - a), runs.append(c - b), cleans.append(e - c)
        slot.destroy()
    print(f"autograde from {args.repo}; slot start-up (bwrap + warm Python, once per worker): {startup * 1000:.0f} ms")
    print(f"{'per learner':<22}{'median ms':>10}{'p25':>8}{'p75':>8}")
    for name, xs in [("fork a kernel", forks), ("first request", runs), ("clean", cleans),
                     ("total", [f + r + c for f, r, c in zip(forks, runs, cleans)])]:
        q = statistics.quantiles(xs, n=4)
        print(f"{name:<22}{statistics.median(xs) * 1000:>10.1f}{q[0] * 1000:>8.1f}{q[2] * 1000:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
