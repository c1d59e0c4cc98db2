"""Finite-difference (Crank-Nicolson) engine for snowball notes (``method="pde"``).

The Black-Scholes PDE in log-moneyness ``x = ln(S / initial)`` is solved
backwards from maturity, one trading day at a time, on two layers of values:
not knocked in and knocked in. At each daily close (the events of
``snowball-conventions.md``): knock-in replaces the not-knocked-in layer
below the KI barrier by the knocked-in layer; on KO observation days both
layers take the KO coupon at and above that day's barrier.

Accuracy measures:

* the grid is piecewise uniform with breakpoints at the spot, the KI barrier,
  every KO barrier, the KI strike and the floor kink, so every discontinuity
  and kink lies on a node; the node on a barrier takes the average of the two
  sides (the jump is then centred on the barrier: second order in space);
* Rannacher start-up: after maturity, after every KO observation and after
  every daily knock-in replacement the first Crank-Nicolson step is replaced
  by two fully implicit half steps, which damps the oscillations CN would
  produce from the jumps (visible in delta near the KI barrier otherwise);
* several time steps per trading day (``steps_per_day``).

The value is linear in the payoff data (coupons, losses), so the fair coupon
is exact from two solves. Tridiagonal systems are solved in Numba (Thomas).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from kernels.snowball_schedule import KI_DAILY, KI_MATURITY, KI_NONE, Schedule

#: Default grid: nodes per one-day standard deviation of log-spot.
NODES_PER_DAY_SD = 4.0
#: Default time steps per trading day.
STEPS_PER_DAY = 2
#: Half-width of the grid beyond the outermost feature, in standard deviations of the remaining life.
N_SD = 6.0


@dataclass(frozen=True)
class Grid:
    """A piecewise-uniform log-spot grid with features on nodes."""

    x: np.ndarray      # node positions (log-moneyness)
    i_spot: int        # node of the valuation spot


def _features(s: Schedule) -> list[float]:
    pts = [s.x0]
    if s.ki_mode != KI_NONE or s.knocked_in:
        pts.append(s.ki_log)
        pts.append(math.log(s.ki_strike))
        if math.isfinite(s.floor) and s.ki_strike - s.floor > 0:
            pts.append(math.log(s.ki_strike - s.floor))
    pts.extend(float(b) for b in s.ko_log)
    return pts


def build_grid(s: Schedule, vol: float, h: float | None = None, nodes_per_day_sd: float = NODES_PER_DAY_SD) -> Grid:
    """Grid covering the features +- N_SD sd of the remaining life; spacing ``h`` (default from the daily sd)."""
    if h is None:
        h = vol * math.sqrt(s.dt) / nodes_per_day_sd
    if not h > 0:
        raise ValueError(f"grid spacing: must be > 0, got {h}")
    feats = sorted(set(round(p, 12) for p in _features(s)))
    width = max(N_SD * vol * math.sqrt(s.n_steps * s.dt), 0.25)
    pts = [feats[0] - width] + feats + [feats[-1] + width]
    xs = [pts[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(1, int(round((b - a) / h)))
        xs.extend(a + (b - a) * np.arange(1, n) / n)
        xs.append(b)  # features exactly on nodes
    x = np.array(xs)
    i_spot = int(np.argmin(np.abs(x - round(s.x0, 12))))
    return Grid(x=x, i_spot=i_spot)


def _node(x: np.ndarray, v: float) -> int:
    i = int(np.argmin(np.abs(x - round(v, 12))))
    return i


@njit(cache=True)
def _operator(x, a, b, r):
    n = x.shape[0]
    lo = np.zeros(n)
    di = np.zeros(n)
    up = np.zeros(n)
    for i in range(1, n - 1):
        hm = x[i] - x[i - 1]
        hp = x[i + 1] - x[i]
        lo[i] = (2.0 * a - b * hp) / (hm * (hm + hp))
        up[i] = (2.0 * a + b * hm) / (hp * (hm + hp))
        di[i] = (-2.0 * a + b * (hp - hm)) / (hm * hp) - r
    return lo, di, up


@njit(cache=True)
def _factor(lo, di, up, t):
    """LU factors of (I - t L) (Thomas), identity rows at both boundaries."""
    n = lo.shape[0]
    cp = np.zeros(n)
    im = np.ones(n)
    al = np.zeros(n)
    for i in range(1, n - 1):
        a_i = -t * lo[i]
        m = (1.0 - t * di[i]) - a_i * cp[i - 1]
        im[i] = 1.0 / m
        cp[i] = -t * up[i] / m
        al[i] = a_i
    return cp, im, al


@njit(cache=True)
def _step(V, lo, di, up, e, cp, im, al, wd, ext):
    """One theta-scheme step backwards in time with pre-factored (I - t L); e = (1 - theta) k.

    Boundary values by linear extrapolation in S of the old values (ext holds the weights): the
    grid reaches 6 standard deviations past every feature, where the value is linear in S.
    """
    n = V.shape[0]
    left = V[1] + ext[0] * (V[2] - V[1])
    right = V[n - 2] + ext[1] * (V[n - 3] - V[n - 2])
    wd[0] = left
    for i in range(1, n - 1):
        rhs = V[i] + e * (lo[i] * V[i - 1] + di[i] * V[i] + up[i] * V[i + 1])
        wd[i] = (rhs - al[i] * wd[i - 1]) * im[i]
    V[n - 1] = right
    for i in range(n - 2, 0, -1):
        V[i] = wd[i] - cp[i] * V[i + 1]
    V[0] = left


@njit(cache=True)
def _apply_ko(V, i_ko, pay):
    n = V.shape[0]
    V[i_ko] = 0.5 * (V[i_ko] + pay)
    for i in range(i_ko + 1, n):
        V[i] = pay


@njit(cache=True)
def _apply_ki(Vnk, Vki, i_ki):
    for i in range(i_ki):
        Vnk[i] = Vki[i]
    Vnk[i_ki] = 0.5 * (Vnk[i_ki] + Vki[i_ki])


@njit(cache=True)
def _solve(x, a, b, r, N, M, two_layers, Vnk, Vki, obs, ko_idx, ko_pay, ko_pay_ki, ki_idx, ki_daily, snap):
    """March R value profiles (rows of Vnk/Vki) from day N back to day 0; snapshot of Vnk at day 1."""
    lo, di, up = _operator(x, a, b, r)
    n = x.shape[0]
    R = Vnk.shape[0]
    wd = np.empty(n)
    ext = np.empty(2)
    S0, S1, S2 = math.exp(x[0]), math.exp(x[1]), math.exp(x[2])
    ext[0] = (S0 - S1) / (S2 - S1)
    Sa, Sb, Sc = math.exp(x[n - 1]), math.exp(x[n - 2]), math.exp(x[n - 3])
    ext[1] = (Sa - Sb) / (Sc - Sb)
    k = 1.0 / M
    # A Crank-Nicolson step of size k and a fully implicit step of size k/2 share the
    # matrix (I - k/2 L): one factorisation serves both.
    cp, im, al = _factor(lo, di, up, 0.5 * k)
    rannacher = True  # maturity is a discontinuity
    for d in range(N - 1, -1, -1):
        for sub in range(M):
            for q in range(R):
                if rannacher and sub == 0:
                    for _ in range(2):
                        _step(Vnk[q], lo, di, up, 0.0, cp, im, al, wd, ext)
                        if two_layers:
                            _step(Vki[q], lo, di, up, 0.0, cp, im, al, wd, ext)
                else:
                    _step(Vnk[q], lo, di, up, 0.5 * k, cp, im, al, wd, ext)
                    if two_layers:
                        _step(Vki[q], lo, di, up, 0.5 * k, cp, im, al, wd, ext)
        rannacher = False
        if d == 1:
            snap[:, :] = Vnk
        if d > 0:
            for q in range(R):
                if ki_daily:
                    _apply_ki(Vnk[q], Vki[q], ki_idx)
                if obs[d]:
                    _apply_ko(Vnk[q], ko_idx[d], ko_pay[q, d])
                    if two_layers:
                        _apply_ko(Vki[q], ko_idx[d], ko_pay_ki[q, d])
            if obs[d] or ki_daily:  # a jump was just imposed: implicit start-up
                rannacher = True


@dataclass(frozen=True)
class Payoff:
    """What the note pays, per layer: the price, or an indicator for probabilities and expected life."""

    ko: np.ndarray          # [K] paid on KO at observation k, not-knocked-in layer (undiscounted)
    ko_ki: np.ndarray       # [K] same, knocked-in layer
    mat_nk: float           # paid at maturity when never KO'd and never KI'd
    mat_ki: np.ndarray | None  # [n nodes] paid at maturity when knocked in; None = the KI loss
    discount: bool = True


def price_payoff(s: Schedule) -> Payoff:
    """The note's own cash flows."""
    ko = s.coupon * s.ko_accrual
    return Payoff(ko=ko, ko_ki=ko, mat_nk=s.maturity_coupon * s.mat_accrual, mat_ki=None)


