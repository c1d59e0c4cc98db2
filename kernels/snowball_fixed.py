"""Fixed-point formats of the snowball hardware kernel and the quantisation of a Schedule.

This module is the one source of truth for every bit width, scale and table of
the datapath: the Amaranth RTL (``hdl/snowball``), the bit-true Numba model
(``kernels/snowball_bittrue``), the host driver (``host/snowball_driver``) and
the tests all import it.  See ``docs/snowball-hardware.md`` for the rationale
and the measured error bounds.

Log prices are held in *base-2* log units, ``x = log2(S / initial_price)``, so
the KI loss at maturity needs ``2**x`` (integer part = shift, fraction = small
table + polynomial) and no constant multiplier by log2(e).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kernels.snowball_schedule import KI_DAILY, KI_MATURITY, KI_NONE, Schedule

# ---- log price -----------------------------------------------------------
X_FRAC = 32          # fraction bits of the log2 price (LSB = 2.3e-10)
X_WIDTH = 48         # signed; |x| < 2**15
# ---- normal transform ----------------------------------------------------
Z_FRAC = 14          # fraction bits of the normal variate
Z_WIDTH = 18         # signed, |z| <= 6.24 < 8: one 18x18 multiplier input
NORM_SEG_BITS = 4    # uniform sub-segments per octave (2**4)
NORM_OCTAVES = 32    # octaves of u in (0, 1/2): [2**-(e+2), 2**-(e+1)), e = 0..31
NORM_SEGMENTS = NORM_OCTAVES << NORM_SEG_BITS
NORM_T_BITS = 17     # offset inside a segment fed to the multipliers (unsigned)
NORM_C_FRAC = 24     # fraction bits of the polynomial coefficients and accumulator
NORM_C0_WIDTH = 28
NORM_C1_WIDTH = 22
NORM_C2_WIDTH = 18
NORM_ROUND_SHIFT = NORM_C_FRAC - Z_FRAC
# ---- diffusion: floating mantissa, one 18x18 multiplier per normal --------
DMANT_BITS = 17      # mantissa in [2**16, 2**17), unsigned
DSHIFT_WIDTH = 5     # right shift applied to dmant * z (0..31)
# ---- payoffs ---------------------------------------------------------------
PAY_FRAC = 40        # fraction bits of per-path payoffs (LSB = 9.1e-13 of notional)
PAY_WIDTH = 48       # signed, |payoff| < 128
PAY_LIMIT = 16.0     # any single path payoff / accrual must stay below this
PAY_SAT = (1 << (PAY_WIDTH - 1)) - 1
# ---- exp2 for the KI loss ---------------------------------------------------
EXP_TABLE_BITS = 10  # 2**(i/1024) table
EXP_T_FRAC = 34      # table entries in [2**34, 2**35)
EXP_R_SHIFT = 5      # 22-bit remainder -> 17-bit multiplier input
LN2_Q = round(math.log(2.0) * (1 << 17))   # 17-bit unsigned
EXP_MAX_SHIFT = 11   # 2**x >= 2**5 saturates (> any strike, which is < 16)
# ---- trade bookkeeping ------------------------------------------------------
STEP_WIDTH = 16      # steps left per valuation < 2**16
MAX_OBS = 256        # KO observations a table holds
SQ_SHIFT = 28        # pair sum (a + b) rounded to 2**-12 before squaring
SQ_WIDTH = 18
#: accumulator widths (bits) per lane; the host adds lanes exactly
ACC_WIDTHS = {
    "SUM_PAY": 96, "SUM_SQ": 96, "SUM_ACC": 96, "SUM_LOSS": 96,
    "N_KO": 64, "N_KI": 64, "N_MAT": 64, "SUM_LIFE": 64,
}
ACC_NAMES = tuple(ACC_WIDTHS)
MAX_PAIRS = (1 << 32) - 1


def _mask(width: int) -> int:
    return (1 << width) - 1


# ---------------------------------------------------------------------------
# Normal transform coefficients (deterministic, computed once in code)
# ---------------------------------------------------------------------------
def _segment_u(e: int, sub: int, t: np.ndarray) -> np.ndarray:
    """u of segment (octave e, sub-segment sub) at offsets t in [0, 1)."""
    m = float(1 << 31) + (sub + t) * float(1 << (31 - NORM_SEG_BITS))
    return m / 2.0 ** (33 + e)


def _fit_segment(e: int, sub: int) -> tuple[float, float, float]:
    from scipy.special import ndtri

    # Least squares on Chebyshev nodes of [0, 1): near-minimax, deterministic.
    k = np.arange(64)
    t = 0.5 - 0.5 * np.cos((2 * k + 1) * np.pi / 128)
    z = ndtri(_segment_u(e, sub, t))
    a2, a1, a0 = np.polyfit(t, z, 2)
    return a0, a1, a2


def _build_normal_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c0 = np.zeros(NORM_SEGMENTS, np.int64)
    c1 = np.zeros(NORM_SEGMENTS, np.int64)
    c2 = np.zeros(NORM_SEGMENTS, np.int64)
    s = float(1 << NORM_C_FRAC)
    for e in range(NORM_OCTAVES):
        for sub in range(1 << NORM_SEG_BITS):
            a0, a1, a2 = _fit_segment(e, sub)
            i = (e << NORM_SEG_BITS) | sub
            c0[i], c1[i], c2[i] = round(a0 * s), round(a1 * s), round(a2 * s)
    for name, arr, w in (("c0", c0, NORM_C0_WIDTH), ("c1", c1, NORM_C1_WIDTH), ("c2", c2, NORM_C2_WIDTH)):
        lim = 1 << (w - 1)
        if arr.min() < -lim or arr.max() >= lim:
            raise AssertionError(f"normal table {name} does not fit {w} signed bits")
    return c0, c1, c2


NORM_C0, NORM_C1, NORM_C2 = _build_normal_table()


def _build_exp_table() -> np.ndarray:
    i = np.arange(1 << EXP_TABLE_BITS, dtype=np.float64)
    return np.array([round(2.0 ** (k / (1 << EXP_TABLE_BITS)) * (1 << EXP_T_FRAC)) for k in i], dtype=np.int64)


EXP_TABLE = _build_exp_table()


# ---------------------------------------------------------------------------
# Quantised schedule: what the host loads into the registers and tables
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedSchedule:
    """Integer parameters and tables of one valuation, exactly as the hardware holds them."""

    n_steps: int
    x0: int            # X_FRAC, log2 units
    drift: int         # X_FRAC per step
    dmant: int         # diffusion / ln2 = dmant * 2**-(dshift + 18)  (z has Z_FRAC bits)
    dshift: int
    ki_daily: int
    ki_mat: int
    ki0: int           # knocked in at valuation
    ki_q: int          # X_FRAC
    mat_pay: int       # PAY_FRAC, pre-discounted maturity coupon
    ln_disc: int       # X_FRAC, log2(maturity discount)
    disc_strike: int   # PAY_FRAC, mat_disc * ki_strike
    disc_floor: int    # PAY_FRAC, mat_disc * floor (PAY_SAT = no floor)
    obs_step: np.ndarray   # int64 [K]
    ko_q: np.ndarray       # int64 [K], X_FRAC
    ko_pay: np.ndarray     # int64 [K], PAY_FRAC
    ko_acc: np.ndarray     # int64 [K], PAY_FRAC (disc * accrual)
    mat_disc_accrual: float  # mat_disc * maturity_days / days_per_year, for sum_mat_accrual

    @property
    def n_obs(self) -> int:
        """Number of KO observations still ahead."""
        return int(self.obs_step.shape[0])


def _q(value: float, frac: int) -> int:
    return int(round(value * (1 << frac)))


def _check_signed(name: str, v: int, width: int, what: str) -> int:
    if not -(1 << (width - 1)) <= v < (1 << (width - 1)):
        raise ValueError(f"{name}: {what}")
    return v


def quantize(sched: Schedule, max_obs: int = MAX_OBS) -> FixedSchedule:
    """Quantise a lowered Schedule into the hardware's integer formats (ValueError if out of range)."""
    n = int(sched.n_steps)
    if not 1 <= n < (1 << STEP_WIDTH):
        raise ValueError(f"n_steps: the hardware kernel handles 1..{(1 << STEP_WIDTH) - 1} steps left, got {n}")
    if sched.n_obs > max_obs:
        raise ValueError(f"ko_days: the hardware tables hold at most {max_obs} remaining KO observations, got {sched.n_obs}")
    inv_ln2 = 1.0 / math.log(2.0)
    diff2 = sched.diffusion * inv_ln2
    if not 0.0 < diff2 < 0.5:
        raise ValueError(f"vol: vol*sqrt(dt) must be in (0, {0.5 * math.log(2):.4f}) for the hardware, "
                         f"got {sched.diffusion:.6g}")
    # diff2 = dmant * 2**-(dshift + 18) with dmant in [2**16, 2**17)
    ex = math.floor(math.log2(diff2))            # diff2 in [2**ex, 2**(ex+1))
    dshift = 16 - ex - 18
    dmant = int(round(diff2 * 2.0 ** (dshift + 18)))
    if dmant == 1 << DMANT_BITS:                 # rounding carried into the next binade
        dmant >>= 1
        dshift -= 1
    if not 0 <= dshift < (1 << DSHIFT_WIDTH):
        raise ValueError(f"vol: vol*sqrt(dt)={sched.diffusion:.3g} is outside the hardware's diffusion range")
    drift = _q(sched.drift * inv_ln2, X_FRAC)
    x0 = _q(sched.x0 * inv_ln2, X_FRAC)
    worst = abs(x0) + n * (abs(drift) + (dmant * 102240 >> dshift)) + (1 << X_FRAC)
    _check_signed("n_steps", worst, X_WIDTH, "the log price could overflow its 48-bit register over this many steps")
    for name, v in (("coupon", float(np.max(sched.ko_payoff, initial=0.0))), ("maturity_coupon", sched.mat_coupon_payoff),
                    ("ko_days", float(np.max(sched.ko_accrual * sched.ko_disc, initial=0.0))),
                    ("ki_strike", sched.ki_strike)):
        if not abs(v) < PAY_LIMIT:
            raise ValueError(f"{name}: a path payoff of {v:.4g} per unit notional exceeds the hardware limit {PAY_LIMIT}")
    ko_q = np.array([_q(b * inv_ln2, X_FRAC) for b in sched.ko_log], dtype=np.int64)
    ki_mode = sched.ki_mode
    ki_q = _q(sched.ki_log * inv_ln2, X_FRAC)
    for name, v in (("ko_barrier", int(np.max(np.abs(ko_q), initial=0))), ("ki_barrier", abs(ki_q))):
        _check_signed(name, v, X_WIDTH, "barrier outside the hardware's log-price range")
    disc_floor = PAY_SAT if math.isinf(sched.floor) else min(_q(sched.mat_disc * sched.floor, PAY_FRAC), PAY_SAT)
    return FixedSchedule(
        n_steps=n, x0=x0, drift=drift, dmant=dmant, dshift=dshift,
        ki_daily=int(ki_mode == KI_DAILY), ki_mat=int(ki_mode == KI_MATURITY),
        ki0=int(bool(sched.knocked_in)), ki_q=ki_q,
        mat_pay=_q(sched.mat_coupon_payoff, PAY_FRAC),
        ln_disc=_q(math.log2(sched.mat_disc), X_FRAC),
        disc_strike=_q(sched.mat_disc * sched.ki_strike, PAY_FRAC),
        disc_floor=disc_floor,
        obs_step=np.asarray(sched.obs_step, dtype=np.int64).copy(),
        ko_q=ko_q,
        ko_pay=np.array([_q(v, PAY_FRAC) for v in sched.ko_payoff], dtype=np.int64),
        ko_acc=np.array([_q(a * d, PAY_FRAC) for a, d in zip(sched.ko_accrual, sched.ko_disc)], dtype=np.int64),
        mat_disc_accrual=sched.mat_disc * sched.mat_accrual,
    )


