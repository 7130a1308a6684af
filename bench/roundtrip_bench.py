"""What one judge <-> kernel round trip costs: the test cells' calls into the learner's code.

    python bench/roundtrip_bench.py                      # this checkout's autograde
    python bench/roundtrip_bench.py --repo /path/to/old  # another checkout (e.g. before a change), to compare

A test cell reaches the learner's objects through proxies (:class:`autograde.grader.judge.Remote`),
one round trip per call, attribute read or item; a numerical-gradient check makes thousands. In a
hardened sandbox slot (as ``nnbook-grade`` runs), this times, per operation, the median and quartiles
over ``--rounds`` rounds of ``--calls`` operations each:

- ``f(x)``: a learner function called with a (4, 5) array, returning a float;
- ``Layer().forward(x, y)``: a new learner object, a method read and a call returning an array
  (three round trips, the pattern of chapter 07's gradient checks);
- ``net.W``: an attribute read returning an array.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

LEARNER = '''
import numpy as np
def f(x):
    return float(np.sum(x * x))
class Layer:
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y
class Net:
    def __init__(self):
        self.W = np.ones((4, 5))
net = Net()
'''


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--calls", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    sys.path.insert(0, args.repo)
    import numpy as np

    from autograde import sandbox
    from autograde.grader.judge import Remote
    ok, why = sandbox.bwrap_available()
    if not ok:
        print(f"bubblewrap cannot run here ({why}); measuring the unsandboxed kernel")
    with tempfile.TemporaryDirectory(dir="/tmp") as d:
        stage = Path(d)
        sandbox.stage_library(stage, "neuron", [])
        slot = sandbox.Slot(stage, "neuron", sandbox.Limits(), sandbox=ok)
        k = slot.fork(None)
        header, _ = k.request({"op": "run", "source": LEARNER})
        assert header.get("ok"), header
        f, Layer, net = (Remote(k, {"name": n}) for n in ("f", "Layer", "net"))
        x, y = np.arange(20.0).reshape(4, 5), np.full((4, 5), 0.5)
        assert f(x) == float(np.sum(x * x)) and np.array_equal(Layer().forward(x, y), x * y)
        ops = {"f(x)": lambda: f(x), "Layer().forward(x, y)": lambda: Layer().forward(x, y),
               "net.W": lambda: net.W}
        times = {name: [] for name in ops}
        for _ in range(args.rounds):
            for name, op in ops.items():
                t0 = time.perf_counter()
                for _ in range(args.calls):
                    op()
                times[name].append((time.perf_counter() - t0) / args.calls)
        k.close()
        slot.destroy()
    print(f"autograde from {args.repo}; sandboxed: {ok}; {args.rounds} rounds of {args.calls} operations")
    print(f"{'per operation':<26}{'median µs':>10}{'p25':>8}{'p75':>8}")
    for name, xs in times.items():
        q = statistics.quantiles(xs, n=4)
        print(f"{name:<26}{statistics.median(xs) * 1e6:>10.0f}{q[0] * 1e6:>8.0f}{q[2] * 1e6:>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
