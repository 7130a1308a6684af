"""Unit tests of the generated module ``nnbook.losses`` against independent oracles.

The oracles below work sample by sample with Python floats and the ``math``
module, so they share no code (and no vectorisation mistakes) with the module.
"""
import math
import warnings

import numpy as np
import pytest

from nnbook import losses
from nnbook.losses import (accuracy, binary_cross_entropy, cross_entropy, cross_entropy_from_logits,
                           log_softmax, mean_squared_error)

EPS = 1e-12


# ---- oracles -------------------------------------------------------------------------------------------
def mse_oracle(y_hat, y):
    diffs = [float(a) - float(b) for a, b in zip(np.ravel(y_hat), np.ravel(y))]
    return math.fsum(d * d for d in diffs) / len(diffs)


def bce_oracle(p, y):
    total = []
    for pi, yi in zip(np.ravel(p), np.ravel(y)):
        pi = min(max(float(pi), EPS), 1.0 - EPS)
        total.append(-math.log(pi) if float(yi) == 1.0 else -math.log(1.0 - pi))
    return math.fsum(total) / len(total)


def logsumexp_oracle(row):
    top = max(float(v) for v in row)
    return top + math.log(math.fsum(math.exp(float(v) - top) for v in row))


def ce_oracle(probs, labels):
    return math.fsum(-math.log(max(float(row[c]), EPS)) for row, c in zip(probs, labels)) / len(labels)


def ce_logits_oracle(Z, labels):
    return math.fsum(logsumexp_oracle(row) - float(row[c]) for row, c in zip(Z, labels)) / len(labels)


def one_hot(labels, k):
    t = np.zeros((len(labels), k))
    for i, c in enumerate(labels):
        t[i, c] = 1.0
    return t


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


SHAPES = [(1, 2), (5, 3), (3, 7), (64, 10)]


# ---- the module itself ---------------------------------------------------------------------------------
def test_module_exports_the_documented_api():
    assert losses.__all__ == ["mean_squared_error", "binary_cross_entropy", "cross_entropy", "log_softmax",
                              "cross_entropy_from_logits", "accuracy", "train_test_mse"]
    for name in losses.__all__:
        doc = getattr(losses, name).__doc__
        assert doc and "Defined in chapter 04" in doc and "shape" in doc, name


