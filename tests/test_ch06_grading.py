"""Tests of the tests for chapter 06, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, every
typical wrong answer must lose points on its own exercise only (with the hint that
names its cause), and every correct answer written differently (VARIANTS) must keep
all points, in the grader and in stock ``nbgrader validate``.
"""
import pytest

from autograde.course import grade_submissions
from notebooks import (assert_full_marks, assert_korean_edition, korean_submissions, assert_mutant_caught, assert_mutants_cover_every_exercise,
                       assert_hint_names_cause, assert_others_keep_points,
                       assert_stock_validate_passes, assert_stubs_score_zero, assert_variant_full_marks,
                       assert_variants_cover_every_exercise, learner_path, mutant_ids, mutant_submissions,
                       solution_path, variant_ids, variant_submissions)

CHAPTER = "06_sgd"

_GD = ("def train_logistic_gd(X, y, lr, num_epochs):\n    n, d = X.shape\n    w, b = np.zeros(d), 0.0\n"
       "    losses = []\n    for _ in range(num_epochs):\n        p = sigmoid(X @ w + b)\n{body}"
       "    return w, float(b), np.array(losses)")
_SGD_EPOCH = ("def sgd_epoch(X, y, w, b, lr, rng):\n{order}"
              "    w = np.array(w, dtype=float)\n    for i in order:\n"
              "        err = float(sigmoid(X[i] @ w + b)) - y[i]\n{update}"
              "    return w, float(b)")
_SGD_UPDATE = "        w = w - lr * err * X[i]\n        b = b - lr * err\n"
_TRAIN = ("def train_logistic_sgd(X, y, lr, num_epochs, rng):\n    w, b = {init}, 0.0\n    losses = []\n"
          "    for _ in range(num_epochs):\n{body}    return w, float(b), np.array(losses)")
_EPOCH_THEN_LOSS = ("        w, b = sgd_epoch(X, y, w, b, lr, rng)\n"
                    "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n")

# Typical wrong answers, by exercise: (label, replacement for the solution cell).
MUTANTS = {
    "train_logistic_gd": [
        ("sum-not-mean", _GD.format(body="        w, b = w - lr * X.T @ (p - y), b - lr * np.sum(p - y)\n"
                                         "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n")),
        ("divides-by-d", _GD.format(body="        w, b = w - lr * X.T @ (p - y) / d, b - lr * np.mean(p - y)\n"
                                         "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n")),
        ("plus-sign", _GD.format(body="        w, b = w + lr * X.T @ (p - y) / n, b + lr * np.mean(p - y)\n"
                                      "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n")),
        ("loss-before-update", _GD.format(body="        losses.append(binary_cross_entropy(p, y))\n"
                                               "        w, b = w - lr * X.T @ (p - y) / n, b - lr * np.mean(p - y)\n")),
        ("summed-loss", _GD.format(body="        w, b = w - lr * X.T @ (p - y) / n, b - lr * np.mean(p - y)\n"
                                        "        losses.append(n * binary_cross_entropy(sigmoid(X @ w + b), y))\n")),
    ],
    "shuffle_together": [
        ("no-shuffle", "def shuffle_together(X, y, rng):\n    return X.copy(), y.copy()"),
        ("two-permutations", "def shuffle_together(X, y, rng):\n"
                             "    return X[rng.permutation(len(X))], y[rng.permutation(len(y))]"),
        ("global-random-state", "def shuffle_together(X, y, rng):\n"
                                "    order = np.random.permutation(len(X))\n    return X[order], y[order]"),
        ("ignores-rng", "def shuffle_together(X, y, rng):\n"
                        "    order = np.random.default_rng(0).permutation(len(X))\n    return X[order], y[order]"),
        ("shuffles-in-place", "def shuffle_together(X, y, rng):\n    order = rng.permutation(len(X))\n"
                              "    X[:] = X[order]\n    y[:] = y[order]\n    return X, y"),
        ("x-only", "def shuffle_together(X, y, rng):\n    return X[rng.permutation(len(X))], y.copy()"),
        ("choice-not-permutation", "def shuffle_together(X, y, rng):\n"
                                   "    order = rng.choice(len(X), len(X), replace=False)\n    return X[order], y[order]"),
    ],
    "sgd_epoch": [
        ("no-shuffle", _SGD_EPOCH.format(order="    order = range(len(X))\n", update=_SGD_UPDATE)),
        ("global-random-state", _SGD_EPOCH.format(order="    order = np.random.permutation(len(X))\n",
                                                  update=_SGD_UPDATE)),
        ("with-replacement", _SGD_EPOCH.format(order="    order = rng.integers(0, len(X), size=len(X))\n",
                                               update=_SGD_UPDATE)),
        ("plus-sign", _SGD_EPOCH.format(order="    order = rng.permutation(len(X))\n",
                                        update="        w = w + lr * err * X[i]\n        b = b + lr * err\n")),
        ("no-bias-update", _SGD_EPOCH.format(order="    order = rng.permutation(len(X))\n",
                                             update="        w = w - lr * err * X[i]\n")),
        ("updates-w-in-place",
         "def sgd_epoch(X, y, w, b, lr, rng):\n    for i in rng.permutation(len(X)):\n"
         "        err = float(sigmoid(X[i] @ w + b)) - y[i]\n        w -= lr * err * X[i]\n        b = b - lr * err\n"
         "    return w, float(b)"),
        ("one-averaged-step",
         "def sgd_epoch(X, y, w, b, lr, rng):\n    Xs, ys = shuffle_together(X, y, rng)\n"
         "    p = sigmoid(Xs @ w + b)\n    return w - lr * Xs.T @ (p - ys) / len(X), float(b - lr * np.mean(p - ys))"),
        ("stale-predictions",
         "def sgd_epoch(X, y, w, b, lr, rng):\n    Xs, ys = shuffle_together(X, y, rng)\n"
         "    p = sigmoid(Xs @ w + b)\n    w = np.array(w, dtype=float)\n    for i in range(len(Xs)):\n"
         "        w = w - lr * (p[i] - ys[i]) * Xs[i]\n        b = b - lr * (p[i] - ys[i])\n    return w, float(b)"),
    ],
    "train_logistic_sgd": [
        ("loss-before-epoch", _TRAIN.format(init="np.zeros(X.shape[1])", body=(
            "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n"
            "        w, b = sgd_epoch(X, y, w, b, lr, rng)\n"))),
        ("includes-initial-loss", _TRAIN.format(init="np.zeros(X.shape[1])", body=_EPOCH_THEN_LOSS).replace(
            "    losses = []\n", "    losses = [binary_cross_entropy(sigmoid(X @ np.zeros(X.shape[1])), y)]\n")),
        ("summed-loss", _TRAIN.format(init="np.zeros(X.shape[1])", body=(
            "        w, b = sgd_epoch(X, y, w, b, lr, rng)\n"
            "        losses.append(len(X) * binary_cross_entropy(sigmoid(X @ w + b), y))\n"))),
        ("reseeds-every-epoch", _TRAIN.format(init="np.zeros(X.shape[1])", body=(
            "        w, b = sgd_epoch(X, y, w, b, lr, np.random.default_rng(0))\n"
            "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n"))),
        ("random-init", _TRAIN.format(init="0.01 * rng.normal(size=X.shape[1])", body=_EPOCH_THEN_LOSS)),
    ],
}

