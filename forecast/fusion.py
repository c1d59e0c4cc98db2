"""Per-target, per-horizon fusion weights found by grid search on the probability simplex."""
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


def grid_search_weights(preds: np.ndarray, actual: np.ndarray, step: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Weights minimising the validation mean relative error per horizon (the Acc term of that horizon).

    preds: (n_models, n, H) forecasts in levels, actual: (n, H) > 0.
    Returns (weights (H, n_models), objective (H,)). Ties go to the first grid point.
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
        err = relative_error(grid, preds[:, :, h], actual[:, h])
        j = int(np.argmin(err))
        w[h], obj[h] = grid[j], err[j]
    return w, obj


def fuse(preds: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fused forecast per horizon: preds (n_models, n, H), weights (H, n_models) -> (n, H)."""
    return np.einsum("mnh,hm->nh", np.asarray(preds, dtype=float), np.asarray(weights, dtype=float))
