"""Unit tests of the generated module nnbook.gradient_descent against independent oracles."""
import numpy as np
import pytest

from nnbook.gradient_descent import fit_line, gradient_descent, numerical_derivative, numerical_gradient, stable_learning_rates


@pytest.mark.parametrize("f, df, x", [
    (np.sin, np.cos, 0.7),
    (lambda t: t**3, lambda t: 3 * t**2, -1.3),
    (lambda t: np.exp(10 * t), lambda t: 10 * np.exp(10 * t), 0.4),
])
def test_numerical_derivative_matches_calculus(f, df, x):
    d = numerical_derivative(f, x)
    assert isinstance(d, float)
    np.testing.assert_allclose(d, df(x), rtol=1e-6, err_msg="central difference should be accurate to ~h²")


def test_numerical_derivative_is_central_and_uses_h():
    # for a cubic the central difference is exactly 3x² + h², the forward one 3x² + 3xh + h²
    np.testing.assert_allclose(numerical_derivative(lambda t: t**3, 2.0, h=0.1), 12.01, rtol=1e-12)


@pytest.mark.parametrize("shape", [(3,), (3, 5), (4, 2), (2, 3, 4), ()])
def test_numerical_gradient_any_shape_and_restores(shape):
    rng = np.random.default_rng(hash(shape) % 2**32)
    A = rng.normal(size=shape)
    x = rng.normal(size=shape)
    before = x.copy()
    grad = numerical_gradient(lambda v: float(np.sum(A * v**2) + np.sum(v) ** 2), x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, 2 * A * before + 2 * np.sum(before), rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, before, err_msg="numerical_gradient must restore x")


def test_numerical_gradient_works_through_a_closure():
    W = np.random.default_rng(1).normal(size=(3, 4))
    before = W.copy()
    grad = numerical_gradient(lambda _: float(np.sum(np.tanh(W))), W)
    np.testing.assert_allclose(grad, 1 - np.tanh(before) ** 2, rtol=1e-6)
    np.testing.assert_array_equal(W, before)


def test_numerical_gradient_keeps_float32():
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    grad = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, h=1e-2)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-3, atol=1e-3)


def test_gradient_descent_trajectory_against_closed_form():
    x0 = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    traj = gradient_descent(lambda x: 2 * x, x0, 0.1, 5)
    assert traj.shape == (6, 2, 3)
    expected = np.stack([0.8**k * x0 for k in range(6)])
    np.testing.assert_allclose(traj, expected, rtol=1e-12)
    np.testing.assert_array_equal(x0, [[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])


def test_gradient_descent_scalar_start_and_divergence():
    traj = gradient_descent(lambda x: 2 * x, 1.0, 1.05, 10)
    assert traj.shape == (11,)
    np.testing.assert_allclose(traj, (-1.1) ** np.arange(11), rtol=1e-12)
    assert abs(traj[-1]) > abs(traj[0]), "a learning rate above 1 diverges on x²"


def test_fit_line_converges_to_least_squares():
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 3, size=40)
    y = 0.9 * x - 2.0 + rng.normal(0, 0.3, size=40)
    w, b = fit_line(x, y, 0.05, 5000)
    w_ls, b_ls = np.polyfit(x, y, 1)
    assert isinstance(w, float) and isinstance(b, float)
    np.testing.assert_allclose([w, b], [w_ls, b_ls], atol=1e-8)


def test_fit_line_gradient_matches_numerical_gradient():
    # one step from (0, 0) moves by -lr * the gradient of the MSE, checked numerically
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=9), rng.normal(size=9)
    mse = lambda p: float(np.mean((p[0] * x + p[1] - y) ** 2))
    g = numerical_gradient(mse, np.zeros(2))
    np.testing.assert_allclose(fit_line(x, y, 0.01, 1), -0.01 * g, rtol=1e-6)


@pytest.mark.parametrize("a", [0.5, 2.0, 10.0, 40.0])
def test_stable_learning_rates_boundary_is_two_over_curvature(a):
    # oracle: a step multiplies x by (1 - lr a), so the walk gets closer exactly when 0 < lr < 2 / a
    products = np.array([0.01, 0.5, 0.99, 1.0, 1.5, 1.9, 1.99, 2.01, 2.1, 3.0])
    got = stable_learning_rates(a, products / a, num_steps=9)
    assert got.dtype == bool and got.shape == (10,)
    np.testing.assert_array_equal(got, np.abs(1 - products) < 1)