TEST_CELLS = None

# The hint each of these wrong answers must get: it names that mistake, not another one.
HINTS = {
    "shuffle_together--global-random-state": "np.random.permutation (the global state)",
    "shuffle_together--choice-not-permutation": "rng.choice(n, n, replace=False)",
    "shuffle_together--ignores-rng": "a new generator inside the function",
    "shuffle_together--two-permutations": "draw ONE permutation",
    "sgd_epoch--updates-w-in-place": "the function modified its input `w`",
    "train_logistic_sgd--reseeds-every-epoch": "do not reseed",
    "train_logistic_sgd--includes-initial-loss": "one loss per epoch",
}

# Wrong answers that cannot help costing a later exercise too: a shuffle from NumPy's global random state
# differs on every call, so no test can replay the learner's own shuffle_together/sgd_epoch.
CASCADES = {
    "shuffle_together--global-random-state": {"test_sgd_epoch", "test_train_logistic_sgd"},
    "sgd_epoch--global-random-state": {"test_train_logistic_sgd"},
}

_SIG = "1.0 / (1.0 + np.exp(-({})))"
# Correct answers written differently, by exercise: each must keep every point.
VARIANTS = {
    "train_logistic_gd": [
        ("ok-per-sample-loop",
         "def train_logistic_gd(X, y, lr, num_epochs):\n    n, d = X.shape\n    w, b = np.zeros(d), 0.0\n    losses = []\n"
         "    for _ in range(num_epochs):\n        dw, db = np.zeros(d), 0.0\n        for x_i, y_i in zip(X, y):\n"
         "            err = sigmoid(x_i @ w + b) - y_i\n            dw += err * x_i\n            db += err\n"
         "        w = w - lr * dw / n\n        b = b - lr * db / n\n"
         "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n    return w, float(b), np.array(losses)"),
        ("ok-list-own-loss",
         "def train_logistic_gd(X, y, lr, num_epochs):\n    w, b = np.zeros(X.shape[1]), 0.0\n"
         "    losses = np.zeros(num_epochs)\n    for e in range(num_epochs):\n"
         "        p = " + _SIG.format("X @ w + b") + "\n        w = w - lr * (X.T @ (p - y)) / len(y)\n"
         "        b = b - lr * np.sum(p - y) / len(y)\n        q = " + _SIG.format("X @ w + b") + "\n"
         "        losses[e] = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))\n    return [w, b, losses]"),
        ("ok-in-place-update",
         "def train_logistic_gd(X, y, lr, num_epochs):\n    w = np.zeros(X.shape[1])\n    b = 0.0\n    losses = []\n"
         "    for _ in range(num_epochs):\n        error = sigmoid(X @ w + b) - y\n        w -= lr * np.mean(error[:, None] * X, axis=0)\n"
         "        b -= lr * error.mean()\n        losses.append(float(binary_cross_entropy(sigmoid(X @ w + b), y)))\n"
         "    return w, b, np.asarray(losses)"),
    ],
    "shuffle_together": [
        ("ok-shuffle-indices", "def shuffle_together(X, y, rng):\n    idx = np.arange(len(X))\n    rng.shuffle(idx)\n"
                               "    return X[idx], y[idx]"),
        ("ok-take", "def shuffle_together(X, y, rng):\n    order = rng.permutation(X.shape[0])\n"
                    "    return np.take(X, order, axis=0), np.take(y, order, axis=0)"),
        ("ok-list-copies", "def shuffle_together(X, y, rng):\n    order = rng.permutation(len(y))\n"
                           "    return [X[order].copy(), y[order].copy()]"),
    ],
    "sgd_epoch": [
        ("ok-own-permutation",
         "def sgd_epoch(X, y, w, b, lr, rng):\n    w = w.astype(float)\n    for i in rng.permutation(len(X)):\n"
         "        err = sigmoid(X[i] @ w + b) - y[i]\n        w = w - lr * err * X[i]\n        b = b - lr * err\n"
         "    return w, float(b)"),
        ("ok-in-place-on-a-copy",
         "def sgd_epoch(X, y, w, b, lr, rng):\n    Xs, ys = shuffle_together(X, y, rng)\n    w = w.copy()\n"
         "    for k in range(len(ys)):\n        err = " + _SIG.format("np.dot(Xs[k], w) + b") + " - ys[k]\n"
         "        w -= lr * err * Xs[k]\n        b -= lr * err\n    return w, b"),
        ("ok-list-pair",
         "def sgd_epoch(X, y, w, b, lr, rng):\n    Xs, ys = shuffle_together(X, y, rng)\n    new_w, new_b = np.array(w, dtype=float), float(b)\n"
         "    for x_i, y_i in zip(Xs, ys):\n        p = float(sigmoid(x_i @ new_w + new_b))\n"
         "        new_w, new_b = new_w - lr * (p - y_i) * x_i, new_b - lr * (p - y_i)\n    return [new_w, new_b]"),
    ],
    "train_logistic_sgd": [
        ("ok-list", "def train_logistic_sgd(X, y, lr, num_epochs, rng):\n    w, b = np.zeros(X.shape[1]), 0.0\n    losses = []\n"
                    "    for _ in range(num_epochs):\n        w, b = sgd_epoch(X, y, w, b, lr, rng)\n"
                    "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n    return [w, b, np.array(losses)]"),
        ("ok-preallocated-own-loss",
         "def train_logistic_sgd(X, y, lr, num_epochs, rng):\n    w, b = np.zeros(X.shape[1]), 0.0\n"
         "    losses = np.empty(num_epochs)\n    for epoch in range(num_epochs):\n        w, b = sgd_epoch(X, y, w, b, lr, rng)\n"
         "        p = " + _SIG.format("X @ w + b") + "\n        losses[epoch] = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))\n"
         "    return w, float(b), losses"),
        ("ok-inline-epochs",
         "def train_logistic_sgd(X, y, lr, num_epochs, rng):\n    w, b, losses = np.zeros(X.shape[1]), 0.0, []\n"
         "    for _ in range(num_epochs):\n        for i in rng.permutation(len(X)):\n"
         "            err = float(sigmoid(X[i] @ w + b)) - y[i]\n            w = w - lr * err * X[i]\n            b = b - lr * err\n"
         "        losses.append(binary_cross_entropy(sigmoid(X @ w + b), y))\n    return w, float(b), np.array(losses)"),
    ],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER)}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))
    subs.update(variant_submissions(CHAPTER, VARIANTS))
    subs.update(korean_submissions(CHAPTER, MUTANTS))         # the Korean edition, in the same run
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=4)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 9)


def test_korean_edition_grades_the_same(graded):
    """The Korean notebooks, graded by the same course: full marks, 0, each first mutant caught in Korean."""
    assert_korean_edition(graded, CHAPTER, 9, MUTANTS, TEST_CELLS)


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


@pytest.mark.parametrize("student", variant_ids(VARIANTS))
def test_correct_variant_gets_full_marks(graded, student):
    assert_variant_full_marks(graded, student)


def test_variants_pass_stock_validate(tmp_path):
    assert_stock_validate_passes(CHAPTER, VARIANTS, tmp_path)
