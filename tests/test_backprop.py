"""Unit tests of nnbook.backprop (generated from chapter 07) against independent oracles.

Every backward pass is compared with central differences computed here, on
non-square shapes, and must leave its upstream gradient untouched; the networks'
gradients are compared with numerical gradients of an independent forward pass.
"""
import numpy as np
import pytest

from nnbook.gradient_descent import numerical_gradient
from nnbook.testing import oracle_rel_error

from nnbook.backprop import (Affine, AddLayer, Branch, MulLayer, MultiLayerNet, ReLU, Sigmoid, SoftmaxWithLoss,
                             TwoLayerNet, relative_error)


def num_grad(f, x, h=1e-5):
    """Chapter 05's central-difference gradient, taken on a float64 copy (x itself is not touched)."""
    return numerical_gradient(f, np.array(x, dtype=np.float64), h)


rel_err = oracle_rel_error


def oracle_mlp_loss(params, X, T, activation):
    """Mean softmax cross-entropy of a plain-NumPy MLP (written independently of nnbook.backprop)."""
    L = len(params) // 2
    A = X
    for i in range(1, L + 1):
        A = A @ params[f"W{i}"] + params[f"b{i}"]
        if i < L:
            A = np.maximum(A, 0) if activation == "relu" else 1 / (1 + np.exp(-A))
    A = A - A.max(axis=1, keepdims=True)
    log_p = A - np.log(np.exp(A).sum(axis=1, keepdims=True))
    return float(-np.mean(np.sum(T * log_p, axis=1)))


def numerical_param_grads(params, X, T, activation="relu"):
    return {name: num_grad(lambda v: oracle_mlp_loss({**params, name: v}, X, T, activation), p)
            for name, p in params.items()}


SHAPES = [(5, 3), (2, 7), (4, 1, 3)]


# ---- nodes and elementwise layers -------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_mul_layer_backward_matches_numerical(shape):
    rng = np.random.default_rng(1)
    x, y, dout = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    dout0 = dout.copy()
    layer = MulLayer()
    np.testing.assert_allclose(layer.forward(x, y), x * y)
    dx, dy = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout0, err_msg="MulLayer.backward modified dout")
    assert rel_err(dx, num_grad(lambda v: np.sum(v * y * dout0), x)) < 1e-8
    assert rel_err(dy, num_grad(lambda v: np.sum(x * v * dout0), y)) < 1e-8


def test_mul_layer_on_numbers():
    layer = MulLayer()
    assert layer.forward(2.5, 2.0) == 5.0
    dx, dy = layer.backward(1.1)
    assert dx == pytest.approx(2.2) and dy == pytest.approx(2.75)


@pytest.mark.parametrize("shape", SHAPES)
def test_add_layer_backward_matches_numerical(shape):
    rng = np.random.default_rng(2)
    x, y, dout = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    dout0 = dout.copy()
    layer = AddLayer()
    np.testing.assert_allclose(layer.forward(x, y), x + y)
    dx, dy = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout0, err_msg="AddLayer.backward modified dout")
    assert rel_err(dx, num_grad(lambda v: np.sum((v + y) * dout0), x)) < 1e-8
    assert rel_err(dy, num_grad(lambda v: np.sum((x + v) * dout0), y)) < 1e-8


@pytest.mark.parametrize("shape", SHAPES)
def test_relu_backward_matches_numerical(shape):
    rng = np.random.default_rng(3)
    X = rng.normal(size=shape)
    X[np.abs(X) < 1e-3] = 0.5                      # away from the kink
    dout = rng.normal(size=shape)
    X0, dout0 = X.copy(), dout.copy()
    layer = ReLU()
    np.testing.assert_array_equal(layer.forward(X), np.maximum(X0, 0))
    dX = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout0, err_msg="ReLU.backward modified dout")
    np.testing.assert_array_equal(X, X0, err_msg="ReLU.forward modified X")
    assert rel_err(dX, num_grad(lambda v: np.sum(np.maximum(v, 0) * dout0), X0)) < 1e-8


