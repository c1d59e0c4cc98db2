"""Piecewise-polynomial inverse normal of 32-bit words (kernels.normal_words) vs scipy's ndtri and AS241."""
from __future__ import annotations

import numpy as np
import scipy.special as sp

from kernels.normal import ppnd16_np
from kernels.normal_words import ndtri_words, ndtri_words_np


def _sweep() -> np.ndarray:
    """Every 4093rd word (1.05M), all words near both ends and around 2**31."""
    ends = np.arange(0, 1 << 16, dtype=np.int64)
    mid = (1 << 31) + np.arange(-(1 << 15), 1 << 15, dtype=np.int64)
    w = np.concatenate([np.arange(0, 1 << 32, 4093, dtype=np.int64), ends, (1 << 32) - 1 - ends, mid,
                        (1 << np.arange(32, dtype=np.int64)), (1 << np.arange(32, dtype=np.int64)) - 1])
    return w.astype(np.uint32)


def test_error_bound_against_scipy_ndtri_on_dense_sweep():
    w = _sweep()
    z = np.empty(len(w))
    ndtri_words(w, len(w), z)
    ref = sp.ndtri((w.astype(np.float64) + 0.5) / 2**32)
    err = np.abs(z - ref)
    # measured 6.2e-15 absolute over |z| <= 6.24 and 1.9e-15 relative (scipy's own tail error is part of it)
    assert err.max() < 1e-14
    assert np.max(err / np.abs(ref)) < 3e-15
    # the same quality as AS241 on the same uniforms
    as241 = ppnd16_np((w.astype(np.float64) + 0.5) / 2**32)
    assert np.max(np.abs(z - as241)) < 1e-14


def test_numba_and_numpy_versions_are_bit_identical_and_exactly_odd():
    w = _sweep()
    z = np.empty(len(w))
    ndtri_words(w, len(w), z)
    assert np.array_equal(z, ndtri_words_np(w))
    zc = np.empty(len(w))
    ndtri_words(~w, len(w), zc)
    assert np.array_equal(zc, -z)                       # antithetic partner = complement word
    assert ndtri_words_np(np.array([0], np.uint32))[0] < -6.23
    assert np.all(np.sign(z) == np.where(w >= 2**31, 1.0, -1.0))
