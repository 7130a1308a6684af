"""Tests of the tests for chapter 06, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise.
"""
import pytest

from autograde.course import grade_submissions
from notebooks import assert_full_marks, assert_mutant_caught, assert_mutants_cover_every_exercise, assert_stubs_score_zero, learner_path, mutant_ids, mutant_submissions, solution_path

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


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER)}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=4)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 9)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student)
