"""Numba parallel Monte Carlo for snowball notes (``backend="cpu"``).

Design (why it is fast and reproducible):

* Pairs of antithetic paths are processed in fixed chunks of ``CHUNK`` pairs.
  Each chunk writes its own partial sums; they are reduced in chunk order, so
  the result does not depend on the number of threads (bit-identical).
* Inside a chunk the step loop is outermost and the loop over pairs innermost,
  so LLVM vectorises Threefry (uint32 add-rotate-xor) and the central branch
  of AS241 across pairs; the rare AS241 tail is fixed up in a second loop.
* A pair whose paths have all terminated (in every scenario) is retired at the
  next KO observation and the active set is compacted: only the path-steps
  of live pairs are simulated (``path_steps`` reports them).
* Greeks share one pass over the same normals: every scenario (spot up/down,
  vol up, rate up, one day later) is a log path ``x = x0_s + drift_s * n +
  diff_s * (W(n) - W(o_s))`` of the same cumulative normal sum ``W``; a
  scenario valued one day later (``o_s = 1``) sees the same calendar-day shocks.

The random streams follow ``kernels/RNG.md`` exactly (the plain-numpy pricer
and the hardware use the same ones).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from numba import njit, prange

from kernels.normal import SPLIT1, central, tail_batch_u32
from kernels.snowball_schedule import KI_DAILY, KI_MATURITY, Schedule
from kernels.threefry import KS_PARITY, ROTATIONS, split_seed

#: Pairs per chunk: the unit of work and of partial sums (fixed: results depend on it, never on threads).
CHUNK = 512
#: Chunks per kernel call (a call is one progress-bar tick).
CHUNKS_PER_CALL = 128

# Columns of the per-chunk partial sums.
F_SUM, F_SQ, F_NKO, F_NKI, F_LIFE, F_KOACC, F_MATACC, F_LOSS, F_STEPS = range(9)
N_FIXED = 9
INV_2_32 = 1.0 / 4294967296.0


@dataclass(frozen=True)
class ScenarioTables:
    """Scenarios of one pass, laid out on the base valuation's step grid ``n = 1..N``."""

    n_steps: int
    x0: np.ndarray          # [S] log-moneyness at each scenario's valuation
    drift: np.ndarray       # [S]
    diff: np.ndarray        # [S]
    offset: np.ndarray      # [S] int64: 0, or 1 for "valued one day later"
    obs: np.ndarray         # [S, N+1] uint8: KO observation of scenario s at base step n
    obs_any: np.ndarray     # [N+1] uint8
    ko_log: np.ndarray      # [S, N+1]
    ko_pay: np.ndarray      # [S, N+1] discounted KO coupon per unit notional
    ko_accdisc: np.ndarray  # [N+1] base scenario: accrual * discount (per unit coupon)
    mat_cpn: np.ndarray     # [S] discounted maturity coupon payoff
    mat_disc: np.ndarray    # [S]
    mat_acc_disc: float     # base: maturity accrual * discount (per unit maturity coupon)
    ki_mode: int
    ki_log: float
    knocked_in: bool
    ki_strike: float
    floor: float


def build_tables(scheds: Sequence[Schedule], offsets: Sequence[int]) -> ScenarioTables:
    """Lay scenario schedules (base first) on the base step grid; offset 1 = valued a day later."""
    base = scheds[0]
    N = base.n_steps
    S = len(scheds)
    obs = np.zeros((S, N + 1), np.uint8)
    ko_log = np.zeros((S, N + 1))
    ko_pay = np.zeros((S, N + 1))
    for s, (sc, o) in enumerate(zip(scheds, offsets)):
        if sc.n_steps != N - o:
            raise ValueError("scenario schedules must end on the same maturity")
        if (sc.ki_mode, sc.ki_log, sc.knocked_in) != (base.ki_mode, base.ki_log, base.knocked_in):
            raise ValueError("scenario schedules must share the knock-in terms and state")
        steps = sc.obs_step + o
        obs[s, steps] = 1
        ko_log[s, steps] = sc.ko_log
        ko_pay[s, steps] = sc.ko_payoff
    accdisc = np.zeros(N + 1)
    accdisc[base.obs_step] = base.ko_accrual * base.ko_disc
    return ScenarioTables(
        n_steps=N,
        x0=np.array([s.x0 for s in scheds]),
        drift=np.array([s.drift for s in scheds]),
        diff=np.array([s.diffusion for s in scheds]),
        offset=np.array(offsets, np.int64),
        obs=obs,
        obs_any=obs.max(axis=0).astype(np.uint8),
        ko_log=ko_log,
        ko_pay=ko_pay,
        ko_accdisc=accdisc,
        mat_cpn=np.array([s.mat_coupon_payoff for s in scheds]),
        mat_disc=np.array([s.mat_disc for s in scheds]),
        mat_acc_disc=base.mat_accrual * base.mat_disc,
        ki_mode=base.ki_mode,
        ki_log=base.ki_log,
        knocked_in=base.knocked_in,
        ki_strike=base.ki_strike,
        floor=base.floor,
    )


