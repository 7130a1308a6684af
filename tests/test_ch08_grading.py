"""Tests of the tests for chapter 08, through the real nbgrader autograder.

The solution must earn full marks (its capstone, its own CapstoneNet trained by its own train, must reach
95 % validation accuracy in the visible test and 97 % on an unseen split in the hidden one), the untouched
learner notebook nothing, every typical wrong answer must lose points on its own exercise only (with
the hint that names its cause), and every correct answer written differently (VARIANTS) must keep all
points, in the grader and in stock ``nbgrader validate`` (within its default 30 s per cell).
"""
import os
from pathlib import Path
import re

import nbformat
import pytest

from autograde.course import grade_submissions
from notebooks import (trimmed, assert_full_marks, assert_korean_edition, korean_submissions, assert_mutant_caught, assert_mutants_cover_every_exercise,
                       assert_hint_names_cause, assert_others_keep_points,
                       assert_stubs_score_zero, assert_variant_full_marks, assert_variants_cover_every_exercise,
                       combined_variant_notebooks, graded_test_ids, learner_path, mutant_ids, mutant_submissions,
                       read, solution_path, stock_validate, variant_ids, variant_submissions)

CHAPTER = "08_minibatch"


def _capstone_net(body: str) -> str:
    """The CapstoneNet cell of the solution with its gradient's solution region replaced by ``body``."""
    cell = next(c for c in read(solution_path(CHAPTER)).cells if c.metadata.get("nbgrader", {}).get("grade_id") == "CapstoneNet")
    head, rest = cell.source.split("        ### BEGIN SOLUTION\n")
    tail = rest.split("        ### END SOLUTION")[1]
    return head + "\n".join("        " + line if line else "" for line in body.strip("\n").splitlines()) + "\n" + tail


_GRADS = ("grads = {}\nfor i, affine in enumerate(self.affines, start=1):\n"
          "    grads[f'W{i}'], grads[f'b{i}'] = affine.dW, affine.db\nreturn grads")

