"""Finite differences: grid convergence, Greeks against independent re-solves and against Monte Carlo."""
from __future__ import annotations

from dataclasses import replace

import pytest
from pricing_fixtures import AGREEMENT_CASES, case_objects

from kernels.snowball_schedule import lower
from pricing import Market, Snowball, price
from pricing.pde import pde_price

CONVERGENCE = [c for c in AGREEMENT_CASES if c[0] in (
    "standard", "cpn30_vol40", "stepdown", "ki_maturity", "tenor24m", "running_day150", "running_day200_ki",
    "floor10")]


@pytest.mark.parametrize("case", CONVERGENCE, ids=[c[0] for c in CONVERGENCE])
def test_halving_the_grid_changes_price_by_less_than_1e4(case):
    note, mkt, v, ki = case_objects(case)
    s = lower(note, mkt, v, ki)
    coarse = pde_price(note, mkt, s, steps_per_day=2, nodes_per_day_sd=4).price
    fine = pde_price(note, mkt, s, steps_per_day=4, nodes_per_day_sd=8).price
    assert abs(fine - coarse) < 1e-4
    assert fine != coarse  # the grids really differ


def _pde(note, mkt, **kw):
    return price(note, mkt, method="pde", **kw).price


@pytest.mark.parametrize("spot,v,ki", [(1.0, 0, False), (0.9, 30, False), (0.85, 120, True)])
def test_grid_greeks_match_resolves(spot, v, ki):
    """Delta/gamma read off the grid vs re-solving at bumped spots; theta vs a re-solve one day later."""
    note, mkt = Snowball(coupon=0.12), Market(spot=spot, vol=0.22)
    r = price(note, mkt, method="pde", greeks=True, elapsed_days=v, knocked_in=ki)
    h = 0.01 * spot  # re-solves move the grid (the spot is a node): bumps must dwarf grid noise
    up = _pde(note, replace(mkt, spot=spot + h), elapsed_days=v, knocked_in=ki)
    dn = _pde(note, replace(mkt, spot=spot - h), elapsed_days=v, knocked_in=ki)
    assert r.greeks["delta"] == pytest.approx((up - dn) / (2 * h), rel=0, abs=1.5e-3)
    H = 0.02 * spot
    up2 = _pde(note, replace(mkt, spot=spot + H), elapsed_days=v, knocked_in=ki)
    dn2 = _pde(note, replace(mkt, spot=spot - H), elapsed_days=v, knocked_in=ki)
    assert r.greeks["gamma"] == pytest.approx((up2 - 2 * r.price + dn2) / H**2, rel=3e-2, abs=5e-2)
    fine = price(note, mkt, method="pde", greeks=True, elapsed_days=v, knocked_in=ki, pde_nodes_per_day_sd=8,
                 pde_steps_per_day=4)
    assert r.greeks["gamma"] == pytest.approx(fine.greeks["gamma"], rel=2e-3, abs=2e-3)
    later = _pde(note, mkt, elapsed_days=v + 1, knocked_in=ki)
    assert r.greeks["theta"] == pytest.approx(later - r.price, abs=2e-5)
    vol_up = _pde(note, replace(mkt, vol=mkt.vol + 0.01), elapsed_days=v, knocked_in=ki)
    assert r.greeks["vega"] == pytest.approx(vol_up - r.price, abs=2e-5)


def test_mc_greeks_agree_with_pde_bumps():
    """One-pass MC Greeks (1M paths, common random numbers) vs the same bumps priced by the PDE."""
    note, mkt = Snowball(), Market()
    mc = price(note, mkt, method="mc", paths=1_000_000, seed=21, backend="cpu", greeks=True)
    S, h = mkt.spot, 0.01 * mkt.spot
    p0 = _pde(note, mkt)
    up, dn = _pde(note, replace(mkt, spot=S + h)), _pde(note, replace(mkt, spot=S - h))
    assert mc.greeks["delta"] == pytest.approx((up - dn) / (2 * h), abs=0.01)
    assert mc.greeks["gamma"] == pytest.approx((up - 2 * p0 + dn) / h**2, abs=1.0)
    assert mc.greeks["vega"] == pytest.approx(_pde(note, replace(mkt, vol=0.17)) - p0, abs=3e-4)
    assert mc.greeks["rho"] == pytest.approx(_pde(note, replace(mkt, rate=0.03)) - p0, abs=3e-4)
    assert mc.greeks["theta"] == pytest.approx(_pde(note, mkt, elapsed_days=1) - p0, abs=1e-4)


def test_theta_on_the_day_before_maturity_uses_the_maturity_payoff():
    note, mkt = Snowball(), Market(spot=0.9)
    for method in ("pde", "mc"):
        r = price(note, mkt, method=method, greeks=True, elapsed_days=251, paths=20_000, backend="cpu")
        # spot 0.9: not KO, not KI at maturity -> full coupon on the maturity day
        assert r.greeks["theta"] == pytest.approx(0.085 - r.price, abs=1e-12)
