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