# Typical wrong answers, by exercise: (label, replacement for the solution cell).
MUTANTS = {
    "iterate_minibatches": [
        ("drops-last-batch",
         "def iterate_minibatches(X, y, batch_size, rng):\n"
         "    order = rng.permutation(len(X))\n"
         "    for s in range(0, len(X) - batch_size + 1, batch_size):\n"
         "        yield X[order[s:s + batch_size]], y[order[s:s + batch_size]]"),
        ("shuffles-separately",
         "def iterate_minibatches(X, y, batch_size, rng):\n"
         "    ox, oy = rng.permutation(len(X)), rng.permutation(len(X))\n"
         "    for s in range(0, len(X), batch_size):\n"
         "        yield X[ox[s:s + batch_size]], y[oy[s:s + batch_size]]"),
        ("global-np-random",
         "def iterate_minibatches(X, y, batch_size, rng):\n"
         "    order = np.random.permutation(len(X))\n"
         "    for s in range(0, len(X), batch_size):\n"
         "        yield X[order[s:s + batch_size]], y[order[s:s + batch_size]]"),
        ("no-shuffle",
         "def iterate_minibatches(X, y, batch_size, rng):\n"
         "    for s in range(0, len(X), batch_size):\n"
         "        yield X[s:s + batch_size], y[s:s + batch_size]"),
    ],
    "weight_gradient_batch": [
        ("transposed", "def weight_gradient_batch(X, G):\n    return G.T @ X"),
        ("mean-not-sum", "def weight_gradient_batch(X, G):\n    return X.T @ G / len(X)"),
        ("float64-result", "def weight_gradient_batch(X, G):\n    return (X.T @ G).astype(float)"),
        ("first-sample-only", "def weight_gradient_batch(X, G):\n    return np.outer(X[0], G[0])"),
        ("elementwise", "def weight_gradient_batch(X, G):\n    return np.sum(X, axis=0)[:, None] * np.sum(G, axis=0)[None, :]"),
    ],
    "split_train_test": [
        ("no-shuffle",
         "def split_train_test(X, y, test_fraction, rng):\n"
         "    k = len(X) - int(round(test_fraction * len(X)))\n"
         "    return X[:k], y[:k], X[k:], y[k:]"),
        ("two-permutations-overlap",
         "def split_train_test(X, y, test_fraction, rng):\n"
         "    n_test = int(round(test_fraction * len(X)))\n"
         "    test, train = rng.permutation(len(X))[:n_test], rng.permutation(len(X))[n_test:]\n"
         "    return X[train], y[train], X[test], y[test]"),
        ("fraction-for-training",
         "def split_train_test(X, y, test_fraction, rng):\n"
         "    n_train = int(round(test_fraction * len(X)))\n"
         "    order = rng.permutation(len(X))\n"
         "    return X[order[:n_train]], y[order[:n_train]], X[order[n_train:]], y[order[n_train:]]"),
        ("y-not-shuffled",
         "def split_train_test(X, y, test_fraction, rng):\n"
         "    n, n_test = len(X), int(round(test_fraction * len(X)))\n"
         "    order = rng.permutation(n)\n"
         "    return X[order[n_test:]], y[n_test:], X[order[:n_test]], y[:n_test]"),
    ],
    "evaluate": [
        ("unweighted-chunk-mean",
         "def evaluate(net, X, y, batch_size=1000):\n"
         "    losses, accs = [], []\n"
         "    for s in range(0, len(X), batch_size):\n"
         "        scores = net.predict(X[s:s + batch_size])\n"
         "        losses.append(cross_entropy_from_logits(scores, y[s:s + batch_size]))\n"
         "        accs.append(accuracy(scores, y[s:s + batch_size]))\n"
         "    return float(np.mean(losses)), float(np.mean(accs))"),
        ("drops-last-chunk",
         "def evaluate(net, X, y, batch_size=1000):\n"
         "    loss = correct = seen = 0.0\n"
         "    for s in range(0, len(X) - batch_size + 1, batch_size):\n"
         "        scores = net.predict(X[s:s + batch_size])\n"
         "        loss += batch_size * cross_entropy_from_logits(scores, y[s:s + batch_size])\n"
         "        correct += batch_size * accuracy(scores, y[s:s + batch_size]); seen += batch_size\n"
         "    seen = max(seen, 1.0)\n"
         "    return loss / seen, correct / seen"),
        ("accuracy-in-percent",
         "def evaluate(net, X, y, batch_size=1000):\n"
         "    scores = net.predict(X)\n"
         "    return cross_entropy_from_logits(scores, y), 100.0 * accuracy(scores, y)"),
        ("pair-swapped",
         "def evaluate(net, X, y, batch_size=1000):\n"
         "    scores = net.predict(X)\n"
         "    return accuracy(scores, y), cross_entropy_from_logits(scores, y)"),
        ("first-chunk-only",
         "def evaluate(net, X, y, batch_size=1000):\n"
         "    scores = net.predict(X[:batch_size])\n"
         "    return cross_entropy_from_logits(scores, y[:batch_size]), accuracy(scores, y[:batch_size])"),
    ],
    "train": [
        ("validates-on-training-data",
         "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n"
         "    h = {'loss': [], 'accuracy': []}\n"
         "    if X_val is not None: h['val_loss'], h['val_accuracy'] = [], []\n"
         "    for _ in range(num_epochs):\n"
         "        for Xb, yb in iterate_minibatches(X, y, batch_size, rng):\n"
         "            sgd_step(net.params, net.gradient(Xb, yb), lr)\n"
         "        l, a = evaluate(net, X, y); h['loss'].append(l); h['accuracy'].append(a)\n"
         "        if X_val is not None: h['val_loss'].append(l); h['val_accuracy'].append(a)\n"
         "    return h"),
        ("running-batch-average",
         "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n"
         "    h = {'loss': [], 'accuracy': []}\n"
         "    if X_val is not None: h['val_loss'], h['val_accuracy'] = [], []\n"
         "    for _ in range(num_epochs):\n"
         "        ls, accs = [], []\n"
         "        for Xb, yb in iterate_minibatches(X, y, batch_size, rng):\n"
         "            ls.append(net.loss(Xb, yb)); accs.append(net.accuracy(Xb, yb))\n"
         "            sgd_step(net.params, net.gradient(Xb, yb), lr)\n"
         "        h['loss'].append(float(np.mean(ls))); h['accuracy'].append(float(np.mean(accs)))\n"
         "        if X_val is not None:\n"
         "            l, a = evaluate(net, X_val, y_val); h['val_loss'].append(l); h['val_accuracy'].append(a)\n"
         "    return h"),
        ("same-order-every-epoch",
         "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n"
         "    h = {'loss': [], 'accuracy': []}\n"
         "    if X_val is not None: h['val_loss'], h['val_accuracy'] = [], []\n"
         "    batches = list(iterate_minibatches(X, y, batch_size, rng))\n"
         "    for _ in range(num_epochs):\n"
         "        for Xb, yb in batches:\n"
         "            sgd_step(net.params, net.gradient(Xb, yb), lr)\n"
         "        l, a = evaluate(net, X, y); h['loss'].append(l); h['accuracy'].append(a)\n"
         "        if X_val is not None:\n"
         "            l, a = evaluate(net, X_val, y_val); h['val_loss'].append(l); h['val_accuracy'].append(a)\n"
         "    return h"),
        ("accuracy-recorded-once",
         "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n"
         "    h = {'loss': [], 'accuracy': []}\n"
         "    if X_val is not None: h['val_loss'], h['val_accuracy'] = [], []\n"
         "    for _ in range(num_epochs):\n"
         "        for Xb, yb in iterate_minibatches(X, y, batch_size, rng):\n"
         "            sgd_step(net.params, net.gradient(Xb, yb), lr)\n"
         "        l, a = evaluate(net, X, y); h['loss'].append(l)\n"
         "        if X_val is not None:\n"
         "            vl, va = evaluate(net, X_val, y_val); h['val_loss'].append(vl)\n"
         "    h['accuracy'].append(a)\n"
         "    if X_val is not None: h['val_accuracy'].append(va)\n"
         "    return h"),
        ("full-batch",
         "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n"
         "    h = {'loss': [], 'accuracy': []}\n"
         "    if X_val is not None: h['val_loss'], h['val_accuracy'] = [], []\n"
         "    for _ in range(num_epochs):\n"
         "        sgd_step(net.params, net.gradient(X, y), lr)\n"
         "        l, a = evaluate(net, X, y); h['loss'].append(l); h['accuracy'].append(a)\n"
         "        if X_val is not None:\n"
         "            l, a = evaluate(net, X_val, y_val); h['val_loss'].append(l); h['val_accuracy'].append(a)\n"
         "    return h"),
        ("empty-val-keys-without-validation",
         "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n"
         "    h = {'loss': [], 'accuracy': [], 'val_loss': [], 'val_accuracy': []}\n"
         "    for _ in range(num_epochs):\n"
         "        for Xb, yb in iterate_minibatches(X, y, batch_size, rng):\n"
         "            sgd_step(net.params, net.gradient(Xb, yb), lr)\n"
         "        l, a = evaluate(net, X, y); h['loss'].append(l); h['accuracy'].append(a)\n"
         "        if X_val is not None:\n"
         "            l, a = evaluate(net, X_val, y_val); h['val_loss'].append(l); h['val_accuracy'].append(a)\n"
         "    return h"),
    ],
    "CapstoneNet": [
        ("no-skip-gradient", _capstone_net(
            "dA = self.affines[-1].backward(self.last_layer.backward(1.0))\n"
            "for i in range(self.num_layers - 2, -1, -1):\n"
            "    dA = self.affines[i].backward(self.relus[i].backward(dA))\n" + _GRADS)),
        ("skip-gradient-only", _capstone_net(
            "dA = self.affines[-1].backward(self.last_layer.backward(1.0))\n"
            "for i in range(self.num_layers - 2, -1, -1):\n"
            "    d_through = self.affines[i].backward(self.relus[i].backward(dA))\n"
            "    dA = dA if self.skips[i] else d_through\n" + _GRADS)),
        ("mean-at-fan-out", _capstone_net(
            "dA = self.affines[-1].backward(self.last_layer.backward(1.0))\n"
            "for i in range(self.num_layers - 2, -1, -1):\n"
            "    d_through = self.affines[i].backward(self.relus[i].backward(dA))\n"
            "    dA = (d_through + dA) / 2 if self.skips[i] else d_through\n" + _GRADS)),
        ("forward-order", _capstone_net(
            "dA = self.affines[-1].backward(self.last_layer.backward(1.0))\n"
            "for i in range(self.num_layers - 2, -1, -1):\n"
            "    d_through = self.relus[i].backward(self.affines[i].backward(dA))\n"
            "    dA = self.branches[i].backward(d_through, dA) if self.skips[i] else d_through\n" + _GRADS)),
        ("first-layer-left-out", _capstone_net(
            "dA = self.affines[-1].backward(self.last_layer.backward(1.0))\n"
            "for i in range(self.num_layers - 2, 0, -1):\n"
            "    d_through = self.affines[i].backward(self.relus[i].backward(dA))\n"
            "    dA = self.branches[i].backward(d_through, dA) if self.skips[i] else d_through\n" + _GRADS)),
    ],
    "capstone_config": [
        ("lr-too-small", "def capstone_config():\n"
                         "    return {'hidden_sizes': [256], 'lr': 0.0005, 'num_epochs': 20, 'batch_size': 32}"),
        ("one-epoch", "def capstone_config():\n"
                      "    return {'hidden_sizes': [256], 'lr': 0.1, 'num_epochs': 1, 'batch_size': 32}"),
        ("lr-diverges", "def capstone_config():\n"
                        "    return {'hidden_sizes': [256], 'lr': 50.0, 'num_epochs': 5, 'batch_size': 32}"),
        ("too-big", "def capstone_config():\n"
                    "    return {'hidden_sizes': [2048, 2048], 'lr': 0.1, 'num_epochs': 50, 'batch_size': 32}"),
        ("bottleneck", "def capstone_config():\n"
                       "    return {'hidden_sizes': [2], 'lr': 0.1, 'num_epochs': 10, 'batch_size': 32}"),
    ],
}


