"""Plain-numpy reference Monte Carlo for snowball notes (``backend="numpy"``).

Written the way most open-source snowball pricers are: draw the full matrix of
normals, build log paths with ``cumsum``, then find knock-out and knock-in
events with vectorised masks. It follows the random-stream contract of
``kernels/RNG.md`` (Threefry-2x32-20, AS241), so it prices exactly the paths
of the Numba kernel: an independent implementation of the same estimator,
and the baseline of the benchmarks. Pairs are processed in batches so that
a million paths do not need a 2 GB path matrix.
"""
from __future__ import annotations

import numpy as np

from kernels.normal import ppnd16_np
from kernels.snowball_schedule import KI_DAILY, KI_MATURITY, Schedule
from kernels.threefry import KS_PARITY, ROTATIONS, split_seed
from pricing.result import McSums

#: Pairs per batch (16k paths x 252 steps x 8 bytes = 33 MB per matrix).
BATCH_PAIRS = 8192


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32_np(c0: np.ndarray, c1: np.ndarray, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32-20 over arrays of counters (uint32 arithmetic wraps, as in the reference)."""
    ks = (np.uint32(k0), np.uint32(k1), np.uint32(KS_PARITY ^ k0 ^ k1))
    x0 = c0.astype(np.uint32) + ks[0]
    x1 = c1.astype(np.uint32) + ks[1]
    for rnd in range(20):
        x0 = x0 + x1
        x1 = _rotl(x1, ROTATIONS[rnd % 8]) ^ x0
        if rnd % 4 == 3:
            s = rnd // 4 + 1
            x0 = x0 + ks[s % 3]
            x1 = x1 + ks[(s + 1) % 3] + np.uint32(s)
    return x0, x1


def normals(pair_lo: int, n_pairs: int, n_steps: int, seed: int) -> np.ndarray:
    """Normals [n_pairs, n_steps] of pairs pair_lo.. (step j: word j&1 of block j>>1)."""
    k0, k1 = split_seed(seed)
    n_blocks = (n_steps + 1) // 2
    c0 = np.repeat(np.arange(pair_lo, pair_lo + n_pairs, dtype=np.uint64).astype(np.uint32), n_blocks)
    c1 = np.tile(np.arange(n_blocks, dtype=np.uint32), n_pairs)
    w0, w1 = threefry2x32_np(c0, c1, k0, k1)
    words = np.empty((n_pairs, 2 * n_blocks), np.uint32)
    words[:, 0::2] = w0.reshape(n_pairs, n_blocks)
    words[:, 1::2] = w1.reshape(n_pairs, n_blocks)
    u = (words[:, :n_steps].astype(np.float64) + 0.5) / 2.0**32
    return ppnd16_np(u)


def _batch(s: Schedule, pair_lo: int, P: int, seed: int) -> np.ndarray:
    N = s.n_steps
    z = normals(pair_lo, P, N, seed)
    z = np.concatenate([z, -z])                      # antithetic: rows P.. are the partners
    x = s.x0 + np.cumsum(s.drift + s.diffusion * z, axis=1)
    rows = np.arange(2 * P)
    if s.n_obs:
        ko_hit = x[:, s.obs_step - 1] >= s.ko_log
        any_ko = ko_hit.any(axis=1)
        first = np.argmax(ko_hit, axis=1)
    else:
        any_ko = np.zeros(2 * P, bool)
        first = np.zeros(2 * P, np.int64)
    term = np.where(any_ko, s.obs_step[first] if s.n_obs else N, N)
    if s.ki_mode == KI_DAILY:
        ki_by = np.logical_or.accumulate(x < s.ki_log, axis=1)
        ki = ki_by[rows, term - 1] | s.knocked_in
    elif s.ki_mode == KI_MATURITY:
        ki = ~any_ko & (x[:, N - 1] < s.ki_log)
    else:
        ki = np.zeros(2 * P, bool)
    loss = np.where(~any_ko & ki,
                    np.maximum(np.minimum(np.exp(x[:, N - 1]) - s.ki_strike, 0.0), -s.floor) * s.mat_disc, 0.0)
    ko_pay = np.where(any_ko, s.ko_payoff[first] if s.n_obs else 0.0, 0.0)
    mat_plain = ~any_ko & ~ki
    pay = ko_pay + loss + np.where(mat_plain, s.mat_coupon_payoff, 0.0)
    pair = 0.5 * (pay[:P] + pay[P:])
    ko_acc = np.where(any_ko, (s.ko_accrual * s.ko_disc)[first] if s.n_obs else 0.0, 0.0)
    return np.array([pair.sum(), (pair * pair).sum(), any_ko.sum(), ki.sum(), term.sum(),
                     ko_acc.sum(), mat_plain.sum() * s.mat_accrual * s.mat_disc, loss.sum()])


def mc_sums_numpy(sched: Schedule, n_pairs: int, seed: int, tick=None) -> McSums:
    """Monte Carlo sums of ``n_pairs`` antithetic pairs with the plain-numpy pricer."""
    if n_pairs < 1:
        raise ValueError(f"paths: must be >= 2, got {2 * n_pairs}")
    tot = np.zeros(8)
    for lo in range(0, n_pairs, BATCH_PAIRS):
        P = min(BATCH_PAIRS, n_pairs - lo)
        tot += _batch(sched, lo, P, seed)
        if tick is not None:
            tick(P)
    return McSums(n_pairs=n_pairs, sum_pair=float(tot[0]), sum_pair_sq=float(tot[1]), n_ko=int(tot[2]),
                  n_ki=int(tot[3]), sum_life_days=float(tot[4]), sum_ko_accrual=float(tot[5]),
                  sum_mat_accrual=float(tot[6]), sum_loss=float(tot[7]))
