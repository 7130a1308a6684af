"""Unit tests of the generated nnbook.neuron module, against independent oracles."""
import itertools

import numpy as np
import pytest

from nnbook.neuron import (bias_for_threshold, gate_params, perceptron, perceptron_batch, two_layer_perceptron,
                           weighted_sum)

rng = np.random.default_rng(2024)


@pytest.mark.parametrize("d", [1, 4, 33])
def test_weighted_sum_matches_loop(d):
    x, w, b = rng.normal(size=d), rng.normal(size=d), float(rng.normal())
    expected = sum(xi * wi for xi, wi in zip(x.tolist(), w.tolist())) + b
    z = weighted_sum(x, w, b)
    assert isinstance(z, float)
    assert z == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_bias_for_threshold_makes_threshold_rule():
    # fire iff the sum reaches the threshold: sum >= theta  <=>  sum + b >= 0
    w = np.ones(3)
    for theta in (-2.5, 0.0, 10.0):
        b = bias_for_threshold(theta)
        for x in rng.uniform(-10, 10, size=(50, 3)):
            assert perceptron(x, w, b) == int(x.sum() >= theta)


def test_perceptron_fires_at_zero_and_returns_int():
    assert perceptron(np.array([6.0, 4.0]), np.ones(2), -10.0) == 1
    assert perceptron(np.array([6.0, 3.9]), np.ones(2), -10.0) == 0
    assert type(perceptron(np.zeros(2), np.ones(2), 0.0)) is int


@pytest.mark.parametrize("n, d", [(5, 3), (3, 5), (1, 1)])
def test_perceptron_batch_agrees_with_perceptron(n, d):
    X, w, b = rng.normal(size=(n, d)), rng.normal(size=d), float(rng.normal())
    X0 = X.copy()
    out = perceptron_batch(X, w, b)
    assert out.shape == (n,) and np.issubdtype(out.dtype, np.integer)
    assert out.tolist() == [perceptron(row, w, b) for row in X]
    assert np.array_equal(X, X0)


@pytest.mark.parametrize("gate, table", [("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1]), ("NAND", [1, 1, 1, 0])])
def test_gate_params_truth_tables(gate, table):
    w, b = gate_params(gate)
    corners = np.array(list(itertools.product([0, 1], repeat=2)), dtype=float)
    assert perceptron_batch(corners, w, b).tolist() == table


def test_xor_is_refused_by_one_perceptron_but_built_by_two_layers():
    with pytest.raises(ValueError, match="XOR"):
        gate_params("XOR")
    (w_or, b_or), (w_nand, b_nand), (w_and, b_and) = (gate_params(g) for g in ("OR", "NAND", "AND"))
    corners = np.array(list(itertools.product([0, 1], repeat=2)), dtype=float)
    out = two_layer_perceptron(corners, np.column_stack([w_or, w_nand]), np.array([b_or, b_nand]), w_and, b_and)
    assert out.tolist() == [0, 1, 1, 0]


def test_xor_has_no_single_perceptron_solution_on_a_grid():
    # brute force over a grid of weights and biases: none reproduces XOR (the chapter's proof, checked)
    corners = np.array(list(itertools.product([0, 1], repeat=2)), dtype=float)
    grid = np.linspace(-3, 3, 25)
    for w1, w2, b in itertools.product(grid, grid, grid):
        assert perceptron_batch(corners, np.array([w1, w2]), b).tolist() != [0, 1, 1, 0]


def test_train_perceptron_separates_a_separable_set_and_stops():
    from nnbook.neuron import train_perceptron
    X = rng.integers(-5, 6, size=(60, 3)).astype(float)
    true_w, true_b = np.array([2.0, -1.0, 1.0]), 0.5
    y = (X @ true_w + true_b > 0).astype(int)
    X0 = X.copy()
    w, b, epochs = train_perceptron(X, y, lr=1.0, max_epochs=1000)
    assert np.array_equal(X, X0)
    assert epochs < 1000 and np.array_equal((X @ w + b >= 0).astype(int), y)
    # one more epoch from the result makes no update: the rule stopped because it had nothing left to fix
    assert all(int(x @ w + b >= 0) == t for x, t in zip(X, y))


def test_train_perceptron_runs_max_epochs_on_xor():
    from nnbook.neuron import train_perceptron
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    assert train_perceptron(X, np.array([0, 1, 1, 0]), max_epochs=25)[2] == 25


def test_nand_builds_xor():
    from nnbook.neuron import nand, xor_from_nand
    a, b = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    assert nand(a, b).tolist() == [1, 1, 1, 0]
    assert xor_from_nand(a, b).tolist() == [0, 1, 1, 0]
    assert xor_from_nand(a, b).dtype.kind == "i"
