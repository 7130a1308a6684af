"""Tests of the tests for chapter 02, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise's test cells.
"""
import pytest

from autograde.course import grade_submissions
from notebooks import (assert_full_marks, assert_korean_edition, korean_submissions, assert_mutant_caught, assert_mutants_cover_every_exercise,
                       assert_only_its_own_exercise_loses, assert_stock_validate_passes, assert_stubs_score_zero,
                       assert_variant_full_marks, assert_variants_cover_every_exercise, assert_warning_costs_nothing,
                       cascade_ids, cascade_submissions, learner_path, mutant_ids, mutant_submissions, read,
                       solution_path, variant_ids, variant_submissions, with_cells)

CHAPTER = "02_activations"

# The graded test cells of each exercise (default: test_<exercise>).
TEST_CELLS = {"sigmoid": ["test_sigmoid", "test_sigmoid_stable"]}

# Typical wrong answers, by exercise: (label, replacement for the solution cell).
MUTANTS = {
    "step": [
        ("strict-greater", "def step(z):\n    z = np.asarray(z)\n    return (z > 0).astype(z.dtype)"),
        ("returns-bool", "def step(z):\n    return np.asarray(z) >= 0"),
        ("sign", "def step(z):\n    return np.sign(np.asarray(z))"),
        ("float64-upcast", "def step(z):\n    return (np.asarray(z) >= 0).astype(float)"),
        ("in-place", "def step(z):\n    z[...] = (z >= 0)\n    return z"),
    ],
    "sigmoid": [
        ("naive-overflow", "def sigmoid(z):\n    return 1 / (1 + np.exp(-np.asarray(z)))"),
        ("where-evaluates-both",
         "def sigmoid(z):\n    z = np.asarray(z)\n"
         "    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))"),
        ("exp-ratio-nan", "def sigmoid(z):\n    z = np.asarray(z)\n    return np.exp(z) / (1 + np.exp(z))"),
        ("one-minus-cancels",
         "def sigmoid(z):\n    z = np.asarray(z)\n    p = 1 / (1 + np.exp(-np.abs(z)))\n"
         "    return np.where(z >= 0, p, 1 - p)"),
        ("clipped", "def sigmoid(z):\n    return 1 / (1 + np.exp(-np.clip(z, -500, 500)))"),
        ("wrong-sign",
         "def sigmoid(z):\n    z = np.asarray(z)\n    e = np.exp(-np.abs(z))\n"
         "    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))"),
        ("float64-upcast",
         "def sigmoid(z):\n    z = np.asarray(z, dtype=np.float64)\n    e = np.exp(-np.abs(z))\n"
         "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))"),
    ],
    "tanh": [
        ("naive-exp-nan",
         "def tanh(z):\n    z = np.asarray(z)\n    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))"),
        ("forgot-the-2", "def tanh(z):\n    return 2 * sigmoid(z) - 1"),
        ("is-sigmoid", "def tanh(z):\n    return sigmoid(z)"),
        ("float64-upcast", "def tanh(z):\n    return np.tanh(np.asarray(z, dtype=np.float64))"),
        ("in-place", "def tanh(z):\n    np.tanh(z, out=z)\n    return z"),
    ],
    "relu": [
        ("abs", "def relu(z):\n    return np.abs(np.asarray(z))"),
        ("in-place", "def relu(z):\n    z[z < 0] = 0\n    return z"),
        ("returns-mask", "def relu(z):\n    return np.asarray(z) > 0"),
        ("float64-upcast", "def relu(z):\n    return np.maximum(np.asarray(z, dtype=float), 0.0)"),
        ("minimum", "def relu(z):\n    return np.minimum(np.asarray(z), 0)"),
    ],
    "leaky_relu": [
        ("ignores-alpha", "def leaky_relu(z, alpha=0.01):\n    z = np.asarray(z)\n    return np.where(z > 0, z, 0.01 * z)"),
        ("alpha-on-wrong-side",
         "def leaky_relu(z, alpha=0.01):\n    z = np.asarray(z)\n    return np.where(z > 0, alpha * z, z)"),
        ("plain-relu", "def leaky_relu(z, alpha=0.01):\n    return np.maximum(np.asarray(z), 0)"),
        ("in-place", "def leaky_relu(z, alpha=0.01):\n    z[z < 0] *= alpha\n    return z"),
        ("float64-upcast",
         "def leaky_relu(z, alpha=0.01):\n    z = np.asarray(z, dtype=float)\n    return np.where(z > 0, z, alpha * z)"),
    ],
    "sigmoid_grad": [
        ("plus-instead-of-minus", "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 + s)"),
        ("formula-on-input", "def sigmoid_grad(z):\n    z = np.asarray(z)\n    return z * (1 - z)"),
        ("returns-sigmoid", "def sigmoid_grad(z):\n    return sigmoid(z)"),
        ("naive-nan", "def sigmoid_grad(z):\n    z = np.asarray(z)\n    return np.exp(-z) / (1 + np.exp(-z)) ** 2"),
        ("float64-upcast", "def sigmoid_grad(z):\n    s = sigmoid(np.asarray(z, dtype=float))\n    return s * (1 - s)"),
    ],
    "tanh_grad": [
        ("one-minus-tanh", "def tanh_grad(z):\n    return 1 - tanh(z)"),
        ("formula-on-input", "def tanh_grad(z):\n    z = np.asarray(z)\n    return 1 - z ** 2"),
        ("tanh-squared", "def tanh_grad(z):\n    return tanh(z) ** 2"),
        ("float64-upcast", "def tanh_grad(z):\n    return 1 - np.tanh(np.asarray(z, dtype=float)) ** 2"),
    ],
    "relu_grad": [
        ("one-at-zero", "def relu_grad(z):\n    z = np.asarray(z)\n    return (z >= 0).astype(z.dtype)"),
        ("returns-bool", "def relu_grad(z):\n    return np.asarray(z) > 0"),
        ("sign", "def relu_grad(z):\n    return np.sign(np.asarray(z))"),
        ("returns-relu", "def relu_grad(z):\n    return np.maximum(np.asarray(z), 0)"),
        ("float64-upcast", "def relu_grad(z):\n    return (np.asarray(z) > 0).astype(float)"),
    ],
    "leaky_relu_grad": [
        ("ignores-alpha",
         "def leaky_relu_grad(z, alpha=0.01):\n    z = np.asarray(z)\n    return np.where(z > 0, 1.0, 0.01).astype(z.dtype)"),
        ("zero-on-negative-side",
         "def leaky_relu_grad(z, alpha=0.01):\n    z = np.asarray(z)\n    return (z > 0).astype(z.dtype)"),
        ("one-at-zero",
         "def leaky_relu_grad(z, alpha=0.01):\n    z = np.asarray(z)\n    return np.where(z >= 0, 1.0, alpha).astype(z.dtype)"),
        ("float64-upcast", "def leaky_relu_grad(z, alpha=0.01):\n    return np.where(np.asarray(z) > 0, 1.0, alpha)"),
        ("alpha-on-wrong-side",
         "def leaky_relu_grad(z, alpha=0.01):\n    z = np.asarray(z)\n    return np.where(z > 0, alpha, 1.0).astype(z.dtype)"),
    ],
}

