"""Tests of the tests for chapter 04, through the real nbgrader autograder.

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

CHAPTER = "04_losses"

TRAIN_TEST = """def train_test_mse(x_train, y_train, x_test, y_test, degrees):
    train_errors, test_errors = [], []
    for degree in degrees:
        poly = np.polynomial.Polynomial.fit(x_train, y_train, degree)
        train_errors.append(mean_squared_error(poly(x_train), y_train))
        test_errors.append(mean_squared_error(poly(x_test), y_test))
    return np.array(train_errors), np.array(test_errors)
"""

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
    ],    "train_test_mse": [
        ("fit-on-test", TRAIN_TEST.replace("Polynomial.fit(x_train, y_train, degree)", "Polynomial.fit(x_test, y_test, degree)")),
        ("swapped", TRAIN_TEST.replace("return np.array(train_errors), np.array(test_errors)",
                                       "return np.array(test_errors), np.array(train_errors)")),
        ("fit-on-all", TRAIN_TEST.replace("Polynomial.fit(x_train, y_train, degree)",
                                          "Polynomial.fit(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]), degree)")),
        ("degree-off-by-one", TRAIN_TEST.replace("Polynomial.fit(x_train, y_train, degree)", "Polynomial.fit(x_train, y_train, degree + 1)")),
        ("sum-not-mean", TRAIN_TEST.replace("mean_squared_error(poly(x_train), y_train)", "float(np.sum((poly(x_train) - y_train) ** 2))")
                                   .replace("mean_squared_error(poly(x_test), y_test)", "float(np.sum((poly(x_test) - y_test) ** 2))")),
    ],
}

# Every log_softmax mistake costs log_softmax alone: when YOUR log_softmax overflows under the
# np.errstate(over/divide="raise") of the cross_entropy_from_logits test (which reaches the learner's code,
# as in a stock kernel), that test judges the loss by what it makes of your log_softmax instead.
NOT_ISOLATED: set[str] = set()

# For these mistakes the message must name the actual cause.
HINTS = {
    "binary_cross_entropy--clips-in-float32": "float32",
    "cross_entropy--wrong-entry-all-columns": "probs[np.arange(n), y]",
    "log_softmax--naive-log-of-softmax": "subtract the row maximum",
    "accuracy--argmin": "the column of the largest entry",
    "train_test_mse--fit-on-test": "fit on (x_train, y_train) only",
}

# Correct answers written differently: each must get full marks, in the grader and in stock Validate.
VARIANTS = {
    "mean_squared_error": [
        ("ok-loop", "def mean_squared_error(y_hat, y):\n    d = (np.asarray(y_hat, float) - np.asarray(y, float)).ravel()\n"
                    "    return float(sum(v * v for v in d) / len(d))"),
        ("ok-square-subtract", "def mean_squared_error(y_hat, y):\n"
                               "    return float(np.mean(np.square(np.subtract(y_hat, y, dtype=float))))"),
        ("ok-numpy-float", "def mean_squared_error(y_hat, y):\n    d = np.asarray(y_hat, dtype=np.float64) - y\n"
                           "    return np.sum(d * d) / d.size"),
    ],
    "binary_cross_entropy": [
        ("ok-where", "def binary_cross_entropy(p, y):\n    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)\n"
                     "    y = np.asarray(y)\n    return float(-np.mean(np.where(y == 1, np.log(p), np.log(1 - p))))"),
        ("ok-loop", "def binary_cross_entropy(p, y):\n    total = 0.0\n"
                    "    for pi, yi in zip(np.ravel(p), np.ravel(y)):\n"
                    "        pi = min(max(float(pi), 1e-12), 1 - 1e-12)\n"
                    "        total -= float(yi) * np.log(pi) + (1 - float(yi)) * np.log(1 - pi)\n"
                    "    return total / np.size(p)"),
        ("ok-log1p", "def binary_cross_entropy(p, y):\n    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)\n"
                     "    y = np.asarray(y, dtype=np.float64)\n"
                     "    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).mean())"),
    ],
    "cross_entropy": [
        ("ok-take-along-axis", "def cross_entropy(probs, y):\n    probs = np.atleast_2d(np.asarray(probs, dtype=float))\n"
                               "    y = np.asarray(y)\n    idx = y.argmax(axis=-1) if y.ndim == 2 else y.astype(int)\n"
                               "    p = np.take_along_axis(probs, idx.reshape(-1, 1), axis=1)\n"
                               "    return float(-np.mean(np.log(np.clip(p, 1e-12, 1.0))))"),
        ("ok-one-hot-everything", "def cross_entropy(probs, y):\n    probs = np.asarray(probs, dtype=float)\n    y = np.asarray(y)\n"
                                  "    t = y if y.ndim == 2 else np.eye(probs.shape[1])[y]\n"
                                  "    return float(-np.sum(t * np.log(np.clip(probs, 1e-12, 1))) / len(probs))"),
        ("ok-loop", "def cross_entropy(probs, y):\n    y = np.asarray(y)\n    labels = y.argmax(axis=1) if y.ndim == 2 else y\n"
                    "    losses = [-np.log(max(float(row[c]), 1e-12)) for row, c in zip(probs, labels)]\n"
                    "    return float(sum(losses) / len(losses))"),
    ],
    "log_softmax": [
        ("ok-logsumexp-separately", "def log_softmax(Z):\n    Z = np.asarray(Z)\n    Z = Z if np.issubdtype(Z.dtype, np.floating) else Z.astype(float)\n"
                                    "    m = Z.max(axis=-1, keepdims=True)\n"
                                    "    lse = m + np.log(np.exp(Z - m).sum(axis=-1, keepdims=True))\n    return Z - lse"),
        ("ok-rows", "def log_softmax(Z):\n    Z = np.asarray(Z)\n    if Z.ndim == 1:\n        s = Z - Z.max()\n"
                    "        return s - np.log(np.exp(s).sum())\n    return np.stack([log_softmax(row) for row in Z])"),
        ("ok-newaxis", "def log_softmax(Z):\n    Z = np.asarray(Z)\n    m = np.max(Z, axis=-1)[..., np.newaxis]\n"
                       "    s = Z - m\n    return s - np.log(np.sum(np.exp(s), axis=-1))[..., np.newaxis]"),
    ],
    "cross_entropy_from_logits": [
        ("ok-one-hot-sum", "def cross_entropy_from_logits(Z, y):\n    L = log_softmax(Z)\n    y = np.asarray(y)\n"
                           "    t = y if y.ndim == 2 else np.eye(L.shape[-1])[y]\n    return float(-np.sum(t * L) / len(L))"),
        ("ok-logsumexp-minus-true", "def cross_entropy_from_logits(Z, y):\n    Z = np.asarray(Z, dtype=float)\n    y = np.asarray(y)\n"
                                    "    idx = np.argmax(y, axis=1) if y.ndim == 2 else y\n    m = Z.max(axis=1)\n"
                                    "    lse = m + np.log(np.exp(Z - m[:, None]).sum(axis=1))\n"
                                    "    return float(np.mean(lse - Z[np.arange(len(Z)), idx]))"),
        ("ok-loop", "def cross_entropy_from_logits(Z, y):\n    y = np.asarray(y)\n    labels = y.argmax(axis=1) if y.ndim == 2 else y\n"
                    "    L = log_softmax(Z)\n    return float(-sum(float(L[i, c]) for i, c in enumerate(labels)) / len(labels))"),
    ],
    "accuracy": [
        ("ok-count-over-n", "def accuracy(scores, y):\n    scores, y = np.asarray(scores), np.asarray(y)\n"
                            "    pred = scores.argmax(axis=-1) if scores.ndim == 2 else scores\n"
                            "    true = y.argmax(axis=-1) if y.ndim == 2 else y\n"
                            "    return np.count_nonzero(pred == true) / len(true)"),
        ("ok-loop", "def accuracy(scores, y):\n    y = np.asarray(y)\n    true = y.argmax(axis=1) if y.ndim == 2 else y\n"
                    "    hits = 0\n    for s, t in zip(scores, true):\n"
                    "        hits += int((np.argmax(s) if np.ndim(s) == 1 else s) == t)\n    return hits / len(true)"),
        ("ok-float-mean", "def accuracy(scores, y):\n    scores = np.asarray(scores)\n    y = np.asarray(y)\n"
                          "    if scores.ndim == 2:\n        scores = np.argmax(scores, axis=1)\n"
                          "    if y.ndim == 2:\n        y = np.argmax(y, axis=1)\n"
                          "    return (scores == y).astype(float).mean()"),
    ],
    "train_test_mse": [
        ("ok-polyfit-lists", "def train_test_mse(x_train, y_train, x_test, y_test, degrees):\n    tr, te = [], []\n"
                             "    for d in degrees:\n        c = np.polyfit(x_train, y_train, d)\n"
                             "        tr.append(mean_squared_error(np.polyval(c, x_train), y_train))\n"
                             "        te.append(mean_squared_error(np.polyval(c, x_test), y_test))\n    return tr, te"),
        ("ok-vander-lstsq", "def train_test_mse(x_train, y_train, x_test, y_test, degrees):\n    out = np.zeros((2, len(degrees)))\n"
                            "    for j, d in enumerate(degrees):\n"
                            "        coef = np.linalg.lstsq(np.vander(x_train, d + 1), y_train, rcond=None)[0]\n"
                            "        out[0, j] = mean_squared_error(np.vander(x_train, d + 1) @ coef, y_train)\n"
                            "        out[1, j] = mean_squared_error(np.vander(x_test, d + 1) @ coef, y_test)\n"
                            "    return out[0], out[1]"),
        ("ok-comprehension-list-pair", "def train_test_mse(x_train, y_train, x_test, y_test, degrees):\n"
                                       "    fits = [np.polynomial.Polynomial.fit(x_train, y_train, d) for d in degrees]\n"
                                       "    return [np.array([mean_squared_error(f(x_train), y_train) for f in fits]),\n"
                                       "            np.array([mean_squared_error(f(x_test), y_test) for f in fits])]"),
    ],
}

# One mistake, one exercise: a wrong earlier function, and correct later ones that call it.
CASCADES = {
    "mse-half-factor": ("mean_squared_error", MUTANTS["mean_squared_error"][3][1], {}),   # train_test_mse calls it
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
    subs.update(variant_submissions(CHAPTER, VARIANTS))
    subs.update(cascade_submissions(CHAPTER, CASCADES))
    subs.update(korean_submissions(CHAPTER, MUTANTS))         # the Korean edition, in the same run
    return grade_submissions(CHAPTER, subs, tmp_path_factory.mktemp("course"))


def test_every_exercise_has_mutants():
    assert_mutants_cover_every_exercise(CHAPTER, MUTANTS, min_exercises=5)


def test_solution_gets_full_marks(graded):
    assert_full_marks(graded["solution"], CHAPTER, 17)


def test_korean_edition_grades_the_same(graded):
    """The Korean notebooks, graded by the same course: full marks, 0, each first mutant caught in Korean."""
    assert_korean_edition(graded, CHAPTER, 17, MUTANTS, None)


def test_learner_notebook_scores_zero_with_stub_errors(graded):
    assert_stubs_score_zero(graded["learner"])


def test_warning_on_stderr_does_not_cost_points(graded):
    assert_warning_costs_nothing(graded["warns"], "test_mean_squared_error", "divide by zero")


@pytest.mark.parametrize("student", mutant_ids(MUTANTS))
def test_wrong_answer_loses_points(graded, student):
    assert_mutant_caught(graded, student, hints=HINTS, isolated=student not in NOT_ISOLATED)


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
