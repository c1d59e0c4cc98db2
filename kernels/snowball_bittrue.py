"""Bit-true Numba model of the snowball hardware kernel (``backend="bit-true"``).

Every integer operation here is the one the RTL in ``hdl/snowball`` performs,
with the formats of :mod:`kernels.snowball_fixed`, so the model predicts the
hardware's accumulators exactly.  Accumulation is integer and therefore
independent of order, lane count and thread count.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels import snowball_fixed as F
from kernels.threefry import split_seed, threefry2x32

_C0 = F.NORM_C0
_C1 = F.NORM_C1
_C2 = F.NORM_C2
_EXP = F.EXP_TABLE
_SEG = F.NORM_SEG_BITS
_TB = F.NORM_T_BITS
_RS = F.NORM_ROUND_SHIFT
_LN2 = F.LN2_Q
_PAY_SAT = F.PAY_SAT
_SQ = F.SQ_SHIFT
#: pairs per independent chunk (keeps every int64 partial sum far from overflow)
CHUNK = 4096
N_ACC = 8  # SUM_PAY, SUM_SQ, SUM_ACC, SUM_LOSS, N_KO, N_KI, N_MAT, SUM_LIFE


@njit(cache=True)
def normal_fixed(w):
    """Fixed-point inverse normal CDF of a 32-bit word: z * 2**Z_FRAC as an integer (antisymmetric)."""
    w = np.int64(w)
    upper = w >> 31
    h = (w ^ 0xFFFFFFFF) if upper else w
    g = (h << 1) | 1
    e = 0
    while ((g << e) & 0x80000000) == 0:
        e += 1
    m = (g << e) & 0xFFFFFFFF
    i = (e << _SEG) | ((m >> (31 - _SEG)) & ((1 << _SEG) - 1))
    t = (m >> (31 - _SEG - _TB)) & ((1 << _TB) - 1)
    a = (_C2[i] * t) >> _TB
    b = _C1[i] + a
    p = (b * t) >> _TB
    zf = _C0[i] + p
    z = (zf + (1 << (_RS - 1))) >> _RS
    return -z if upper else z


@njit(cache=True)
def exp2_fixed(y):
    """2**(y / 2**X_FRAC) in payoff units (2**-PAY_FRAC), saturating at PAY_SAT."""
    y = np.int64(y)
    n = y >> 32
    f = y & 0xFFFFFFFF
    i = f >> 22
    rr = (f & 0x3FFFFF) >> 5
    s1 = (rr * _LN2) >> 12
    s1h = s1 >> 8
    s2 = (s1h * s1h) >> 17
    poly = s1 + s2
    t = _EXP[i]
    e = t + (((t >> 17) * (poly >> 4)) >> 11)
    sh = n + 6
    if sh > 11:
        return np.int64(_PAY_SAT)
    if sh >= 0:
        return e << sh
    if sh <= -36:
        return np.int64(0)
    return e >> (-sh)


@njit(cache=True)
def normal_fixed_array(words):
    """normal_fixed over an array of words (int64 results)."""
    out = np.empty(words.shape[0], np.int64)
    for i in range(words.shape[0]):
        out[i] = normal_fixed(words[i])
    return out


@njit(cache=True)
def exp2_fixed_array(ys):
    """exp2_fixed over an array of log2 values (int64 results)."""
    out = np.empty(ys.shape[0], np.int64)
    for i in range(ys.shape[0]):
        out[i] = exp2_fixed(ys[i])
    return out


@njit(cache=True)
def increment_fixed(w, s, dmant, dshift, drift):
    """Log2-price increment of path s (0: +z, 1: -z) of a pair for the word w (X_FRAC units)."""
    dz = (dmant * normal_fixed(w)) >> dshift
    return drift - dz if s else drift + dz


@njit(cache=True)
def loss_fixed(x, ln_disc, disc_strike, disc_floor):
    """Discounted KI loss max(min(D*2**x - D*K, 0), -D*floor) in payoff units."""
    e = exp2_fixed(x + ln_disc)
    v = e - disc_strike
    if v > 0:
        v = 0
    if v < -disc_floor:
        v = -disc_floor
    return v


@njit(cache=True)
def _run_pairs(k0, k1, p0, p1, n, x0, drift, dmant, dshift, ki_daily, ki_mat, ki0, ki_q,
               mat_pay, ln_disc, dk, df, obs, ko_q, ko_pay, ko_acc, out):
    n_obs = obs.shape[0]
    for p in range(p0, p1):
        x_a = x0
        x_b = x0
        ki_a = ki0
        ki_b = ki0
        done_a = False
        done_b = False
        pay_a = np.int64(0)
        pay_b = np.int64(0)
        k = 0
        w1 = np.int64(0)
        for j in range(n):
            if (j & 1) == 0:
                r0, r1 = threefry2x32(np.uint32(p), np.uint32(j >> 1), k0, k1)
                w = np.int64(r0)
                w1 = np.int64(r1)
            else:
                w = w1
            z = normal_fixed(w)
            dz = (dmant * z) >> dshift
            last = j == n - 1
            is_obs = k < n_obs and obs[k] == j + 1
            for s in range(2):
                if s == 0:
                    if done_a:
                        continue
                    x_a += drift + dz
                    x = x_a
                    ki = ki_a
                else:
                    if done_b:
                        continue
                    x_b += drift - dz
                    x = x_b
                    ki = ki_b
                if (ki_daily or (ki_mat and last)) and x < ki_q:
                    ki = 1
                ko = is_obs and x >= ko_q[k]
                term = ko or last
                if term:
                    if ko:
                        pay = ko_pay[k]
                        out[2] += ko_acc[k]
                        out[4] += 1
                    elif ki:
                        pay = loss_fixed(x, ln_disc, dk, df)
                        out[3] += pay
                    else:
                        pay = mat_pay
                        out[6] += 1
                    out[0] += pay
                    out[5] += ki
                    out[7] += j + 1
                if s == 0:
                    ki_a = ki
                    if term:
                        done_a = True
                        pay_a = pay
                else:
                    ki_b = ki
                    if term:
                        done_b = True
                        pay_b = pay
            if is_obs:
                k += 1
            if done_a and done_b:
                break
        q = (pay_a + pay_b + (1 << (_SQ - 1))) >> _SQ
        out[1] += q * q


@njit(cache=True, parallel=True)
def _kernel(k0, k1, n_pairs, n, x0, drift, dmant, dshift, ki_daily, ki_mat, ki0, ki_q,
            mat_pay, ln_disc, dk, df, obs, ko_q, ko_pay, ko_acc):
    n_chunks = (n_pairs + CHUNK - 1) // CHUNK
    parts = np.zeros((n_chunks, N_ACC), np.int64)
    for c in prange(n_chunks):
        p0 = c * CHUNK
        p1 = min(n_pairs, p0 + CHUNK)
        _run_pairs(k0, k1, p0, p1, n, x0, drift, dmant, dshift, ki_daily, ki_mat, ki0, ki_q,
                   mat_pay, ln_disc, dk, df, obs, ko_q, ko_pay, ko_acc, parts[c])
    return parts


def accumulate_bittrue(fs: F.FixedSchedule, n_pairs: int, seed: int) -> dict:
    """Exact integer accumulators (python ints, keyed as F.ACC_NAMES) the hardware would report."""
    if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or not 1 <= n_pairs <= F.MAX_PAIRS:
        raise ValueError(f"n_pairs: must be an integer in [1, {F.MAX_PAIRS}], got {n_pairs!r}")
    k0, k1 = split_seed(seed)
    parts = _kernel(np.uint32(k0), np.uint32(k1), int(n_pairs), fs.n_steps, fs.x0, fs.drift, fs.dmant, fs.dshift,
                    fs.ki_daily, fs.ki_mat, fs.ki0, fs.ki_q, fs.mat_pay, fs.ln_disc, fs.disc_strike, fs.disc_floor,
                    fs.obs_step, fs.ko_q, fs.ko_pay, fs.ko_acc)
    # python ints: exact however many chunks are added
    tot = [sum(int(v) for v in parts[:, i]) for i in range(N_ACC)]
    order = ("SUM_PAY", "SUM_SQ", "SUM_ACC", "SUM_LOSS", "N_KO", "N_KI", "N_MAT", "SUM_LIFE")
    return dict(zip(order, tot))


def mc_sums_bittrue(sched, n_pairs: int, seed: int):
    """McSums of the bit-true hardware model for a lowered Schedule (what backend="rtl" returns, bit for bit)."""
    fs = F.quantize(sched)
    return F.to_mcsums(accumulate_bittrue(fs, n_pairs, seed), n_pairs, fs)
