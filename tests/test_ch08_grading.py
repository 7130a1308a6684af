"""Tests of the tests for chapter 08, through the real nbgrader autograder.

The solution must earn full marks (and its capstone must reach 97 % test accuracy), the untouched
learner notebook nothing, and every typical wrong answer must lose points on its own exercise.
"""
import os
import re

import nbformat
import pytest

from autograde.course import grade_submissions
from notebooks import assert_full_marks, assert_mutant_caught, assert_mutants_cover_every_exercise, assert_stubs_score_zero, graded_test_ids, learner_path, mutant_ids, mutant_submissions, read, solution_path

CHAPTER = "08_minibatch"

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


def trimmed(nb):
    """The notebook without its demo cells (plots, timings, the capstone demo run).

    A learner may delete any cell that is neither graded nor exported; the autograder only needs the
    imports, the exercises, the exported helpers and the test cells. Mutants are graded in this form to
    keep the suite fast; the solution and the learner notebook are graded whole.
    """
    nb = nbformat.from_dict(nb)
    keep = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader") or "#| export" in cell.source \
                or cell.source.lstrip().startswith("import"):
            keep.append(cell)
    nb.cells = keep
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER)}
    subs.update({sid: trimmed(nb) for sid, nb in mutant_submissions(CHAPTER, MUTANTS).items()})
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
    assert_full_marks(graded["solution"], CHAPTER, 14)


def test_capstone_reaches_97_percent(graded):
    # the capstone test cell retrains the network with the solution's settings and prints its test accuracy
    out = graded["solution"].cells["test_capstone_config"].stdout
    match = re.search(r"capstone test accuracy: ([0-9.]+) \((\d+) epochs in ([0-9.]+) s\)", out)
    assert match, f"the capstone test cell printed no accuracy: {out!r}"
    assert float(match[1]) >= 0.97, out


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student)


def test_mutants_lose_points_only_where_expected(graded):
    # the mutants of one exercise leave the other exercises correct: they keep those points
    for student, result in graded.items():
        if "--" not in student:
            continue
        gid = student.split("--")[0]
        lost = {g: c.errors for g, c in result.cells.items() if g != f"test_{gid}" and c.score < c.max_score}
        dependent = {"iterate_minibatches": {"test_train", "test_capstone_config"},
                     "evaluate": {"test_train"}}.get(gid, set())
        assert set(lost) <= dependent, f"{student} lost points on other exercises: {lost}"