_U32 = np.uint32


@njit(inline="always", cache=True)
def _rotl(x, r):
    return _U32((x << _U32(r)) | (x >> _U32(32 - r)))


@njit(inline="always", cache=True)
def threefry2x32_inline(c0, c1, k0, k1):
    """Threefry-2x32-20 (same function as ``kernels.threefry.threefry2x32``), written to inline.

    Every intermediate is cast back to uint32 so LLVM sees 32-bit add-rotate-xor
    and vectorises the caller's loop over pairs (vprold); the reference
    version is a call LLVM does not vectorise. Equality is tested.
    """
    k2 = _U32(_U32(KS_PARITY) ^ k0 ^ k1)
    x0 = _U32(c0 + k0)
    x1 = _U32(c1 + k1)
    for g in range(5):
        base = (g & 1) * 4
        for i in range(4):
            x0 = _U32(x0 + x1)
            x1 = _U32(_rotl(x1, ROTATIONS[base + i]) ^ x0)
        m = (g + 1) % 3
        if m == 0:
            x0 = _U32(x0 + k0)
            x1 = _U32(x1 + _U32(k1 + _U32(g + 1)))
        elif m == 1:
            x0 = _U32(x0 + k1)
            x1 = _U32(x1 + _U32(k2 + _U32(g + 1)))
        else:
            x0 = _U32(x0 + k2)
            x1 = _U32(x1 + _U32(k0 + _U32(g + 1)))
    return x0, x1


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _ki_update(m, ap, am, kp, km, W, W1, fo, cn, ds, ki_log):
    """ki |= alive & (x < KI barrier) for both paths of m pairs, in 0/1 arithmetic (branch-free)."""
    if fo == 0.0:
        for i in range(m):
            we = ds * W[i]
            hp = ap[i] if cn + we < ki_log else 0.0
            hm = am[i] if cn - we < ki_log else 0.0
            kp[i] = kp[i] + hp - kp[i] * hp
            km[i] = km[i] + hm - km[i] * hm
    else:
        for i in range(m):
            we = ds * (W[i] - W1[i])
            hp = ap[i] if cn + we < ki_log else 0.0
            hm = am[i] if cn - we < ki_log else 0.0
            kp[i] = kp[i] + hp - kp[i] * hp
            km[i] = km[i] + hm - km[i] * hm


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _ko_update(m, ap, am, vp, vm, kp_step, km_step, base, W, W1, fo, cn, ds, kol, pay, fn):
    """KO at an observation: pay the coupon to live paths at/above the barrier and end them."""
    for i in range(m):
        we = ds * (W[i] - fo * W1[i])
        hp = ap[i] if cn + we >= kol else 0.0
        hm = am[i] if cn - we >= kol else 0.0
        vp[i] += hp * pay
        vm[i] += hm * pay
        ap[i] -= hp
        am[i] -= hm
        if base:
            kp_step[i] += hp * fn
            km_step[i] += hm * fn


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _draw(m, ids, kc, k0, k1, wa, wb, ua, ub, za, zb, tix, t_r, t_e):
    """Normals of block kc (steps 2kc and 2kc+1) for m pairs: za, zb (RNG.md)."""
    for i in range(m):
        w0, w1 = threefry2x32_inline(ids[i], kc, k0, k1)
        wa[i] = w0
        wb[i] = w1
    for i in range(m):
        u0 = (np.float64(wa[i]) + 0.5) * INV_2_32
        u1 = (np.float64(wb[i]) + 0.5) * INV_2_32
        ua[i] = u0
        ub[i] = u1
        za[i] = central(u0 - 0.5)
        zb[i] = central(u1 - 0.5)
    # AS241 tails (about 15% of draws): compact their indices without
    # branches, then evaluate them in one vectorised batch.
    nt = 0
    for i in range(m):
        tix[nt] = i
        nt += abs(ua[i] - 0.5) > SPLIT1
    tail_batch_u32(ua, tix, nt, za, t_r, t_e)
    nt = 0
    for i in range(m):
        tix[nt] = i
        nt += abs(ub[i] - 0.5) > SPLIT1
    tail_batch_u32(ub, tix, nt, zb, t_r, t_e)


