"""Finite-difference valuation of a snowball note: price, Greeks, probabilities, fair coupon.

The numerical engine is :mod:`kernels.snowball_pde`; this module turns its
value profiles into a :class:`PriceResult`. Greeks: delta and gamma from the
grid at the spot node, vega and rho by re-solving with +0.01 of vol / rate on
the same grid, theta from the profile one day later (same spot). The KO and KI
probabilities and the expected life are solved as undiscounted expectations of
indicator payoffs on the same grid (the PDE is linear in the payoff).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from kernels.snowball_pde import (NODES_PER_DAY_SD, STEPS_PER_DAY, Grid, Payoff, build_grid, derivatives,
                                  price_payoff, solve, solve_many, terminal_value)
from kernels.snowball_schedule import Schedule, lower
from pricing.product import Market, Snowball
from pricing.result import PriceResult, _fair_coupon_from_parts

VOL_BUMP = 0.01
RATE_BUMP = 0.01


def _settings(steps_per_day: int | None, nodes_per_day_sd: float | None) -> tuple[int, float]:
    spd = STEPS_PER_DAY if steps_per_day is None else steps_per_day
    npd = NODES_PER_DAY_SD if nodes_per_day_sd is None else nodes_per_day_sd
    if isinstance(spd, bool) or not isinstance(spd, (int, np.integer)) or spd < 1:
        raise ValueError(f"pde_steps_per_day: must be an integer >= 1, got {spd!r}")
    if not (isinstance(npd, (int, float)) and math.isfinite(npd) and npd > 0):
        raise ValueError(f"pde_nodes_per_day_sd: must be > 0, got {npd!r}")
    return int(spd), float(npd)


def grid_for(sched: Schedule, market: Market, nodes_per_day_sd: float) -> Grid:
    """The grid used for a valuation and all its bumps (spacing from the base vol, width from the bumped one)."""
    h = market.vol * math.sqrt(sched.dt) / nodes_per_day_sd
    return build_grid(sched, market.vol + VOL_BUMP, h=h)


def _at(V: np.ndarray, g: Grid) -> float:
    return float(V[g.i_spot])


def _payoffs(sched: Schedule, g: Grid) -> tuple[list[Payoff], list[Payoff]]:
    """Discounted payoffs (the note, KO coupon leg, maturity coupon leg per unit coupon) and
    undiscounted indicator payoffs (KO, knocked in at termination, remaining life in days)."""
    K = sched.n_obs
    z, one = np.zeros(K), np.ones(K)
    zeros_x, ones_x = np.zeros_like(g.x), np.ones_like(g.x)
    steps = sched.obs_step.astype(np.float64)
    disc = [price_payoff(sched),
            Payoff(ko=sched.ko_accrual, ko_ki=sched.ko_accrual, mat_nk=0.0, mat_ki=zeros_x),
            Payoff(ko=z, ko_ki=z, mat_nk=sched.mat_accrual, mat_ki=zeros_x)]
    undisc = [Payoff(ko=one, ko_ki=one, mat_nk=0.0, mat_ki=zeros_x, discount=False),
              Payoff(ko=z, ko_ki=one, mat_nk=0.0, mat_ki=ones_x, discount=False),
              Payoff(ko=steps, ko_ki=steps, mat_nk=float(sched.n_steps),
                     mat_ki=np.full_like(g.x, float(sched.n_steps)), discount=False)]
    return disc, undisc


def _value_and_parts(sched: Schedule, g: Grid, spd: int):
    disc, _ = _payoffs(sched, g)
    V, snap = solve_many(sched, g, disc, spd)
    v, a_ko, a_mat = (_at(V[i], g) for i in range(3))
    loss = v - sched.coupon * a_ko - sched.maturity_coupon * a_mat
    return V[0], snap[0], v, a_ko, a_mat, loss


def _statistics(sched: Schedule, g: Grid, spd: int) -> tuple[float, float, float]:
    """KO probability, KI-at-termination probability, expected remaining life in days."""
    _, undisc = _payoffs(sched, g)
    U, _ = solve_many(sched, g, undisc, spd, discount=False)
    p_ki = 1.0 if sched.knocked_in else _at(U[1], g)
    return _at(U[0], g), p_ki, _at(U[2], g)


def pde_price(note: Snowball, market: Market, sched: Schedule, greeks: bool = False,
              steps_per_day: int | None = None, nodes_per_day_sd: float | None = None) -> PriceResult:
    """Finite-difference PriceResult of an already lowered valuation."""
    spd, npd = _settings(steps_per_day, nodes_per_day_sd)
    g = grid_for(sched, market, npd)
    V, V1, v, a_ko, a_mat, loss = _value_and_parts(sched, g, spd)
    p_ko, p_ki, life = _statistics(sched, g, spd)
    res = PriceResult(price=note.notional * v, stderr=0.0, ko_probability=p_ko, ki_probability=p_ki,
                      expected_life_years=life / sched.days_per_year, backend="cpu", method="pde",
                      fair_coupon=_fair_coupon_from_parts(a_ko, a_mat, loss, sched))
    if greeks:
        S = market.spot
        vx, vxx = derivatives(V, g.x, g.i_spot)
        v_vol = _at(solve(lower(note, replace(market, vol=market.vol + VOL_BUMP), sched.elapsed_days,
                                sched.knocked_in), g, spd)[0], g)
        v_rate = _at(solve(lower(note, replace(market, rate=market.rate + RATE_BUMP), sched.elapsed_days,
                                 sched.knocked_in), g, spd)[0], g)
        if sched.n_steps > 1:
            v_next = _at(V1, g)
        else:
            v_next = terminal_value(sched, S / note.initial_price)
        n = note.notional
        res.greeks = {"delta": n * vx / S, "gamma": n * (vxx - vx) / (S * S), "vega": n * (v_vol - v),
                      "rho": n * (v_rate - v), "theta": n * (v_next - v)}
    return res


def pde_fair_coupon(note: Snowball, market: Market, elapsed_days: int = 0, knocked_in: bool = False,
                    steps_per_day: int | None = None, nodes_per_day_sd: float | None = None) -> float:
    """Fair coupon from the coupon legs and the loss leg (value is linear in the coupon)."""
    spd, npd = _settings(steps_per_day, nodes_per_day_sd)
    sched = lower(note, market, elapsed_days, knocked_in)
    g = grid_for(sched, market, npd)
    *_, a_ko, a_mat, loss = _value_and_parts(sched, g, spd)
    c = _fair_coupon_from_parts(a_ko, a_mat, loss, sched)
    if not math.isfinite(c):
        raise ValueError("coupon: no coupon makes this note worth zero (it can never pay a coupon)")
    return float(c)


def profile(note: Snowball, market: Market, elapsed_days: int = 0, knocked_in: bool = False,
            lo: float = 0.6, hi: float = 1.2, steps_per_day: int | None = None,
            nodes_per_day_sd: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spot levels in [lo, hi] x initial, value and delta there (one PDE solve; for plots)."""
    spd, npd = _settings(steps_per_day, nodes_per_day_sd)
    sched = lower(note, market, elapsed_days, knocked_in)
    g = grid_for(sched, market, npd)
    V, _ = solve(sched, g, spd)
    S = note.initial_price * np.exp(g.x)
    dV = np.gradient(V, S)
    keep = (S >= lo * note.initial_price) & (S <= hi * note.initial_price)
    return S[keep], note.notional * V[keep], note.notional * dV[keep]
