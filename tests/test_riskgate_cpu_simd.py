"""Vector line compares of kernels/riskgate_simd.py against plain numpy on the same lines.

The probes of the Numba kernel read their bucket lines through these intrinsics;
here each mask bit is recomputed lane by lane with numpy (an independent
second method) on random lines built to contain every case: open, closed
today, closed on other days, free entries, equal and unequal fingerprints,
matching keys with wrong or zero tags.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from kernels import riskgate_numba as K
from kernels.riskgate_cpu import position_places
from kernels.riskgate_simd import order_line_masks, pair_line_masks


@njit(cache=False)
def _order_masks(o_ft, bases, fps, closed_today):
    out = np.empty(bases.shape[0], dtype=np.uint64)
    for i in range(bases.shape[0]):
        out[i] = order_line_masks(o_ft, bases[i], fps[i], closed_today)
    return out


@njit(cache=False)
def _pair_masks(kt, idx, keys, tags):
    out = np.empty(idx.shape[0], dtype=np.uint64)
    for i in range(idx.shape[0]):
        out[i] = pair_line_masks(kt, idx[i], keys[i], tags[i])
    return out


def _bits(flags: np.ndarray) -> np.ndarray:
    """Rows of booleans (lane k in column k) as integers with bit k = lane k."""
    return (flags.astype(np.uint64) << np.arange(flags.shape[1], dtype=np.uint64)).sum(1).astype(np.uint64)


def test_order_line_masks_equal_numpy():
    rng = np.random.default_rng(11)
    n_lines, day = 4000, 7
    fp = rng.integers(0, 4, n_lines * 8).astype(np.uint64)  # few fingerprints: many equal ones
    days = rng.choice([day, day - 1, 3, (1 << 38) - 1], n_lines * 8).astype(np.uint64)
    state = rng.integers(0, 4, n_lines * 8).astype(np.uint64)  # 3 is not a state: must be neither
    o_ft = (fp << np.uint64(K.TAG_BITS)) | (days << np.uint64(2)) | state
    o_ft[rng.random(o_ft.size) < 0.2] = 0
    bases = np.arange(n_lines, dtype=np.int64) * 8
    # unaligned starts too: the intrinsic reads any 8 consecutive entries
    bases[::3] = np.minimum(bases[::3] + rng.integers(1, 8, len(bases[::3])), o_ft.size - 8)
    want_fp = rng.integers(0, 4, n_lines).astype(np.uint64)
    closed_today = np.uint64((day << 2) | K.O_CLOSED)
    got = _order_masks(o_ft, bases, want_fp, closed_today)
    lines = o_ft[bases[:, None] + np.arange(8)]
    live = ((lines & np.uint64(3)) == np.uint64(K.O_OPEN_STATE)) | ((lines & np.uint64(K.TAG_MASK)) == closed_today)
    hit = live & ((lines >> np.uint64(K.TAG_BITS)) == want_fp[:, None])
    np.testing.assert_array_equal(got & np.uint64(0xFF), _bits(hit))
    np.testing.assert_array_equal(got >> np.uint64(8), _bits(live))
    assert (got & np.uint64(0xFF)).any() and (got >> np.uint64(8)).any() and (~got & np.uint64(0xFF)).any()


def test_pair_line_masks_equal_numpy():
    rng = np.random.default_rng(12)
    n_lines = 4000
    keys = rng.integers(0, 3, n_lines * 4).astype(np.uint64) + np.uint64(2**63)  # top bit set: unsigned compare
    tags = rng.integers(0, 3, n_lines * 4).astype(np.uint64)
    kt = np.empty(n_lines * 8, dtype=np.uint64)
    kt[0::2], kt[1::2] = keys, tags
    idx = np.arange(n_lines, dtype=np.int64) * 8
    want_key = rng.integers(0, 3, n_lines).astype(np.uint64) + np.uint64(2**63)
    want_tag = rng.integers(0, 3, n_lines).astype(np.uint64)
    got = _pair_masks(kt, idx, want_key, want_tag)
    lines = kt[idx[:, None] + np.arange(8)]
    want = np.where(np.arange(8) % 2 == 0, want_key[:, None], want_tag[:, None])
    np.testing.assert_array_equal(got & np.uint64(0xFF), _bits(lines == want))
    np.testing.assert_array_equal(got >> np.uint64(8), _bits(lines != 0))


def test_account_and_position_probes_equal_a_plain_scan():
    """The probes built on the masks return the lowest matching way and the lowest free way."""
    rng = np.random.default_rng(13)
    ways, nb = 8, 512
    kt = np.zeros(nb * ways * 2, dtype=np.uint64)
    for b in range(nb):  # a used prefix of random length, keys drawn from a small pool
        used = rng.integers(0, ways + 1)
        kt[2 * b * ways:2 * (b * ways + used):2] = rng.integers(1, 6, used).astype(np.uint64)
        kt[2 * b * ways + 1:2 * (b * ways + used):2] = rng.integers(1, 4, used).astype(np.uint64)
    # positions are probed in the kernel's layout (by place: primary ways dense), answers mapped back to slots
    places = position_places(nb, ways)
    kp = np.zeros_like(kt).reshape(-1, 2)
    kp[places] = kt.reshape(-1, 2)
    kp = kp.reshape(-1)
    slot_of = np.empty(nb * ways, dtype=np.int64)
    slot_of[places] = np.arange(nb * ways)
    for b in range(nb):
        base = b * ways
        for key in range(1, 6):
            for tag in range(1, 4):
                place, free_place = _position_probe(kp, b, ways, nb, key, tag - 1)
                slot = slot_of[place] if place >= 0 else -1
                free = slot_of[free_place] if free_place >= 0 else -1
                pairs = kt[2 * base:2 * (base + ways)].reshape(-1, 2)
                match = np.flatnonzero((pairs[:, 0] == key) & (pairs[:, 1] == tag))
                empty = np.flatnonzero(pairs[:, 1] == 0)
                want_slot = base + match[0] if len(match) else -1
                want_free = base + empty[0] if (len(empty) and want_slot < 0) else -1
                assert (slot, free) == (want_slot, want_free), (b, key, tag)
            acc_kt = kt.copy()
            acc_kt[1::2] = (acc_kt[1::2] != 0).astype(np.uint64)  # account tags: 1 = used
            found = _account_probe(acc_kt, base, ways, key)
            pairs = acc_kt[2 * base:2 * (base + ways)].reshape(-1, 2)
            match = np.flatnonzero((pairs[:, 0] == key) & (pairs[:, 1] == 1))
            assert found == (base + match[0] if len(match) else -1), (b, key)


@njit(cache=False)
def _position_probe(kp, b, ways, nb, key, code):
    return K.position_probe(kp, b, ways, nb, np.uint64(key), np.uint64(code))


@njit(cache=False)
def _account_probe(kt, base, ways, key):
    return K.account_probe(kt, base, ways, np.uint64(key))
