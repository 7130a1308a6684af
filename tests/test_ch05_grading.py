"""Tests of the tests for chapter 05, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, every
typical wrong answer must lose points on its own exercise (with the hint that names
its cause), and every correct answer written differently (VARIANTS) must keep all
points, in the grader and in stock ``nbgrader validate``.
"""
import pytest

from autograde.course import grade_submissions
from notebooks import (assert_full_marks, assert_korean_edition, korean_submissions, assert_mutant_caught, assert_mutants_cover_every_exercise,
                       assert_hint_names_cause, assert_others_keep_points,
                       assert_stock_validate_passes, assert_stubs_score_zero, assert_variant_full_marks,
                       assert_variants_cover_every_exercise, learner_path, mutant_ids, mutant_submissions,
                       solution_path, variant_ids, variant_submissions)

CHAPTER = "05_gradient_descent"

# Typical wrong answers, by exercise: (label, replacement for the solution cell).
MUTANTS = {
    "numerical_derivative": [
        ("forward-difference", "def numerical_derivative(f, x, h=1e-4):\n    return float((f(x + h) - f(x)) / h)"),
        ("backward-difference", "def numerical_derivative(f, x, h=1e-4):\n    return float((f(x) - f(x - h)) / h)"),
        ("divides-by-h", "def numerical_derivative(f, x, h=1e-4):\n    return float((f(x + h) - f(x - h)) / h)"),
        ("tiny-default-h", "def numerical_derivative(f, x, h=1e-50):\n"
                           "    return float((f(x + h) - f(x - h)) / (2 * h))"),
        ("ignores-h", "def numerical_derivative(f, x, h=1e-4):\n"
                      "    return float((f(x + 1e-4) - f(x - 1e-4)) / 2e-4)"),
    ],
    "numerical_gradient": [
        ("forward-difference",
         "def numerical_gradient(f, x, h=1e-4):\n    grad = np.zeros_like(x)\n"
         "    for idx in np.ndindex(x.shape):\n        old = x[idx]\n        fx = f(x)\n"
         "        x[idx] = old + h\n        fp = f(x)\n        x[idx] = old\n        grad[idx] = (fp - fx) / h\n"
         "    return grad"),
        ("not-restoring-x",
         "def numerical_gradient(f, x, h=1e-4):\n    grad = np.zeros_like(x)\n"
         "    for idx in np.ndindex(x.shape):\n        old = x[idx]\n        x[idx] = old + h\n        fp = f(x)\n"
         "        x[idx] = old - h\n        fm = f(x)\n        grad[idx] = (fp - fm) / (2 * h)\n    return grad"),
        ("one-dimensional-only",
         "def numerical_gradient(f, x, h=1e-4):\n    grad = np.zeros_like(x)\n"
         "    for i in range(len(x)):\n        old = x[i].copy()\n        x[i] = old + h\n        fp = f(x)\n"
         "        x[i] = old - h\n        fm = f(x)\n        x[i] = old\n        grad[i] = (fp - fm) / (2 * h)\n"
         "    return grad"),
        ("flattened-result",
         "def numerical_gradient(f, x, h=1e-4):\n    grad = np.zeros(x.size)\n"
         "    for k, idx in enumerate(np.ndindex(x.shape)):\n        old = x[idx]\n        x[idx] = old + h\n"
         "        fp = f(x)\n        x[idx] = old - h\n        fm = f(x)\n        x[idx] = old\n"
         "        grad[k] = (fp - fm) / (2 * h)\n    return grad"),
        ("perturbs-a-copy",
         "def numerical_gradient(f, x, h=1e-4):\n    grad = np.zeros_like(x)\n"
         "    for idx in np.ndindex(x.shape):\n        xp = x.copy(); xp[idx] += h\n        xm = x.copy(); xm[idx] -= h\n"
         "        grad[idx] = (f(xp) - f(xm)) / (2 * h)\n    return grad"),
    ],
    "gradient_descent": [
        ("missing-x0",
         "def gradient_descent(grad, x0, lr, num_steps):\n    x = np.array(x0, dtype=float)\n    traj = []\n"
         "    for _ in range(num_steps):\n        x = x - lr * grad(x)\n        traj.append(x)\n    return np.array(traj)"),
        ("plus-sign",
         "def gradient_descent(grad, x0, lr, num_steps):\n    x = np.array(x0, dtype=float)\n    traj = [x]\n"
         "    for _ in range(num_steps):\n        x = x + lr * grad(x)\n        traj.append(x)\n    return np.array(traj)"),
        ("aliased-in-place",
         "def gradient_descent(grad, x0, lr, num_steps):\n    x = np.array(x0, dtype=float)\n    traj = [x]\n"
         "    for _ in range(num_steps):\n        x -= lr * grad(x)\n        traj.append(x)\n    return np.array(traj)"),
        ("modifies-x0",
         "def gradient_descent(grad, x0, lr, num_steps):\n    x = x0\n    traj = [np.array(x0, dtype=float)]\n"
         "    for _ in range(num_steps):\n        x -= lr * grad(x)\n        traj.append(np.array(x, dtype=float))\n"
         "    return np.array(traj)"),
        ("final-point-only",
         "def gradient_descent(grad, x0, lr, num_steps):\n    x = np.array(x0, dtype=float)\n"
         "    for _ in range(num_steps):\n        x = x - lr * grad(x)\n    return x"),
    ],
    "fit_line": [
        ("sum-not-mean",
         "def fit_line(x, y, lr, num_epochs):\n    w = b = 0.0\n    for _ in range(num_epochs):\n"
         "        r = w * x + b - y\n        w, b = w - lr * 2 * np.sum(r * x), b - lr * 2 * np.sum(r)\n"
         "    return float(w), float(b)"),
        ("no-factor-two",
         "def fit_line(x, y, lr, num_epochs):\n    w = b = 0.0\n    for _ in range(num_epochs):\n"
         "        r = w * x + b - y\n        w, b = w - lr * np.mean(r * x), b - lr * np.mean(r)\n"
         "    return float(w), float(b)"),
        ("sequential-update",
         "def fit_line(x, y, lr, num_epochs):\n    w = b = 0.0\n    for _ in range(num_epochs):\n"
         "        w = w - lr * 2 * np.mean((w * x + b - y) * x)\n        b = b - lr * 2 * np.mean(w * x + b - y)\n"
         "    return float(w), float(b)"),
        ("plus-sign",
         "def fit_line(x, y, lr, num_epochs):\n    w = b = 0.0\n    for _ in range(num_epochs):\n"
         "        r = w * x + b - y\n        w, b = w + lr * 2 * np.mean(r * x), b + lr * 2 * np.mean(r)\n"
         "    return float(w), float(b)"),
        ("closed-form",
         "def fit_line(x, y, lr, num_epochs):\n    w, b = np.polyfit(x, y, 1)\n    return float(w), float(b)"),
        ("starts-at-one",
         "def fit_line(x, y, lr, num_epochs):\n    w = b = 1.0\n    for _ in range(num_epochs):\n"
         "        r = w * x + b - y\n        w, b = w - lr * 2 * np.mean(r * x), b - lr * 2 * np.mean(r)\n"
         "    return float(w), float(b)"),
    ],
    "stable_learning_rates": [
        ("forgets-curvature",
         "def stable_learning_rates(curvature, lrs, num_steps=50):\n"
         "    return np.array([abs(gradient_descent(lambda x: x, 1.0, lr, num_steps)[-1]) < 1 for lr in lrs])"),
        ("half-gradient",
         "def stable_learning_rates(curvature, lrs, num_steps=50):\n"
         "    return np.array([abs(gradient_descent(lambda x: curvature * x / 2, 1.0, lr, num_steps)[-1]) < 1 for lr in lrs])"),
        ("no-abs",
         "def stable_learning_rates(curvature, lrs, num_steps=50):\n"
         "    return np.array([gradient_descent(lambda x: curvature * x, 1.0, lr, num_steps)[-1] < 1 for lr in lrs])"),
        ("one-over-curvature",
         "def stable_learning_rates(curvature, lrs, num_steps=50):\n    return np.array([lr < 1 / curvature for lr in lrs])"),
    ],
}


