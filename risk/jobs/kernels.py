"""Compiled loops shared by the batch jobs (Numba, compiled on first use and cached on disk, so importing a job
costs nothing)."""
from __future__ import annotations

import numpy as np

_JIT: dict = {}


def _sector_sums(owner, cols, qty, j0, j1, close, ret, sector, n_owners, n_sectors):
    """Sector market values and next-day P&L (owners x days x sectors) from positions held over day spans."""
    mv = np.zeros((n_owners, close.shape[0], n_sectors))
    pnl = np.zeros((n_owners, close.shape[0], n_sectors))
    for i in range(len(owner)):
        p, a, q, s = owner[i], cols[i], qty[i], sector[cols[i]]
        for t in range(j0[i], j1[i]):
            v = q * close[t, a]
            mv[p, t, s] += v
            pnl[p, t, s] += v * ret[t, a]
    return mv, pnl


def sector_sums_kernel():
    """The compiled ``_sector_sums`` loop."""
    if "sector_sums" not in _JIT:
        from numba import njit

        _JIT["sector_sums"] = njit(cache=True)(_sector_sums)
    return _JIT["sector_sums"]


def _period_returns(w, r):
    """Sum over the last axis of w * r, skipping NaN returns (np.nansum of the product), for (owners x days x S)."""
    out = np.zeros(w.shape[:2])
    for p in range(w.shape[0]):
        for t in range(w.shape[1]):
            acc = 0.0
            for s in range(w.shape[2]):
                x = w[p, t, s] * r[p, t, s]
                if not np.isnan(x):
                    acc += x
            out[p, t] = acc
    return out


def _linked_brinson(wp, wb, rp, rb, rb_total, coef, fachler, three):
    """Allocation, selection and interaction per (owner, sector), each period's effect times its linking
    coefficient summed over the periods: ``risk.brinson.brinson_arrays`` element by element (same NaN rules: an
    unheld sector has no selection or interaction, an off-benchmark one puts its whole effect in selection)."""
    n_p, n_t, n_s = wp.shape
    eff = np.zeros((n_p, n_s, 3))
    for p in range(n_p):
        for t in range(n_t):
            tot, c = rb_total[p, t], coef[p, t]
            for s in range(n_s):
                b = rb[p, t, s]
                off = np.isnan(b)
                rp_ = rp[p, t, s]
                if np.isnan(rp_):
                    rp_ = b
                rb_f = tot if off else b
                rp_f = rb_f if np.isnan(rp_) else rp_
                dw = wp[p, t, s] - wb[p, t, s]
                alloc = dw * (rb_f - tot) if fachler else dw * rb_f
                if three:
                    sel = wb[p, t, s] * (rp_f - rb_f)
                    inter = dw * (rp_f - rb_f)
                else:
                    sel = wp[p, t, s] * (rp_f - rb_f)
                    inter = 0.0
                if off:
                    sel = alloc + sel + inter
                    alloc = 0.0
                    inter = 0.0
                eff[p, s, 0] += c * alloc
                eff[p, s, 1] += c * sel
                eff[p, s, 2] += c * inter
    return eff


def period_returns_kernel():
    """The compiled ``_period_returns`` loop."""
    if "period_returns" not in _JIT:
        from numba import njit

        _JIT["period_returns"] = njit(cache=True)(_period_returns)
    return _JIT["period_returns"]


def linked_brinson_kernel():
    """The compiled ``_linked_brinson`` loop."""
    if "linked_brinson" not in _JIT:
        from numba import njit

        _JIT["linked_brinson"] = njit(cache=True)(_linked_brinson)
    return _JIT["linked_brinson"]


def _portfolio_returns(r_t, assets, cols, w, n_cols):
    """Daily portfolio returns, portfolio-major (portfolios x days), from sparse positions and asset-major returns
    ``r_t`` (assets x days): x[cols[i], :] += w[i] * r_t[assets[i], :] (contiguous rows: a vectorised inner loop)."""
    x = np.zeros((n_cols, r_t.shape[1]))
    for i in range(len(assets)):
        c, a, wi = cols[i], assets[i], w[i]
        for t in range(r_t.shape[1]):
            x[c, t] += wi * r_t[a, t]
    return x


def portfolio_returns_kernel():
    """The compiled ``_portfolio_returns`` loop."""
    if "portfolio_returns" not in _JIT:
        from numba import njit

        _JIT["portfolio_returns"] = njit(cache=True)(_portfolio_returns)
    return _JIT["portfolio_returns"]
