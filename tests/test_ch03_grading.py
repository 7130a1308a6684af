"""Tests of the tests for chapter 03, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise.
"""
import pytest

from autograde.course import grade_submissions
from notebooks import assert_full_marks, assert_mutant_caught, assert_mutants_cover_every_exercise, assert_stubs_score_zero, assert_warning_costs_nothing, learner_path, mutant_ids, mutant_submissions, read, solution_path, with_cells

CHAPTER = "03_forward"

# Typical wrong answers, by exercise: (label, replacement for the solution cell).
MUTANTS = {
    "dense": [
        ("transposed", "def dense(X, W, b):\n    return X @ W.T + b"),
        ("nielsen-order", "def dense(X, W, b):\n    return (W @ X.T).T + b"),
        ("no-bias", "def dense(X, W, b):\n    return X @ W"),
        ("relu-inside", "def dense(X, W, b):\n    return np.maximum(X @ W + b, 0.0)"),
        ("float64-cast", "def dense(X, W, b):\n"
                         "    return np.asarray(X, dtype=np.float64) @ np.asarray(W, dtype=np.float64) + b"),
    ],
    "init_params": [
        ("transposed", "def init_params(layer_sizes, rng):\n"
                       "    return [(rng.normal(0.0, np.sqrt(2.0 / a), size=(c, a)), np.zeros(c))\n"
                       "            for a, c in zip(layer_sizes[:-1], layer_sizes[1:])]"),
        ("global-np-random", "def init_params(layer_sizes, rng):\n"
                             "    return [(np.random.randn(a, c) * np.sqrt(2.0 / a), np.zeros(c))\n"
                             "            for a, c in zip(layer_sizes[:-1], layer_sizes[1:])]"),
        ("fixed-seed", "def init_params(layer_sizes, rng):\n"
                       "    rng = np.random.default_rng(0)\n"
                       "    return [(rng.normal(0.0, np.sqrt(2.0 / a), size=(a, c)), np.zeros(c))\n"
                       "            for a, c in zip(layer_sizes[:-1], layer_sizes[1:])]"),
        ("unit-std", "def init_params(layer_sizes, rng):\n"
                     "    return [(rng.normal(size=(a, c)), np.zeros(c))\n"
                     "            for a, c in zip(layer_sizes[:-1], layer_sizes[1:])]"),
        ("fan-out-scale", "def init_params(layer_sizes, rng):\n"
                          "    return [(rng.normal(0.0, np.sqrt(2.0 / c), size=(a, c)), np.zeros(c))\n"
                          "            for a, c in zip(layer_sizes[:-1], layer_sizes[1:])]"),
        ("xavier-scale", "def init_params(layer_sizes, rng):\n"
                         "    return [(rng.normal(0.0, np.sqrt(1.0 / a), size=(a, c)), np.zeros(c))\n"
                         "            for a, c in zip(layer_sizes[:-1], layer_sizes[1:])]"),
        ("random-biases", "def init_params(layer_sizes, rng):\n"
                          "    return [(rng.normal(0.0, np.sqrt(2.0 / a), size=(a, c)), rng.normal(0.0, 0.1, size=c))\n"
                          "            for a, c in zip(layer_sizes[:-1], layer_sizes[1:])]"),
        ("includes-input-layer", "def init_params(layer_sizes, rng):\n"
                                 "    sizes = [layer_sizes[0]] + list(layer_sizes)\n"
                                 "    return [(rng.normal(0.0, np.sqrt(2.0 / a), size=(a, c)), np.zeros(c))\n"
                                 "            for a, c in zip(sizes[:-1], sizes[1:])]"),
    ],
    "forward": [
        ("activation-on-output", "def forward(X, params, activation=relu):\n"
                                 "    A = X\n    for W, b in params:\n        A = activation(A @ W + b)\n"
                                 "    return A"),
        ("transposed", "def forward(X, params, activation=relu):\n"
                       "    A = X\n    for W, b in params[:-1]:\n        A = activation(A @ W.T + b)\n"
                       "    return A @ params[-1][0].T + params[-1][1]"),
        ("no-bias", "def forward(X, params, activation=relu):\n"
                    "    A = X\n    for W, b in params[:-1]:\n        A = activation(A @ W)\n"
                    "    return A @ params[-1][0]"),
        ("always-relu", "def forward(X, params, activation=relu):\n"
                        "    A = X\n    for W, b in params[:-1]:\n        A = relu(A @ W + b)\n"
                        "    return A @ params[-1][0] + params[-1][1]"),
        ("no-activation", "def forward(X, params, activation=relu):\n"
                          "    A = X\n    for W, b in params:\n        A = A @ W + b\n    return A"),
        ("activation-before-affine", "def forward(X, params, activation=relu):\n"
                                     "    A = X\n    for W, b in params:\n        A = activation(A) @ W + b\n"
                                     "    return A"),
    ],
    "count_params": [
        ("13002-as-weights", "def count_params(layer_sizes):\n"
                             "    s = list(layer_sizes)\n    w = sum(a * c for a, c in zip(s[:-1], s[1:]))\n"
                             "    b = sum(s[1:])\n    return w + b, b"),
        ("biases-include-input", "def count_params(layer_sizes):\n"
                                 "    s = list(layer_sizes)\n"
                                 "    return sum(a * c for a, c in zip(s[:-1], s[1:])), sum(s)"),
        ("misses-last-layer", "def count_params(layer_sizes):\n"
                              "    s = list(layer_sizes)\n"
                              "    return sum(s[i] * s[i + 1] for i in range(len(s) - 2)), sum(s[1:])"),
        ("swapped", "def count_params(layer_sizes):\n"
                    "    s = list(layer_sizes)\n"
                    "    return sum(s[1:]), sum(a * c for a, c in zip(s[:-1], s[1:]))"),
        ("float-counts", "def count_params(layer_sizes):\n"
                         "    s = np.asarray(layer_sizes, dtype=float)\n"
                         "    return float(np.sum(s[:-1] * s[1:])), float(np.sum(s[1:]))"),
    ],
    "softmax": [
        ("naive", "def softmax(Z):\n    E = np.exp(Z)\n    return E / E.sum(axis=-1, keepdims=True)"),
        ("axis-0", "def softmax(Z):\n    E = np.exp(Z - Z.max(axis=0, keepdims=True))\n"
                   "    return E / E.sum(axis=0, keepdims=True)"),
        ("global-max", "def softmax(Z):\n    E = np.exp(Z - np.max(Z))\n    return E / E.sum(axis=-1, keepdims=True)"),
        ("sum-over-batch", "def softmax(Z):\n    E = np.exp(Z - np.max(Z, axis=-1, keepdims=True))\n    return E / E.sum()"),
        ("in-place", "def softmax(Z):\n    Z -= Z.max(axis=-1, keepdims=True)\n    np.exp(Z, out=Z)\n"
                     "    Z /= Z.sum(axis=-1, keepdims=True)\n    return Z"),
        ("float64", "def softmax(Z):\n    Z = np.asarray(Z, dtype=np.float64)\n"
                    "    E = np.exp(Z - Z.max(axis=-1, keepdims=True))\n    return E / E.sum(axis=-1, keepdims=True)"),
        ("no-keepdims", "def softmax(Z):\n    E = np.exp(Z - Z.max(axis=-1))\n    return E / E.sum(axis=-1)"),
    ],
    "predict": [
        ("axis-0", "def predict(X, params, activation=relu):\n"
                   "    return np.argmax(forward(X, params, activation), axis=0)"),
        ("max-not-argmax", "def predict(X, params, activation=relu):\n"
                           "    return np.max(forward(X, params, activation), axis=-1)"),
        ("relu-on-output", "def predict(X, params, activation=relu):\n"
                           "    return np.argmax(relu(forward(X, params, activation)), axis=-1)"),
        ("ignores-activation", "def predict(X, params, activation=relu):\n"
                               "    return np.argmax(forward(X, params), axis=-1)"),
        ("returns-probabilities", "def predict(X, params, activation=relu):\n"
                                  "    return softmax(forward(X, params, activation))"),
    ],
}

# A correct answer whose intermediate step makes NumPy warn (overflow) on stderr.
WARNING_BUT_CORRECT = '''
def softmax(Z):
    Z = np.asarray(Z)
    unused = np.exp(np.float64(1000.0))   # RuntimeWarning: overflow encountered in exp (then unused)
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER),
            "warns": with_cells(read(solution_path(CHAPTER)), {"softmax": WARNING_BUT_CORRECT})}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=5)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 15)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


def test_warning_on_stderr_does_not_cost_points(graded):
    assert_warning_costs_nothing(graded["warns"], "test_softmax", "overflow")


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student)