# The hint each of these wrong answers must get: it names that mistake, not another one.
HINTS = {
    "numerical_derivative--forward-difference": "one-sided difference",
    "numerical_derivative--backward-difference": "one-sided difference",
    "numerical_derivative--divides-by-h": "twice the slope",
    "numerical_derivative--tiny-default-h": "you got exactly 0",
    "numerical_derivative--ignores-h": "use the argument h",
    "numerical_gradient--not-restoring-x": "put the saved value back",
    "numerical_gradient--perturbs-a-copy": "nudge the entries of x itself",
    "gradient_descent--aliased-in-place": "kept changing it in place",
    "gradient_descent--missing-x0": "the start x0 first",
    "gradient_descent--plus-sign": "step against the gradient",
    "stable_learning_rates--no-abs": "compare the distance abs(x)",
}
TEST_CELLS = None
CASCADES = {"gradient_descent--final-point-only": {"test_stable_learning_rates"}}   # its 0-d result makes path[-1] fail

# Correct answers written differently, by exercise: each must keep every point.
VARIANTS = {
    "numerical_derivative": [
        ("ok-two-evaluations", "def numerical_derivative(f, x, h=1e-4):\n    f_plus = f(x + h)\n    f_minus = f(x - h)\n"
                               "    return float((f_plus - f_minus) / (2 * h))"),
        ("ok-numpy-float", "def numerical_derivative(f, x, h=1e-4):\n    return np.float64((f(x + h) - f(x - h)) / (h + h))"),
        ("ok-half-times", "def numerical_derivative(f, x, h=1e-4):\n    return 0.5 * (f(x + h) - f(x - h)) / h"),
    ],
    "numerical_gradient": [
        ("ok-flat-index",
         "def numerical_gradient(f, x, h=1e-4):\n    grad = np.zeros(x.shape)\n    for k in range(x.size):\n"
         "        old = x.flat[k]\n        x.flat[k] = old + h\n        fp = f(x)\n        x.flat[k] = old - h\n"
         "        fm = f(x)\n        x.flat[k] = old\n        grad.flat[k] = (fp - fm) / (2 * h)\n    return grad"),
        ("ok-nditer",
         "def numerical_gradient(f, x, h=1e-4):\n    grad = np.zeros_like(x, dtype=float)\n"
         "    it = np.nditer(x, flags=['multi_index'])\n    while not it.finished:\n        idx = it.multi_index\n"
         "        old = float(x[idx])\n        x[idx] = old + h\n        fp = f(x)\n        x[idx] = old - h\n"
         "        fm = f(x)\n        x[idx] = old\n        grad[idx] = (fp - fm) / (2 * h)\n        it.iternext()\n"
         "    return grad"),
        ("ok-itertools",
         "import itertools\n\ndef numerical_gradient(f, x, h=1e-4):\n    grad = np.empty(x.shape)\n"
         "    for idx in itertools.product(*(range(s) for s in x.shape)):\n        saved = x[idx].copy()\n"
         "        x[idx] += h\n        up = f(x)\n        x[idx] = saved\n        x[idx] -= h\n        down = f(x)\n"
         "        x[idx] = saved\n        grad[idx] = (up - down) / (2 * h)\n    return grad"),
    ],
    "gradient_descent": [
        ("ok-in-place-on-a-copy",
         "def gradient_descent(grad, x0, lr, num_steps):\n    x = np.array(x0, dtype=float)\n    traj = [x.copy()]\n"
         "    for _ in range(num_steps):\n        x -= lr * grad(x)\n        traj.append(x.copy())\n    return np.array(traj)"),
        ("ok-preallocated",
         "def gradient_descent(grad, x0, lr, num_steps):\n    traj = np.empty((num_steps + 1,) + np.shape(x0))\n"
         "    traj[0] = x0\n    for k in range(num_steps):\n        traj[k + 1] = traj[k] - lr * np.asarray(grad(traj[k].copy()))\n"
         "    return traj"),
        ("ok-stack",
         "def gradient_descent(grad, x0, lr, num_steps):\n    points = [np.asarray(x0, dtype=float)]\n"
         "    for _ in range(num_steps):\n        points.append(points[-1] - lr * np.asarray(grad(points[-1])))\n"
         "    return np.stack(points)"),
    ],
    "fit_line": [
        ("ok-matrix-form",
         "def fit_line(x, y, lr, num_epochs):\n    A = np.column_stack([x, np.ones(len(x))])\n    theta = np.zeros(2)\n"
         "    for _ in range(num_epochs):\n        r = A @ theta - y\n        theta = theta - lr * 2 * A.T @ r / len(x)\n"
         "    return float(theta[0]), float(theta[1])"),
        ("ok-list-pair",
         "def fit_line(x, y, lr, num_epochs):\n    w = b = 0.0\n    for _ in range(num_epochs):\n"
         "        r = w * x + b - y\n        dw, db = 2 * np.mean(r * x), 2 * np.mean(r)\n"
         "        w, b = w - lr * dw, b - lr * db\n    return [float(w), float(b)]"),
        ("ok-sums-numpy-floats",
         "def fit_line(x, y, lr, num_epochs):\n    n = len(x)\n    w, b = np.float64(0), np.float64(0)\n"
         "    for _ in range(num_epochs):\n        r = w * x + b - y\n        grad_w = 2 / n * np.sum(r * x)\n"
         "        grad_b = 2 / n * r.sum()\n        w = w - lr * grad_w\n        b = b - lr * grad_b\n    return w, b"),
    ],
    "stable_learning_rates": [
        ("ok-vectorised-walks",
         "def stable_learning_rates(curvature, lrs, num_steps=50):\n    lrs = np.asarray(lrs, dtype=float)\n"
         "    x = np.ones(len(lrs))\n    for _ in range(num_steps):\n        x = x - lrs * curvature * x\n    return np.abs(x) < 1"),
        ("ok-closed-form",
         "def stable_learning_rates(curvature, lrs, num_steps=50):\n"
         "    return np.abs(1 - np.asarray(lrs) * curvature) ** num_steps < 1.0"),
        ("ok-own-loop",
         "def stable_learning_rates(curvature, lrs, num_steps=50):\n    result = []\n    for lr in lrs:\n        x = 1.0\n"
         "        for _ in range(num_steps):\n            x -= lr * curvature * x\n        result.append(abs(x) < 1)\n"
         "    return np.array(result)"),
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
    assert_full_marks(graded["solution"], CHAPTER, 12)


def test_korean_edition_grades_the_same(graded):
    """The Korean notebooks, graded by the same course: full marks, 0, each first mutant caught in Korean."""
    assert_korean_edition(graded, CHAPTER, 12, MUTANTS, TEST_CELLS)


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
