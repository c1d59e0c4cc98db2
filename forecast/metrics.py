"""The source's accuracy metric, its 95% interval, MAPE and win shares."""
from __future__ import annotations

from typing import Mapping

import numpy as np


def _check_pair(predicted, actual) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=float)
    t = np.asarray(actual, dtype=float)
    if p.shape != t.shape:
        raise ValueError(f"predicted: shape {p.shape} must equal actual's shape {t.shape}")
    if p.ndim == 0 or p.shape[-1] < 1:
        raise ValueError("predicted: must have a last axis of forecast horizons, e.g. shape (..., 5)")
    if not np.all(np.isfinite(p)):
        raise ValueError("predicted: all values must be finite")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("actual: all values must be finite and > 0 (the metric divides by them)")
    return p, t


def acc(predicted, actual) -> np.ndarray:
    """Acc = max(0, 1 - (1/H) * sum_i |P_i - T_i| / T_i) per forecast over the last axis (H=5 gives 0.2)."""
    p, t = _check_pair(predicted, actual)
    h = p.shape[-1]
    return np.maximum(0.0, 1.0 - np.sum(np.abs(p - t) / t, axis=-1) / h)


def mape(predicted, actual) -> np.ndarray:
    """Mean absolute percentage error per forecast over the last axis (a fraction, not percent)."""
    p, t = _check_pair(predicted, actual)
    return np.mean(np.abs(p - t) / t, axis=-1)


def acc_interval(values) -> tuple[float, float, float]:
    """Mean and the source's 95% interval, mean +/- 1.96 * std (sample std), of per-forecast Acc values."""
    a = np.asarray(values, dtype=float).ravel()
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError("values: need at least one finite Acc value")
    m = float(a.mean())
    s = float(a.std(ddof=1)) if a.size > 1 else 0.0
    return m, m - 1.96 * s, m + 1.96 * s


def win_share(candidate, others: Mapping[str, np.ndarray]) -> float:
    """Share of cases where ``candidate`` scores strictly above every array in ``others`` (ties lose)."""
    c = np.asarray(candidate, dtype=float)
    if not others:
        raise ValueError("others: need at least one competing model")
    best = np.max(np.stack([np.asarray(o, dtype=float) for o in others.values()]), axis=0)
    if best.shape != c.shape:
        raise ValueError(f"others: shapes must equal candidate's shape {c.shape}")
    if c.size == 0:
        raise ValueError("candidate: need at least one case")
    return float(np.mean(c > best))
