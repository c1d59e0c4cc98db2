"""Input validation shared by the risk functions: every failure names the field."""
from __future__ import annotations

from typing import Any

import numpy as np

WEIGHT_TOLERANCE = 1e-6


def as_float_array(x: Any, name: str, ndim: tuple[int, ...] = (1,), allow_nan: bool = False) -> np.ndarray:
    """Return ``x`` as a float64 array of an allowed dimensionality, finite unless ``allow_nan``."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: must be numeric ({exc})") from None
    if arr.ndim not in ndim:
        allowed = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name}: must be {allowed}, got {arr.ndim}-D with shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: must not be empty")
    if np.isinf(arr).any():
        raise ValueError(f"{name}: contains infinite values at {_where(np.isinf(arr))}")
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name}: contains NaN at {_where(np.isnan(arr))}; drop or fill missing returns first")
    return arr


def _where(mask: np.ndarray, limit: int = 3) -> str:
    idx = np.argwhere(mask)
    shown = ", ".join(str(tuple(int(v) for v in i)) if len(i) > 1 else str(int(i[0])) for i in idx[:limit])
    more = f" (+{len(idx) - limit} more)" if len(idx) > limit else ""
    return f"position {shown}{more}"


def check_probability(p: float, name: str) -> float:
    """Return ``p`` if it lies strictly between 0 and 1, else raise ValueError."""
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number strictly between 0 and 1, got {p!r}") from None
    if not 0.0 < p < 1.0:
        raise ValueError(f"{name}: must be strictly between 0 and 1, got {p}")
    return p


def check_positive_int(n: Any, name: str) -> int:
    """Return ``n`` as an int if it is a positive integer, else raise ValueError."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}: must be a positive integer, got {n!r}")
    return int(n)


def check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ValueError listing them."""
    if value not in allowed:
        raise ValueError(f"{name}: must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
    return value


def check_weights_sum(w: np.ndarray, name: str, axis: int = 0, tol: float = WEIGHT_TOLERANCE) -> None:
    """Raise ValueError unless the weights along ``axis`` sum to one within ``tol``."""
    s = np.atleast_1d(np.sum(w, axis=axis))
    bad = np.abs(s - 1.0) > tol
    if bad.any():
        i = int(np.argmax(bad))
        where = f" (column {i})" if s.size > 1 else ""
        raise ValueError(f"{name}: weights must sum to 1 (tolerance {tol:g}), got {s[i]:.10g}{where}")
