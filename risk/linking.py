"""Multi-period linking of additive attribution effects: Carino, Menchero and GRAP.

Each method gives one coefficient per period; the linked effect of a category
is the sum over periods of coefficient x effect. With per-period effects that
add up to ``rp_t - rb_t``, the linked effects add up exactly to the compounded
active return ``prod(1 + rp_t) - prod(1 + rb_t)``. Linking absolute returns
(a decomposition of ``rp_t`` alone) is the special case ``rb_t = 0``.
"""
from __future__ import annotations

import numpy as np

from risk._checks import check_choice

LINKINGS = ("carino", "menchero", "grap")
_EQUAL = 1e-12  # below this difference the log-ratio coefficients take their limits


def _log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(ln(1+a) - ln(1+b)) / (a - b), with its limit 1/(1+a) when a == b."""
    d = a - b
    close = np.abs(d) < _EQUAL
    safe = np.where(close, 1.0, d)
    return np.where(close, 1.0 / (1.0 + a), (np.log1p(a) - np.log1p(b)) / safe)


def link_coefficients(rp: np.ndarray, rb: np.ndarray, method: str = "carino") -> np.ndarray:
    """Per-period linking coefficients along the last axis for portfolio and benchmark returns."""
    check_choice(method, "linking", LINKINGS)
    rp = np.asarray(rp, dtype=float)
    rb = np.broadcast_to(np.asarray(rb, dtype=float), rp.shape)
    if (rp <= -1).any() or (rb <= -1).any():
        raise ValueError("returns: a period return of -100% or worse cannot be linked")
    cp = np.prod(1.0 + rp, axis=-1, keepdims=True) - 1.0
    cb = np.prod(1.0 + rb, axis=-1, keepdims=True) - 1.0
    if method == "carino":
        return _log_ratio(rp, rb) / _log_ratio(cp, cb)
    if method == "menchero":
        n = rp.shape[-1]
        a = rp - rb
        big_a = cp - cb
        gp, gb = (1.0 + cp) ** (1.0 / n), (1.0 + cb) ** (1.0 / n)
        close = np.abs(gp - gb) < _EQUAL
        m = np.where(close, (1.0 + cp) ** ((n - 1.0) / n), (big_a / n) / np.where(close, 1.0, gp - gb))
        sa = a.sum(axis=-1, keepdims=True)
        sa2 = (a * a).sum(axis=-1, keepdims=True)
        alpha = np.where(sa2 > 0, (big_a - m * sa) / np.where(sa2 > 0, sa2, 1.0), 0.0) * a
        return m + alpha
    # GRAP: grow each period's effect by the portfolio before it and the benchmark after it.
    before = np.cumprod(1.0 + rp, axis=-1) / (1.0 + rp)
    after_incl = np.flip(np.cumprod(np.flip(1.0 + rb, axis=-1), axis=-1), axis=-1)
    return before * after_incl / (1.0 + rb)
