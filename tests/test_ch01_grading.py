"""Tests of the tests for chapter 01, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise.
"""
import pytest

from autograde.course import grade_submissions, grade_submissions_stock
from notebooks import assert_full_marks, assert_mutant_caught, assert_mutants_cover_every_exercise, assert_stubs_score_zero, assert_warning_costs_nothing, learner_path, mutant_ids, mutant_submissions, read, solution_path, with_cells

CHAPTER = "01_neuron"

# Typical wrong answers, by exercise: (label, replacement for the solution cell).
MUTANTS = {
    "weighted_sum": [
        ("no-bias", "def weighted_sum(x, w, b):\n    return float(np.dot(w, x))"),
        ("minus-bias", "def weighted_sum(x, w, b):\n    return float(np.dot(w, x) - b)"),
        ("no-sum", "def weighted_sum(x, w, b):\n    return w * x + b"),
        ("ignores-weights", "def weighted_sum(x, w, b):\n    return float(np.sum(x) + b)"),
        ("int-truncation", "def weighted_sum(x, w, b):\n    return float(int(np.dot(w, x)) + b)"),
    ],
    "bias_for_threshold": [
        ("same-sign", "def bias_for_threshold(threshold):\n    return float(threshold)"),
        ("hard-coded", "def bias_for_threshold(threshold):\n    return -10.0"),
        ("abs", "def bias_for_threshold(threshold):\n    return -abs(float(threshold))"),
    ],
    "perceptron": [
        ("strict-greater", "def perceptron(x, w, b):\n    return 1 if np.dot(w, x) + b > 0 else 0"),
        ("returns-bool", "def perceptron(x, w, b):\n    return bool(np.dot(w, x) + b >= 0)"),
        ("no-bias", "def perceptron(x, w, b):\n    return 1 if np.dot(w, x) >= 0 else 0"),
        ("no-step", "def perceptron(x, w, b):\n    return np.dot(w, x) + b"),
        ("sign", "def perceptron(x, w, b):\n    return int(np.sign(np.dot(w, x) + b))"),
    ],
    "perceptron_batch": [
        ("column", "def perceptron_batch(X, w, b):\n    return (X @ w + b >= 0).astype(int).reshape(-1, 1)"),
        ("bool-dtype", "def perceptron_batch(X, w, b):\n    return X @ w + b >= 0"),
        ("no-bias", "def perceptron_batch(X, w, b):\n    return (X @ w >= 0).astype(int)"),
        ("strict-greater", "def perceptron_batch(X, w, b):\n    return (X @ w + b > 0).astype(int)"),
        ("first-row-only", "def perceptron_batch(X, w, b):\n    return np.full(len(X), int(X[0] @ w + b >= 0))"),
    ],
    "gate_params": [
        ("and-or-swapped",
         "def gate_params(gate):\n    t = {'AND': ([1., 1.], -0.5), 'OR': ([1., 1.], -1.5), 'NAND': ([-1., -1.], 1.5)}\n"
         "    if gate not in t: raise ValueError('no')\n    return np.array(t[gate][0]), t[gate][1]"),
        ("nand-is-and",
         "def gate_params(gate):\n    t = {'AND': ([1., 1.], -1.5), 'OR': ([1., 1.], -0.5), 'NAND': ([1., 1.], -1.5)}\n"
         "    if gate not in t: raise ValueError('no')\n    return np.array(t[gate][0]), t[gate][1]"),
        ("xor-accepted",
         "def gate_params(gate):\n    t = {'AND': ([1., 1.], -1.5), 'OR': ([1., 1.], -0.5), 'NAND': ([-1., -1.], 1.5)}\n"
         "    return np.array(t.get(gate, t['OR'])[0]), t.get(gate, t['OR'])[1]"),
        ("on-the-line",
         "def gate_params(gate):\n    t = {'AND': ([1., 1.], -2.0), 'OR': ([1., 1.], -1.0), 'NAND': ([-1., -1.], 1.0)}\n"
         "    if gate not in t: raise ValueError('no')\n    return np.array(t[gate][0]), t[gate][1]"),
    ],
    "two_layer_perceptron": [
        ("linear-hidden", "def two_layer_perceptron(X, W1, b1, w2, b2):\n"
                          "    return ((X @ W1 + b1) @ w2 + b2 >= 0).astype(int)"),
        ("transposed", "def two_layer_perceptron(X, W1, b1, w2, b2):\n"
                       "    H = (X @ W1.T + b1 >= 0).astype(int)\n    return (H @ w2 + b2 >= 0).astype(int)"),
        ("no-output-bias", "def two_layer_perceptron(X, W1, b1, w2, b2):\n"
                           "    H = (X @ W1 + b1 >= 0).astype(int)\n    return (H @ w2 >= 0).astype(int)"),
        ("xor-lookup", "def two_layer_perceptron(X, W1, b1, w2, b2):\n"
                       "    return (X[:, 0].astype(int) ^ X[:, 1].astype(int))"),
    ],
}

# A correct answer whose intermediate step makes NumPy warn on stderr.
WARNING_BUT_CORRECT = '''
def weighted_sum(x, w, b):
    scale = np.float64(1.0) / np.float64(0.0)   # RuntimeWarning: divide by zero (then unused)
    return float(np.dot(w, x) + b)
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER),
            "warns": with_cells(read(solution_path(CHAPTER)), {"weighted_sum": WARNING_BUT_CORRECT})}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=4)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 12)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


def test_warning_on_stderr_does_not_cost_points(graded):
    assert_warning_costs_nothing(graded["warns"], "test_weighted_sum", "divide by zero")


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student)


@pytest.fixture(scope="module")
def graded_by_stock_nbgrader(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER),
            "warns": with_cells(read(solution_path(CHAPTER)), {"weighted_sum": WARNING_BUT_CORRECT})}
    return grade_submissions_stock(CHAPTER, subs, tmp_path_factory.mktemp("stock"))


def test_stock_nbgrader_agrees(graded_by_stock_nbgrader):
    """Stock nbgrader (its own Execute, as the learner's Validate runs) grades the chapter the same way."""
    graded = graded_by_stock_nbgrader
    assert_full_marks(graded["solution"], CHAPTER, 12)
    assert_stubs_score_zero(graded["learner"])
    assert_warning_costs_nothing(graded["warns"], "test_weighted_sum", "divide by zero")