def _terminal(s: Schedule, x: np.ndarray, i_ki: int, p: Payoff) -> tuple[np.ndarray, np.ndarray]:
    """Layers at maturity after the maturity close's events (per unit notional, undiscounted)."""
    if p.mat_ki is None:
        Vki = np.maximum(np.minimum(np.exp(x) - s.ki_strike, 0.0), -s.floor)
    else:
        Vki = np.array(p.mat_ki, dtype=np.float64)
    Vnk = np.full_like(x, p.mat_nk)
    if s.ki_mode in (KI_DAILY, KI_MATURITY):
        _apply_ki(Vnk, Vki, i_ki)
    if s.n_obs and s.obs_step[-1] == s.n_steps:
        i_ko = _node(x, s.ko_log[-1])
        _apply_ko(Vnk, i_ko, p.ko[-1])
        _apply_ko(Vki, i_ko, p.ko_ki[-1])
    return Vnk, Vki


def solve_many(s: Schedule, grid: Grid, payoffs: list[Payoff], steps_per_day: int = STEPS_PER_DAY,
               discount: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Value profiles [R, nodes] of several payoffs (one march), at valuation and one day later."""
    if steps_per_day < 1:
        raise ValueError(f"steps_per_day: must be >= 1, got {steps_per_day}")
    x = grid.x
    N = s.n_steps
    dt = s.dt
    a = 0.5 * s.diffusion * s.diffusion / dt
    b = s.drift / dt
    r = s.rate if discount else 0.0
    R = len(payoffs)
    i_ki = _node(x, s.ki_log) if s.ki_mode != KI_NONE else 0
    obs = np.zeros(N + 1, np.uint8)
    ko_idx = np.zeros(N + 1, np.int64)
    ko_pay = np.zeros((R, N + 1))
    ko_pay_ki = np.zeros((R, N + 1))
    for j, (st, kl) in enumerate(zip(s.obs_step, s.ko_log)):
        obs[st] = 1
        ko_idx[st] = _node(x, kl)
        for q, p in enumerate(payoffs):
            ko_pay[q, st] = p.ko[j]
            ko_pay_ki[q, st] = p.ko_ki[j]
    Vnk = np.empty((R, x.shape[0]))
    Vki = np.empty((R, x.shape[0]))
    for q, p in enumerate(payoffs):
        Vnk[q], Vki[q] = _terminal(s, x, i_ki, p)
    two = s.ki_mode == KI_DAILY
    if s.knocked_in:
        Vnk = Vki  # only the knocked-in layer matters
        ko_pay = ko_pay_ki
        two = False
    snap = np.full_like(Vnk, np.nan)
    # The solver's time unit is one trading day: scale the operator by dt.
    _solve(x, a * dt, b * dt, r * dt, N, steps_per_day, two, Vnk, Vki, obs, ko_idx, ko_pay, ko_pay_ki, i_ki,
           s.ki_mode == KI_DAILY and not s.knocked_in, snap)
    return Vnk, snap


def solve(s: Schedule, grid: Grid, steps_per_day: int = STEPS_PER_DAY,
          payoff: Payoff | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Value profile of one payoff (default: the note's) at valuation and one day later, per unit notional."""
    p = price_payoff(s) if payoff is None else payoff
    V, snap = solve_many(s, grid, [p], steps_per_day, p.discount)
    return V[0], snap[0]


def derivatives(V: np.ndarray, x: np.ndarray, i: int) -> tuple[float, float]:
    """dV/dx and d2V/dx2 at node i (three-point non-uniform stencil)."""
    hm = x[i] - x[i - 1]
    hp = x[i + 1] - x[i]
    vx = (-hp / (hm * (hm + hp)) * V[i - 1] + (hp - hm) / (hm * hp) * V[i] + hm / (hp * (hm + hp)) * V[i + 1])
    vxx = 2.0 * (V[i - 1] / (hm * (hm + hp)) - V[i] / (hm * hp) + V[i + 1] / (hp * (hm + hp)))
    return float(vx), float(vxx)


def terminal_value(s: Schedule, spot_ratio: float) -> float:
    """Value on the maturity day (per unit notional) given the maturity close ``spot_ratio`` = S/initial."""
    x = math.log(spot_ratio)
    if s.n_obs and s.obs_step[-1] == s.n_steps and x >= s.ko_log[-1]:
        return s.coupon * s.ko_accrual[-1]
    ki = s.knocked_in or (s.ki_mode in (KI_DAILY, KI_MATURITY) and x < s.ki_log)
    if ki:
        return max(min(spot_ratio - s.ki_strike, 0.0), -s.floor)
    return s.maturity_coupon * s.mat_accrual