KI_MODES = (KI_NONE, KI_DAILY, KI_MATURITY)


def to_mcsums(acc: dict, n_pairs: int, fs: FixedSchedule):
    """Convert exact integer accumulators into McSums (the one place both backends convert)."""
    from pricing.result import McSums

    missing = [k for k in ACC_NAMES if k not in acc]
    if missing:
        raise KeyError(f"accumulator {missing[0]} missing")
    # int -> float rounds once; dividing by a power of two is exact.
    return McSums(
        n_pairs=int(n_pairs),
        sum_pair=float(int(acc["SUM_PAY"])) / 2.0 ** (PAY_FRAC + 1),
        sum_pair_sq=float(int(acc["SUM_SQ"])) / 2.0 ** (2 * (PAY_FRAC + 1 - SQ_SHIFT)),
        n_ko=int(acc["N_KO"]),
        n_ki=int(acc["N_KI"]),
        sum_life_days=float(int(acc["SUM_LIFE"])),
        sum_ko_accrual=float(int(acc["SUM_ACC"])) / 2.0 ** PAY_FRAC,
        sum_mat_accrual=float(int(acc["N_MAT"])) * fs.mat_disc_accrual,
        sum_loss=float(int(acc["SUM_LOSS"])) / 2.0 ** PAY_FRAC,
    )


def wrap_signed(v: int, width: int) -> int:
    """Interpret the low `width` bits of v as a two's-complement integer."""
    v &= _mask(width)
    return v - (1 << width) if v >> (width - 1) else v
