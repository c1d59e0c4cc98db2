"""Fusion: grid points lie on the simplex and the chosen weights are optimal on the validation set."""
from math import comb

import numpy as np
import pytest
from scipy.optimize import linprog

from forecast.fusion import best_scale, fuse, grid_search_weights, relative_error, simplex_grid


def test_simplex_grid():
    g = simplex_grid(3, 0.05)
    assert len(g) == comb(20 + 2, 2)  # compositions of 20 into 3 parts
    assert np.allclose(g.sum(axis=1), 1.0) and (g >= 0).all()
    assert len(np.unique(np.round(g * 20).astype(int), axis=0)) == len(g)
    with pytest.raises(ValueError, match="step"):
        simplex_grid(3, 0.3)


def _lp_optimum(P, t):
    """Continuous minimum of mean |w.P - t| / t over the simplex, as a linear programme (independent method)."""
    m, n = P.shape
    # variables: w (m), u (n) with u_i >= |w.P_i - t_i| / t_i
    c = np.r_[np.zeros(m), np.ones(n) / n]
    A = np.block([[P.T / t[:, None], -np.eye(n)], [-P.T / t[:, None], -np.eye(n)]])
    b = np.r_[np.ones(n), -np.ones(n)]
    res = linprog(c, A_ub=A, b_ub=b, A_eq=np.r_[np.ones(m), np.zeros(n)][None, :], b_eq=[1.0],
                  bounds=[(0, None)] * (m + n), method="highs")
    assert res.success
    return res.fun


def test_grid_search_is_optimal_on_validation():
    rng = np.random.default_rng(1)
    n, H = 200, 5
    truth = rng.uniform(100, 1000, (n, H))
    preds = np.stack([truth * np.exp(rng.normal(b, s, (n, H))) for b, s in ((0.1, 0.3), (-0.1, 0.2), (0.0, 0.4))])
    w, obj = grid_search_weights(preds, truth, step=0.05)
    assert np.allclose(w.sum(axis=1), 1.0) and (w >= 0).all()
    grid = simplex_grid(3, 0.05)
    for h in range(H):
        # brute force over every grid point by a plain loop
        errs = [np.mean(np.abs(sum(gw[m] * preds[m, :, h] for m in range(3)) - truth[:, h]) / truth[:, h]) for gw in grid]
        assert obj[h] == pytest.approx(min(errs), rel=1e-12)
        assert w[h] == pytest.approx(grid[int(np.argmin(errs))])
        lp = _lp_optimum(preds[:, :, h], truth[:, h])
        assert lp <= obj[h] + 1e-9  # the grid cannot beat the continuous optimum ...
        assert obj[h] - lp < 0.01  # ... and a 0.05 grid gets close to it
        # the fused model is at least as good as every single model on the validation set
        assert all(obj[h] <= relative_error(np.eye(3)[m:m + 1], preds[:, :, h], truth[:, h])[0] + 1e-12 for m in range(3))


def test_grid_search_recovers_exact_mixture():
    rng = np.random.default_rng(2)
    preds = rng.uniform(1, 10, (3, 50, 5))
    truth = np.einsum("m,mnh->nh", [0.25, 0.25, 0.5], preds)
    w, obj = grid_search_weights(preds, truth)
    assert np.allclose(w, [[0.25, 0.25, 0.5]] * 5) and np.allclose(obj, 0.0)
    fused = fuse(preds, w)
    assert np.allclose(fused, truth)


def test_grid_search_rejects_bad_input():
    with pytest.raises(ValueError, match="actual"):
        grid_search_weights(np.ones((3, 4, 5)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="preds"):
        grid_search_weights(np.ones((3, 4, 5)), np.ones((5, 5)))


def _lp_nonneg_optimum(P, t):
    """Continuous minimum of mean |w.P - t| / t over w >= 0 of any sum (linear programme, independent method)."""
    m, n = P.shape
    c = np.r_[np.zeros(m), np.ones(n) / n]
    A = np.block([[P.T / t[:, None], -np.eye(n)], [-P.T / t[:, None], -np.eye(n)]])
    b = np.r_[np.ones(n), -np.ones(n)]
    res = linprog(c, A_ub=A, b_ub=b, bounds=[(0, None)] * (m + n), method="highs")
    assert res.success
    return res.fun


def test_best_scale_is_the_minimiser():
    rng = np.random.default_rng(3)
    truth = rng.lognormal(7, 0.5, 300)
    F = np.stack([truth * np.exp(rng.normal(b, 0.3, 300)) for b in (0.2, -0.1, 0.0)])
    F[2, :7] = 0.0  # zero forecasts score 1 whatever the level
    c, err = best_scale(F, truth)
    for g in range(3):
        # brute force over a fine grid of levels, by a plain loop
        levels = np.linspace(0.3, 2.0, 3401)
        errs = [np.mean(np.abs(s * F[g] - truth) / truth) for s in levels]
        assert err[g] <= min(errs) + 1e-12
        assert err[g] == pytest.approx(np.mean(np.abs(c[g] * F[g] - truth) / truth), rel=1e-12)
        assert abs(c[g] - levels[int(np.argmin(errs))]) < 2e-3
    # an upward-biased forecast is scaled down, a downward-biased one up
    assert c[0] < 1 < c[1]
    assert best_scale(np.zeros((1, 5)), np.ones(5))[0][0] == 1.0


def test_free_scale_search_is_optimal_over_nonnegative_weights():
    rng = np.random.default_rng(4)
    n, H = 150, 5
    truth = rng.lognormal(6, 0.4, (n, H))
    preds = np.stack([truth * np.exp(rng.normal(b, s, (n, H))) for b, s in ((0.15, 0.3), (0.1, 0.2), (0.05, 0.4))])
    w, obj = grid_search_weights(preds, truth, step=0.05, free_scale=True)
    w1, obj1 = grid_search_weights(preds, truth, step=0.05)
    assert (w >= 0).all() and np.all(obj <= obj1 + 1e-12)  # the simplex is the special case c = 1
    assert np.all(w.sum(axis=1) < 1)  # every model is biased up, so the level comes down
    for h in range(H):
        assert obj[h] == pytest.approx(relative_error(w[h:h + 1], preds[:, :, h], truth[:, h])[0], rel=1e-12)
        lp = _lp_nonneg_optimum(preds[:, :, h], truth[:, h])
        assert lp <= obj[h] + 1e-9 and obj[h] - lp < 0.005
