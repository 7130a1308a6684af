"""Time one epoch of mini-batch SGD: nnbook (NumPy) against PyTorch on the CPU.

Both sides train the same multi-layer perceptron (ReLU hidden layers, softmax cross-entropy, plain SGD)
on the same float32 data, from the same initial weights, with the same batch size and the same order of
batches, on the same number of CPU threads. The script reports the median wall-clock time of several
epochs for each and the ratio nnbook / PyTorch (below 1: nnbook is faster), and checks that both sides
really computed the same thing (the training losses after the timed epochs agree).

    python bench/torch_vs_nnbook.py                 # 1 thread, all workloads
    python bench/torch_vs_nnbook.py --threads 2 --epochs 7
    python bench/torch_vs_nnbook.py --profile       # where nnbook's time goes (cProfile)

PyTorch is optional (`pip install torch`, the CPU build is enough); without it only nnbook is timed.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

WORKLOADS = {
    # name: (layer sizes, samples, default batch size, data)
    "digits 64-256-10": ([64, 256, 10], None, 32, "digits"),
    "synthetic 784-256-10": ([784, 256, 10], 10_000, 128, "synthetic"),
    "synthetic 784-1024-1024-10": ([784, 1024, 1024, 10], 4_000, 128, "synthetic"),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="CPU threads for both NumPy's BLAS and PyTorch (default 1)")
    p.add_argument("--epochs", type=int, default=5, help="timed epochs per side; the median is reported (default 5)")
    p.add_argument("--batch-size", type=int, default=None, help="override every workload's batch size")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate (default 0.05)")
    p.add_argument("--only", default=None, help="run only workloads whose name contains this text")
    p.add_argument("--profile", action="store_true", help="also profile nnbook's epoch with cProfile")
    return p.parse_args(argv)


ARGS = parse_args()
# Thread counts must be fixed before NumPy or PyTorch is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
             "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402

from nnbook.backprop import MultiLayerNet  # noqa: E402
from nnbook.minibatch import iterate_minibatches, sgd_step  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    torch = None


def make_data(kind, n, d_in, d_out, seed=0):
    if kind == "digits":
        from sklearn.datasets import load_digits
        digits = load_digits()
        return (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d_in), dtype=np.float32)
    W = rng.standard_normal((d_in, d_out), dtype=np.float32)
    return X, np.argmax(X @ W, axis=1).astype(np.int64)        # a learnable labelling


def mean_loss_numpy(net, X, y):
    Z = net.predict(X).astype(np.float64)
    m = Z.max(axis=1, keepdims=True)
    return float(np.mean(m[:, 0] + np.log(np.exp(Z - m).sum(axis=1)) - Z[np.arange(len(y)), y]))


def nnbook_epochs(sizes, X, y, batch_size, lr, epochs, seed):
    """Warm-up epoch + `epochs` timed epochs; returns (times, net)."""
    net = MultiLayerNet(sizes, np.random.default_rng(seed), dtype=np.float32)
    rng = np.random.default_rng(seed + 1)
    times = []
    for epoch in range(epochs + 1):
        start = time.perf_counter()
        for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng):
            sgd_step(net.params, net.gradient(X_batch, y_batch), lr)
        if epoch:                                               # epoch 0 warms caches and allocators up
            times.append(time.perf_counter() - start)
    return times, net


def torch_epochs(sizes, X, y, batch_size, lr, epochs, seed):
    """The same training in PyTorch: same initial weights (from nnbook's init), same batch order."""
    init = MultiLayerNet(sizes, np.random.default_rng(seed), dtype=np.float32).params
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(init[f"W{i + 1}"].T)))   # torch stores (out, in)
            lin.bias.copy_(torch.from_numpy(init[f"b{i + 1}"]))
        layers += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(seed + 1)                         # the same shuffles as iterate_minibatches
    times = []
    for epoch in range(epochs + 1):
        start = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(X)))
        for s in range(0, len(X), batch_size):
            idx = order[s:s + batch_size]
            xb, yb = Xt.index_select(0, idx), yt.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
        if epoch:
            times.append(time.perf_counter() - start)
    with torch.no_grad():
        final_loss = float(torch.nn.functional.cross_entropy(model(Xt), yt))
    return times, final_loss


def profile_nnbook(sizes, X, y, batch_size, lr, seed):
    import cProfile
    import pstats
    net = MultiLayerNet(sizes, np.random.default_rng(seed), dtype=np.float32)
    rng = np.random.default_rng(seed + 1)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(2):
        for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng):
            sgd_step(net.params, net.gradient(X_batch, y_batch), lr)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def blas_info():
    try:
        from threadpoolctl import threadpool_info
        return ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        return "threadpoolctl not installed"


def main():
    print("nnbook vs PyTorch: one epoch of mini-batch SGD (float32, CPU)")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, BLAS: {blas_info()}")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?") \
        if os.path.exists("/proc/cpuinfo") else platform.processor()
    print(f"  CPU: {cpu}, {os.cpu_count()} logical cores; load average {os.getloadavg() if hasattr(os, 'getloadavg') else '?'}")
    if torch is None:
        print("  PyTorch is NOT installed: timing nnbook only. For the comparison: pip install torch (CPU build).")
    else:
        torch.set_num_threads(ARGS.threads)
        torch.set_num_interop_threads(1)
        print(f"  torch {torch.__version__}, torch threads {torch.get_num_threads()}")
    print(f"  threads for both: {ARGS.threads}; timed epochs per side: {ARGS.epochs} (median), plus 1 warm-up; "
          f"lr {ARGS.lr}\n")

    header = f"{'workload':28s} {'n':>6s} {'batch':>5s} {'nnbook s/epoch':>15s} {'torch s/epoch':>14s} " \
             f"{'nnbook/torch':>12s} {'|loss diff|':>11s}"
    print(header)
    print("-" * len(header))
    rows = []
    for name, (sizes, n, batch_size, kind) in WORKLOADS.items():
        if ARGS.only and ARGS.only not in name:
            continue
        batch_size = ARGS.batch_size or batch_size
        X, y = make_data(kind, n, sizes[0], sizes[-1])
        times_nb, net = nnbook_epochs(sizes, X, y, batch_size, ARGS.lr, ARGS.epochs, seed=0)
        t_nb = float(np.median(times_nb))
        if torch is not None:
            times_t, loss_t = torch_epochs(sizes, X, y, batch_size, ARGS.lr, ARGS.epochs, seed=0)
            t_t = float(np.median(times_t))
            diff = abs(mean_loss_numpy(net, X, y) - loss_t)
            print(f"{name:28s} {len(X):6d} {batch_size:5d} {t_nb:15.4f} {t_t:14.4f} {t_nb / t_t:12.2f} {diff:11.2e}")
            rows.append((name, t_nb / t_t))
        else:
            print(f"{name:28s} {len(X):6d} {batch_size:5d} {t_nb:15.4f} {'-':>14s} {'-':>12s} {'-':>11s}")
        sys.stdout.flush()
        if ARGS.profile:
            profile_nnbook(sizes, X, y, batch_size, ARGS.lr, seed=0)
    if rows:
        worst = max(rows, key=lambda r: r[1])
        print(f"\nslowest relative to PyTorch: {worst[0]} at {worst[1]:.2f}x "
              f"({'within' if worst[1] <= 1.2 else 'outside'} the 1.2x goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
