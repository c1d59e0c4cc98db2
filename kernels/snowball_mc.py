"""Numba parallel Monte Carlo for snowball notes (``backend="cpu"``).

Design (why it is fast and reproducible):

* Pairs of antithetic paths are processed in fixed chunks of ``CHUNK`` pairs.
  Each chunk writes its own partial sums; they are reduced in chunk order, so
  the result does not depend on the number of threads (bit-identical).
* Inside a chunk the step loop is outermost and the loop over pairs innermost,
  so LLVM vectorises across pairs. Each hot loop is its own small function
  marked ``prefer_512_bit()`` (``kernels/vector_width.py``): zmm registers,
  16 Threefry lanes per add/rotate/xor instead of 8 (LLVM's Cascade Lake
  tuning otherwise stays at ymm).
* Normals of a block (two steps): Threefry words into two arrays; the AS241
  central branch for every word; the tail words (~15%) are found with one
  exact integer compare per word and packed, with their positions, by
  AVX-512 compress (``kernels/simd_compact.py``), evaluated in one
  vectorised batch and scattered back.
* Knock-in is a running minimum of each log path (KI iff the minimum closes
  strictly below the barrier): one vectorised ``min`` per path-step; the KI
  state is read once, when a path terminates. For the price alone, a block
  whose first close carries no event advances both steps in one pass.
* A pair whose paths have all terminated (in every scenario) is finished; at
  a KO observation where at least 1/RETIRE_FRACTION of the chunk's pairs are
  finished they are retired and the active set is compacted: only the
  path-steps of live (or not yet retired) pairs are simulated
  (``path_steps`` reports them).
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

from kernels.normal import TAIL_WORD_LIMIT, central, tail_words_u32
from kernels.simd_compact import LANES, compress_tail_words
from kernels.snowball_schedule import KI_DAILY, KI_MATURITY, Schedule
from kernels.threefry import KS_PARITY, ROTATIONS, split_seed
from kernels.vector_width import prefer_512_bit

#: Pairs per chunk: the unit of work and of partial sums (fixed: results depend on it, never on threads).
CHUNK = 1024
#: Finished pairs are retired (and the live ones compacted) at a KO observation once at
#: least 1 / RETIRE_FRACTION of the chunk's pairs are finished.
RETIRE_FRACTION = 8
#: Chunks per kernel call (a call is one progress-bar tick).
CHUNKS_PER_CALL = 128

# Columns of the per-chunk partial sums.
F_SUM, F_SQ, F_NKO, F_NKI, F_LIFE, F_KOACC, F_MATACC, F_LOSS, F_STEPS = range(9)
N_FIXED = 9
INV_2_32 = 1.0 / 4294967296.0
_TAIL_LIM = np.uint32(TAIL_WORD_LIMIT)
_Q_SHIFT = 0.5 * INV_2_32 - 0.5


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


@njit(cache=True, error_model="numpy", inline="never")
def _words(m, ids, kc, k0, k1, wa, wb):
    """Threefry words of block kc for m pairs: wa (step 2kc), wb (step 2kc + 1)."""
    # Separate output arrays, not two halves of one: with a run-time offset LLVM
    # cannot rule out overlap and leaves the loop scalar (measured 15 vs 1.5 cycles/word).
    prefer_512_bit()
    for i in range(m):
        w0, w1 = threefry2x32_inline(ids[i], kc, k0, k1)
        wa[i] = w0
        wb[i] = w1


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _central(m, w, z):
    """z = AS241 central branch of every word (the tail lanes are overwritten afterwards)."""
    prefer_512_bit()
    for i in range(m):
        # q = (w + 0.5) / 2**32 - 0.5 as one FMA: w / 2**32 is exact and q has 33 significant
        # bits, so the fused result is q exactly (the same value as the two-step form).
        z[i] = central(np.float64(w[i]) * INV_2_32 + _Q_SHIFT)


@njit(cache=True, error_model="numpy", inline="never")
def _draw(m, ids, kc, k0, k1, BP, w, z, tix, tw, tz, te):
    """Normals of block kc (steps 2kc and 2kc+1) for m pairs: z[i], z[BP + i] (RNG.md).

    ``tix`` (int32) and ``tw`` need ``2 BP + 16`` entries (compress stores whole vectors).
    """
    prefer_512_bit()  # in case LLVM inlines the loops below into this function
    wa, wb = w[:BP], w[BP:]
    _words(m, ids, kc, k0, k1, wa, wb)
    _central(m, wa, z[:BP])
    _central(m, wb, z[BP:])
    # AS241 tails (about 15% of draws): pack the tail words and their positions with an
    # integer compare and AVX-512 compress, evaluate them in one vectorised batch.
    na = compress_tail_words(wa, m, _TAIL_LIM, 0, tw, tix)
    nt = na + compress_tail_words(wb, m, _TAIL_LIM, BP, tw[na:], tix[na:])
    tail_words_u32(tw, nt, tz, te)
    for k in range(nt):
        z[tix[k]] = tz[k]


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _advance(m, W, z):
    """W += z (the running sum of normals shared by every scenario)."""
    prefer_512_bit()
    for i in range(m):
        W[i] += z[i]


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _advance_ki(m, W, z, cn, ds, lo_p, lo_m):
    """W += z and the running minimum of both log paths (scenario without offset)."""
    prefer_512_bit()
    for i in range(m):
        wi = W[i] + z[i]
        W[i] = wi
        we = ds * wi
        lo_p[i] = min(lo_p[i], cn + we)
        lo_m[i] = min(lo_m[i], cn - we)


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _advance2(m, W, za, zb):
    """Two steps of W (W + za) + zb in one pass."""
    prefer_512_bit()
    for i in range(m):
        W[i] = (W[i] + za[i]) + zb[i]


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _advance2_ki(m, W, za, zb, cn1, cn2, ds, lo_p, lo_m):
    """Two steps of _advance_ki in one pass (closes cn1, cn2 of the scenario without offset)."""
    prefer_512_bit()
    for i in range(m):
        w1 = W[i] + za[i]
        w2 = w1 + zb[i]
        W[i] = w2
        e1 = ds * w1
        e2 = ds * w2
        lo_p[i] = min(lo_p[i], min(cn1 + e1, cn2 + e2))
        lo_m[i] = min(lo_m[i], min(cn1 - e1, cn2 - e2))


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _ki_min(m, W, W1, fo, cn, ds, lo_p, lo_m):
    """Running minimum of both log paths x = cn +- ds (W - fo W1) (KI iff the minimum < KI barrier)."""
    prefer_512_bit()
    for i in range(m):
        we = ds * (W[i] - fo * W1[i])
        lo_p[i] = min(lo_p[i], cn + we)
        lo_m[i] = min(lo_m[i], cn - we)


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _ko_update(m, ap, am, vp, vm, W, W1, fo, cn, ds, kol, pay):
    """KO at an observation: pay the coupon to live paths at/above the barrier and end them."""
    prefer_512_bit()
    for i in range(m):
        we = ds * (W[i] - fo * W1[i])
        hp = ap[i] if cn + we >= kol else 0.0
        hm = am[i] if cn - we >= kol else 0.0
        vp[i] += hp * pay
        vm[i] += hm * pay
        ap[i] -= hp
        am[i] -= hm


@njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="never")
def _ko_update_base(m, ap, am, vp, vm, W, cn, ds, kol, pay, fn, ksp, ksm, lo_p, lo_m, kip, kim, ki0, ki_log):
    """_ko_update of the base scenario, also recording the KO step and the KI state at termination."""
    prefer_512_bit()
    for i in range(m):
        we = ds * W[i]
        hp = ap[i] if cn + we >= kol else 0.0
        hm = am[i] if cn - we >= kol else 0.0
        vp[i] += hp * pay
        vm[i] += hm * pay
        ap[i] -= hp
        am[i] -= hm
        ksp[i] += hp * fn
        ksm[i] += hm * fn
        kip[i] += hp * (1.0 if lo_p[i] < ki_log else ki0)
        kim[i] += hm * (1.0 if lo_m[i] < ki_log else ki0)


@njit(cache=True)
def _aligned(n, dtype):
    """Uninitialised 1-D array of n items starting on a 64-byte boundary.

    Numba allocates on 32-byte boundaries; a zmm load or store that is not
    64-byte aligned splits a cache line (measured: 1.38 vs 0.68 cycles per
    pair-step for the KI-minimum loop).
    """
    a = np.empty(n + 16, dtype)
    step = a.itemsize
    off = ((64 - (a.ctypes.data & 63)) & 63) // step
    return a[off:off + n]


# error_model="numpy": no ZeroDivisionError branches, which would block vectorisation.
@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _chunk(k0, k1, p0, B, N, x0, drift, diff, off, obs, obs_any, ko_log, ko_pay, ko_accdisc,
           mat_cpn, mat_disc, mat_acc_disc, ki_mode, ki_log, knocked_in, ki_strike, floor, acc):
    # LLVM inlines the small loop functions into their callers, so the callers carry the hint too.
    prefer_512_bit()
    S = x0.shape[0]
    BP = ((B + 63) >> 6) << 6  # row stride: whole 16-word vectors, 64-byte aligned rows
    ids = _aligned(BP, np.uint32)
    W = _aligned(BP, np.float64)
    W1 = _aligned(BP, np.float64)
    w = _aligned(2 * BP, np.uint32)   # block words: step 2kc at [i], step 2kc + 1 at [BP + i]
    z = _aligned(2 * BP, np.float64)
    tix = _aligned(2 * BP + LANES, np.int32)
    tw = _aligned(2 * BP + LANES, np.uint32)
    tz = _aligned(2 * BP, np.float64)
    te = _aligned(2 * BP, np.int64)
    alive = _aligned(S * 2 * BP, np.float64).reshape((S, 2, BP))
    alive[:] = 1.0
    # Knock-in as a running minimum of each log path: KI (strictly below the barrier at
    # some close) iff min < ki_log, one vectorised min per path-step instead of a flag update.
    lo = _aligned(S * 2 * BP, np.float64).reshape((S, 2, BP))
    lo[:] = np.inf
    val = _aligned(S * 2 * BP, np.float64).reshape((S, 2, BP))
    val[:] = 0.0
    # Base scenario: KO step (0: none) and knocked in at termination (0/1), as floats for vectorisation.
    kostep = _aligned(2 * BP, np.float64).reshape((2, BP))
    kostep[:] = 0.0
    kiend = _aligned(2 * BP, np.float64).reshape((2, BP))
    kiend[:] = 0.0
    loss = _aligned(2 * BP, np.float64).reshape((2, BP))
    loss[:] = 0.0
    W[:] = 0.0
    W1[:] = 0.0
    ki0 = 1.0 if knocked_in else 0.0
    for i in range(B):
        ids[i] = np.uint32(p0 + i)
    m = B
    steps = 0
    n = 0
    while n < N:
        n += 1
        j = n - 1
        h = j & 1
        if h == 0:
            _draw(m, ids, np.uint32(j >> 1), k0, k1, BP, w, z, tix, tw, tz, te)
        zo = h * BP
        steps += 2 * m
        do_ki = ki_mode == KI_DAILY or (ki_mode == KI_MATURITY and n == N)
        if S == 1 and h == 0 and 1 < n < N and obs_any[n] == 0 and ki_mode != KI_MATURITY:
            # Price only, nothing happens on this close: take both steps of the block in one
            # pass over the pairs (same operations, half the loads and stores).
            cn = x0[0] + drift[0] * n
            n += 1
            steps += 2 * m
            if ki_mode == KI_DAILY:
                _advance2_ki(m, W, z, z[BP:], cn, x0[0] + drift[0] * n, diff[0], lo[0, 0], lo[0, 1])
            else:
                _advance2(m, W, z, z[BP:])
            do_ki = False
            s_lo = 0
        elif do_ki and off[0] == 0:
            _advance_ki(m, W, z[zo:], x0[0] + drift[0] * n, diff[0], lo[0, 0], lo[0, 1])
            s_lo = 1
        else:
            _advance(m, W, z[zo:])
            s_lo = 0
        if n == 1:
            for i in range(m):
                W1[i] = W[i]
        for s in range(S):
            o = off[s]
            if n <= o:
                continue
            cn = x0[s] + drift[s] * (n - o)
            ds = diff[s]
            fo = np.float64(o)
            # Per-scenario updates live in separate (non-inlined) functions: inlined
            # into this loop nest, LLVM vectorises only the first scenario's pass.
            if do_ki and s >= s_lo:
                _ki_min(m, W, W1, fo, cn, ds, lo[s, 0], lo[s, 1])
            if obs[s, n]:
                if s == 0:
                    _ko_update_base(m, alive[0, 0], alive[0, 1], val[0, 0], val[0, 1], W, cn, ds, ko_log[0, n],
                                    ko_pay[0, n], np.float64(n), kostep[0], kostep[1], lo[0, 0], lo[0, 1],
                                    kiend[0], kiend[1], ki0, ki_log)
                else:
                    _ko_update(m, alive[s, 0], alive[s, 1], val[s, 0], val[s, 1], W, W1, fo, cn, ds,
                               ko_log[s, n], ko_pay[s, n])
            if n == N:
                for i in range(m):
                    we = ds * (W[i] - fo * W1[i])
                    for g in range(2):
                        if alive[s, g, i] > 0.0:
                            x = cn + we if g == 0 else cn - we
                            if knocked_in or lo[s, g, i] < ki_log:
                                lv = max(min(np.exp(x) - ki_strike, 0.0), -floor) * mat_disc[s]
                                val[s, g, i] += lv
                                if s == 0:
                                    loss[g, i] = lv
                                    kiend[g, i] = 1.0
                            else:
                                val[s, g, i] += mat_cpn[s]
        if n < N and obs_any[n]:
            # Compacting costs about two steps' work per live pair: worth it only
            # once enough pairs are finished in every scenario (the rest wait).
            dead = 0
            for i in range(m):
                a = 0.0
                for s in range(S):
                    a += alive[s, 0, i] + alive[s, 1, i]
                dead += a == 0.0
            do_retire = dead * RETIRE_FRACTION >= m
        else:
            do_retire = n == N
        if do_retire:
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
                        z[BP + keep] = z[BP + i]
                        for s in range(S):
                            for g in range(2):
                                alive[s, g, keep] = alive[s, g, i]
                                lo[s, g, keep] = lo[s, g, i]
                                val[s, g, keep] = val[s, g, i]
                        for g in range(2):
                            kostep[g, keep] = kostep[g, i]
                            kiend[g, keep] = kiend[g, i]
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
                            if kiend[g, i] == 0.0:
                                acc[F_MATACC] += mat_acc_disc
                        acc[F_NKI] += kiend[g, i]
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
