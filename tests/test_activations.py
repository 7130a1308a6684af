"""Unit tests of the generated module nnbook.activations against independent oracles.

Oracles: plain-Python ``math`` formulas evaluated one number at a time, and central
differences of those formulas for the derivatives. Nothing here is pasted from a run.
"""
import math
import warnings

import numpy as np
import pytest

from nnbook import activations as act

ALPHAS = (0.01, 0.2)


def _sigmoid(t):
    return 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))


def _leaky(alpha):
    return lambda t: t if t > 0 else alpha * t


# name -> (function taking z, scalar oracle)
FUNCTIONS = {
    "step": (act.step, lambda t: 1.0 if t >= 0 else 0.0),
    "sigmoid": (act.sigmoid, _sigmoid),
    "tanh": (act.tanh, math.tanh),
    "relu": (act.relu, lambda t: max(0.0, t)),
    "leaky_relu": (act.leaky_relu, _leaky(0.01)),
    "leaky_relu_alpha_0.2": (lambda z: act.leaky_relu(z, alpha=0.2), _leaky(0.2)),
}

# name -> (derivative taking z, scalar function it differentiates)
DERIVATIVES = {
    "sigmoid_grad": (act.sigmoid_grad, _sigmoid),
    "tanh_grad": (act.tanh_grad, math.tanh),
    "relu_grad": (act.relu_grad, lambda t: max(0.0, t)),
    "leaky_relu_grad": (act.leaky_relu_grad, _leaky(0.01)),
    "leaky_relu_grad_alpha_0.2": (lambda z: act.leaky_relu_grad(z, alpha=0.2), _leaky(0.2)),
    "step_grad": (act.step_grad, lambda t: 1.0 if t >= 0 else 0.0),
}

ALL = {**{k: v[0] for k, v in FUNCTIONS.items()}, **{k: v[0] for k, v in DERIVATIVES.items()}}
SHAPES = [(), (1,), (7,), (3, 5), (2, 3, 4)]


def _oracle(f, z):
    return np.array([f(float(t)) for t in np.ravel(z)]).reshape(np.shape(z))


def _central_difference(f, z, h=1e-5):
    return np.array([(f(float(t) + h) - f(float(t) - h)) / (2 * h) for t in np.ravel(z)]).reshape(np.shape(z))


def test_exports_match_the_api_table():
    expected = {"step", "sigmoid", "tanh", "relu", "leaky_relu",
                "step_grad", "sigmoid_grad", "tanh_grad", "relu_grad", "leaky_relu_grad"}
    assert set(act.__all__) == expected
    for name in expected:
        assert getattr(act, name).__doc__ and "Defined in chapter 02" in getattr(act, name).__doc__


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_values_match_math_oracle(name, shape):
    f, oracle = FUNCTIONS[name]
    z = np.random.default_rng(len(shape) * 31 + len(name)).normal(0.0, 4.0, size=shape)
    np.testing.assert_allclose(f(z), _oracle(oracle, z), rtol=1e-9, atol=1e-15, err_msg=name)


