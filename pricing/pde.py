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
                                  solve, terminal_value)
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


def _parts(sched: Schedule, g: Grid, spd: int) -> tuple[float, float]:
    """Discounted coupon legs per unit coupon: KO leg and maturity leg."""
    K = sched.n_obs
    z = np.zeros(K)
    zeros_ki = np.zeros_like(g.x)
    a_ko = solve(sched, g, spd, Payoff(ko=sched.ko_accrual, ko_ki=sched.ko_accrual, mat_nk=0.0, mat_ki=zeros_ki))[0]
    a_mat = solve(sched, g, spd, Payoff(ko=z, ko_ki=z, mat_nk=sched.mat_accrual, mat_ki=zeros_ki))[0]
    return _at(a_ko, g), _at(a_mat, g)


def _statistics(sched: Schedule, g: Grid, spd: int) -> tuple[float, float, float]:
    """KO probability, KI-at-termination probability, expected remaining life in days."""
    K = sched.n_obs
    one, zero = np.ones(K), np.zeros(K)
    ones_x, zeros_x = np.ones_like(g.x), np.zeros_like(g.x)
    p_ko = solve(sched, g, spd, Payoff(ko=one, ko_ki=one, mat_nk=0.0, mat_ki=zeros_x, discount=False))[0]
    if sched.knocked_in:
        p_ki = 1.0
    else:
        p_ki = _at(solve(sched, g, spd, Payoff(ko=zero, ko_ki=one, mat_nk=0.0, mat_ki=ones_x, discount=False))[0], g)
    steps = sched.obs_step.astype(np.float64)
    life = solve(sched, g, spd, Payoff(ko=steps, ko_ki=steps, mat_nk=float(sched.n_steps),
                                       mat_ki=np.full_like(g.x, float(sched.n_steps)), discount=False))[0]
    return _at(p_ko, g), p_ki, _at(life, g)


def pde_price(note: Snowball, market: Market, sched: Schedule, greeks: bool = False,
              steps_per_day: int | None = None, nodes_per_day_sd: float | None = None) -> PriceResult:
    """Finite-difference PriceResult of an already lowered valuation."""
    spd, npd = _settings(steps_per_day, nodes_per_day_sd)
    g = grid_for(sched, market, npd)
    V, V1 = solve(sched, g, spd)
    v = _at(V, g)
    a_ko, a_mat = _parts(sched, g, spd)
    loss = v - sched.coupon * a_ko - sched.maturity_coupon * a_mat
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
    v = _at(solve(sched, g, spd)[0], g)
    a_ko, a_mat = _parts(sched, g, spd)
    loss = v - sched.coupon * a_ko - sched.maturity_coupon * a_mat
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