TEST_CELLS = None

# The hint each of these wrong answers must get: it names that mistake, not another one.
HINTS = {
    "iterate_minibatches--drops-last-batch": "keep the last batch",
    "iterate_minibatches--shuffles-separately": "draw ONE permutation",
    "iterate_minibatches--no-shuffle": "the epoch was not shuffled",
    "weight_gradient_batch--transposed": "the result has one entry per weight: shape (d, m)",
    "weight_gradient_batch--mean-not-sum": "the sum, not the mean",
    "weight_gradient_batch--float64-result": "a product of float32 arrays stays float32",
    "evaluate--unweighted-chunk-mean": "weight each chunk's mean loss by its size",
    "evaluate--accuracy-in-percent": "do not multiply by 100",
    "train--validates-on-training-data": "evaluate the validation data",
    "train--empty-val-keys-without-validation": "only when X_val is given",
    "CapstoneNet--no-skip-gradient": "Its gradient is the SUM of both",
    "CapstoneNet--skip-gradient-only": "Its gradient is the SUM of both",
    "CapstoneNet--mean-at-fan-out": "Its gradient is the SUM of both",
    "capstone_config--lr-too-small": "these settings do not learn the digits well enough",
    "capstone_config--one-epoch": "these settings do not learn the digits well enough",
    "capstone_config--lr-diverges": "these settings do not learn the digits well enough",
    "capstone_config--bottleneck": "these settings do not learn the digits well enough",
    "capstone_config--too-big": "hidden_sizes should be 1 to 3 layers of 1 to 512 units",
}

