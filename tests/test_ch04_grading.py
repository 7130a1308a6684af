"""Tests of the tests for chapter 04, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise.
"""
import pytest

from autograde.course import grade_submissions
from notebooks import assert_full_marks, assert_mutant_caught, assert_mutants_cover_every_exercise, assert_stubs_score_zero, assert_warning_costs_nothing, learner_path, mutant_ids, mutant_submissions, read, solution_path, with_cells

CHAPTER = "04_losses"

# Typical wrong answers, by exercise: (label, replacement for the solution cell).
MUTANTS = {
    "mean_squared_error": [
        ("sum-not-mean", "def mean_squared_error(y_hat, y):\n"
                         "    return float(np.sum((np.asarray(y_hat, float) - np.asarray(y, float)) ** 2))"),
        ("absolute-error", "def mean_squared_error(y_hat, y):\n"
                           "    return float(np.mean(np.abs(np.asarray(y_hat, float) - np.asarray(y, float))))"),
        ("root-mean-square", "def mean_squared_error(y_hat, y):\n"
                             "    return float(np.sqrt(np.mean((np.asarray(y_hat, float) - np.asarray(y, float)) ** 2)))"),
        ("half-factor", "def mean_squared_error(y_hat, y):\n"
                        "    return float(0.5 * np.mean((np.asarray(y_hat, float) - np.asarray(y, float)) ** 2))"),
        ("no-square", "def mean_squared_error(y_hat, y):\n"
                      "    return float(np.mean(np.asarray(y_hat, float) - np.asarray(y, float)))"),
        ("sum-over-outputs", "def mean_squared_error(y_hat, y):\n"
                             "    d = (np.asarray(y_hat, float) - np.asarray(y, float)) ** 2\n"
                             "    return float(np.mean(d.reshape(len(d), -1).sum(axis=1)))"),
    ],
    "binary_cross_entropy": [
        ("missing-minus", "def binary_cross_entropy(p, y):\n"
                          "    p = np.clip(np.asarray(p, float), 1e-12, 1 - 1e-12); y = np.asarray(y, float)\n"
                          "    return float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))"),
        ("sum-not-mean", "def binary_cross_entropy(p, y):\n"
                         "    p = np.clip(np.asarray(p, float), 1e-12, 1 - 1e-12); y = np.asarray(y, float)\n"
                         "    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))"),
        ("no-clipping", "def binary_cross_entropy(p, y):\n"
                        "    p = np.asarray(p, float); y = np.asarray(y, float)\n"
                        "    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))"),
        ("swapped-logs", "def binary_cross_entropy(p, y):\n"
                         "    p = np.clip(np.asarray(p, float), 1e-12, 1 - 1e-12); y = np.asarray(y, float)\n"
                         "    return float(-np.mean(y * np.log(1 - p) + (1 - y) * np.log(p)))"),
        ("clips-in-float32", "def binary_cross_entropy(p, y):\n"
                             "    p = np.clip(np.asarray(p), 1e-12, 1 - 1e-12); y = np.asarray(y)\n"
                             "    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))"),
        ("clips-only-p", "def binary_cross_entropy(p, y):\n"
                         "    p = np.asarray(p, float); y = np.asarray(y, float)\n"
                         "    return float(-np.mean(y * np.log(np.clip(p, 1e-12, 1)) + (1 - y) * np.log(1 - p)))"),
    ],
    "cross_entropy": [
        ("index-targets-only", "def cross_entropy(probs, y):\n"
                               "    probs = np.asarray(probs, float); n = len(probs)\n"
                               "    return float(-np.mean(np.log(np.clip(probs[np.arange(n), y], 1e-12, 1))))"),
        ("no-clipping", "def cross_entropy(probs, y):\n"
                        "    probs = np.asarray(probs, float); y = np.asarray(y); n = len(probs)\n"
                        "    t = y if y.ndim == 2 else np.eye(probs.shape[1])[y]\n"
                        "    return float(-np.sum(t * np.log(probs)) / n)"),
        ("wrong-entry-all-columns", "def cross_entropy(probs, y):\n"
                                    "    probs = np.asarray(probs, float); y = np.asarray(y)\n"
                                    "    idx = y.argmax(axis=1) if y.ndim == 2 else y\n"
                                    "    return float(-np.mean(np.log(np.clip(probs[:, idx], 1e-12, 1))))"),
        ("predicted-not-true-class", "def cross_entropy(probs, y):\n"
                                     "    probs = np.asarray(probs, float)\n"
                                     "    return float(-np.mean(np.log(np.clip(probs.max(axis=1), 1e-12, 1))))"),
        ("sum-not-mean", "def cross_entropy(probs, y):\n"
                         "    probs = np.asarray(probs, float); y = np.asarray(y); n = len(probs)\n"
                         "    idx = y.argmax(axis=1) if y.ndim == 2 else y\n"
                         "    return float(-np.sum(np.log(np.clip(probs[np.arange(n), idx], 1e-12, 1))))"),
        ("missing-minus", "def cross_entropy(probs, y):\n"
                          "    probs = np.asarray(probs, float); y = np.asarray(y); n = len(probs)\n"
                          "    idx = y.argmax(axis=1) if y.ndim == 2 else y\n"
                          "    return float(np.mean(np.log(np.clip(probs[np.arange(n), idx], 1e-12, 1))))"),
    ],
    "log_softmax": [
        ("naive-log-of-softmax", "def log_softmax(Z):\n"
                                 "    E = np.exp(Z)\n"
                                 "    return np.log(E / E.sum(axis=-1, keepdims=True))"),
        ("one-global-max", "def log_softmax(Z):\n"
                           "    s = Z - np.max(Z)\n"
                           "    return s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))"),
        ("max-over-columns", "def log_softmax(Z):\n"
                             "    s = Z - np.max(Z, axis=0, keepdims=True)\n"
                             "    return s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))"),
        ("returns-softmax", "def log_softmax(Z):\n"
                            "    e = np.exp(Z - np.max(Z, axis=-1, keepdims=True))\n"
                            "    return e / e.sum(axis=-1, keepdims=True)"),
        ("float64-output", "def log_softmax(Z):\n"
                           "    Z = np.asarray(Z, dtype=np.float64)\n"
                           "    s = Z - np.max(Z, axis=-1, keepdims=True)\n"
                           "    return s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True))"),
    ],
    "cross_entropy_from_logits": [
        ("naive-log-of-softmax", "def cross_entropy_from_logits(Z, y):\n"
                                 "    Z = np.asarray(Z, float); y = np.asarray(y); n = len(Z)\n"
                                 "    idx = y.argmax(axis=1) if y.ndim == 2 else y\n"
                                 "    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)\n"
                                 "    return float(-np.mean(np.log(P[np.arange(n), idx])))"),
        ("stable-softmax-then-clipped-log", "def cross_entropy_from_logits(Z, y):\n"
                                            "    Z = np.asarray(Z, float); y = np.asarray(y); n = len(Z)\n"
                                            "    idx = y.argmax(axis=1) if y.ndim == 2 else y\n"
                                            "    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
                                            "    P = E / E.sum(axis=1, keepdims=True)\n"
                                            "    return float(-np.mean(np.log(np.clip(P[np.arange(n), idx], 1e-12, 1))))"),
        ("index-targets-only", "def cross_entropy_from_logits(Z, y):\n"
                               "    L = log_softmax(Z)\n"
                               "    return float(-np.mean(L[np.arange(len(L)), y]))"),
        ("missing-minus", "def cross_entropy_from_logits(Z, y):\n"
                          "    L = log_softmax(Z); y = np.asarray(y)\n"
                          "    idx = y.argmax(axis=1) if y.ndim == 2 else y\n"
                          "    return float(np.mean(L[np.arange(len(L)), idx]))"),
        ("sum-not-mean", "def cross_entropy_from_logits(Z, y):\n"
                         "    L = log_softmax(Z); y = np.asarray(y)\n"
                         "    idx = y.argmax(axis=1) if y.ndim == 2 else y\n"
                         "    return float(-np.sum(L[np.arange(len(L)), idx]))"),
        ("logsumexp-only", "def cross_entropy_from_logits(Z, y):\n"
                           "    Z = np.asarray(Z, float); m = Z.max(axis=1)\n"
                           "    return float(np.mean(m + np.log(np.exp(Z - m[:, None]).sum(axis=1))))"),
    ],
    "accuracy": [
        ("argmax-over-axis-0", "def accuracy(scores, y):\n"
                               "    y = np.asarray(y); y = y.argmax(axis=1) if y.ndim == 2 else y\n"
                               "    pred = np.argmax(scores, axis=0) if np.ndim(scores) == 2 else scores\n"
                               "    return float(np.mean(pred == y))"),
        ("count-not-fraction", "def accuracy(scores, y):\n"
                               "    y = np.asarray(y); y = y.argmax(axis=1) if y.ndim == 2 else y\n"
                               "    pred = np.argmax(scores, axis=1) if np.ndim(scores) == 2 else scores\n"
                               "    return float(np.sum(pred == y))"),
        ("percentage", "def accuracy(scores, y):\n"
                       "    y = np.asarray(y); y = y.argmax(axis=1) if y.ndim == 2 else y\n"
                       "    pred = np.argmax(scores, axis=1) if np.ndim(scores) == 2 else scores\n"
                       "    return float(100 * np.mean(pred == y))"),
        ("index-targets-only", "def accuracy(scores, y):\n"
                               "    pred = np.argmax(scores, axis=1) if np.ndim(scores) == 2 else scores\n"
                               "    return float(np.mean(pred == y))"),
        ("argmax-of-labels-too", "def accuracy(scores, y):\n"
                                 "    y = np.asarray(y); y = y.argmax(axis=1) if y.ndim == 2 else y\n"
                                 "    return float(np.mean(np.argmax(scores, axis=-1) == y))"),
        ("argmin", "def accuracy(scores, y):\n"
                   "    y = np.asarray(y); y = y.argmax(axis=1) if y.ndim == 2 else y\n"
                   "    pred = np.argmin(scores, axis=1) if np.ndim(scores) == 2 else scores\n"
                   "    return float(np.mean(pred == y))"),
    ],
}

# A correct answer whose intermediate step makes NumPy warn on stderr.
WARNING_BUT_CORRECT = '''
def mean_squared_error(y_hat, y):
    scale = np.float64(1.0) / np.float64(0.0)   # RuntimeWarning: divide by zero (then unused)
    return float(np.mean((np.asarray(y_hat, float) - np.asarray(y, float)) ** 2))
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER),
            "warns": with_cells(read(solution_path(CHAPTER)), {"mean_squared_error": WARNING_BUT_CORRECT})}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=5)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 14)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


def test_warning_on_stderr_does_not_cost_points(graded):
    assert_warning_costs_nothing(graded["warns"], "test_mean_squared_error", "divide by zero")


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student)
