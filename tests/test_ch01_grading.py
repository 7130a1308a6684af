"""Tests of the tests for chapter 01, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise.
"""
import pytest

from autograde.course import grade_submissions, grade_submissions_stock
from notebooks import (assert_full_marks, assert_korean_edition, korean_submissions, assert_mutant_caught, assert_mutants_cover_every_exercise,
                       assert_only_its_own_exercise_loses, assert_stock_validate_passes, assert_stubs_score_zero,
                       assert_variant_full_marks, assert_variants_cover_every_exercise, assert_warning_costs_nothing,
                       cascade_ids, cascade_submissions, learner_path, mutant_ids, mutant_submissions, read,
                       solution_path, variant_ids, variant_submissions, with_cells)

CHAPTER = "01_neuron"

TRAIN = """def train_perceptron(X, y, lr=1.0, max_epochs=100):
    X = np.asarray(X, dtype=float)
    w, b = np.zeros(X.shape[1]), 0.0
    for epoch in range(1, max_epochs + 1):
        mistakes = 0
        for x_i, y_i in zip(X, y):
            error = int(y_i) - (1 if float(np.dot(w, x_i)) + b >= 0 else 0)
            if error != 0:
                w = w + lr * error * x_i
                b = b + lr * error
                mistakes += 1
        if mistakes == 0:
            return w, float(b), epoch
    return w, float(b), max_epochs
"""

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
        ("and-bias-minus-one",
         "def gate_params(gate):\n    t = {'AND': ([1., 1.], -1.0), 'OR': ([1., 1.], -0.5), 'NAND': ([-1., -1.], 1.5)}\n"
         "    if gate not in t: raise ValueError('no')\n    return np.array(t[gate][0]), t[gate][1]"),
        ("key-error",
         "def gate_params(gate):\n    t = {'AND': ([1., 1.], -1.5), 'OR': ([1., 1.], -0.5), 'NAND': ([-1., -1.], 1.5)}\n"
         "    return np.array(t[gate][0]), t[gate][1]"),
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
    "train_perceptron": [
        ("no-early-stop", TRAIN.replace("        if mistakes == 0:\n            return w, float(b), epoch\n", "")),
        ("wrong-sign", TRAIN.replace("w = w + lr * error * x_i", "w = w - lr * error * x_i")
                            .replace("b = b + lr * error", "b = b - lr * error")),
        ("no-bias-update", TRAIN.replace("b = b + lr * error", "b = b")),
        ("strict-step", TRAIN.replace(") + b >= 0 else 0)", ") + b > 0 else 0)")),
        ("zero-based-epochs", TRAIN.replace("return w, float(b), epoch\n", "return w, float(b), epoch - 1\n")),
        ("batch-update", "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                         "    X = np.asarray(X, dtype=float); w, b = np.zeros(X.shape[1]), 0.0\n"
                         "    for epoch in range(1, max_epochs + 1):\n"
                         "        e = np.asarray(y) - (X @ w + b >= 0).astype(int)\n"
                         "        if not e.any():\n            return w, float(b), epoch\n"
                         "        w = w + lr * e @ X; b = b + lr * e.sum()\n"
                         "    return w, float(b), max_epochs"),
    ],
    "xor_from_nand": [
        ("is-and", "def xor_from_nand(a, b):\n    m = nand(a, b)\n    return nand(m, m)"),
        ("is-or", "def xor_from_nand(a, b):\n    return nand(nand(a, a), nand(b, b))"),
        ("is-nand", "def xor_from_nand(a, b):\n    return nand(a, b)"),
        ("xnor", "def xor_from_nand(a, b):\n    m = nand(a, b)\n    x = nand(nand(a, m), nand(b, m))\n    return nand(x, x)"),
        ("returns-bool", "def xor_from_nand(a, b):\n    m = nand(a, b)\n    return nand(nand(a, m), nand(b, m)) == 1"),
    ],
}

# Wrong answers whose result makes a later, correct function crash (weighted_sum returning an array): the later
# exercise loses points too, but its message names the earlier function as the cause.
NOT_ISOLATED = {"weighted_sum--no-sum"}

# For these mistakes the message must name the actual cause.
HINTS = {
    "perceptron--strict-greater": "use >=, not >",
    "perceptron--no-bias": "forget to add the bias",
    "perceptron_batch--column": "do not reshape it to a column",
    "gate_params--xor-accepted": "should raise ValueError",
    "gate_params--key-error": "should raise ValueError",
    "gate_params--and-bias-minus-one": "truth table",
    "train_perceptron--no-early-stop": "num_epochs",
    "train_perceptron--zero-based-epochs": "including the last one without mistakes",
    "train_perceptron--no-bias-update": "the bias is updated too",
    "xor_from_nand--is-and": "would be AND",
}

