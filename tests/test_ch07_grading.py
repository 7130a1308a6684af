"""Tests of the tests for chapter 07, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, every
typical wrong answer must lose points on its own exercise only (with the hint that
names its cause), and every correct answer written differently (VARIANTS) must keep
all points, in the grader and in stock ``nbgrader validate``.

Most exercises of this chapter are one method inside a class cell, so a wrong
answer is written as a small edit of the solution cell: ``(label, [(old, new), ...])``
replaces each ``old`` snippet (which must occur in the cell) by ``new``.
"""
import re

import pytest

from autograde.course import grade_submissions
from notebooks import (assert_full_marks, assert_korean_edition, korean_submissions, assert_mutant_caught, assert_mutants_cover_every_exercise,
                       assert_hint_names_cause, assert_others_keep_points,
                       assert_stock_validate_passes, assert_stubs_score_zero, assert_variant_full_marks,
                       assert_variants_cover_every_exercise, learner_path, mutant_ids, mutant_submissions,
                       grade_id, read, solution_path, variant_ids, variant_submissions)

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
    "Branch": [
        ("keeps-last", _edit("Branch", ("        total = douts[0]\n        for dout in douts[1:]:\n"
                                        "            total = total + dout                  # a new array: the douts stay as they were\n"
                                        "        return total", "        return douts[-1]"))),
        ("keeps-first", _edit("Branch", ("        total = douts[0]\n        for dout in douts[1:]:\n"
                                         "            total = total + dout                  # a new array: the douts stay as they were\n"
                                         "        return total", "        return douts[0]"))),
        ("averages", _edit("Branch", ("        return total", "        return total / len(douts)"))),
        ("adds-into-first-dout", _edit("Branch", ("            total = total + dout                  # a new array: the douts stay as they were",
                                                  "            total += dout"))),
        ("two-consumers-only", _edit("Branch", ("        total = douts[0]\n        for dout in douts[1:]:\n"
                                                "            total = total + dout                  # a new array: the douts stay as they were\n"
                                                "        return total", "        return douts[0] + douts[1]"))),
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

TEST_CELLS = None

# The hint each of these wrong answers must get: it names that mistake, not another one.
HINTS = {
    "MulLayer--swapped-inputs": "the OTHER input",
    "ReLU--mask-includes-zero": "use X > 0, not X >= 0",
    "ReLU--float64-result": "keeps its dtype",
    "SoftmaxWithLoss--no-1-over-n": "divide by the batch size",
    "SoftmaxWithLoss--one-hot-forgotten": "T is y itself",
    "SoftmaxWithLoss--modifies-probs": "work on a copy of self.probs",
    "TwoLayerNet--no-forward-pass": "did gradient run the forward pass",
    "Branch--keeps-last": "not only the last",
    "Branch--averages": "not their mean",
    "Branch--adds-into-first-dout": "the function modified its input `douts[0]`",
    "relative_error--no-zero-guard": "return 0.0 instead of computing 0 / 0",
}

# Wrong answers that cannot help costing a later exercise too: a layer whose backward pass crashes makes
# TwoLayerNet.gradient (which must call it) crash as well.
CASCADES = {
    "Affine--dW-no-transpose": {"test_TwoLayerNet"},
    "Affine--dW-transposed": {"test_TwoLayerNet"},
    "Affine--dX-no-transpose": {"test_TwoLayerNet"},
}

_TWO_RETURN = ('return {"W1": self.affine1.dW, "b1": self.affine1.db,\n'
               '                "W2": self.affine2.dW, "b2": self.affine2.db}')
# Correct answers written differently, by exercise: each must keep every point.
VARIANTS = {
    "MulLayer": [
        ("ok-tuple-literal", _edit("MulLayer", (MUL + "\n        return dx, dy", "return (dout * self.y, dout * self.x)"))),
        ("ok-list", _edit("MulLayer", (MUL + "\n        return dx, dy", "return [self.y * dout, self.x * dout]"))),
        ("ok-np-multiply", _edit("MulLayer", (MUL, "dx = np.multiply(dout, self.y)\n        dy = np.multiply(dout, self.x)"))),
    ],
    "AddLayer": [
        ("ok-copies", _edit("AddLayer", (ADD, "dx = np.copy(dout)\n        dy = np.copy(dout)"))),
        ("ok-list", _edit("AddLayer", (ADD + "\n        return dx, dy", "return [dout, dout]"))),
        ("ok-times-ones", _edit("AddLayer", (ADD, "dx = dout * np.ones_like(dout)\n        dy = np.ones_like(dout) * dout"))),
    ],
    "Branch": [
        ("ok-builtin-sum", _edit("Branch", ("        total = douts[0]\n        for dout in douts[1:]:\n"
                                            "            total = total + dout                  # a new array: the douts stay as they were\n"
                                            "        return total", "        return sum(douts)"))),
        ("ok-np-sum-stack", _edit("Branch", ("        total = douts[0]\n        for dout in douts[1:]:\n"
                                             "            total = total + dout                  # a new array: the douts stay as they were\n"
                                             "        return total", "        return np.sum(np.stack([np.asarray(d) for d in douts]), axis=0)"))),
        ("ok-reduce", "import functools\nimport operator\n\n" + _edit("Branch", ("        total = douts[0]\n        for dout in douts[1:]:\n"
                                             "            total = total + dout                  # a new array: the douts stay as they were\n"
                                             "        return total", "        return functools.reduce(operator.add, douts)"))),
    ],
    "ReLU": [
        ("ok-where", _edit("ReLU", ("return dout * self.mask", "return np.where(self.mask, dout, 0)"))),
        ("ok-copy-then-zero", _edit("ReLU", ("return dout * self.mask", "dX = dout.copy()\n        dX[~self.mask] = 0\n        return dX"))),
        ("ok-zeros-like", _edit("ReLU", ("return dout * self.mask",
                                         "dX = np.zeros_like(dout)\n        dX[self.mask] = dout[self.mask]\n        return dX"))),
        ("ok-mask-astype", _edit("ReLU", ("return dout * self.mask", "return dout * self.mask.astype(dout.dtype)"))),
    ],
    "Sigmoid": [
        ("ok-reordered", _edit("Sigmoid", ("return dout * self.out * (1.0 - self.out)", "return self.out * (1 - self.out) * dout"))),
        ("ok-local-gradient", _edit("Sigmoid", ("return dout * self.out * (1.0 - self.out)",
                                                "local = self.out - self.out ** 2\n        return dout * local"))),
        ("ok-np-multiply", _edit("Sigmoid", ("return dout * self.out * (1.0 - self.out)",
                                             "return np.multiply(dout, np.multiply(self.out, 1.0 - self.out))"))),
    ],
    "Affine": [
        ("ok-np-dot", _edit("Affine", ("self.dW = self.X.T @ dout", "self.dW = np.dot(self.X.T, dout)"),
                            ("self.db = dout.sum(axis=0)", "self.db = np.sum(dout, axis=0)"),
                            ("return dout @ self.W.T", "return np.dot(dout, self.W.T)"))),
        ("ok-einsum", _edit("Affine", ("self.dW = self.X.T @ dout", "self.dW = np.einsum('nd,nm->dm', self.X, dout)"),
                            ("return dout @ self.W.T", "return np.einsum('nm,dm->nd', dout, self.W)"))),
        ("ok-row-loop-db", _edit("Affine", ("self.dW = self.X.T @ dout", "self.dW = (dout.T @ self.X).T"),
                                 ("self.db = dout.sum(axis=0)", "self.db = np.zeros_like(self.b)\n"
                                  "        for row in dout:\n            self.db = self.db + row"))),
    ],
    "SoftmaxWithLoss": [
        ("ok-always-one-hot", _edit("SoftmaxWithLoss", (
            "n = self.probs.shape[0]\n        if self.y.ndim == 1:\n            dX = self.probs.copy()\n"
            "            dX[np.arange(n), self.y] -= 1                   # subtract the one-hot target in place of the copy\n"
            "        else:\n            dX = self.probs - self.y\n        dX *= dout / n\n        return dX",
            "T = self.y if self.y.ndim == 2 else np.eye(self.probs.shape[1])[self.y]\n"
            "        return dout * (self.probs - T) / len(self.probs)"))),
        ("ok-row-loop", _edit("SoftmaxWithLoss", (
            "            dX[np.arange(n), self.y] -= 1                   # subtract the one-hot target in place of the copy\n",
            "            for i, c in enumerate(self.y):\n                dX[i, c] -= 1.0\n"))),
        ("ok-zeros-target", _edit("SoftmaxWithLoss", (
            "n = self.probs.shape[0]\n        if self.y.ndim == 1:\n            dX = self.probs.copy()\n"
            "            dX[np.arange(n), self.y] -= 1                   # subtract the one-hot target in place of the copy\n"
            "        else:\n            dX = self.probs - self.y\n        dX *= dout / n\n        return dX",
            "n = len(self.probs)\n        if np.ndim(self.y) == 2:\n            T = self.y\n        else:\n"
            "            T = np.zeros_like(self.probs)\n            T[np.arange(n), self.y] = 1.0\n"
            "        return (self.probs - T) * (dout / n)"))),
    ],
    "TwoLayerNet": [
        ("ok-ordereddict", "from collections import OrderedDict\n\n" + _edit("TwoLayerNet", (_TWO_RETURN,
            'return OrderedDict([("W1", self.affine1.dW), ("b1", self.affine1.db),\n'
            '                            ("W2", self.affine2.dW), ("b2", self.affine2.db)])'))),
        ("ok-loop-over-layers", _edit("TwoLayerNet", (
            "        dout = self.affine2.backward(dout)             # (n, h)\n" + TWO_BODY +
            "        self.affine1.backward(dout)                    # (n, d), not needed\n",
            "        for layer in (self.affine2, self.relu, self.affine1):\n            dout = layer.backward(dout)\n"))),
        ("ok-dict-copies", _edit("TwoLayerNet", (_TWO_RETURN,
            'return dict(W1=self.affine1.dW.copy(), b1=self.affine1.db.copy(),\n'
            '                    W2=self.affine2.dW.copy(), b2=self.affine2.db.copy())'))),
    ],
    "relative_error": [
        ("ok-by-hand", _edit("relative_error", (
            "    scale = np.linalg.norm(a) + np.linalg.norm(b)\n    if scale == 0.0:\n        return 0.0\n"
            "    return float(np.linalg.norm(a - b) / scale)",
            "    num = np.sqrt(np.sum((a - b) ** 2))\n    den = np.sqrt(np.sum(a ** 2)) + np.sqrt(np.sum(b ** 2))\n"
            "    return 0.0 if den == 0 else float(num / den)"))),
        ("ok-any-guard", _edit("relative_error", (
            "    scale = np.linalg.norm(a) + np.linalg.norm(b)\n    if scale == 0.0:\n        return 0.0\n",
            "    if not a.any() and not b.any():\n        return 0.0\n    scale = np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel())\n"))),
        ("ok-tiny-floor", _edit("relative_error", (
            "    scale = np.linalg.norm(a) + np.linalg.norm(b)\n    if scale == 0.0:\n        return 0.0\n"
            "    return float(np.linalg.norm(a - b) / scale)",
            "    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))"))),
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
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=5)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 18)


def test_korean_edition_grades_the_same(graded):
    """The Korean notebooks, graded by the same course: full marks, 0, each first mutant caught in Korean."""
    assert_korean_edition(graded, CHAPTER, 18, MUTANTS, TEST_CELLS)


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


# Correct variants the grader still gets wrong (the fix belongs to autograde/, not to this chapter).
@pytest.mark.parametrize("student", variant_ids(VARIANTS))
def test_correct_variant_gets_full_marks(graded, student):
    assert_variant_full_marks(graded, student)


def test_variants_pass_stock_validate(tmp_path):
    assert_stock_validate_passes(CHAPTER, VARIANTS, tmp_path)