def test_relu_gradient_is_zero_at_zero_and_keeps_float32():
    layer = ReLU()
    layer.forward(np.array([0.0, 1.0, -1.0], dtype=np.float32))
    dX = layer.backward(np.array([3.0, 3.0, 3.0], dtype=np.float32))
    np.testing.assert_array_equal(dX, [0.0, 3.0, 0.0])
    assert dX.dtype == np.float32


@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_backward_matches_numerical(shape):
    rng = np.random.default_rng(4)
    X, dout = rng.normal(scale=2, size=shape), rng.normal(size=shape)
    dout0 = dout.copy()
    layer = Sigmoid()
    np.testing.assert_allclose(layer.forward(X), 1 / (1 + np.exp(-X)), rtol=1e-12)
    dX = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout0, err_msg="Sigmoid.backward modified dout")
    assert rel_err(dX, num_grad(lambda v: np.sum(dout0 / (1 + np.exp(-v))), X)) < 1e-8


def test_sigmoid_saturated_gradients_are_finite():
    layer = Sigmoid()
    layer.forward(np.array([-1000.0, 1000.0]))
    dX = layer.backward(np.ones(2))
    assert np.all(np.isfinite(dX)) and np.all(np.abs(dX) < 1e-300)


# ---- affine and softmax-with-loss -------------------------------------------------------------

@pytest.mark.parametrize("n, d, m", [(5, 3, 4), (2, 6, 3), (1, 4, 2), (7, 1, 5)])
def test_affine_backward_matches_numerical(n, d, m):
    rng = np.random.default_rng(5)
    X, W, b, dout = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m), rng.normal(size=(n, m))
    copies = [a.copy() for a in (X, W, b, dout)]
    layer = Affine(W, b)
    np.testing.assert_allclose(layer.forward(X), X @ W + b)
    dX = layer.backward(dout)
    for a, a0 in zip((X, W, b, dout), copies):
        np.testing.assert_array_equal(a, a0, err_msg="Affine modified an input or dout")
    assert dX.shape == (n, d) and layer.dW.shape == (d, m) and layer.db.shape == (m,)
    f = lambda X_, W_, b_: np.sum((X_ @ W_ + b_) * dout)
    assert rel_err(dX, num_grad(lambda v: f(v, W, b), X)) < 1e-8
    assert rel_err(layer.dW, num_grad(lambda v: f(X, v, b), W)) < 1e-8
    assert rel_err(layer.db, num_grad(lambda v: f(X, W, v), b)) < 1e-8


def test_affine_keeps_references_to_its_parameters():
    W, b = np.ones((3, 2)), np.zeros(2)
    layer = Affine(W, b)
    W *= 2.0                                        # an in-place update, as an optimiser does
    b += 1.0
    np.testing.assert_allclose(layer.forward(np.ones((1, 3))), [[7.0, 7.0]])


def test_affine_float32_stays_float32():
    rng = np.random.default_rng(6)
    X, W, b = (rng.normal(size=s).astype(np.float32) for s in ((4, 3), (3, 2), (2,)))
    layer = Affine(W, b)
    assert layer.forward(X).dtype == np.float32
    dX = layer.backward(rng.normal(size=(4, 2)).astype(np.float32))
    assert dX.dtype == layer.dW.dtype == layer.db.dtype == np.float32


@pytest.mark.parametrize("n, k", [(5, 3), (3, 7), (1, 4)])
def test_softmax_with_loss_matches_numerical_for_indices_and_one_hot(n, k):
    rng = np.random.default_rng(7)
    Z, y = rng.normal(scale=3, size=(n, k)), rng.integers(0, k, size=n)
    T = np.eye(k)[y]
    oracle = lambda Z_: oracle_mlp_loss({"W1": np.eye(k), "b1": np.zeros(k)}, Z_, T, "relu")
    expected = num_grad(oracle, Z)
    for targets in (y, T):
        layer = SoftmaxWithLoss()
        assert layer.forward(Z, targets) == pytest.approx(oracle(Z), rel=1e-12)
        dZ = layer.backward()
        assert rel_err(dZ, expected) < 1e-8
        np.testing.assert_allclose(layer.backward(1.0), dZ, err_msg="backward is not repeatable")
        np.testing.assert_allclose(layer.backward(3.0), 3.0 * dZ, rtol=1e-12)


