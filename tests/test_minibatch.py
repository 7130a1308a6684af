"""Unit tests of the generated module nnbook.minibatch against independent oracles."""
import inspect
import time

import numpy as np
import pytest

from nnbook.backprop import MultiLayerNet
from nnbook.minibatch import (capstone_config, evaluate, iterate_minibatches, sgd_step, split_train_test,
                              train, weight_gradient_batch)


def _ce_and_acc(net, X, y):
    """Oracle: mean cross-entropy and accuracy from one full forward pass, in float64."""
    Z = np.asarray(net.predict(X), dtype=np.float64)
    m = Z.max(axis=1, keepdims=True)
    log_probs = Z - m - np.log(np.exp(Z - m).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean()), float((Z.argmax(axis=1) == y).mean())


def test_iterate_minibatches_is_a_generator():
    assert inspect.isgeneratorfunction(iterate_minibatches)


@pytest.mark.parametrize("n,d,batch_size", [(10, 3, 4), (12, 2, 12), (7, 5, 100), (30, 1, 1), (64, 8, 16)])
def test_iterate_minibatches_partitions_one_shuffled_epoch(n, d, batch_size):
    rng = np.random.default_rng(n * 100 + batch_size)
    X, y = rng.normal(size=(n, d)), rng.integers(0, 5, size=n)
    X0, y0 = X.copy(), y.copy()
    batches = list(iterate_minibatches(X, y, batch_size, np.random.default_rng(1)))
    assert [len(xb) for xb, _ in batches] == [min(batch_size, n - s) for s in range(0, n, batch_size)]
    order = np.random.default_rng(1).permutation(n)
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), X0[order])
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y0[order])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_iterate_minibatches_reshuffles_with_the_generator_state():
    X, y = np.zeros((50, 1)), np.arange(50)
    rng = np.random.default_rng(0)
    first = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 8, rng)])
    second = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 8, rng)])
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first), y)
    np.testing.assert_array_equal(np.sort(second), y)


def test_iterate_minibatches_keeps_one_hot_rows_and_float32():
    X = np.arange(26, dtype=np.float32).reshape(13, 2)
    Y = np.eye(4)[np.arange(13) % 4]
    for xb, yb in iterate_minibatches(X, Y, 5, np.random.default_rng(3)):
        assert xb.dtype == np.float32 and yb.shape == (len(xb), 4)
        np.testing.assert_array_equal(Y[(xb[:, 0] / 2).astype(int)], yb)


def test_sgd_step_updates_in_place_and_leaves_grads_alone():
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4)}
    grads = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4)}
    before = {k: v.copy() for k, v in params.items()}
    gcopy = {k: v.copy() for k, v in grads.items()}
    arrays = {k: v for k, v in params.items()}
    assert sgd_step(params, grads, 0.25) is None
    for k in params:
        assert params[k] is arrays[k], "the step must modify the arrays, not rebind the names"
        np.testing.assert_allclose(params[k], before[k] - 0.25 * gcopy[k], rtol=1e-12)
        np.testing.assert_array_equal(grads[k], gcopy[k])


def test_sgd_step_moves_a_network():
    rng = np.random.default_rng(1)
    net = MultiLayerNet([4, 5, 3], rng)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, size=20)
    loss_before = net.loss(X, y)
    sgd_step(net.params, net.gradient(X, y), 0.1)
    assert net.loss(X, y) < loss_before


@pytest.mark.parametrize("n,frac", [(20, 0.25), (37, 0.3), (9, 0.5), (200, 0.15)])
def test_split_train_test_is_a_random_partition(n, frac):
    X = np.arange(2 * n, dtype=float).reshape(n, 2)
    y = np.arange(n)
    X_train, y_train, X_test, y_test = split_train_test(X, y, frac, np.random.default_rng(4))
    n_test = int(round(frac * n))
    assert len(X_test) == len(y_test) == n_test and len(X_train) == len(y_train) == n - n_test
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_test])), y)
    np.testing.assert_array_equal(X_train[:, 0] / 2, y_train)
    np.testing.assert_array_equal(X_test[:, 0] / 2, y_test)
    np.testing.assert_array_equal(y_test, np.random.default_rng(4).permutation(n)[:n_test])


