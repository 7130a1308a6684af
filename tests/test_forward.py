"""Unit tests of the generated module nnbook.forward (chapter 03) against independent oracles."""
import inspect
import math

import numpy as np
import pytest

import nnbook.activations
from nnbook.forward import count_params, dense, forward, init_params, predict, softmax


# ---- independent oracles: plain Python loops -------------------------------------------------------------

def dense_oracle(X, W, b):
    n, d_in = X.shape
    return np.array([[sum(float(X[i, k]) * float(W[k, j]) for k in range(d_in)) + float(b[j])
                      for j in range(W.shape[1])] for i in range(n)])


def forward_oracle(X, params, act):
    out = []
    for x in X:
        a = [float(v) for v in x]
        for l, (W, b) in enumerate(params):
            z = [sum(a[i] * float(W[i, j]) for i in range(len(a))) + float(b[j]) for j in range(W.shape[1])]
            a = z if l == len(params) - 1 else [act(v) for v in z]
        out.append(a)
    return np.array(out)


def softmax_oracle_row(z):
    m = max(float(v) for v in z)
    e = [math.exp(float(v) - m) for v in z]
    s = math.fsum(e)
    return [v / s for v in e]


def relu_1(v):
    return max(v, 0.0)


def random_params(rng, sizes):
    return [(rng.normal(size=(a, c)), rng.normal(size=c)) for a, c in zip(sizes[:-1], sizes[1:])]


# ---- module surface ----------------------------------------------------------------------------------------

def test_module_exports_the_api_of_contributing_md():
    import nnbook.forward as mod
    assert set(mod.__all__) >= {"init_params", "dense", "forward", "count_params", "softmax", "predict"}
    assert inspect.signature(init_params).parameters.keys() == {"layer_sizes", "rng"}
    assert list(inspect.signature(dense).parameters) == ["X", "W", "b"]
    assert list(inspect.signature(count_params).parameters) == ["layer_sizes"]
    assert list(inspect.signature(softmax).parameters) == ["Z"]
    for f in (forward, predict):
        params = inspect.signature(f).parameters
        assert list(params) == ["X", "params", "activation"]
        # the default activation is chapter 02's relu, imported by name, not a copy
        assert params["activation"].default is nnbook.activations.relu


def test_docstrings_name_their_chapter_section():
    for f in (init_params, dense, forward, count_params, softmax, predict):
        assert f.__doc__ and "Defined in chapter 03" in f.__doc__, f.__name__
        if f is not count_params:                          # the only one without array arguments
            assert "shape" in f.__doc__, f"{f.__name__} should document its array shapes"


# ---- dense -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, d_in, d_out", [(5, 3, 7), (1, 6, 2), (8, 2, 9), (4, 4, 4)])
def test_dense_matches_loops(n, d_in, d_out):
    rng = np.random.default_rng(n * 100 + d_in * 10 + d_out)
    X, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    copies = [a.copy() for a in (X, W, b)]
    Y = dense(X, W, b)
    assert Y.shape == (n, d_out)
    np.testing.assert_allclose(Y, dense_oracle(X, W, b), rtol=1e-12, atol=1e-12,
                               err_msg="dense should compute X @ W + b with W of shape (d_in, d_out)")
    for a, a0 in zip((X, W, b), copies):
        np.testing.assert_array_equal(a, a0, err_msg="dense modified an input")


def test_dense_single_sample_and_float32():
    rng = np.random.default_rng(1)
    x, W, b = rng.normal(size=3), rng.normal(size=(3, 5)), rng.normal(size=5)
    y = dense(x, W, b)
    assert y.shape == (5,)
    np.testing.assert_allclose(y, dense_oracle(x[None], W, b)[0], rtol=1e-12)
    X32, W32, b32 = (a.astype(np.float32) for a in (rng.normal(size=(4, 3)), W, b))
    assert dense(X32, W32, b32).dtype == np.float32


# ---- init_params -------------------------------------------------------------------------------------------

def test_init_params_shapes_zero_biases_and_dtype():
    sizes = [7, 2, 5, 3]
    params = init_params(sizes, np.random.default_rng(0))
    assert isinstance(params, list) and len(params) == 3
    for (W, b), d_in, d_out in zip(params, sizes[:-1], sizes[1:]):
        assert W.shape == (d_in, d_out) and b.shape == (d_out,)
        assert W.dtype == np.float64 and b.dtype == np.float64
        np.testing.assert_array_equal(b, np.zeros(d_out))


def test_init_params_uses_he_scale():
    sizes = [800, 300, 50]
    params = init_params(sizes, np.random.default_rng(1))
    for (W, _), d_in in zip(params, sizes[:-1]):
        assert abs(W.std() / math.sqrt(2.0 / d_in) - 1.0) < 0.05, (d_in, W.std())
        assert abs(W.mean()) < 0.05 * math.sqrt(2.0 / d_in)


def test_init_params_draws_only_from_the_given_rng():
    np.random.seed(0)
    p1 = init_params([6, 4, 3], np.random.default_rng(42))
    np.random.seed(123)
    p2 = init_params([6, 4, 3], np.random.default_rng(42))
    for (W1, b1), (W2, b2) in zip(p1, p2):
        np.testing.assert_array_equal(W1, W2)
        np.testing.assert_array_equal(b1, b2)
    # the global generator is untouched ...
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    init_params([3, 2], rng)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    # ... and the given generator is advanced (its numbers were used)
    assert rng.bit_generator.state != state
    # a different seed gives different weights
    p3 = init_params([6, 4, 3], np.random.default_rng(43))
    assert not np.array_equal(p1[0][0], p3[0][0])