# Correct answers written differently: each must get full marks, in the grader and in stock Validate.
VARIANTS = {
    "weighted_sum": [
        ("ok-loop", "def weighted_sum(x, w, b):\n    total = b\n    for xi, wi in zip(x, w):\n        total += xi * wi\n"
                    "    return float(total)"),
        ("ok-matmul", "def weighted_sum(x, w, b):\n    return float(x @ w + b)"),
        ("ok-numpy-float", "def weighted_sum(x, w, b):\n    return np.sum(np.multiply(w, x)) + np.float64(b)"),
    ],
    "bias_for_threshold": [
        ("ok-negate", "def bias_for_threshold(threshold):\n    return -threshold"),
        ("ok-zero-minus", "def bias_for_threshold(threshold):\n    return 0.0 - threshold"),
        ("ok-times-minus-one", "def bias_for_threshold(threshold):\n    return np.float64(threshold) * -1.0"),
    ],
    "perceptron": [
        ("ok-int-of-bool", "def perceptron(x, w, b):\n    return int(np.dot(w, x) + b >= 0)"),
        ("ok-if-else", "def perceptron(x, w, b):\n    z = np.sum(w * x) + b\n    if z >= 0:\n        return 1\n    return 0"),
        ("ok-numpy-int", "def perceptron(x, w, b):\n    return np.int64(weighted_sum(x, w, b) >= 0)"),
    ],
    "perceptron_batch": [
        ("ok-where", "def perceptron_batch(X, w, b):\n    return np.where(X @ w + b >= 0, 1, 0)"),
        ("ok-loop", "def perceptron_batch(X, w, b):\n    return np.array([1 if np.dot(row, w) + b >= 0 else 0 for row in X])"),
        ("ok-int32", "def perceptron_batch(X, w, b):\n    return (np.dot(X, w) + b >= 0).astype(np.int32)"),
        ("ok-heaviside", "def perceptron_batch(X, w, b):\n    return np.heaviside(X @ w + b, 1.0).astype(int)"),
    ],
    "gate_params": [
        ("ok-list-pair", "def gate_params(gate):\n    t = {'AND': ([1., 1.], -1.5), 'OR': ([1., 1.], -0.5), 'NAND': ([-1., -1.], 1.5)}\n"
                         "    if gate not in t:\n        raise ValueError(f'one perceptron cannot compute {gate}')\n"
                         "    return [np.array(t[gate][0]), t[gate][1]]"),
        ("ok-on-the-line", "def gate_params(gate):\n    t = {'AND': ([1., 1.], -2.0), 'OR': ([1., 1.], -1.0), 'NAND': ([-1., -1.], 1.0)}\n"
                           "    if gate not in t:\n        raise ValueError(f'no single perceptron computes {gate}')\n"
                           "    return np.array(t[gate][0]), t[gate][1]"),
        ("ok-other-weights", "def gate_params(gate):\n    if gate == 'AND':\n        return np.array([2.0, 2.0]), -3.0\n"
                             "    elif gate == 'OR':\n        return np.array([3.0, 3.0]), -1.0\n"
                             "    elif gate == 'NAND':\n        return np.array([-0.5, -0.5]), 0.75\n"
                             "    raise ValueError(gate + ' is not linearly separable: one perceptron cannot compute it')"),
    ],
    "two_layer_perceptron": [
        ("ok-where", "def two_layer_perceptron(X, W1, b1, w2, b2):\n    H = np.where(X @ W1 + b1 >= 0, 1, 0)\n"
                     "    return np.where(H @ w2 + b2 >= 0, 1, 0)"),
        ("ok-heaviside", "def two_layer_perceptron(X, W1, b1, w2, b2):\n    H = np.heaviside(np.dot(X, W1) + b1, 1.0)\n"
                         "    return np.heaviside(np.dot(H, w2) + b2, 1.0).astype(int)"),
        ("ok-columns", "def two_layer_perceptron(X, W1, b1, w2, b2):\n"
                       "    H = np.column_stack([perceptron_batch(X, W1[:, j], b1[j]) for j in range(W1.shape[1])])\n"
                       "    return perceptron_batch(H, w2, b2)"),
    ],
    "train_perceptron": [
        ("ok-calls-perceptron-list", "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                                     "    w, b = np.zeros(np.shape(X)[1]), 0.0\n"
                                     "    for epoch in range(max_epochs):\n        clean = True\n"
                                     "        for i in range(len(X)):\n            e = y[i] - perceptron(X[i], w, b)\n"
                                     "            if e:\n                w = w + lr * e * X[i]\n                b += lr * e\n"
                                     "                clean = False\n"
                                     "        if clean:\n            return [w, b, epoch + 1]\n"
                                     "    return [w, b, max_epochs]"),
        ("ok-while", "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                     "    X = np.array(X, dtype=float)\n    w = np.zeros(X.shape[1])\n    b = 0.0\n    epochs = 0\n"
                     "    while epochs < max_epochs:\n        epochs += 1\n        mistakes = 0\n"
                     "        for x_i, y_i in zip(X, y):\n            y_hat = 1 if x_i @ w + b >= 0 else 0\n"
                     "            if y_hat != y_i:\n                w += lr * (y_i - y_hat) * x_i\n"
                     "                b += lr * (y_i - y_hat)\n                mistakes += 1\n"
                     "        if mistakes == 0:\n            break\n"
                     "    return w, b, epochs"),
        ("ok-always-update", "def train_perceptron(X, y, lr=1.0, max_epochs=100):\n"
                             "    w, b = np.zeros(len(X[0])), 0.0\n"
                             "    for epoch in range(1, max_epochs + 1):\n        errors = 0\n"
                             "        for x_i, y_i in zip(X, y):\n"
                             "            e = int(y_i) - int(np.dot(x_i, w) + b >= 0)\n"
                             "            w = w + lr * e * np.asarray(x_i, dtype=float)\n            b = b + lr * e\n"
                             "            errors += abs(e)\n"
                             "        if errors == 0:\n            break\n"
                             "    return w, float(b), int(epoch)"),
    ],
    "xor_from_nand": [
        ("ok-and-of-or-nand", "def xor_from_nand(a, b):\n    either = nand(nand(a, a), nand(b, b))\n"
                              "    not_both = nand(a, b)\n    t = nand(either, not_both)\n    return nand(t, t)"),
        ("ok-one-line", "def xor_from_nand(a, b):\n    return nand(nand(a, nand(a, b)), nand(b, nand(a, b)))"),
        ("ok-helpers", "def xor_from_nand(a, b):\n    NOT = lambda p: nand(p, p)\n"
                       "    AND = lambda p, q: NOT(nand(p, q))\n    OR = lambda p, q: nand(NOT(p), NOT(q))\n"
                       "    return OR(AND(a, NOT(b)), AND(NOT(a), b))"),
    ],
}