# error_model="numpy": no ZeroDivisionError branches, which would block vectorisation.
@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _chunk(k0, k1, p0, B, N, x0, drift, diff, off, obs, obs_any, ko_log, ko_pay, ko_accdisc,
           mat_cpn, mat_disc, mat_acc_disc, ki_mode, ki_log, knocked_in, ki_strike, floor, acc):
    S = x0.shape[0]
    ids = np.empty(B, np.uint32)
    W = np.zeros(B)
    W1 = np.zeros(B)
    za = np.empty(B)
    zb = np.empty(B)
    ua = np.empty(B)
    wa = np.empty(B, np.uint32)
    tix = np.empty(B, np.int64)
    t_r = np.empty(B)
    t_e = np.empty(B, np.int64)
    wb = np.empty(B, np.uint32)
    ub = np.empty(B)
    alive = np.ones((S, 2, B))
    ki0 = 1.0 if knocked_in else 0.0
    ki = np.full((S, 2, B), ki0)
    val = np.zeros((S, 2, B))
    kostep = np.zeros((2, B))  # KO step of the base scenario's paths (0: none), as float for vectorisation
    loss = np.zeros((2, B))
    for i in range(B):
        ids[i] = np.uint32(p0 + i)
    m = B
    steps = 0
    for n in range(1, N + 1):
        j = n - 1
        if (j & 1) == 0:
            _draw(m, ids, np.uint32(j >> 1), k0, k1, wa, wb, ua, ub, za, zb, tix, t_r, t_e)
            for i in range(m):
                W[i] += za[i]
        else:
            for i in range(m):
                W[i] += zb[i]
        if n == 1:
            for i in range(m):
                W1[i] = W[i]
        steps += 2 * m
        do_ki = ki_mode == KI_DAILY or (ki_mode == KI_MATURITY and n == N)
        for s in range(S):
            o = off[s]
            if n <= o:
                continue
            cn = x0[s] + drift[s] * (n - o)
            ds = diff[s]
            fo = np.float64(o)
            # Per-scenario updates live in separate (non-inlined) functions: inlined
            # into this loop nest, LLVM vectorises only the first scenario's pass.
            if do_ki:
                _ki_update(m, alive[s, 0], alive[s, 1], ki[s, 0], ki[s, 1], W, W1, fo, cn, ds, ki_log)
            if obs[s, n]:
                _ko_update(m, alive[s, 0], alive[s, 1], val[s, 0], val[s, 1], kostep[0], kostep[1], s == 0,
                           W, W1, fo, cn, ds, ko_log[s, n], ko_pay[s, n], np.float64(n))
            if n == N:
                for i in range(m):
                    we = ds * (W[i] - fo * W1[i])
                    for g in range(2):
                        if alive[s, g, i] > 0.0:
                            x = cn + we if g == 0 else cn - we
                            if ki[s, g, i] > 0.0:
                                lv = max(min(np.exp(x) - ki_strike, 0.0), -floor) * mat_disc[s]
                                val[s, g, i] += lv
                                if s == 0:
                                    loss[g, i] = lv
                            else:
                                val[s, g, i] += mat_cpn[s]
        if n == N or obs_any[n]:
            # Retire finished pairs (all at maturity) and compact the live ones.
            keep = 0
            for i in range(m):
                live = False
                if n < N:
                    for s in range(S):
                        if alive[s, 0, i] > 0.0 or alive[s, 1, i] > 0.0:
                            live = True
                if live:
                    if keep != i:
                        ids[keep] = ids[i]
                        W[keep] = W[i]
                        W1[keep] = W1[i]
                        zb[keep] = zb[i]
                        for s in range(S):
                            for g in range(2):
                                alive[s, g, keep] = alive[s, g, i]
                                ki[s, g, keep] = ki[s, g, i]
                                val[s, g, keep] = val[s, g, i]
                        for g in range(2):
                            kostep[g, keep] = kostep[g, i]
                    keep += 1
                else:
                    v0 = 0.5 * (val[0, 0, i] + val[0, 1, i])
                    acc[F_SUM] += v0
                    acc[F_SQ] += v0 * v0
                    for g in range(2):
                        ks = np.int64(kostep[g, i])
                        if ks > 0:
                            acc[F_NKO] += 1.0
                            acc[F_LIFE] += ks
                            acc[F_KOACC] += ko_accdisc[ks]
                        else:
                            acc[F_LIFE] += N
                            if ki[0, g, i] == 0.0:
                                acc[F_MATACC] += mat_acc_disc
                        acc[F_NKI] += ki[0, g, i]
                        acc[F_LOSS] += loss[g, i]
                    for s in range(S):
                        acc[N_FIXED + s] += 0.5 * (val[s, 0, i] + val[s, 1, i])
            m = keep
            if m == 0:
                break
    acc[F_STEPS] = steps