# ---- forward -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [[5, 7, 3], [3, 8, 6, 2, 4], [6, 4], [2, 9, 1]])
def test_forward_matches_loops_for_relu_and_tanh(sizes):
    rng = np.random.default_rng(len(sizes) * 10 + sizes[0])
    params = random_params(rng, sizes)
    X = rng.normal(size=(5, sizes[0]))
    copies = [(W.copy(), b.copy()) for W, b in params]
    np.testing.assert_allclose(forward(X, params), forward_oracle(X, params, relu_1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(forward(X, params, activation=np.tanh), forward_oracle(X, params, math.tanh),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(forward(X, params, nnbook.activations.sigmoid),
                               forward_oracle(X, params, lambda v: 1.0 / (1.0 + math.exp(-v))),
                               rtol=1e-10, atol=1e-12)
    for (W, b), (W0, b0) in zip(params, copies):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)


def test_forward_output_layer_is_raw():
    rng = np.random.default_rng(3)
    params = random_params(rng, [4, 6, 5])
    params[-1] = (params[-1][0], np.full(5, -50.0))      # every score clearly negative
    scores = forward(rng.normal(size=(7, 4)), params)
    assert scores.shape == (7, 5)
    assert np.all(scores < 0), "the last layer must not apply the activation"


def test_forward_single_sample_and_float32():
    rng = np.random.default_rng(4)
    params = random_params(rng, [4, 5, 3])
    x = rng.normal(size=4)
    s = forward(x, params)
    assert s.shape == (3,)
    np.testing.assert_allclose(s, forward_oracle(x[None], params, relu_1)[0], rtol=1e-10)
    params32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in params]
    assert forward(rng.normal(size=(2, 4)).astype(np.float32), params32).dtype == np.float32


def test_forward_works_with_init_params():
    params = init_params([784, 16, 16, 10], np.random.default_rng(0))
    X = np.random.default_rng(1).uniform(size=(100, 784))
    assert forward(X, params).shape == (100, 10)


# ---- count_params ------------------------------------------------------------------------------------------

def test_count_params_known_networks():
    assert count_params([784, 16, 16, 10]) == (12960, 42)          # 13,002 parameters, not weights
    assert sum(count_params([784, 16, 16, 10])) == 13002
    assert count_params([4, 4, 5, 6, 4, 3, 3]) == (111, 25)
    assert count_params((3, 2)) == (6, 2)
    n_w, n_b = count_params(np.array([5, 3, 2]))
    assert isinstance(n_w, int) and isinstance(n_b, int)


def test_count_params_agrees_with_init_params():
    rng = np.random.default_rng(5)
    for _ in range(5):
        sizes = [int(s) for s in rng.integers(1, 40, size=int(rng.integers(2, 6)))]
        params = init_params(sizes, rng)
        assert count_params(sizes) == (sum(W.size for W, _ in params), sum(b.size for _, b in params))


# ---- softmax -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 7), (7, 4), (1, 5), (6, 1), (5,), (2, 3, 4)])
def test_softmax_matches_loops_along_last_axis(shape):
    rng = np.random.default_rng(sum(shape))
    Z = rng.normal(scale=4.0, size=shape)
    Z0 = Z.copy()
    P = softmax(Z)
    assert P.shape == shape
    expected = np.array([softmax_oracle_row(r) for r in Z0.reshape(-1, shape[-1])]).reshape(shape)
    np.testing.assert_allclose(P, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(P.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(Z, Z0, err_msg="softmax modified its input")


def test_softmax_is_stable_and_keeps_float32():
    Z = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -999.0, -1000.5], [0.0, 1.0, 2.0]])
    with np.errstate(all="raise"):                        # no overflow, no 0/0 anywhere
        P = softmax(Z)
    np.testing.assert_allclose(P, [softmax_oracle_row(r) for r in Z], rtol=1e-12)
    np.testing.assert_allclose(P[0], P[2], rtol=1e-12)   # shifting a row changes nothing
    Z32 = np.array([[100.0, 90.0, 80.0]], dtype=np.float32)
    P32 = softmax(Z32)
    assert P32.dtype == np.float32 and np.all(np.isfinite(P32))
    np.testing.assert_allclose(P32[0], softmax_oracle_row(Z32[0]), rtol=1e-5)


# ---- predict -----------------------------------------------------------------------------------------------

def test_predict_is_the_argmax_of_the_scores():
    rng = np.random.default_rng(6)
    params = random_params(rng, [5, 8, 3])
    X = rng.normal(size=(40, 5))
    for act, act_1 in ((None, relu_1), (np.tanh, math.tanh)):
        y_hat = predict(X, params) if act is None else predict(X, params, act)
        scores = forward_oracle(X, params, act_1)
        assert y_hat.shape == (40,) and np.issubdtype(y_hat.dtype, np.integer)
        np.testing.assert_array_equal(y_hat, [max(range(3), key=lambda k: (s[k], -k)) for s in scores])
    # argmax of the scores is the argmax of the probabilities
    np.testing.assert_array_equal(predict(X, params), np.argmax(softmax(forward(X, params)), axis=1))


def test_predict_with_all_scores_negative_and_single_sample():
    rng = np.random.default_rng(7)
    params = random_params(rng, [4, 6, 5])
    params[-1] = (params[-1][0], np.full(5, -100.0))
    X = rng.normal(size=(30, 4))
    expected = np.argmax(forward_oracle(X, params, relu_1), axis=1)
    np.testing.assert_array_equal(predict(X, params), expected)
    assert len(set(expected.tolist())) > 1, "the test needs more than one distinct class"
    y1 = predict(X[3], params)
    assert np.ndim(y1) == 0 and int(y1) == expected[3]
