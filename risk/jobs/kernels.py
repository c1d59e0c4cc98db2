"""Compiled loops shared by the batch jobs (Numba, compiled on first use and cached on disk, so importing a job
costs nothing)."""
from __future__ import annotations

import numpy as np

_JIT: dict = {}


def _sector_panel(owner, key, sector, qty, j0, j1, close, c0, ret, r0, n_owners, n_days, n_sectors):
    """Sector market values at each day's close and the next day's P&L (owners x days x sectors) from positions held
    over day spans [j0, j1), with key-major (keys x rows) closes and returns: day t's close of a position's key is
    ``close[key, c0 + t]``, its next-day return ``ret[key, r0 + t]`` (contiguous in t: a vectorised inner loop)."""
    mv = np.zeros((n_owners, n_days, n_sectors))
    pnl = np.zeros((n_owners, n_days, n_sectors))
    for i in range(len(owner)):
        p, k, q, s = owner[i], key[i], qty[i], sector[i]
        for t in range(j0[i], j1[i]):
            v = q * close[k, c0 + t]
            mv[p, t, s] += v
            pnl[p, t, s] += v * ret[k, r0 + t]
    return mv, pnl


def sector_panel_kernel():
    """The compiled ``_sector_panel`` loop."""
    if "sector_panel" not in _JIT:
        from numba import njit

        _JIT["sector_panel"] = njit(cache=True)(_sector_panel)
    return _JIT["sector_panel"]


def _weights_returns(mv, pnl):
    """Beginning-of-day weights (mv / nav) and returns (pnl / mv, NaN where mv <= 0) per (owner, day, sector), and
    whether every nav is positive (else the weights are not meaningful and the caller raises)."""
    n_p, n_t, n_s = mv.shape
    w = np.empty_like(mv)
    r = np.empty_like(mv)
    ok = True
    for p in range(n_p):
        for t in range(n_t):
            nav = 0.0
            for s in range(n_s):
                nav += mv[p, t, s]
            if not nav > 0:
                ok = False
            for s in range(n_s):
                m = mv[p, t, s]
                w[p, t, s] = m / nav if nav != 0 else np.nan
                r[p, t, s] = pnl[p, t, s] / m if m > 0 else np.nan
    return w, r, ok


def weights_returns_kernel():
    """The compiled ``_weights_returns`` loop."""
    if "weights_returns" not in _JIT:
        from numba import njit

        _JIT["weights_returns"] = njit(cache=True)(_weights_returns)
    return _JIT["weights_returns"]


def _gather_columns(m, row0, row1, cols):
    """Rows [row0, row1) of columns ``cols`` of a packed (rows x assets) matrix, key-major ((cols x rows), one pass
    over the rows as stored), and whether every cell has a value (no NaN, every column inside ``m``)."""
    n = row1 - row0
    out = np.full((len(cols), n), np.nan)
    ok = True
    for j in range(len(cols)):
        if cols[j] < 0 or cols[j] >= m.shape[1]:
            ok = False
    for t in range(n):
        for j in range(len(cols)):
            c = cols[j]
            if 0 <= c < m.shape[1]:
                v = m[row0 + t, c]
                out[j, t] = v
                if np.isnan(v):
                    ok = False
    return out, ok


def gather_columns_kernel():
    """The compiled ``_gather_columns`` pass."""
    if "gather_columns" not in _JIT:
        from numba import njit

        _JIT["gather_columns"] = njit(cache=True)(_gather_columns)
    return _JIT["gather_columns"]


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
