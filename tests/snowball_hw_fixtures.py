"""Shared fixtures of the snowball hardware tests: contract zoo and a float64 reference on the same uniforms."""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from kernels.normal import ppnd16
from kernels.snowball_schedule import KI_DAILY, KI_MATURITY
from kernels.threefry import split_seed, threefry2x32
from sim.snowball.contracts import contract_zoo, random_contract, zoo_schedules  # noqa: F401
from pricing.result import McSums


@njit(cache=True)
def _float_pairs(k0, k1, n_pairs, n, x0, drift, diff, ki_daily, ki_mat, ki0, ki_log, obs, ko_log, ko_pay, ko_acc,
                 mat_pay, mat_disc, strike, floor, out):
    n_obs = obs.shape[0]
    for p in range(n_pairs):
        xa = x0
        xb = x0
        ki = np.array([ki0, ki0])
        done = np.array([False, False])
        pays = np.zeros(2)
        k = 0
        w1 = 0.0
        for j in range(n):
            if (j & 1) == 0:
                r0, r1 = threefry2x32(np.uint32(p), np.uint32(j >> 1), k0, k1)
                w = float(r0)
                w1 = float(r1)
            else:
                w = w1
            z = ppnd16((w + 0.5) / 4294967296.0)
            last = j == n - 1
            is_obs = k < n_obs and obs[k] == j + 1
            for s in range(2):
                if done[s]:
                    continue
                if s == 0:
                    xa += drift + diff * z
                    x = xa
                else:
                    xb += drift - diff * z
                    x = xb
                if (ki_daily or (ki_mat and last)) and x < ki_log:
                    ki[s] = 1
                ko = is_obs and x >= ko_log[k]
                if ko or last:
                    if ko:
                        pay = ko_pay[k]
                        out[2] += ko_acc[k]
                        out[4] += 1
                    elif ki[s]:
                        pay = mat_disc * max(min(math.exp(x) - strike, 0.0), -floor)
                        out[3] += pay
                    else:
                        pay = mat_pay
                        out[6] += 1
                    pays[s] = pay
                    out[5] += ki[s]
                    out[7] += j + 1
                    done[s] = True
            if is_obs:
                k += 1
            if done[0] and done[1]:
                break
        v = 0.5 * (pays[0] + pays[1])
        out[0] += v
        out[1] += v * v


def float_reference(sched, n_pairs: int, seed: int) -> McSums:
    """float64 Monte Carlo (AS241 normals, ln-space path) on exactly the uniforms of kernels/RNG.md."""
    k0, k1 = split_seed(seed)
    out = np.zeros(8)
    _float_pairs(np.uint32(k0), np.uint32(k1), n_pairs, sched.n_steps, sched.x0, sched.drift, sched.diffusion,
                 sched.ki_mode == KI_DAILY, sched.ki_mode == KI_MATURITY, int(sched.knocked_in), sched.ki_log,
                 np.asarray(sched.obs_step, np.int64), np.asarray(sched.ko_log, np.float64),
                 np.asarray(sched.ko_payoff, np.float64), np.asarray(sched.ko_accrual * sched.ko_disc, np.float64),
                 sched.mat_coupon_payoff, sched.mat_disc, sched.ki_strike, sched.floor, out)
    return McSums(n_pairs=n_pairs, sum_pair=out[0], sum_pair_sq=out[1], n_ko=int(out[4]), n_ki=int(out[5]),
                  sum_life_days=out[7], sum_ko_accrual=out[2], sum_mat_accrual=out[6] * sched.mat_disc * sched.mat_accrual,
                  sum_loss=out[3])