# ---- mean_squared_error --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1,), (9,), (4, 3), (3, 4)])
def test_mse_matches_oracle(rng, shape):
    y_hat, y = rng.normal(size=shape), rng.normal(size=shape)
    copies = y_hat.copy(), y.copy()
    loss = mean_squared_error(y_hat, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(mse_oracle(y_hat, y), rel=1e-12)
    np.testing.assert_array_equal(copies[0], y_hat)
    np.testing.assert_array_equal(copies[1], y)


def test_mse_basics():
    assert mean_squared_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert mean_squared_error([0.0, 0.0], [3.0, -1.0]) == pytest.approx(5.0)            # lists work
    assert mean_squared_error(np.float32([0.5]), np.array([1])) == pytest.approx(0.25)  # float32 and int


def test_mse_refuses_shapes_that_would_broadcast():
    with pytest.raises(ValueError, match="shape"):
        mean_squared_error(np.zeros((4, 1)), np.zeros(4))


# ---- binary_cross_entropy ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1,), (10,), (7, 1)])
def test_bce_matches_oracle(rng, shape):
    p, y = rng.uniform(0.01, 0.99, size=shape), rng.integers(0, 2, size=shape)
    copies = p.copy(), y.copy()
    loss = binary_cross_entropy(p, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(bce_oracle(p, y), rel=1e-12)
    np.testing.assert_array_equal(copies[0], p)
    np.testing.assert_array_equal(copies[1], y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_is_finite_for_exact_zeros_and_ones(dtype):
    p = np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert binary_cross_entropy(p, np.array([0, 1, 1, 0])) == pytest.approx(0.0, abs=1e-9)
        wrong = binary_cross_entropy(p, np.array([1, 0, 0, 1]))
    assert wrong == pytest.approx(bce_oracle(p, [1, 0, 0, 1]), rel=1e-12)
    assert wrong == pytest.approx(-math.log(EPS), rel=1e-5)   # every sample costs about -log(1e-12)


def test_bce_is_the_two_class_cross_entropy(rng):
    p, y = rng.uniform(0.01, 0.99, size=20), rng.integers(0, 2, size=20)
    probs = np.column_stack([1 - p, p])   # column 1 is P(y = 1)
    assert binary_cross_entropy(p, y) == pytest.approx(cross_entropy(probs, y), rel=1e-12)


# ---- cross_entropy -------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,k", SHAPES)
def test_cross_entropy_both_target_forms(rng, n, k):
    raw = rng.random((n, k)) + 0.01
    probs = raw / raw.sum(axis=1, keepdims=True)
    labels = rng.integers(0, k, size=n)
    expected = ce_oracle(probs, labels)
    for y in (labels, one_hot(labels, k), one_hot(labels, k).astype(int)):
        copies = probs.copy(), y.copy()
        loss = cross_entropy(probs, y)
        assert isinstance(loss, float)
        assert loss == pytest.approx(expected, rel=1e-12)
        np.testing.assert_array_equal(copies[0], probs)
        np.testing.assert_array_equal(copies[1], y)


def test_cross_entropy_clips_exact_zeros():
    probs = np.array([[0.0, 1.0, 0.0], [0.25, 0.75, 0.0]])
    labels = np.array([0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y in (labels, one_hot(labels, 3)):
            assert cross_entropy(probs, y) == pytest.approx(ce_oracle(probs, labels), rel=1e-9)
    assert cross_entropy(np.eye(4), np.arange(4)) == pytest.approx(0.0, abs=1e-12)


def test_cross_entropy_of_uniform_guessing_is_log_k():
    assert cross_entropy(np.full((5, 10), 0.1), np.arange(5)) == pytest.approx(math.log(10))


def test_cross_entropy_single_sample():
    assert cross_entropy(np.array([0.2, 0.8]), 1) == pytest.approx(-math.log(0.8))
    assert cross_entropy(np.array([0.2, 0.8]), np.array([0.0, 1.0])) == pytest.approx(-math.log(0.8))


# ---- log_softmax ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (1, 4), (4, 3), (3, 8)])
def test_log_softmax_matches_oracle(rng, shape):
    Z = 10 * rng.normal(size=shape)
    Z0 = Z.copy()
    out = log_softmax(Z)
    assert out.shape == shape
    rows = np.reshape(Z0, (-1, shape[-1]))
    expected = np.array([[float(v) - logsumexp_oracle(row) for v in row] for row in rows]).reshape(shape)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.exp(out).sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(Z0, Z)


def test_log_softmax_is_stable_and_keeps_float32():
    Z = np.array([[1000.0, 999.0, 0.0], [-1000.0, -1001.0, -1002.0], [0.0, -800.0, 2.0]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = log_softmax(Z)
        out32 = log_softmax(Z.astype(np.float32))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[0], [-math.log(1 + math.exp(-1)), -1 - math.log(1 + math.exp(-1)),
                                        -1000 - math.log(1 + math.exp(-1))], rtol=1e-12)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, rtol=1e-5)
    assert log_softmax(np.array([[1, 2, 3]])).dtype == np.float64   # integers become floats


def test_log_softmax_is_shift_invariant(rng):
    Z = rng.normal(size=(6, 4))
    np.testing.assert_allclose(log_softmax(Z + 123.0), log_softmax(Z), atol=1e-12)


# ---- cross_entropy_from_logits -------------------------------------------------------------------------
@pytest.mark.parametrize("n,k", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_ce_from_logits_matches_oracle(rng, n, k, scale):
    Z = scale * rng.normal(size=(n, k))
    labels = rng.integers(0, k, size=n)
    expected = ce_logits_oracle(Z, labels)
    for y in (labels, one_hot(labels, k)):
        copies = Z.copy(), y.copy()
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
            warnings.simplefilter("error")
            loss = cross_entropy_from_logits(Z, y)
        assert isinstance(loss, float)
        assert loss == pytest.approx(expected, rel=1e-10, abs=1e-12)
        np.testing.assert_array_equal(copies[0], Z)
        np.testing.assert_array_equal(copies[1], y)


def test_ce_from_logits_agrees_with_softmax_then_cross_entropy(rng):
    Z = rng.normal(size=(12, 5))
    labels = rng.integers(0, 5, size=12)
    E = np.exp(Z)
    probs = E / E.sum(axis=1, keepdims=True)   # safe here: the logits are small
    assert cross_entropy_from_logits(Z, labels) == pytest.approx(cross_entropy(probs, labels), rel=1e-10)


def test_ce_from_logits_is_not_capped_for_hopeless_answers():
    Z = np.array([[1000.0, 0.0, -1000.0]])
    assert cross_entropy_from_logits(Z, np.array([0])) == pytest.approx(0.0, abs=1e-12)
    assert cross_entropy_from_logits(Z, np.array([2])) == pytest.approx(2000.0, rel=1e-12)
    assert cross_entropy_from_logits(Z.astype(np.float32), np.array([1])) == pytest.approx(1000.0, rel=1e-6)
    assert cross_entropy_from_logits(np.array([3.0, 1.0]), 1) == pytest.approx(2 + math.log(1 + math.exp(-2)))


# ---- accuracy ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,k", SHAPES)
def test_accuracy_matches_oracle(rng, n, k):
    scores = rng.normal(size=(n, k))
    labels = rng.integers(0, k, size=n)
    pred = [max(range(k), key=lambda j: row[j]) for row in scores]
    expected = sum(int(a == b) for a, b in zip(pred, labels)) / n
    for y in (labels, one_hot(labels, k)):
        copies = scores.copy(), y.copy()
        acc = accuracy(scores, y)
        assert isinstance(acc, float) and 0.0 <= acc <= 1.0
        assert acc == pytest.approx(expected)
        np.testing.assert_array_equal(copies[0], scores)
        np.testing.assert_array_equal(copies[1], y)
    assert accuracy(np.array(pred), labels) == pytest.approx(expected)


def test_accuracy_extremes_and_mismatch():
    assert accuracy(np.eye(3), np.arange(3)) == 1.0
    assert accuracy(np.eye(3), np.array([1, 2, 0])) == 0.0
    with pytest.raises(ValueError):
        accuracy(np.eye(3), np.arange(4))


# ---- a single sample: its label is an index (int or shape (1,)) or a one-hot row of shape (k,) ----------
@pytest.mark.parametrize("label", [0, np.array(0), np.array([0])])
def test_cross_entropy_single_sample_index_label(label):
    from nnbook.losses import cross_entropy
    assert cross_entropy(np.array([0.7, 0.2, 0.1]), label) == pytest.approx(-np.log(0.7), rel=1e-12)


def test_cross_entropy_single_sample_one_hot_row():
    from nnbook.losses import cross_entropy
    assert cross_entropy(np.array([0.7, 0.2, 0.1]), np.array([0.0, 1.0, 0.0])) == pytest.approx(-np.log(0.2), rel=1e-12)


@pytest.mark.parametrize("label", [2, np.array([2]), np.array([0.0, 0.0, 1.0])])
def test_cross_entropy_from_logits_single_sample(label):
    from nnbook.losses import cross_entropy_from_logits
    z = np.array([2.0, 1.0, 0.0])
    expected = np.log(np.exp(z).sum()) - z[2]          # 2.4076...
    assert cross_entropy_from_logits(z, label) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_from_logits(z, label) == pytest.approx(2.40760596444, rel=1e-9)


def test_train_test_mse_fits_on_training_points_only():
    from nnbook.losses import train_test_mse
    rng = np.random.default_rng(5)
    x_tr, x_te = rng.uniform(0, 1, 20), rng.uniform(0, 1, 30)
    y_tr, y_te = np.sin(3 * x_tr), np.sin(3 * x_te) + 5.0     # the test set is shifted: fitting on it would show
    tr, te = train_test_mse(x_tr, y_tr, x_te, y_te, [0, 1, 3])
    for k, d in enumerate([0, 1, 3]):
        c = np.polyfit(x_tr, y_tr, d)
        assert tr[k] == pytest.approx(np.mean((np.polyval(c, x_tr) - y_tr) ** 2), rel=1e-8, abs=1e-12)
        assert te[k] == pytest.approx(np.mean((np.polyval(c, x_te) - y_te) ** 2), rel=1e-8)
    assert list(tr) == sorted(tr, reverse=True)            # more flexible fits never have a larger training error
