"""The Numba kernel's fast paths against independent references: normals, tail test, 512-bit hint, KI minimum."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sp
from numba import njit

from kernels.normal import SPLIT1, TAIL_WORD_LIMIT, ppnd16_np, tail_words_u32
from kernels.snowball_mc import CHUNK, _draw
from kernels.snowball_numpy import mc_sums_numpy, normals
from kernels.snowball_schedule import lower
from kernels.vector_width import ATTRIBUTE, prefer_512_bit
from pricing import Market, Snowball


def _float_branch_is_tail(w: np.ndarray) -> np.ndarray:
    return np.abs((w.astype(np.float64) + 0.5) / 2.0**32 - 0.5) > SPLIT1


def test_integer_tail_test_equals_float_branch_test():
    rnd = np.random.default_rng(11)
    L = TAIL_WORD_LIMIT
    near = np.arange(-2000, 2001, dtype=np.int64)
    w = np.concatenate([L + near, 2**32 - 1 - L + near, rnd.integers(0, 2**32, 200_000),
                        [0, 1, 2**31 - 1, 2**31, 2**32 - 1]]).astype(np.uint32)
    fold = np.minimum(w, ~w)
    assert np.array_equal(fold <= L, _float_branch_is_tail(w))
    assert _float_branch_is_tail(np.array([L], np.uint32))[0] and not _float_branch_is_tail(np.array([L + 1], np.uint32))[0]


def test_packed_tail_words_match_as241_and_ndtri():
    rnd = np.random.default_rng(12)
    w = rnd.integers(0, 2**32, 100_000).astype(np.uint32)
    w = np.concatenate([w[np.minimum(w, ~w) <= TAIL_WORD_LIMIT], np.array([0, 2**32 - 1, TAIL_WORD_LIMIT,
                                                                          2**32 - 1 - TAIL_WORD_LIMIT], np.uint32)])
    out = np.empty(len(w))
    tail_words_u32(w, len(w), out, np.empty(len(w), np.int64))
    u = (w.astype(np.float64) + 0.5) / 2.0**32
    assert np.max(np.abs(out - ppnd16_np(u)) / np.abs(out)) < 2e-15
    assert np.max(np.abs(out - sp.ndtri(u)) / np.abs(out)) < 5e-15


@pytest.mark.parametrize("m", [CHUNK, 441, 64, 37, 1])
def test_kernel_draw_equals_numpy_normals(m):
    """The kernel's block of normals (words, central branch, packed tails) = the numpy pricer's stream."""
    seed = 2**37 + 5
    p0 = 1000
    B = m
    BP = ((B + 63) >> 6) << 6
    w = np.empty(2 * BP, np.uint32)
    z = np.full(2 * BP, np.nan)
    scratch = [np.empty(2 * BP + 16, np.int32), np.empty(2 * BP + 16, np.uint32), np.empty(2 * BP), np.empty(2 * BP, np.int64)]
    ids = np.arange(p0, p0 + m, dtype=np.uint32)
    ref = normals(p0, m, 8, seed)          # [m, 8]: steps 0..7 = blocks 0..3
    n_tail = 0
    for kc in range(4):
        _draw(m, ids, np.uint32(kc), np.uint32(seed & 0xFFFFFFFF), np.uint32(seed >> 32), BP, w, z, *scratch)
        for h in range(2):
            got, exp = z[h * BP:h * BP + m], ref[:, 2 * kc + h]
            assert np.all(np.abs(got - exp) <= 2e-15 * np.maximum(1.0, np.abs(exp))), (kc, h)
            n_tail += int(np.sum(np.abs(exp) > 1.4395))
    if m >= 64:
        assert n_tail > 0  # the packed-tail path was exercised


def test_prefer_512_bit_sets_the_function_attribute_only():
    @njit
    def wide(x):
        prefer_512_bit()
        s = 0.0
        for v in x:
            s += v
        return s

    @njit
    def plain(x):
        s = 0.0
        for v in x:
            s += v
        return s

    x = np.arange(100.0)
    assert wide(x) == plain(x) == 4950.0
    assert ATTRIBUTE in wide.inspect_llvm(wide.signatures[0])
    assert ATTRIBUTE not in plain.inspect_llvm(plain.signatures[0])


@pytest.mark.parametrize("kw, mk, v, ki", [
    (dict(ki_observation="none", coupon=0.1), dict(vol=0.3), 0, False),         # two-step pass without KI
    (dict(coupon=0.3, ki_barrier=0.9, ko_barrier=1.0), dict(vol=0.45), 0, False),  # many KI near KO
    (dict(lockup_days=1, ko_days=list(range(1, 253))), dict(vol=0.2), 0, False),    # KO every day: no fused steps
    (dict(), dict(spot=0.85, vol=0.35), 37, False),                              # odd elapsed days: shifted blocks
    (dict(ki_barrier=0.9), dict(spot=0.88), 101, True),                          # already knocked in
])
def test_running_minimum_knock_in_equals_numpy_pricer(kw, mk, v, ki):
    """KI as a running minimum (and the fused two-step pass) = the numpy pricer's cumulative KI flag."""
    from kernels.snowball_mc import mc_sums_cpu
    s = lower(Snowball(**kw), Market(**mk), v, ki)
    a = mc_sums_cpu(s, 3001, 5)   # a partial last chunk (3001 = 2 x 1024 + 953 pairs)
    b = mc_sums_numpy(s, 3001, 5)
    assert a.n_ko == b.n_ko and a.n_ki == b.n_ki and a.sum_life_days == b.sum_life_days
    for f in ("sum_pair", "sum_pair_sq", "sum_ko_accrual", "sum_mat_accrual", "sum_loss"):
        x, y = getattr(a, f), getattr(b, f)
        assert abs(x - y) <= 1e-12 * max(1.0, abs(y)), f
