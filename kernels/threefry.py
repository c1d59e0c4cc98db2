"""Threefry-2x32-20: the counter-based generator shared by every Monte Carlo backend.

Reference: J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random
numbers: as easy as 1, 2, 3", SC11 (Random123). Threefry is add-rotate-xor only
(no multipliers), so the same function is a few hundred LUTs of pipelined
adders in the FPGA kernel (``hdl/snowball``) and a handful of integer ops per
word in the Numba kernels. The RTL reproduces this function bit for bit.

Stream contract (see ``kernels/RNG.md``): key = (seed & 0xFFFFFFFF, seed >> 32),
counter = (stream index, block index); one call yields two 32-bit words.
"""
from __future__ import annotations

import numpy as np
from numba import njit

#: Rotation constants R_32x2 of Threefry-2x32 (Random123 ``threefry.h``).
ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
#: Skein key-schedule parity constant.
KS_PARITY = 0x1BD11BDA
#: Number of rounds (the Random123 default and the one with published known answers).
ROUNDS = 20
MASK32 = 0xFFFFFFFF

#: Known-answer vectors of Random123 ``kat_vectors`` for threefry2x32_20:
#: ((ctr0, ctr1), (key0, key1)) -> (out0, out1).
KNOWN_ANSWERS = (
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)),
)


def split_seed(seed: int) -> tuple[int, int]:
    """Return the Threefry key (k0, k1) for a 64-bit seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed: must be an integer in [0, 2**64), got {seed!r}")
    seed = int(seed)
    return seed & MASK32, seed >> 32


@njit(inline="always", cache=True)
def _rotl32(x, r):
    return ((x << np.uint32(r)) | (x >> np.uint32(32 - r))) & np.uint32(0xFFFFFFFF)


@njit(cache=True)
def threefry2x32(c0, c1, k0, k1):
    """Threefry-2x32-20 of counter (c0, c1) under key (k0, k1); returns two uint32 words."""
    c0 = np.uint32(c0)
    c1 = np.uint32(c1)
    k0 = np.uint32(k0)
    k1 = np.uint32(k1)
    k2 = np.uint32(KS_PARITY) ^ k0 ^ k1
    x0 = np.uint32(c0 + k0)
    x1 = np.uint32(c1 + k1)
    # 5 groups of 4 rounds, each followed by a key injection (unrolled: the
    # same schedule the RTL pipeline uses, one stage per round).
    for g in range(5):
        base = (g & 1) * 4
        for i in range(4):
            x0 = np.uint32(x0 + x1)
            x1 = _rotl32(x1, ROTATIONS[base + i])
            x1 = x1 ^ x0
        s = g + 1
        m = s % 3
        if m == 0:
            x0 = np.uint32(x0 + k0)
            x1 = np.uint32(x1 + k1)
        elif m == 1:
            x0 = np.uint32(x0 + k1)
            x1 = np.uint32(x1 + k2)
        else:
            x0 = np.uint32(x0 + k2)
            x1 = np.uint32(x1 + k0)
        x1 = np.uint32(x1 + np.uint32(s))
    return x0, x1


def threefry2x32_py(c0: int, c1: int, k0: int, k1: int) -> tuple[int, int]:
    """Pure-Python Threefry-2x32-20 (readable reference, independent of Numba)."""
    rot = lambda x, r: ((x << r) | (x >> (32 - r))) & MASK32  # noqa: E731
    ks = (k0, k1, KS_PARITY ^ k0 ^ k1)
    x0, x1 = (c0 + ks[0]) & MASK32, (c1 + ks[1]) & MASK32
    for rnd in range(ROUNDS):
        x0 = (x0 + x1) & MASK32
        x1 = rot(x1, ROTATIONS[rnd % 8]) ^ x0
        if rnd % 4 == 3:
            s = rnd // 4 + 1
            x0 = (x0 + ks[s % 3]) & MASK32
            x1 = (x1 + ks[(s + 1) % 3] + s) & MASK32
    return x0, x1