# One mistake, one exercise: a wrong earlier function, and correct later ones that call it.
CASCADES = {
    "weighted_sum-no-bias": ("weighted_sum", "def weighted_sum(x, w, b):\n    return float(np.dot(w, x))", {}),
    "perceptron-strict": ("perceptron", "def perceptron(x, w, b):\n    return 1 if np.dot(w, x) + b > 0 else 0",
                          {"train_perceptron": VARIANTS["train_perceptron"][0][1]}),
    "perceptron-batch-column": ("perceptron_batch",
                                "def perceptron_batch(X, w, b):\n    return (X @ w + b >= 0).astype(int).reshape(-1, 1)", {}),
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
    subs.update(variant_submissions(CHAPTER, VARIANTS))
    subs.update(cascade_submissions(CHAPTER, CASCADES))
    subs.update(korean_submissions(CHAPTER, MUTANTS))         # the Korean edition, in the same run
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_korean_edition_grades_the_same(graded):
    """The Korean notebooks, graded by the same course: full marks, 0, each first mutant caught in Korean."""
    assert_korean_edition(graded, CHAPTER, 17, MUTANTS)
    errors = graded["ko:weighted_sum--no-bias"].cells["test_weighted_sum"].errors
    assert any("힌트: z = w·x + b: 같은 위치의 항목끼리 곱해" in e for e in errors), errors


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=4)


def test_every_exercise_has_variants():
    assert_variants_cover_every_exercise(CHAPTER, VARIANTS)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 17)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


def test_warning_on_stderr_does_not_cost_points(graded):
    assert_warning_costs_nothing(graded["warns"], "test_weighted_sum", "divide by zero")


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student, hints=HINTS, isolated=student not in NOT_ISOLATED)
    if student in NOT_ISOLATED:
        assert "Your weighted_sum does not return one number" in " ".join(graded[student].cells["test_perceptron"].errors)


@pytest.mark.parametrize("student", variant_ids(VARIANTS))
def test_correct_variant_gets_full_marks(graded, student):
    assert_variant_full_marks(graded, student)


@pytest.mark.parametrize("student", cascade_ids(CASCADES))
def test_one_mistake_costs_one_exercise(graded, student):
    assert_only_its_own_exercise_loses(graded, student, CASCADES)


def test_variants_pass_stock_validate(tmp_path):
    assert_stock_validate_passes(CHAPTER, VARIANTS, tmp_path)


def test_executed_solution_keeps_the_worked_example(tmp_path):
    """The test cells do not overwrite the notebook's globals: section 1.3's chart shows the example's 4 bars."""
    import nbformat
    from nbclient import NotebookClient
    nb = read(solution_path(CHAPTER))
    ids = [c.get("id") for c in nb.cells]
    nb.cells = nb.cells[: ids.index("cell-011") + 1] + [nbformat.v4.new_code_cell(
        "print(x.tolist(), w.tolist(), b, contrib.tolist())")]
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert nb.cells[-1].outputs[0]["text"].strip() == "[1.0, 1.0, 2.0, 1.0] [0.5, -1.0, 0.25, 2.0] -1.0 [0.5, -1.0, 0.5, 2.0]"