@njit(cache=True, parallel=True)
def _kernel(k0, k1, c_lo, c_hi, n_pairs, N, x0, drift, diff, off, obs, obs_any, ko_log, ko_pay,
            ko_accdisc, mat_cpn, mat_disc, mat_acc_disc, ki_mode, ki_log, knocked_in, ki_strike, floor):
    S = x0.shape[0]
    nc = c_hi - c_lo
    out = np.zeros((nc, N_FIXED + S))
    for c in prange(nc):
        p0 = (c_lo + c) * CHUNK
        B = min(CHUNK, n_pairs - p0)
        _chunk(k0, k1, p0, B, N, x0, drift, diff, off, obs, obs_any, ko_log, ko_pay, ko_accdisc,
               mat_cpn, mat_disc, mat_acc_disc, ki_mode, ki_log, knocked_in, ki_strike, floor, out[c])
    return out


def run_tables(t: ScenarioTables, n_pairs: int, seed: int,
               tick: Callable[[int], None] | None = None) -> np.ndarray:
    """Run the kernel over ``n_pairs`` pairs; returns the chunk-order reduced sums [N_FIXED + S]."""
    if n_pairs < 1 or n_pairs > 2**32:
        raise ValueError(f"paths: must be in [2, 2**33], got {2 * n_pairs}")
    k0, k1 = split_seed(seed)
    n_chunks = -(-n_pairs // CHUNK)
    parts = []
    for c_lo in range(0, n_chunks, CHUNKS_PER_CALL):
        c_hi = min(c_lo + CHUNKS_PER_CALL, n_chunks)
        parts.append(_kernel(np.uint32(k0), np.uint32(k1), c_lo, c_hi, n_pairs, t.n_steps, t.x0, t.drift,
                             t.diff, t.offset, t.obs, t.obs_any, t.ko_log, t.ko_pay, t.ko_accdisc,
                             t.mat_cpn, t.mat_disc, t.mat_acc_disc, t.ki_mode, t.ki_log, t.knocked_in,
                             t.ki_strike, t.floor))
        if tick is not None:
            tick(min(c_hi * CHUNK, n_pairs) - min(c_lo * CHUNK, n_pairs))
    return _reduce_in_order(np.concatenate(parts))


@njit(cache=True)
def _reduce_in_order(parts):
    tot = np.zeros(parts.shape[1])
    for c in range(parts.shape[0]):
        for f in range(parts.shape[1]):
            tot[f] += parts[c, f]
    return tot


def mc_pass(scheds: Sequence[Schedule], offsets: Sequence[int], n_pairs: int, seed: int,
            tick: Callable[[int], None] | None = None):
    """One pass over shared normals: (base McSums, per-scenario mean pair values, path-steps simulated)."""
    from pricing.result import McSums
    t = build_tables(scheds, offsets)
    tot = run_tables(t, n_pairs, seed, tick)
    sums = McSums(n_pairs=n_pairs, sum_pair=float(tot[F_SUM]), sum_pair_sq=float(tot[F_SQ]),
                  n_ko=int(tot[F_NKO]), n_ki=int(tot[F_NKI]), sum_life_days=float(tot[F_LIFE]),
                  sum_ko_accrual=float(tot[F_KOACC]), sum_mat_accrual=float(tot[F_MATACC]),
                  sum_loss=float(tot[F_LOSS]))
    values = tot[N_FIXED:] / n_pairs
    return sums, values, int(tot[F_STEPS])


def mc_sums_cpu(sched: Schedule, n_pairs: int, seed: int, tick: Callable[[int], None] | None = None):
    """Monte Carlo sums of ``n_pairs`` antithetic pairs on the Numba kernel (``backend="cpu"``)."""
    return mc_pass([sched], [0], n_pairs, seed, tick)[0]