def test_softmax_with_loss_is_stable_for_huge_scores():
    layer = SoftmaxWithLoss()
    loss = layer.forward(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([1, 1]))
    assert loss == pytest.approx(1000.0, rel=1e-12)        # each row: 1000 + log(1 + e^-1000)
    np.testing.assert_allclose(layer.backward(), [[0.5, -0.5], [0.5, -0.5]], atol=1e-12)


# ---- gradient checking helper -----------------------------------------------------------------

def test_relative_error():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([3.0, 4.0]), np.zeros(2)) == pytest.approx(1.0)
    a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 2.0], [3.0, 5.0]])
    assert relative_error(a, b) == pytest.approx(1.0 / (np.sqrt(30) + np.sqrt(39)))


# ---- networks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("n, d, h, k", [(6, 4, 5, 3), (9, 3, 7, 4), (2, 5, 3, 2)])
def test_two_layer_net_gradient_matches_numerical(n, d, h, k):
    rng = np.random.default_rng(8)
    net = TwoLayerNet(d, h, k, np.random.default_rng(n))
    assert set(net.params) == {"W1", "b1", "W2", "b2"}
    assert net.params["W1"].shape == (d, h) and net.params["b2"].shape == (k,)
    X, y = rng.normal(size=(n, d)), rng.integers(0, k, size=n)
    T = np.eye(k)[y]
    params = {name: p.copy() for name, p in net.params.items()}
    assert net.loss(X, y) == pytest.approx(oracle_mlp_loss(params, X, T, "relu"), rel=1e-12)
    num = numerical_param_grads(params, X, T)
    for targets in (y, T):
        grads = net.gradient(X, targets)
        assert set(grads) == set(net.params)
        for name in params:
            assert grads[name].shape == params[name].shape
            assert rel_err(grads[name], num[name]) < 1e-6, name
    for name in params:
        np.testing.assert_array_equal(net.params[name], params[name], err_msg="gradient changed the parameters")


def test_two_layer_net_predict_and_accuracy():
    net = TwoLayerNet(3, 4, 2, np.random.default_rng(0))
    X = np.random.default_rng(1).normal(size=(8, 3))
    scores = net.predict(X)
    assert scores.shape == (8, 2)
    y = np.argmax(scores, axis=1)
    assert net.accuracy(X, y) == 1.0
    assert net.accuracy(X, np.eye(2)[1 - y]) == 0.0


@pytest.mark.parametrize("sizes, activation", [([4, 6, 5, 3], "relu"), ([3, 5, 2], "sigmoid"),
                                               ([5, 4, 6, 3, 4], "sigmoid"), ([2, 3], "relu")])
def test_multi_layer_net_gradient_matches_numerical(sizes, activation):
    rng = np.random.default_rng(9)
    net = MultiLayerNet(sizes, np.random.default_rng(len(sizes)), activation=activation)
    L = len(sizes) - 1
    assert list(net.params) == [key for i in range(1, L + 1) for key in (f"W{i}", f"b{i}")]
    X, y = rng.normal(size=(7, sizes[0])), rng.integers(0, sizes[-1], size=7)
    T = np.eye(sizes[-1])[y]
    params = {name: p.copy() for name, p in net.params.items()}
    assert net.loss(X, y) == pytest.approx(oracle_mlp_loss(params, X, T, activation), rel=1e-12)
    num = numerical_param_grads(params, X, T, activation)
    grads = net.gradient(X, y)
    assert set(grads) == set(params)
    for name in params:
        assert grads[name].shape == params[name].shape
        assert rel_err(grads[name], num[name]) < 1e-6, name
    grads_one_hot = net.gradient(X, T)
    for name in params:
        np.testing.assert_allclose(grads_one_hot[name], num[name], rtol=1e-5, atol=1e-9)


def test_multi_layer_net_matches_two_layer_net():
    X, y = np.random.default_rng(0).normal(size=(10, 5)), np.arange(10) % 3
    two = TwoLayerNet(5, 8, 3, np.random.default_rng(42))
    multi = MultiLayerNet([5, 8, 3], np.random.default_rng(42))
    assert multi.loss(X, y) == pytest.approx(two.loss(X, y), rel=1e-12)
    g2, gm = two.gradient(X, y), multi.gradient(X, y)
    for name in g2:
        np.testing.assert_allclose(gm[name], g2[name], rtol=1e-12, atol=1e-15)


