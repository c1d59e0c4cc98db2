"""Per-target, per-horizon fusion weights found by grid search on the probability simplex.

Optionally (``free_scale``) each grid point's combination also gets the
multiplicative level c >= 0 that is optimal for the scored metric: the
minimiser of sum |c F_i - T_i| / T_i = sum (F_i / T_i) |c - T_i / F_i| is the
weighted median of T_i / F_i with weights F_i / T_i. The search over the grid
with that exact level is the search over non-negative weights of any sum
(the grid fixes the mix, the level the sum). Why it matters: the models
forecast in log space, i.e. a conditional median, while the relative error
|P - T| / T is minimised by the 1/T-weighted median, which lies below it.
"""
from __future__ import annotations

import itertools

import numpy as np


def simplex_grid(n_models: int, step: float = 0.05) -> np.ndarray:
    """All weight vectors with entries in multiples of ``step`` that sum to one, shape (n_points, n_models)."""
    if n_models < 1:
        raise ValueError("n_models: must be >= 1")
    k = round(1.0 / step)
    if step <= 0 or abs(k * step - 1.0) > 1e-9:
        raise ValueError("step: must divide 1 exactly (e.g. 0.05, 0.1, 0.25)")
    pts = [c + (k - sum(c),) for c in itertools.product(range(k + 1), repeat=n_models - 1) if sum(c) <= k]
    return np.asarray(pts, dtype=float) / k


def relative_error(weights: np.ndarray, preds: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Mean |sum_m w_m P_m - T| / T over cases for each weight vector; preds (n_models, n), actual (n,)."""
    fused = weights @ preds  # (n_points, n)
    return np.mean(np.abs(fused - actual[None, :]) / actual[None, :], axis=1)


def best_scale(fused: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``fused`` (g, n): the level c >= 0 minimising mean |c F - T| / T, and that minimum.

    The weighted median of T / F with weights F / T; cases with F = 0 score 1
    whatever c is. A row that is zero everywhere keeps c = 1.
    """
    F = np.atleast_2d(np.asarray(fused, dtype=float))
    T = np.asarray(actual, dtype=float)
    pos = F > 0
    r = np.where(pos, T[None, :] / np.where(pos, F, 1.0), np.inf)
    w = np.where(pos, F / T[None, :], 0.0)
    order = np.argsort(r, axis=1)  # ties share one value of r, so any order gives the same median
    rs, cw = np.take_along_axis(r, order, axis=1), np.cumsum(np.take_along_axis(w, order, axis=1), axis=1)
    k = np.argmax(cw >= 0.5 * cw[:, -1:], axis=1)
    c = np.where(cw[:, -1] > 0, rs[np.arange(len(F)), k], 1.0)
    err = np.mean(np.abs(c[:, None] * F - T[None, :]) / T[None, :], axis=1)
    return c, err


def grid_search_weights(preds: np.ndarray, actual: np.ndarray, step: float = 0.05,
                        free_scale: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Weights minimising the validation mean relative error per horizon (the Acc term of that horizon).

    preds: (n_models, n, H) forecasts in levels, actual: (n, H) > 0.
    Returns (weights (H, n_models), objective (H,)). Ties go to the first grid point.
    With ``free_scale`` every grid point is multiplied by its optimal level
    (``best_scale``), so the weights are >= 0 but need not sum to one.
    """
    preds = np.asarray(preds, dtype=float)
    actual = np.asarray(actual, dtype=float)
    if preds.ndim != 3 or actual.shape != preds.shape[1:]:
        raise ValueError(f"preds: shape (n_models, n, H) matching actual {actual.shape} required, got {preds.shape}")
    if actual.shape[0] == 0:
        raise ValueError("validation window: no forecast cases to fit fusion weights on")
    if np.any(actual <= 0) or not np.all(np.isfinite(preds)):
        raise ValueError("actual: must be > 0 and preds finite")
    grid = simplex_grid(preds.shape[0], step)
    H = actual.shape[1]
    w = np.empty((H, preds.shape[0]))
    obj = np.empty(H)
    for h in range(H):
        if free_scale:
            # chunks keep the (points x cases) sort small on large validation sets
            parts = [best_scale(grid[i:i + 256] @ preds[:, :, h], actual[:, h]) for i in range(0, len(grid), 256)]
            c, err = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        else:
            c, err = np.ones(len(grid)), relative_error(grid, preds[:, :, h], actual[:, h])
        j = int(np.argmin(err))
        w[h], obj[h] = grid[j] * c[j], err[j]
    return w, obj


def fuse(preds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fused forecast per horizon: preds (n_models, n, H), weights (H, n_models) -> (n, H)."""
    return np.einsum("mnh,hm->nh", np.asarray(preds, dtype=float), np.asarray(weights, dtype=float))