@pytest.mark.parametrize("name", DERIVATIVES)
@pytest.mark.parametrize("shape", SHAPES)
def test_derivatives_match_central_difference(name, shape):
    df, f = DERIVATIVES[name]
    z = np.random.default_rng(len(shape) * 17 + len(name)).normal(0.0, 3.0, size=shape)
    z = np.where(np.abs(z) < 1e-2, z + 0.5, z)            # away from the kinks of step, relu, leaky relu
    np.testing.assert_allclose(df(z), _central_difference(f, z), rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_shape_and_dtype_kept_input_unchanged(name, dtype, shape):
    z = np.asarray(np.random.default_rng(5).normal(0.0, 3.0, size=shape), dtype=dtype)
    z0 = z.copy()
    out = ALL[name](z)
    assert np.shape(out) == shape, (name, np.shape(out))
    assert np.asarray(out).dtype == dtype, (name, np.asarray(out).dtype)
    np.testing.assert_array_equal(z, z0, err_msg=f"{name} modified its input")


@pytest.mark.parametrize("name", ALL)
def test_integers_lists_and_python_numbers_become_float64(name):
    for z in (np.array([-2, 0, 3]), [-2, 0, 3], 3, 0.5):
        out = np.asarray(ALL[name](z))
        assert out.dtype == np.float64 and out.shape == np.shape(z), (name, z, out.dtype, out.shape)


def test_conventions_at_the_kinks():
    zero32 = np.zeros((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(act.step(zero32), np.ones((2, 3)))          # fires at 0, as in chapter 01
    np.testing.assert_array_equal(act.step_grad(zero32), np.zeros((2, 3)))
    np.testing.assert_array_equal(act.relu_grad(zero32), np.zeros((2, 3)))     # relu_grad(0) = 0
    np.testing.assert_allclose(act.leaky_relu_grad(zero32, alpha=0.3), np.full((2, 3), 0.3), rtol=1e-6)
    np.testing.assert_array_equal(act.relu(zero32), zero32)
    assert act.sigmoid(0.0) == 0.5 and act.sigmoid_grad(0.0) == 0.25
    assert act.tanh(0.0) == 0.0 and act.tanh_grad(0.0) == 1.0


def _quiet(f, z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            return np.asarray(f(z))


@pytest.mark.parametrize("big, dtype", [(1000.0, np.float64), (1e308, np.float64), (100.0, np.float32)])
def test_no_overflow_for_huge_inputs(big, dtype):
    z = np.array([-big, -1.0, 0.0, 1.0, big], dtype=dtype)
    s = _quiet(act.sigmoid, z)
    assert s.dtype == dtype and np.all(np.isfinite(s))
    assert s[0] >= 0 and s[0] < 1e-30 and s[-1] == 1.0 and s[2] == 0.5
    if dtype == np.float64:
        assert s[0] == 0.0                                     # the correctly rounded limit
    d = _quiet(act.sigmoid_grad, z)
    assert np.all(np.isfinite(d)) and 0.0 <= d[0] < 1e-30 and d[-1] == 0.0   # float32: about 4e-44, correct
    if big < 1e300:                                            # tanh computes 2 z, which overflows near 1e308
        t = _quiet(act.tanh, z)
        assert t[0] == -1.0 and t[-1] == 1.0 and t[2] == 0.0
        d = _quiet(act.tanh_grad, z)
        assert np.all(np.isfinite(d)) and d[0] == 0.0 and d[-1] == 0.0


def test_sigmoid_tail_has_full_relative_accuracy():
    z = np.array([-40.0, -100.0, -700.0, -745.0])
    np.testing.assert_allclose(act.sigmoid(z), [math.exp(t) / (1 + math.exp(t)) for t in z], rtol=1e-9, atol=0)


def test_ranges_and_symmetries():
    z = np.random.default_rng(9).uniform(-20, 20, size=(50, 3))
    s, t = act.sigmoid(z), act.tanh(z)
    assert np.all((s >= 0) & (s <= 1)) and np.all((t >= -1) & (t <= 1))
    np.testing.assert_allclose(s + act.sigmoid(-z), 1.0, rtol=1e-12)           # sigma(-z) = 1 - sigma(z)
    np.testing.assert_allclose(act.tanh(-z), -t, atol=1e-12)                   # tanh is odd: zero-centred
    np.testing.assert_allclose(t, 2 * act.sigmoid(2 * z) - 1, atol=1e-12)
    g = act.sigmoid_grad(z)
    assert np.all((g >= 0) & (g <= 0.25))
    assert np.all((act.tanh_grad(z) >= 0) & (act.tanh_grad(z) <= 1))


@pytest.mark.parametrize("alpha", ALPHAS)
def test_leaky_relu_uses_alpha(alpha):
    z = np.array([[-3.0, -0.5], [0.25, 4.0]])
    np.testing.assert_allclose(act.leaky_relu(z, alpha), [[-3 * alpha, -0.5 * alpha], [0.25, 4.0]])
    np.testing.assert_allclose(act.leaky_relu_grad(z, alpha), [[alpha, alpha], [1.0, 1.0]])