def test_multi_layer_net_float32_end_to_end():
    rng = np.random.default_rng(10)
    X, y = rng.normal(size=(32, 6)), rng.integers(0, 4, size=32)       # float64 data is converted
    net32 = MultiLayerNet([6, 16, 8, 4], np.random.default_rng(1), dtype=np.float32)
    net64 = MultiLayerNet([6, 16, 8, 4], np.random.default_rng(1))
    assert all(p.dtype == np.float32 for p in net32.params.values())
    assert net32.predict(X).dtype == np.float32
    g32, g64 = net32.gradient(X, y), net64.gradient(X, y)
    assert all(g.dtype == np.float32 for g in g32.values())
    assert np.isfinite(net32.loss(X, y))
    for name in g64:
        assert rel_err(g32[name], g64[name]) < 1e-4, name
    g32_one_hot = net32.gradient(X, np.eye(4)[y])
    assert all(g.dtype == np.float32 for g in g32_one_hot.values())


def test_multi_layer_net_follows_in_place_and_rebound_parameter_updates():
    rng = np.random.default_rng(11)
    X, y = rng.normal(size=(20, 4)), rng.integers(0, 3, size=20)
    net = MultiLayerNet([4, 10, 3], np.random.default_rng(0))
    loss0 = net.loss(X, y)
    ids = {name: id(p) for name, p in net.params.items()}
    grads = net.gradient(X, y)
    assert {name: id(p) for name, p in net.params.items()} == ids, "gradient replaced a parameter array"
    for name in net.params:                                      # in-place SGD step
        net.params[name] -= 0.1 * grads[name]
    loss1 = net.loss(X, y)
    assert loss1 < loss0, "an in-place gradient step did not reach the layers"
    grads = net.gradient(X, y)
    for name in list(net.params):                                 # a step that re-binds the arrays
        net.params[name] = net.params[name] - 0.1 * grads[name]
    assert net.loss(X, y) < loss1, "a re-bound parameter array did not reach the layers"


def test_multi_layer_net_training_reduces_loss_and_sigmoid_gradients_vanish():
    rng = np.random.default_rng(12)
    X, y = rng.normal(size=(64, 10)), rng.integers(0, 4, size=64)
    net = MultiLayerNet([10, 32, 4], np.random.default_rng(0))
    first = net.loss(X, y)
    for _ in range(100):
        grads = net.gradient(X, y)
        for name in net.params:
            net.params[name] -= 0.5 * grads[name]
    assert net.loss(X, y) < 0.5 * first
    assert net.accuracy(X, y) > 0.9

    sizes = [10] + [32] * 9 + [4]
    norms = {}
    for act in ("sigmoid", "relu"):
        g = MultiLayerNet(sizes, np.random.default_rng(1), activation=act).gradient(X, y)
        norms[act] = np.linalg.norm(g["W1"]) / np.linalg.norm(g[f"W{len(sizes) - 1}"])
    assert norms["sigmoid"] < 1e-3 < 1e-1 < norms["relu"]


def test_multi_layer_net_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        MultiLayerNet([2, 3, 2], np.random.default_rng(0), activation="tanh")


def test_branch_adds_the_gradients_of_all_consumers():
    # oracle: x feeds u = sin(x) and v = x**2; the numerical gradient of sum(Gu u + Gv v) adds both paths
    rng = np.random.default_rng(77)
    x, Gu, Gv = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    douts = [Gu * np.cos(x), Gv * 2 * x]
    before = [d.copy() for d in douts]
    dx = Branch().backward(*douts)
    expected = numerical_gradient(lambda v: float(np.sum(Gu * np.sin(v) + Gv * v**2)), x.copy())
    assert oracle_rel_error(dx, expected) < 1e-8
    assert all(np.array_equal(a, b) for a, b in zip(before, douts))
    assert Branch().backward(2.5) == 2.5 and Branch().forward(x) is x
