"""Tests of the tests for chapter 03, through the real nbgrader autograder.

The solution must earn full marks, the untouched learner notebook nothing, and
every typical wrong answer must lose points on its own exercise.
"""
import pytest

from autograde.course import grade_submissions
from notebooks import (assert_full_marks, assert_korean_edition, korean_submissions, assert_mutant_caught, assert_mutants_cover_every_exercise,
                       assert_only_its_own_exercise_loses, assert_stock_validate_passes, assert_stubs_score_zero,
                       assert_variant_full_marks, assert_variants_cover_every_exercise, assert_warning_costs_nothing,
                       cascade_ids, cascade_submissions, learner_path, mutant_ids, mutant_submissions, read,
                       solution_path, variant_ids, variant_submissions, with_cells)

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
        ("lecun-scale", "def init_params(layer_sizes, rng):\n"
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

# Wrong answers that make a later, correct function crash (a transposed W no longer fits): the later exercise
# loses points too, and its message names the earlier function as the possible cause.
NOT_ISOLATED = {"dense--transposed", "dense--nielsen-order", "forward--transposed"}

# For these mistakes the message must name the actual cause.
HINTS = {
    "dense--no-bias": "Did you add the bias?",
    "init_params--global-np-random": "np.random",
    "init_params--lecun-scale": "sqrt(2 / d_in)",
    "init_params--fan-out-scale": "not d_out",
    "forward--activation-on-output": "raw scores",
    "count_params--13002-as-weights": "12,960",
    "softmax--global-max": "each row's maximum",
    "predict--max-not-argmax": "not the entry itself",
}

# Correct answers written differently: each must get full marks, in the grader and in stock Validate.
VARIANTS = {
    "dense": [
        ("ok-dot", "def dense(X, W, b):\n    return np.dot(X, W) + b"),
        ("ok-einsum", "def dense(X, W, b):\n    return np.einsum('...i,ij->...j', X, W) + b"),
        ("ok-matmul-func", "def dense(X, W, b):\n    return np.add(np.matmul(X, W), b)"),
    ],
    "init_params": [
        ("ok-standard-normal", "def init_params(layer_sizes, rng):\n    params = []\n"
                               "    for d_in, d_out in zip(layer_sizes[:-1], layer_sizes[1:]):\n"
                               "        W = rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in)\n"
                               "        params.append((W, np.zeros(d_out)))\n    return params"),
        ("ok-comprehension", "def init_params(layer_sizes, rng):\n"
                             "    return [(rng.normal(loc=0.0, scale=(2 / a) ** 0.5, size=(a, c)), np.zeros(c, dtype=float))\n"
                             "            for a, c in zip(layer_sizes, layer_sizes[1:])]"),
        ("ok-list-pairs", "def init_params(layer_sizes, rng):\n    params = []\n"
                          "    for l in range(1, len(layer_sizes)):\n        d_in, d_out = layer_sizes[l - 1], layer_sizes[l]\n"
                          "        params.append([rng.normal(0, np.sqrt(2 / d_in), (d_in, d_out)), np.zeros((d_out,))])\n"
                          "    return params"),
    ],
    "forward": [
        ("ok-inline", "def forward(X, params, activation=relu):\n    A = X\n    for W, b in params[:-1]:\n"
                      "        A = activation(A @ W + b)\n    W, b = params[-1]\n    return A @ W + b"),
        ("ok-index-loop", "def forward(X, params, activation=relu):\n    A = X\n    L = len(params)\n"
                          "    for l in range(L):\n        W, b = params[l]\n        A = dense(A, W, b)\n"
                          "        if l < L - 1:\n            A = activation(A)\n    return A"),
        ("ok-unpack", "def forward(X, params, activation=relu):\n    *hidden, (W_out, b_out) = params\n"
                      "    A = np.asarray(X)\n    for layer in hidden:\n        A = activation(np.dot(A, layer[0]) + layer[1])\n"
                      "    return np.dot(A, W_out) + b_out"),
    ],
    "count_params": [
        ("ok-list", "def count_params(layer_sizes):\n    s = [int(v) for v in layer_sizes]\n"
                    "    return [sum(s[i] * s[i + 1] for i in range(len(s) - 1)), sum(s[1:])]"),
        ("ok-loop", "def count_params(layer_sizes):\n    n_w = n_b = 0\n    for l in range(1, len(layer_sizes)):\n"
                    "        n_w += layer_sizes[l - 1] * layer_sizes[l]\n        n_b += layer_sizes[l]\n    return n_w, n_b"),
        ("ok-numpy", "def count_params(layer_sizes):\n    s = np.asarray(layer_sizes, dtype=np.int64)\n"
                     "    return int(np.sum(s[:-1] * s[1:])), int(np.sum(s[1:]))"),
    ],
    "softmax": [
        ("ok-row-loop", "def softmax(Z):\n    Z = np.asarray(Z)\n    if Z.ndim == 1:\n        e = np.exp(Z - Z.max())\n"
                        "        return e / e.sum()\n    return np.array([softmax(row) for row in Z])"),
        ("ok-newaxis", "def softmax(Z):\n    Z = np.asarray(Z)\n    if Z.ndim == 1:\n        E = np.exp(Z - np.max(Z))\n"
                       "        return E / np.sum(E)\n    E = np.exp(Z - Z.max(axis=1)[:, None])\n"
                       "    return E / E.sum(axis=1)[:, None]"),
        ("ok-log-domain", "def softmax(Z):\n    Z = np.asarray(Z)\n    s = Z - np.max(Z, axis=-1, keepdims=True)\n"
                          "    return np.exp(s - np.log(np.sum(np.exp(s), axis=-1, keepdims=True)))"),
    ],
    "predict": [
        ("ok-python-int-for-one", "def predict(X, params, activation=relu):\n    S = forward(X, params, activation)\n"
                                  "    return np.argmax(S, axis=1) if S.ndim == 2 else int(np.argmax(S))"),
        ("ok-argsort", "def predict(X, params, activation=relu):\n    S = forward(X, params, activation=activation)\n"
                       "    return np.argsort(-S, axis=-1, kind='stable')[..., 0]"),
        ("ok-via-softmax", "def predict(X, params, activation=relu):\n"
                           "    return np.argmax(softmax(forward(X, params, activation)), axis=-1)"),
    ],
}

# One mistake, one exercise: a wrong earlier function, and correct later ones that call it.
CASCADES = {
    "dense-no-bias": ("dense", "def dense(X, W, b):\n    return X @ W", {}),              # forward calls dense
    "forward-always-relu": ("forward", MUTANTS["forward"][3][1], {}),                     # predict calls forward
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
    subs.update(variant_submissions(CHAPTER, VARIANTS))
    subs.update(cascade_submissions(CHAPTER, CASCADES))
    subs.update(korean_submissions(CHAPTER, MUTANTS))         # the Korean edition, in the same run
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=5)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 15)