MASKED_SIGMOID_SRC = """def sigmoid(z):
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1 + ez)
    return out"""

# For these mistakes the message must name the actual cause.
HINTS = {
    "step--strict-greater": "use >=",
    "sigmoid--where-evaluates-both": "BOTH branches",
    "sigmoid--one-minus-cancels": "cancellation",
    "tanh--naive-exp-nan": "inf/inf",
    "tanh--forgot-the-2": "the 2 inside the sigmoid matters",
    "leaky_relu--ignores-alpha": "use the alpha argument",
    "sigmoid_grad--formula-on-input": "not through z itself",
    "tanh_grad--formula-on-input": "not through z itself",
    "relu_grad--one-at-zero": "at z = 0 this book uses 0",
}

# Correct answers written differently: each must get full marks, in the grader and in stock Validate.
VARIANTS = {
    "step": [
        ("ok-where", "def step(z):\n    z = np.asarray(z)\n    if not np.issubdtype(z.dtype, np.floating):\n"
                     "        z = z.astype(float)\n    return np.where(z >= 0, 1, 0).astype(z.dtype)"),
        ("ok-heaviside", "def step(z):\n    z = _as_float(z)\n    return np.heaviside(z, 1.0).astype(z.dtype)"),
        ("ok-ones-times-mask", "def step(z):\n    z = _as_float(z)\n    return np.ones_like(z) * (z >= 0)"),
    ],
    "sigmoid": [
        ("ok-masks", MASKED_SIGMOID_SRC),
        ("ok-where-numerator", "def sigmoid(z):\n    z = _as_float(z)\n    e = np.exp(-np.abs(z))\n"
                               "    return np.where(z >= 0, 1, e) / (1 + e)"),
        ("ok-logaddexp", "def sigmoid(z):\n    z = _as_float(z)\n    return np.exp(-np.logaddexp(0, -z))"),
    ],
    "tanh": [
        ("ok-np-tanh", "def tanh(z):\n    return np.tanh(_as_float(z))"),
        ("ok-no-helper", "def tanh(z):\n    return 2.0 * sigmoid(2.0 * np.asarray(z)) - 1.0"),
        ("ok-expm1", "def tanh(z):\n    z = _as_float(z)\n    t = np.expm1(-2 * np.abs(z))\n    return -np.sign(z) * t / (2 + t)"),
    ],
    "relu": [
        ("ok-where", "def relu(z):\n    z = _as_float(z)\n    return np.where(z > 0, z, 0)"),
        ("ok-times-mask", "def relu(z):\n    z = _as_float(z)\n    return z * (z > 0)"),
        ("ok-clip", "def relu(z):\n    return np.clip(_as_float(z), 0, None)"),
    ],
    "leaky_relu": [
        ("ok-maximum", "def leaky_relu(z, alpha=0.01):\n    z = _as_float(z)\n    return np.maximum(z, alpha * z)"),
        ("ok-mask-copy", "def leaky_relu(z, alpha=0.01):\n    z = _as_float(z)\n    out = z.copy()\n"
                         "    out[z <= 0] *= alpha\n    return out"),
        ("ok-slopes", "def leaky_relu(z, alpha=0.01):\n    z = _as_float(z)\n"
                      "    return np.where(z > 0, 1.0, alpha).astype(z.dtype) * z"),
    ],
    "sigmoid_grad": [
        ("ok-s-minus-s-squared", "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s - s * s"),
        ("ok-exp-abs", "def sigmoid_grad(z):\n    z = _as_float(z)\n    e = np.exp(-np.abs(z))\n    return e / (1 + e) ** 2"),
        ("ok-sigmoid-of-minus-z", "def sigmoid_grad(z):\n    z = _as_float(z)\n    return sigmoid(z) * sigmoid(-z)"),
    ],
    "tanh_grad": [
        ("ok-squared", "def tanh_grad(z):\n    return 1 - tanh(z) ** 2"),
        ("ok-via-sigmoid-grad", "def tanh_grad(z):\n    z = _as_float(z)\n    return 4 * sigmoid_grad(2 * z)"),
        ("ok-factored", "def tanh_grad(z):\n    t = tanh(z)\n    return (1 - t) * (1 + t)"),
    ],
    "relu_grad": [
        ("ok-where", "def relu_grad(z):\n    z = _as_float(z)\n    return np.where(z > 0, 1, 0).astype(z.dtype)"),
        ("ok-heaviside", "def relu_grad(z):\n    z = _as_float(z)\n    return np.heaviside(z, 0.0).astype(z.dtype)"),
        ("ok-ones-times-mask", "def relu_grad(z):\n    z = _as_float(z)\n    return np.ones_like(z) * (z > 0)"),
    ],
    "leaky_relu_grad": [
        ("ok-full-like", "def leaky_relu_grad(z, alpha=0.01):\n    z = _as_float(z)\n    d = np.full_like(z, alpha)\n"
                         "    d[z > 0] = 1\n    return d"),
        ("ok-where-arrays", "def leaky_relu_grad(z, alpha=0.01):\n    z = _as_float(z)\n"
                            "    return np.where(z > 0, np.ones_like(z), alpha * np.ones_like(z))"),
        ("ok-arithmetic", "def leaky_relu_grad(z, alpha=0.01):\n    z = _as_float(z)\n    pos = (z > 0).astype(z.dtype)\n"
                          "    return pos + alpha * (1 - pos)"),
    ],
}

