"""Unit tests of the generated module nnbook.sgd against independent oracles."""
import numpy as np
import pytest

from nnbook.gradient_descent import numerical_gradient
from nnbook.sgd import sgd_epoch, shuffle_together, train_logistic_gd, train_logistic_sgd


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _bce(p, y):
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _clouds(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.7 * rng.normal(size=n) > 0).astype(float)
    return X, y


@pytest.mark.parametrize("y_shape", ["indices", "one-hot"])
def test_shuffle_together_keeps_pairs_and_uses_rng(y_shape):
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20) if y_shape == "indices" else np.eye(20)
    X0, y0 = X.copy(), y.copy()
    Xs, ys = shuffle_together(X, y, np.random.default_rng(3))
    order = np.random.default_rng(3).permutation(20)
    np.testing.assert_array_equal(Xs, X0[order])
    np.testing.assert_array_equal(ys, y0[order])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert not np.shares_memory(Xs, X) and not np.shares_memory(ys, y)


def test_shuffle_together_advances_the_generator():
    X, y = np.arange(30.0).reshape(15, 2), np.arange(15)
    rng = np.random.default_rng(0)
    first, second = shuffle_together(X, y, rng)[1], shuffle_together(X, y, rng)[1]
    assert not np.array_equal(first, second)


def test_sgd_epoch_replays_per_sample_updates():
    X, y = _clouds(17, 4, 1)
    w0 = np.random.default_rng(2).normal(size=4)
    w_start = w0.copy()
    w, b = sgd_epoch(X, y, w_start, 0.2, 0.3, np.random.default_rng(5))
    w_ref, b_ref = w0.copy(), 0.2
    for i in np.random.default_rng(5).permutation(17):
        err = _sig(X[i] @ w_ref + b_ref) - y[i]
        w_ref, b_ref = w_ref - 0.3 * err * X[i], b_ref - 0.3 * err
    np.testing.assert_allclose(w, w_ref, rtol=1e-12)
    assert isinstance(b, float) and b == pytest.approx(b_ref, rel=1e-12)
    np.testing.assert_array_equal(w_start, w0, err_msg="sgd_epoch must not modify w in place")


def test_train_logistic_gd_steps_along_the_numerical_gradient():
    X, y = _clouds(25, 3, 3)
    lr = 0.4
    w, b, losses = train_logistic_gd(X, y, lr, 1)
    params = np.zeros(4)
    grad = numerical_gradient(lambda p: _bce(_sig(X @ p[:3] + p[3]), y), params)
    np.testing.assert_allclose(np.append(w, b), -lr * grad, rtol=1e-6, atol=1e-10)
    assert losses.shape == (1,)
    assert losses[0] == pytest.approx(_bce(_sig(X @ w + b), y), rel=1e-12)


def test_train_logistic_gd_loss_decreases_monotonically():
    X, y = _clouds(60, 2, 4)
    _, _, losses = train_logistic_gd(X, y, 0.5, 50)
    assert losses.shape == (50,)
    assert np.all(np.diff(losses) <= 1e-12) and losses[-1] < np.log(2)


def test_train_logistic_sgd_is_reproducible_and_learns():
    X, y = _clouds(80, 3, 5)
    w1, b1, l1 = train_logistic_sgd(X, y, 0.1, 5, np.random.default_rng(7))
    w2, b2, l2 = train_logistic_sgd(X, y, 0.1, 5, np.random.default_rng(7))
    w3, _, _ = train_logistic_sgd(X, y, 0.1, 5, np.random.default_rng(8))
    np.testing.assert_array_equal(w1, w2)
    assert b1 == b2 and np.array_equal(l1, l2)
    assert not np.array_equal(w1, w3), "a different seed gives a different visiting order"
    assert l1.shape == (5,) and l1[-1] < 0.5 * np.log(2)
    accuracy = np.mean((_sig(X @ w1 + b1) >= 0.5) == y)
    assert accuracy > 0.85


def test_sgd_and_gd_reach_similar_solutions():
    X, y = _clouds(100, 2, 6)
    _, _, losses_gd = train_logistic_gd(X, y, 1.0, 500)
    _, _, losses_sgd = train_logistic_sgd(X, y, 0.02, 20, np.random.default_rng(0))
    assert abs(losses_sgd[-1] - losses_gd[-1]) < 0.02
