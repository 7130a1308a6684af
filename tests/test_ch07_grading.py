"""Tests of the tests for chapter 07, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise.

Most exercises of this chapter are one method inside a class cell, so a wrong
answer is written as a small edit of the solution cell: ``(label, [(old, new), ...])``
replaces each ``old`` snippet (which must occur in the cell) by ``new``.
"""
import re

import pytest

from autograde.course import grade_submissions
from notebooks import assert_full_marks, assert_mutant_caught, assert_mutants_cover_every_exercise, assert_stubs_score_zero, grade_id, learner_path, mutant_ids, mutant_submissions, read, solution_path

CHAPTER = "07_backprop"

_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*\n", re.MULTILINE)


def _solution_source(gid: str) -> str:
    for cell in read(solution_path(CHAPTER)).cells:
        if grade_id(cell) == gid and cell.metadata["nbgrader"].get("solution"):
            return cell.source
    raise KeyError(f"no solution cell {gid!r} in {CHAPTER}")


def _edit(gid: str, *replacements: tuple[str, str]) -> str:
    """The solution cell ``gid`` with each (old, new) snippet replaced, without solution markers."""
    source = _solution_source(gid)
    for old, new in replacements:
        assert source.count(old) == 1, f"{gid}: snippet not found exactly once: {old!r}"
        source = source.replace(old, new)
    return _MARKER.sub("", source)


MUL = "dx = dout * self.y\n        dy = dout * self.x"
ADD = "dx = dout * 1\n        dy = dout * 1"
TWO_BODY = "        dout = self.relu.backward(dout)                # (n, h)\n"

# Typical wrong answers, by exercise: (label, replacement source for the solution cell).
MUTANTS = {
    "MulLayer": [
        ("swapped-inputs", _edit("MulLayer", (MUL, "dx = dout * self.x\n        dy = dout * self.y"))),
        ("ignores-dout", _edit("MulLayer", (MUL, "dx = self.y\n        dy = self.x"))),
        ("add-rule", _edit("MulLayer", (MUL, "dx = dout\n        dy = dout"))),
        ("modifies-dout", _edit("MulLayer", (MUL, "dy = dout * self.x\n        dx = dout\n        dx *= self.y"))),
    ],
    "AddLayer": [
        ("one-branch", _edit("AddLayer", (ADD, "dx = dout\n        dy = 0 * dout"))),
        ("ignores-dout", _edit("AddLayer", (ADD, "dx = 1.0\n        dy = 1.0"))),
        ("halved", _edit("AddLayer", (ADD, "dx = dout / 2\n        dy = dout / 2"))),
        ("multiply-rule", _edit("AddLayer", ("return x + y", "self.x, self.y = x, y\n        return x + y"),
                                (ADD, "dx = dout * self.y\n        dy = dout * self.x"))),
    ],
    "ReLU": [
        ("mask-includes-zero", _edit("ReLU", ("self.mask = X > 0", "self.mask = X >= 0"))),
        ("modifies-dout", _edit("ReLU", ("return dout * self.mask", "dout[~self.mask] = 0\n        return dout"))),
        ("pass-through", _edit("ReLU", ("return dout * self.mask", "return dout"))),
        ("relu-of-dout", _edit("ReLU", ("return dout * self.mask", "return np.maximum(dout, 0)"))),
        ("float64-result", _edit("ReLU", ("return dout * self.mask",
                                          "dX = np.zeros(dout.shape)\n        dX[self.mask] = dout[self.mask]\n"
                                          "        return dX"))),
    ],
    "Sigmoid": [
        ("uses-input", _edit("Sigmoid", ("self.out = sigmoid(X)", "self.X = X\n        self.out = sigmoid(X)"),
                             ("return dout * self.out * (1.0 - self.out)", "return dout * self.X * (1.0 - self.X)"))),
        ("no-one-minus", _edit("Sigmoid", ("return dout * self.out * (1.0 - self.out)", "return dout * self.out"))),
        ("ignores-dout", _edit("Sigmoid", ("return dout * self.out * (1.0 - self.out)",
                                           "return self.out * (1.0 - self.out)"))),
        ("modifies-dout", _edit("Sigmoid", ("return dout * self.out * (1.0 - self.out)",
                                            "dout *= self.out * (1.0 - self.out)\n        return dout"))),
    ],
    "Affine": [
        ("dW-no-transpose", _edit("Affine", ("self.dW = self.X.T @ dout", "self.dW = self.X @ dout"))),
        ("dW-transposed", _edit("Affine", ("self.dW = self.X.T @ dout", "self.dW = dout.T @ self.X"))),
        ("db-not-summed", _edit("Affine", ("self.db = dout.sum(axis=0)", "self.db = dout"))),
        ("db-mean", _edit("Affine", ("self.db = dout.sum(axis=0)", "self.db = dout.mean(axis=0)"))),
        ("dX-no-transpose", _edit("Affine", ("return dout @ self.W.T", "return dout @ self.W"))),
    ],
    "SoftmaxWithLoss": [
        ("no-1-over-n", _edit("SoftmaxWithLoss", ("dX *= dout / n", "dX *= dout"))),
        ("ignores-dout", _edit("SoftmaxWithLoss", ("dX *= dout / n", "dX /= n"))),
        ("wrong-sign", _edit("SoftmaxWithLoss", ("dX *= dout / n", "dX *= -dout / n"))),
        ("modifies-probs", _edit("SoftmaxWithLoss", ("dX = self.probs.copy()", "dX = self.probs"))),
        ("one-hot-forgotten", _edit("SoftmaxWithLoss", ("dX = self.probs - self.y", "dX = self.probs.copy()"))),
    ],
    "TwoLayerNet": [
        ("skips-relu", _edit("TwoLayerNet", (TWO_BODY, ""))),
        ("no-forward-pass", _edit("TwoLayerNet", ("        self.loss(X, y)  ", "        pass  "))),
        ("forward-order", _edit("TwoLayerNet",
                                ("dout = self.affine2.backward(dout)             # (n, h)",
                                 "dout = self.affine1.backward(dout)"),
                                ("self.affine1.backward(dout)                    # (n, d), not needed",
                                 "self.affine2.backward(dout)"))),
        ("swapped-keys", _edit("TwoLayerNet", ('return {"W1": self.affine1.dW, "b1": self.affine1.db,\n'
                                               '                "W2": self.affine2.dW, "b2": self.affine2.db}',
                                               'return {"W1": self.affine2.dW, "b1": self.affine2.db,\n'
                                               '                "W2": self.affine1.dW, "b2": self.affine1.db}'))),
    ],
    "relative_error": [
        ("no-zero-guard", _edit("relative_error", ("    if scale == 0.0:\n        return 0.0\n", ""))),
        ("absolute", _edit("relative_error", ("return float(np.linalg.norm(a - b) / scale)",
                                              "return float(np.linalg.norm(a - b))"))),
        ("one-sided", _edit("relative_error", ("return float(np.linalg.norm(a - b) / scale)",
                                               "return float(np.linalg.norm(a - b) / np.linalg.norm(b))"))),
        ("max-abs", _edit("relative_error", ("return float(np.linalg.norm(a - b) / scale)",
                                             "return float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + np.max(np.abs(b))))"))),
    ],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = {"solution": solution_path(CHAPTER), "learner": learner_path(CHAPTER)}
    subs.update(mutant_submissions(CHAPTER, MUTANTS))
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=5)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 16)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student)
