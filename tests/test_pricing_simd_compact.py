"""AVX-512 compress of the AS241 tail words against numpy's boolean indexing (both code paths)."""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit

import kernels.simd_compact as sc
from kernels.normal import TAIL_WORD_LIMIT

LIM = np.uint32(TAIL_WORD_LIMIT)


def _compiled():
    """A fresh jitted caller: the intrinsic's code path is chosen when its caller is compiled."""
    @njit
    def two_halves(w, m, half, tw, tix):
        na = sc.compress_tail_words(w[:half], m, LIM, 0, tw, tix)
        return na + sc.compress_tail_words(w[half:], m, LIM, half, tw[na:], tix[na:])
    return two_halves


def _words(rnd, n, tail_share):
    w = rnd.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    tail = rnd.random(n) < tail_share
    k = int(tail.sum())
    t = rnd.integers(0, TAIL_WORD_LIMIT + 1, k, dtype=np.int64).astype(np.uint32)
    w[tail] = np.where(rnd.random(k) < 0.5, t, ~t)
    return w


@pytest.mark.parametrize("avx512", [True, False])
@pytest.mark.parametrize("m, tail_share", [(512, 0.15), (441, 0.15), (37, 0.5), (16, 1.0), (17, 0.0), (1, 1.0), (0, 0.5)])
def test_compress_equals_boolean_indexing(monkeypatch, avx512, m, tail_share):
    if avx512 and not sc.HAS_AVX512:
        pytest.skip("no AVX-512 on this host")
    monkeypatch.setattr(sc, "HAS_AVX512", avx512)
    rnd = np.random.default_rng(1000 + m)
    half = 512
    w = _words(rnd, 2 * half, tail_share)
    # boundary words on both sides of the limit, in both halves
    w[:4] = [TAIL_WORD_LIMIT, TAIL_WORD_LIMIT + 1, ~np.uint32(TAIL_WORD_LIMIT), ~np.uint32(TAIL_WORD_LIMIT + 1)]
    w[half:half + 4] = w[:4]
    tw = np.full(2 * half + sc.LANES, 7, np.uint32)
    tix = np.full(2 * half + sc.LANES, -1, np.int32)
    fn = _compiled()
    n = fn(w, m, half, tw, tix)
    ir_text = fn.inspect_llvm(fn.signatures[0])
    assert ("llvm.x86.avx512.mask.compress" in ir_text) == avx512
    assert ("llvm.masked.compressstore" in ir_text) == (not avx512)
    idx = np.concatenate([np.arange(m), half + np.arange(m)])
    sel = idx[np.minimum(w[idx], ~w[idx]) <= TAIL_WORD_LIMIT]
    assert n == len(sel)
    assert np.array_equal(tix[:n], sel)
    assert np.array_equal(tw[:n], w[sel])