# Wrong answers that cannot help costing a later exercise too: batches from NumPy's global random state differ
# on every call, so no test can replay the learner's own iterate_minibatches.
# The capstone is the learner's own pipeline (issue 12): their CapstoneNet, trained by their train and
# iterate_minibatches. A mistake that keeps the network from learning (labels shuffled apart from their rows,
# one full-batch step per epoch) or crashes it (a backward pass in the forward order, a layer left without
# gradients) costs the capstone too; its message then says that the settings are fine with the book's
# pipeline and to fix the failing exercise first. Mistakes that still train well cost only their exercise.
CASCADES = {"iterate_minibatches--global-np-random": {"test_train"},
            "iterate_minibatches--shuffles-separately": {"test_capstone_config"},
            "train--full-batch": {"test_capstone_config"},
            "CapstoneNet--forward-order": {"test_capstone_config"},
            "CapstoneNet--first-layer-left-out": {"test_capstone_config"}}

_TRAIN_LOOP = ("    for _ in range(num_epochs):\n        for Xb, yb in iterate_minibatches(X, y, batch_size, rng):\n"
               "            sgd_step(net.params, net.gradient(Xb, yb), lr)\n")
# Correct answers written differently, by exercise: each must keep every point.
VARIANTS = {
    "iterate_minibatches": [
        ("ok-shuffled-indices", "def iterate_minibatches(X, y, batch_size, rng):\n    idx = np.arange(len(X))\n    rng.shuffle(idx)\n"
                                "    for s in range(0, len(idx), batch_size):\n        yield X[idx[s:s + batch_size]], y[idx[s:s + batch_size]]"),
        ("ok-array-split", "def iterate_minibatches(X, y, batch_size, rng):\n    n = X.shape[0]\n    order = rng.permutation(n)\n"
                           "    for chunk in np.array_split(order, list(range(batch_size, n, batch_size))):\n"
                           "        yield np.take(X, chunk, axis=0), np.take(y, chunk, axis=0)"),
        ("ok-yield-from-list", "def iterate_minibatches(X, y, batch_size, rng):\n    order = rng.permutation(len(y))\n"
                               "    start, batches = 0, []\n    while start < len(order):\n"
                               "        idx = order[start:start + batch_size]\n        batches.append((X[idx], y[idx]))\n"
                               "        start += batch_size\n    yield from batches"),
    ],
    "weight_gradient_batch": [
        ("ok-einsum", "def weight_gradient_batch(X, G):\n    return np.einsum('ni,nj->ij', X, G)"),
        ("ok-transpose-of-transpose", "def weight_gradient_batch(X, G):\n    return (G.T @ X).T"),
        ("ok-tensordot", "def weight_gradient_batch(X, G):\n    return np.tensordot(X, G, axes=(0, 0))"),
        ("ok-np-dot", "def weight_gradient_batch(X, G):\n    return np.dot(X.T, G)"),
    ],
    "split_train_test": [
        ("ok-list", "def split_train_test(X, y, test_fraction, rng):\n    order = rng.permutation(len(X))\n"
                    "    k = int(round(test_fraction * len(X)))\n    return [X[order[k:]], y[order[k:]], X[order[:k]], y[order[:k]]]"),
        ("ok-take", "def split_train_test(X, y, test_fraction, rng):\n    n = X.shape[0]\n    n_test = int(round(test_fraction * n))\n"
                    "    order = rng.permutation(n)\n    test, train = np.split(order, [n_test])\n"
                    "    return np.take(X, train, axis=0), np.take(y, train, axis=0), np.take(X, test, axis=0), np.take(y, test, axis=0)"),
        ("ok-shuffled-indices", "def split_train_test(X, y, test_fraction, rng):\n    idx = np.arange(len(X))\n    rng.shuffle(idx)\n"
                                "    n_test = int(round(test_fraction * len(idx)))\n"
                                "    return X[idx][n_test:], y[idx][n_test:], X[idx][:n_test], y[idx][:n_test]"),
    ],
    "evaluate": [
        ("ok-np-average", "def evaluate(net, X, y, batch_size=1000):\n    losses, accs, sizes = [], [], []\n"
                          "    for s in range(0, len(X), batch_size):\n        scores = net.predict(X[s:s + batch_size])\n"
                          "        losses.append(cross_entropy_from_logits(scores, y[s:s + batch_size]))\n"
                          "        accs.append(accuracy(scores, y[s:s + batch_size]))\n        sizes.append(len(scores))\n"
                          "    return float(np.average(losses, weights=sizes)), float(np.average(accs, weights=sizes))"),
        ("ok-count-correct", "def evaluate(net, X, y, batch_size=1000):\n    total, correct = 0.0, 0\n"
                             "    for s in range(0, len(X), batch_size):\n        Xc, yc = X[s:s + batch_size], y[s:s + batch_size]\n"
                             "        scores = np.asarray(net.predict(Xc))\n        total += len(yc) * cross_entropy_from_logits(scores, yc)\n"
                             "        correct += int(np.sum(np.argmax(scores, axis=1) == yc))\n"
                             "    return float(total / len(X)), correct / len(X)"),
        ("ok-list-pair", "def evaluate(net, X, y, batch_size=1000):\n    chunks = [(X[s:s + batch_size], y[s:s + batch_size]) for s in range(0, len(X), batch_size)]\n"
                         "    results = [(len(yc), net.predict(Xc), yc) for Xc, yc in chunks]\n"
                         "    loss = sum(m * cross_entropy_from_logits(Z, yc) for m, Z, yc in results) / len(X)\n"
                         "    acc = sum(m * accuracy(Z, yc) for m, Z, yc in results) / len(X)\n    return [float(loss), float(acc)]"),
    ],
    "train": [
        ("ok-defaultdict", "from collections import defaultdict\n\n"
                           "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n"
                           "    history = defaultdict(list)\n" + _TRAIN_LOOP +
                           "        loss, acc = evaluate(net, X, y)\n        history['loss'].append(loss)\n        history['accuracy'].append(acc)\n"
                           "        if X_val is not None:\n            val_loss, val_acc = evaluate(net, X_val, y_val)\n"
                           "            history['val_loss'].append(val_loss)\n            history['val_accuracy'].append(val_acc)\n"
                           "    return history"),
        ("ok-setdefault", "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n    history = {}\n" + _TRAIN_LOOP +
                          "        for key, value in zip(('loss', 'accuracy'), evaluate(net, X, y)):\n"
                          "            history.setdefault(key, []).append(float(value))\n        if X_val is not None:\n"
                          "            for key, value in zip(('val_loss', 'val_accuracy'), evaluate(net, X_val, y_val)):\n"
                          "                history.setdefault(key, []).append(float(value))\n    return history"),
        ("ok-inline-step", "def train(net, X, y, lr, num_epochs, batch_size, rng, X_val=None, y_val=None):\n"
                           "    keys = ['loss', 'accuracy'] + (['val_loss', 'val_accuracy'] if X_val is not None else [])\n"
                           "    history = {k: [] for k in keys}\n    for epoch in range(num_epochs):\n"
                           "        for X_batch, y_batch in iterate_minibatches(X, y, batch_size, rng):\n"
                           "            grads = net.gradient(X_batch, y_batch)\n            for name in net.params:\n"
                           "                net.params[name] -= lr * grads[name]\n"
                           "        values = list(evaluate(net, X, y)) + (list(evaluate(net, X_val, y_val)) if X_val is not None else [])\n"
                           "        for k, v in zip(keys, values):\n            history[k].append(float(v))\n    return history"),
    ],
    "CapstoneNet": [
        ("ok-plus-not-branch", _capstone_net(
            "dA = self.affines[-1].backward(self.last_layer.backward(1.0))\n"
            "for i in reversed(range(self.num_layers - 1)):\n"
            "    d_through = self.affines[i].backward(self.relus[i].backward(dA))\n"
            "    dA = d_through + dA if self.skips[i] else d_through\n" + _GRADS)),
        ("ok-reversed-zip", _capstone_net(
            "dA = self.affines[-1].backward(self.last_layer.backward(1.0))\n"
            "for affine, relu, branch, skip in reversed(list(zip(self.affines, self.relus, self.branches, self.skips))):\n"
            "    d_in = affine.backward(relu.backward(dA))\n"
            "    dA = branch.backward(dA, d_in) if skip else d_in\n"
            "return {name: (layer.dW if name[0] == 'W' else layer.db)\n"
            "        for l, layer in enumerate(self.affines, start=1) for name in (f'W{l}', f'b{l}')}")),
        ("ok-while-copies", _capstone_net(
            "dout = self.last_layer.backward(1.0)\n"
            "dout = self.affines[self.num_layers - 1].backward(dout)\n"
            "i = self.num_layers - 2\n"
            "while i >= 0:\n"
            "    upstream = dout\n"
            "    dout = self.relus[i].backward(upstream)\n"
            "    dout = self.affines[i].backward(dout)\n"
            "    if self.skips[i]:\n"
            "        dout = self.branches[i].backward(dout, upstream)\n"
            "    i -= 1\n"
            "grads = {}\n"
            "for i in range(self.num_layers):\n"
            "    grads['W' + str(i + 1)] = self.affines[i].dW.copy()\n"
            "    grads['b' + str(i + 1)] = self.affines[i].db.copy()\n"
            "return grads")),
    ],
    "capstone_config": [
        ("ok-two-hidden-layers", "def capstone_config():\n    return {'hidden_sizes': [128, 64], 'lr': 0.1, 'num_epochs': 60, 'batch_size': 32}"),
        ("ok-skip-connections", "def capstone_config():\n    return {'hidden_sizes': [128, 128, 128], 'lr': 0.05, 'num_epochs': 50, 'batch_size': 32}"),
        ("ok-tuple-small-batches", "def capstone_config():\n    return dict(hidden_sizes=(256,), lr=0.05, num_epochs=60, batch_size=16)"),
        ("ok-numpy-values", "def capstone_config():\n    return {'hidden_sizes': np.array([200]), 'lr': np.float64(0.1), 'num_epochs': np.int64(40),\n"
                            "            'batch_size': 32}"),
    ],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER)}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))          # without the demo cells (notebooks.trimmed)
    subs.update(variant_submissions(CHAPTER, VARIANTS))
    subs.update(korean_submissions(CHAPTER, MUTANTS))          # the Korean edition, in the same run
    # The graded notebooks do a lot of small matrix products. On a busy machine, multi-threaded BLAS spends
    # more time waiting for its threads than computing (10-20x slower), so kernels run single-threaded.
    saved = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({k: "1" for k in saved})
    try:
        return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=4)