@pytest.mark.parametrize("n,batch_size", [(23, 10), (5, 1), (40, 40), (2345, 1000), (17, 100)])
def test_evaluate_matches_one_full_forward_pass(n, batch_size):
    rng = np.random.default_rng(n)
    net = MultiLayerNet([6, 8, 4], rng)
    X, y = rng.normal(size=(n, 6)) * 2, rng.integers(0, 4, size=n)
    loss, acc = evaluate(net, X, y, batch_size=batch_size)
    expected_loss, expected_acc = _ce_and_acc(net, X, y)
    assert isinstance(loss, float) and isinstance(acc, float)
    assert loss == pytest.approx(expected_loss, rel=1e-9)
    assert acc == pytest.approx(expected_acc, abs=1e-12)
    # and agrees with the network's own loss (chapter 07)
    assert loss == pytest.approx(net.loss(X, y), rel=1e-9)


def test_train_history_and_a_manual_loop_agree():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(41, 5)), rng.integers(0, 3, size=41)
    X_val, y_val = rng.normal(size=(13, 5)), rng.integers(0, 3, size=13)
    net = MultiLayerNet([5, 7, 3], np.random.default_rng(6))
    history = train(net, X, y, 0.3, 4, 6, np.random.default_rng(7), X_val, y_val)
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 4 and all(isinstance(x, float) for x in v) for v in history.values())

    ref = MultiLayerNet([5, 7, 3], np.random.default_rng(6))
    order_rng = np.random.default_rng(7)
    for epoch in range(4):
        order = order_rng.permutation(len(X))
        for s in range(0, len(X), 6):
            idx = order[s:s + 6]
            g = ref.gradient(X[idx], y[idx])
            for k in ref.params:
                ref.params[k] -= 0.3 * g[k]
        assert history["loss"][epoch] == pytest.approx(_ce_and_acc(ref, X, y)[0], rel=1e-9)
        assert history["val_accuracy"][epoch] == pytest.approx(_ce_and_acc(ref, X_val, y_val)[1], abs=1e-12)
    for k in ref.params:   # the network passed in was trained in place
        np.testing.assert_allclose(net.params[k], ref.params[k], rtol=1e-12)


def test_train_without_validation_has_no_val_keys():
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, size=20)
    history = train(MultiLayerNet([3, 4, 2], rng), X, y, 0.5, 3, 7, rng)
    assert sorted(history) == ["accuracy", "loss"]
    assert history["loss"][-1] < history["loss"][0]


def test_capstone_reaches_97_percent_in_seconds():
    from sklearn.datasets import load_digits

    config = capstone_config()
    assert set(config) == {"hidden_sizes", "lr", "num_epochs", "batch_size"}
    assert len(config["hidden_sizes"]) <= 3 and max(config["hidden_sizes"]) <= 512 and config["num_epochs"] <= 100
    digits = load_digits()
    X, y = (digits.data / 16.0).astype(np.float32), digits.target
    rng = np.random.default_rng(2026)                     # the capstone's seed and splits (section 8.9)
    X_dev, y_dev, X_test, y_test = split_train_test(X, y, 0.2, rng)
    X_train, y_train, X_val, y_val = split_train_test(X_dev, y_dev, 0.1, rng)
    net = MultiLayerNet([64, *config["hidden_sizes"], 10], rng, dtype=np.float32)
    start = time.process_time()
    history = train(net, X_train, y_train, config["lr"], config["num_epochs"], config["batch_size"], rng,
                    X_val, y_val)
    cpu_seconds = time.process_time() - start
    test_loss, test_acc = evaluate(net, X_test, y_test)
    assert test_acc >= 0.97, f"capstone test accuracy {test_acc:.4f}"
    assert history["val_accuracy"][-1] >= 0.9
    assert net.params["W1"].dtype == np.float32
    assert cpu_seconds < 60, f"capstone training took {cpu_seconds:.1f} s of CPU time"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weight_gradient_batch_is_the_sum_of_outer_products(dtype):
    rng = np.random.default_rng(88)
    X, G = rng.normal(size=(13, 5)).astype(dtype), rng.normal(size=(13, 3)).astype(dtype)
    expected = sum(np.outer(x.astype(float), g.astype(float)) for x, g in zip(X, G))    # oracle: the loop
    dW = weight_gradient_batch(X, G)
    assert dW.shape == (5, 3) and dW.dtype == dtype
    np.testing.assert_allclose(dW, expected, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-5)
