"""Tests of the tests for chapter 05, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise.
"""
import pytest

from autograde.course import grade_submissions
from notebooks import assert_full_marks, assert_mutant_caught, assert_mutants_cover_every_exercise, assert_stubs_score_zero, learner_path, mutant_ids, mutant_submissions, solution_path

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
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER)}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=4)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 10)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student)