# One mistake, one exercise: a wrong earlier function, and correct later ones that call it.
CASCADES = {
    "sigmoid-wrong-sign": ("sigmoid", MUTANTS["sigmoid"][5][1], {}),     # tanh and sigmoid_grad call it
    "tanh-forgot-the-2": ("tanh", MUTANTS["tanh"][1][1], {}),            # tanh_grad calls it
}

# A correct answer whose intermediate step makes NumPy warn on stderr.
WARNING_BUT_CORRECT = '''
def relu(z):
    scale = np.float64(1.0) / np.float64(0.0)   # RuntimeWarning: divide by zero (then unused)
    return np.maximum(np.asarray(z), 0)
'''

# Another correct, stable sigmoid (masks instead of np.where; no helper): it must get full marks too.
MASKED_SIGMOID = '''
def sigmoid(z):
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1 + ez)
    return out
'''


def _cells_of(exercise):
    return TEST_CELLS.get(exercise, [f"test_{exercise}"])


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    solution = read(solution_path(CHAPTER))
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER),
            "warns": with_cells(solution, {"relu": WARNING_BUT_CORRECT}),
            "masked-sigmoid": with_cells(solution, {"sigmoid": MASKED_SIGMOID})}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))
    subs.update(variant_submissions(CHAPTER, VARIANTS))
    subs.update(cascade_submissions(CHAPTER, CASCADES))
    subs.update(korean_submissions(CHAPTER, MUTANTS))         # the Korean edition, in the same run
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, TEST_CELLS, min_exercises=5)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 18)