def test_trimmed_notebook_keeps_every_graded_cell():
    solution = read(solution_path(CHAPTER))
    short = trimmed(solution)
    assert graded_test_ids(short) == graded_test_ids(solution)
    assert len(short.cells) < len(solution.cells)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 19)


def test_korean_edition_grades_the_same(graded):
    """The Korean notebooks, graded by the same course: full marks, 0, each first mutant caught in Korean."""
    assert_korean_edition(graded, CHAPTER, 19, MUTANTS, TEST_CELLS)


def test_capstone_trains_the_learners_network(graded):
    # the capstone test trains the solution's own CapstoneNet with its own train: it reports the validation
    # accuracy (never a test accuracy), and its hidden part (>= 97 % on an unseen split) passed: full points
    out = graded["solution"].cells["test_capstone_config"].stdout
    match = re.search(r"capstone validation accuracy: ([0-9.]+) \((\d+) epochs in ([0-9.]+) s\)", out)
    assert match, f"the capstone test cell printed no accuracy: {out!r}"
    assert float(match[1]) >= 0.95, out
    assert "test accuracy" not in out
    assert graded["solution"].cells["test_capstone_config"].score == 3


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student)

@pytest.mark.parametrize("student", sorted(HINTS))
def test_wrong_answer_gets_the_hint_for_its_mistake(graded, student):
    assert_hint_names_cause(graded, student, HINTS, TEST_CELLS)


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_one_mistake_costs_one_exercise(graded, student):
    # a wrong answer leaves the chapter's other exercises correct: they keep their points
    assert_others_keep_points(graded, student, CASCADES.get(student, ()), TEST_CELLS)


def test_every_exercise_has_variants():
    assert_variants_cover_every_exercise(CHAPTER, VARIANTS)


# Correct variants the grader still gets wrong (the fix belongs to autograde/, not to this chapter).
@pytest.mark.parametrize("student", variant_ids(VARIANTS))
def test_correct_variant_gets_full_marks(graded, student):
    assert_variant_full_marks(graded, student)


STOCK_TIMEOUT = 30      # stock nbgrader's default cell timeout (Execute.timeout)


def test_variants_pass_stock_validate_within_default_timeout(tmp_path, monkeypatch):
    # what the Validate button runs, with its default 30 s per cell, on the whole learner notebook (capstone
    # included) with each round of variants filled in; one BLAS thread, as `make start` and the grader use
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")
    problems = {}
    for name, nb in combined_variant_notebooks(CHAPTER, VARIANTS).items():
        result = stock_validate(nb, tmp_path, name, timeout=STOCK_TIMEOUT)
        if result:
            problems[name] = {k: [c.get("raw_error", c.get("source", ""))[-800:] for c in v] for k, v in result.items()}
    assert not problems, f"stock nbgrader validate rejected correct variants: {problems}"
