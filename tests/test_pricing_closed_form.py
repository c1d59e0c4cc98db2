"""Degenerate notes with closed forms, priced by both engines."""
from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from pricing import Market, Snowball, fair_coupon, price

MKT = Market(spot=1.0, rate=0.03, dividend=0.01, vol=0.2)


def _annuity(c, T, dpy, r):
    return c * T / dpy * math.exp(-r * T / dpy)


@pytest.mark.parametrize("method", ["mc", "pde"])
@pytest.mark.parametrize("ki_obs,ki_bar", [("none", 0.8), ("daily", 0.02)])
def test_never_ki_never_ko_is_coupon_annuity(method, ki_obs, ki_bar):
    note = Snowball(coupon=0.1, ko_barrier=20.0, ki_barrier=ki_bar, ki_observation=ki_obs, maturity_days=252)
    r = price(note, MKT, method=method, paths=20_000, backend="cpu")
    exact = _annuity(0.1, 252, 252, MKT.rate)
    # MC is exact here; the PDE's daily implicit start-up steps leave a first-order time error
    assert r.price == pytest.approx(exact, rel=1e-9 if method == "mc" else 1e-6)
    assert r.ko_probability == pytest.approx(0.0, abs=1e-9)
    assert r.expected_life_years == pytest.approx(1.0, rel=1e-7)


def _bs_ki_at_maturity(S, K, B, c, T, r, q, vol):
    """E[disc * (c*T if S_T >= B else min(S_T - K, 0))], B <= K, by Black-Scholes."""
    sd = vol * math.sqrt(T)
    d1 = (math.log(S / B) + (r - q + 0.5 * vol * vol) * T) / sd
    d2 = d1 - sd
    loss = -(K * math.exp(-r * T) * norm.cdf(-d2) - S * math.exp(-q * T) * norm.cdf(-d1))
    return c * T * math.exp(-r * T) * norm.cdf(d2) + loss


@pytest.mark.parametrize("B,c", [(1.0, 0.0), (0.85, 0.07)])
def test_ki_at_maturity_without_ko_is_black_scholes(B, c):
    note = Snowball(coupon=c, ko_barrier=50.0, ki_barrier=B, ki_observation="maturity", ki_strike=1.0,
                    maturity_days=252)
    exact = _bs_ki_at_maturity(1.0, 1.0, B, c, 1.0, MKT.rate, MKT.dividend, MKT.vol)
    if B == 1.0 and c == 0.0:  # this case is minus a plain European put
        sd = MKT.vol
        d1 = (MKT.rate - MKT.dividend + 0.5 * sd * sd) / sd
        put = math.exp(-MKT.rate) * norm.cdf(-(d1 - sd)) - math.exp(-MKT.dividend) * norm.cdf(-d1)
        assert exact == pytest.approx(-put, rel=1e-12)
    mc = price(note, MKT, method="mc", paths=1_000_000, seed=11, backend="cpu")
    assert abs(mc.price - exact) < 3.5 * mc.stderr
    pde = price(note, MKT, method="pde")
    assert pde.price == pytest.approx(exact, abs=5e-5)


@pytest.mark.parametrize("method", ["mc", "pde"])
def test_ko_certain_at_first_observation(method):
    note = Snowball(coupon=0.2, ko_barrier=0.05, ki_barrier=0.01, lockup_days=63)
    r = price(note, MKT, method=method, paths=20_000, backend="cpu")
    exact = 0.2 * 63 / 252 * math.exp(-MKT.rate * 63 / 252)
    assert r.price == pytest.approx(exact, rel=1e-7)
    assert r.ko_probability == pytest.approx(1.0, abs=1e-9)
    assert r.expected_life_years == pytest.approx(63 / 252, rel=1e-7)


@pytest.mark.parametrize("method", ["mc", "pde"])
def test_fair_coupon_of_annuity_plus_put(method):
    """KI at maturity with B = K: value = c * A - put, so the fair coupon is put / A exactly."""
    note = Snowball(coupon=0.05, ko_barrier=50.0, ki_barrier=1.0, ki_observation="maturity")
    sd = MKT.vol
    d1 = (MKT.rate - MKT.dividend + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    put = math.exp(-MKT.rate) * norm.cdf(-d2) - math.exp(-MKT.dividend) * norm.cdf(-d1)
    annuity_per_coupon = math.exp(-MKT.rate) * norm.cdf(d2)  # coupon paid only when not knocked in
    exact = put / annuity_per_coupon
    c = fair_coupon(note, MKT, method=method, paths=1_000_000, seed=5, backend="cpu")
    assert c == pytest.approx(exact, rel=5e-3 if method == "mc" else 2e-4)
    # zero value at the fair coupon (linearity, both engines)
    v = price(note.with_coupon(c), MKT, method=method, paths=1_000_000, seed=5, backend="cpu").price
    assert v == pytest.approx(0.0, abs=1e-10 if method == "mc" else 1e-6)