def test_korean_edition_grades_the_same(graded):
    """The Korean notebooks, graded by the same course: full marks, 0, each first mutant caught in Korean."""
    assert_korean_edition(graded, CHAPTER, 18, MUTANTS, TEST_CELLS)


def test_solution_graded_without_problems(graded):
    # sigmoid has two test cells (values, stability): the grader must keep them in their released order.
    assert graded["solution"].problem is None, graded["solution"].problem


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


def test_warning_on_stderr_does_not_cost_points(graded):
    assert_warning_costs_nothing(graded["warns"], "test_relu", "divide by zero")


def test_other_correct_sigmoid_gets_full_marks(graded):
    result = graded["masked-sigmoid"]
    assert result.total == result.max_total, {g: c.errors for g, c in result.cells.items() if c.errors}


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student, TEST_CELLS, hints=HINTS, isolated=True)


def test_every_exercise_has_variants():
    assert_variants_cover_every_exercise(CHAPTER, VARIANTS)


@pytest.mark.parametrize("student", variant_ids(VARIANTS))
def test_correct_variant_gets_full_marks(graded, student):
    assert_variant_full_marks(graded, student)


@pytest.mark.parametrize("student", cascade_ids(CASCADES))
def test_one_mistake_costs_one_exercise(graded, student):
    assert_only_its_own_exercise_loses(graded, student, CASCADES, TEST_CELLS)


def test_variants_pass_stock_validate(tmp_path):
    assert_stock_validate_passes(CHAPTER, VARIANTS, tmp_path)
