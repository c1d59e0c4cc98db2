"""Branch-free inverse normal of a 32-bit RNG word: piecewise polynomials indexed by octave.

A measured alternative to AS241 for the float64 engines (``kernels/RNG.md``):
no log, no division, no branch, accurate to about 1e-14 absolute (tested
against ``scipy.special.ndtri``). It needs one gather per coefficient; on the
project's 2-core Xeon (gathers ~25 cycles, host-side mitigation) it is slower
than the vectorised AS241 path, so the engines keep AS241; see the numbers
in ``docs/pricing.md`` and ``bench/bench_pricing.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import leading_zeros
# u = (w + 0.5) / 2**32 is folded to u' = min(u, 1 - u) = tp / 2**33 with tp = 2 min(w, ~w) + 1
# (odd, exact). The octave of u' (leading-zero count of tp) and the next NDTRI_J bits pick one
# of 32 * 2**NDTRI_J segments; on each, |z| = q * P(s), q = 0.5 - u' (exact, so z is exactly
# odd and keeps full relative accuracy near u = 1/2), s in [-1, 1) the position inside the
# segment, P a degree-NDTRI_DEG polynomial interpolating -ndtri(u') / q at Chebyshev nodes.
# No log, no division, no branch: a gather of NDTRI_DEG + 1 coefficients and a Horner
# evaluation, which LLVM vectorises across pairs. Same idea as the hardware's fixed-point
# piecewise polynomial, in float64.
NDTRI_J = 3
NDTRI_DEG = 9
NDTRI_NSEG = 32 << NDTRI_J


def _ndtri_table() -> np.ndarray:
    """Coefficients [NDTRI_NSEG * (NDTRI_DEG + 1)] (power basis in s), deterministic from scipy's ndtri."""
    from numpy.polynomial import chebyshev as C
    from scipy.special import ndtri
    d = NDTRI_DEG
    nodes = np.cos(np.pi * (np.arange(d + 1) + 0.5) / (d + 1))
    tab = np.zeros((NDTRI_NSEG, d + 1))
    for e in range(32):
        for j in range(1 << NDTRI_J):
            u = (1.0 + (j + (nodes + 1.0) / 2.0) / 2.0**NDTRI_J) * 2.0**(e - 33)
            r = -ndtri(u) / (0.5 - u)
            tab[(e << NDTRI_J) + j] = C.cheb2poly(C.chebfit(nodes, r, d))
    return np.ascontiguousarray(tab.ravel())


NDTRI_TAB = _ndtri_table()
_NCOEF = NDTRI_DEG + 1
_LOW60 = (1 << 60) - 1
_TWO_M59 = 2.0**-59
_TWO_M33 = 2.0**-33


@njit(inline="always", cache=True)
def ndtri_word(w):
    """z = Phi^-1((w + 0.5) / 2**32) for a 32-bit word w (branch-free piecewise polynomial)."""
    wi = np.int64(w)
    tp = 2 * min(wi, 4294967295 - wi) + 1
    lz = leading_zeros(np.uint64(tp))            # 32..63: octave 63 - lz of u' = tp / 2**33
    tn = np.uint64(tp) << np.uint64(lz)          # normalised: bit 63 set
    c = (((63 - np.int64(lz)) << NDTRI_J) + np.int64((tn >> np.uint64(60)) & np.uint64(7))) * _NCOEF
    s = np.float64(np.int64(tn & np.uint64(_LOW60))) * _TWO_M59 - 1.0
    t = NDTRI_TAB
    p = t[c + 9]
    p = p * s + t[c + 8]
    p = p * s + t[c + 7]
    p = p * s + t[c + 6]
    p = p * s + t[c + 5]
    p = p * s + t[c + 4]
    p = p * s + t[c + 3]
    p = p * s + t[c + 2]
    p = p * s + t[c + 1]
    p = p * s + t[c]
    z = ((4294967296.0 - np.float64(tp)) * _TWO_M33) * p
    return z if wi >= 2147483648 else -z


# No fastmath: without FMA contraction the Numba and numpy versions round identically.
@njit(cache=True, error_model="numpy", boundscheck=False)
def ndtri_words(w, n, z):
    """z[:n] = ndtri_word(w[:n]) (vectorised across the loop)."""
    for i in range(n):
        z[i] = ndtri_word(w[i])


def ndtri_words_np(w: np.ndarray) -> np.ndarray:
    """numpy version of ``ndtri_word`` on an array of 32-bit words: the same segments, the same rounding."""
    wi = np.asarray(w).astype(np.int64)
    tp = 2 * np.minimum(wi, 4294967295 - wi) + 1
    m, e = np.frexp(tp.astype(np.float64))       # tp = m 2**e, m in [0.5, 1): octave e - 1
    f = (m * 2.0 - 1.0) * 2.0**NDTRI_J           # exact
    j = f.astype(np.int64)
    s = (f - j) * 2.0 - 1.0                      # exact, equal to the Numba bit extraction
    c = (((e.astype(np.int64) - 1) << NDTRI_J) + j) * _NCOEF
    t = NDTRI_TAB
    p = t[c + 9]
    for k in range(8, -1, -1):
        p = p * s + t[c + k]
    z = ((4294967296.0 - tp.astype(np.float64)) * _TWO_M33) * p
    return np.where(wi >= 2147483648, z, -z)
