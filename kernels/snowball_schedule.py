"""Lowering of a snowball note + market + trade state into flat numeric tables.

Every engine (Numba Monte Carlo, plain numpy, finite differences, the bit-true
model and the RTL's on-chip tables) consumes this one :class:`Schedule`, so the
contract's conventions are interpreted in exactly one place.

Log-space convention: ``x = ln(S / initial_price)`` (log-moneyness), so barriers
are ``ln(barrier)`` and the KI loss is ``exp(x_T) - ki_strike``.
Step ``j`` (0-based) moves the price from day ``v + j`` to day ``v + j + 1``
(``v = elapsed_days``); an event "after step s" (1-based count) is the close of
day ``v + s``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KI_NONE, KI_DAILY, KI_MATURITY = 0, 1, 2
KI_MODE = {"none": KI_NONE, "daily": KI_DAILY, "maturity": KI_MATURITY}


@dataclass(frozen=True)
class Schedule:
    """Flat description of one valuation: what the kernels and the hardware tables hold."""

    n_steps: int            # steps left: maturity_days - elapsed_days
    x0: float               # ln(spot / initial_price)
    drift: float            # (r - q - vol^2/2) * dt, per step
    diffusion: float        # vol * sqrt(dt), per step
    dt: float               # 1 / days_per_year
    rate: float
    elapsed_days: int
    maturity_days: int
    days_per_year: float
    obs_step: np.ndarray    # int64 [K]: KO observation after this many steps (day v + s)
    ko_log: np.ndarray      # float64 [K]: ln(KO barrier) per remaining observation
    ko_accrual: np.ndarray  # float64 [K]: d / days_per_year (coupon accrues from day 0)
    ko_disc: np.ndarray     # float64 [K]: exp(-r (d - v) dt)
    ko_payoff: np.ndarray   # float64 [K]: coupon * accrual * disc, per unit notional
    ki_mode: int            # KI_NONE / KI_DAILY / KI_MATURITY
    ki_log: float           # ln(ki_barrier)
    knocked_in: bool        # already knocked in at valuation
    mat_accrual: float      # maturity_days / days_per_year
    mat_disc: float         # exp(-r (T - v) dt)
    mat_coupon_payoff: float  # maturity_coupon * mat_accrual * mat_disc
    ki_strike: float        # K / initial_price
    floor: float            # max loss per unit notional (inf = no floor)
    coupon: float
    maturity_coupon: float
    maturity_coupon_follows: bool  # True when the note's maturity_coupon is None (= coupon)
    notional: float
    initial_price: float

    @property
    def n_obs(self) -> int:
        """Number of KO observations still ahead."""
        return int(self.obs_step.shape[0])


def lower(note, market, elapsed_days: int = 0, knocked_in: bool = False) -> Schedule:
    """Lower (note, market, trade state) into a :class:`Schedule`; validates the trade state."""
    from pricing.product import _int  # the one integer validator

    T = note.maturity_days
    v = _int("elapsed_days", elapsed_days, 0, T - 1)
    if not isinstance(knocked_in, (bool, np.bool_)):
        raise ValueError(f"knocked_in: must be True or False, got {knocked_in!r}")
    knocked_in = bool(knocked_in)
    if knocked_in and note.ki_observation != "daily":
        raise ValueError(
            f"knocked_in: a note with ki_observation={note.ki_observation!r} cannot be knocked in before maturity")
    dt = 1.0 / note.days_per_year
    r, q, vol = market.rate, market.dividend, market.vol
    days = np.array([d for d in note.ko_days if d > v], dtype=np.int64)
    bars = np.array([b for d, b in zip(note.ko_days, note.ko_barrier) if d > v], dtype=np.float64)
    accrual = days.astype(np.float64) * dt
    disc = np.exp(-r * (days - v).astype(np.float64) * dt)
    mat_disc = math.exp(-r * (T - v) * dt)
    mcoupon = note.effective_maturity_coupon
    return Schedule(
        n_steps=T - v,
        x0=math.log(market.spot / note.initial_price),
        drift=(r - q - 0.5 * vol * vol) * dt,
        diffusion=vol * math.sqrt(dt),
        dt=dt,
        rate=r,
        elapsed_days=v,
        maturity_days=T,
        days_per_year=float(note.days_per_year),
        obs_step=days - v,
        ko_log=np.log(bars),
        ko_accrual=accrual,
        ko_disc=disc,
        ko_payoff=note.coupon * accrual * disc,
        ki_mode=KI_MODE[note.ki_observation],
        ki_log=math.log(note.ki_barrier),
        knocked_in=knocked_in,
        mat_accrual=T * dt,
        mat_disc=mat_disc,
        mat_coupon_payoff=mcoupon * T * dt * mat_disc,
        ki_strike=note.ki_strike,
        floor=math.inf if note.floor is None else note.floor,
        coupon=note.coupon,
        maturity_coupon=mcoupon,
        maturity_coupon_follows=note.maturity_coupon is None,
        notional=note.notional,
        initial_price=note.initial_price,
    )