def test_korean_edition_grades_the_same(graded):
    """The Korean notebooks, graded by the same course: full marks, 0, each first mutant caught in Korean."""
    assert_korean_edition(graded, CHAPTER, 15, MUTANTS, None)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


def test_warning_on_stderr_does_not_cost_points(graded):
    assert_warning_costs_nothing(graded["warns"], "test_softmax", "overflow")


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student, hints=HINTS, isolated=student not in NOT_ISOLATED)
    if student in NOT_ISOLATED:
        others = [e for g, c in graded[student].cells.items() if g != f"test_{student.split('--')[0]}" for e in c.errors]
        assert others and all("your dense" in e or "your forward" in e for e in others), others


def test_every_exercise_has_variants():
    assert_variants_cover_every_exercise(CHAPTER, VARIANTS)


@pytest.mark.parametrize("student", variant_ids(VARIANTS))
def test_correct_variant_gets_full_marks(graded, student):
    assert_variant_full_marks(graded, student)


@pytest.mark.parametrize("student", cascade_ids(CASCADES))
def test_one_mistake_costs_one_exercise(graded, student):
    assert_only_its_own_exercise_loses(graded, student, CASCADES)


def test_variants_pass_stock_validate(tmp_path):
    assert_stock_validate_passes(CHAPTER, VARIANTS, tmp_path)
