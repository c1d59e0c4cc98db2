"""Campisi attribution: a worked example by hand, Taylor expansion of exact bond prices, additive identities."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import risk
from risk.bondmath import bond_analytics


def _one_bond(**kw):
    base = dict(dirty_start=101.50, dirty_end=101.56, coupon_rate=0.035, period_years=1 / 12,
                gov_start=0.0250, gov_end=0.0260, spread_start=0.0080, spread_end=0.0075,
                mod_duration=4.5, spread_duration=4.5, coupon_paid=0.0)
    base.update(kw)
    return pd.DataFrame([base], index=["B1"])


def test_worked_example_by_hand():
    # total     = (101.56 - 101.50) / 101.50                 = 0.000591133
    # income    = 3.5 * (1/12) / 101.50 = 0.2916667 / 101.50 = 0.002873563
    # treasury  = -4.5 * (0.0260 - 0.0250) = -4.5 * 0.0010   = -0.0045
    # spread    = -4.5 * (0.0075 - 0.0080) = +4.5 * 0.0005   = +0.00225
    # selection = 0.000591133 - 0.002873563 + 0.0045 - 0.00225 = -0.000032430
    res = risk.campisi(_one_bond())
    row = res.bonds.loc["B1"]
    assert row.total == pytest.approx(0.000591133, abs=1e-9)
    assert row.income == pytest.approx(0.002873563, abs=1e-9)
    assert row.treasury == pytest.approx(-0.0045, abs=1e-15)
    assert row.spread == pytest.approx(0.00225, abs=1e-15)
    assert row.selection == pytest.approx(-0.000032430, abs=1e-9)


def test_coupon_payment_counts_in_total():
    # Ex-coupon: price falls by the 3.5 coupon, which is paid in cash: total as if no drop.
    a = risk.campisi(_one_bond()).bonds.total.iloc[0]
    b = risk.campisi(_one_bond(dirty_end=101.56 - 3.5, coupon_paid=3.5)).bonds.total.iloc[0]
    assert a == pytest.approx(b, abs=1e-15)


def test_portfolio_benchmark_and_active_by_hand():
    bonds = pd.concat([_one_bond(), _one_bond(dirty_start=99.0, dirty_end=98.8, coupon_rate=0.02,
                                              mod_duration=7.0, spread_duration=7.0, gov_end=0.0255,
                                              spread_end=0.0080).rename(index={"B1": "B2"})])
    res = risk.campisi(bonds, weights=pd.Series({"B1": 0.25, "B2": 0.75}),
                       benchmark_weights=pd.Series({"B1": 0.5, "B2": 0.5}))
    # B2: treasury = -7 * 0.0005 = -0.0035, spread 0; portfolio treasury = .25*-.0045 + .75*-.0035 = -0.00375
    assert res.portfolio["treasury"] == pytest.approx(-0.00375)
    assert res.benchmark["treasury"] == pytest.approx(-0.004)
    assert res.active["treasury"] == pytest.approx(0.00025)
    assert res.portfolio["spread"] == pytest.approx(0.25 * 0.00225)
    np.testing.assert_allclose(res.active.to_numpy(), (res.portfolio - res.benchmark).to_numpy())


def test_selection_is_the_convexity_term_for_exactly_priced_bonds():
    # A yield move with no time passing: price change = -D dy + C dy^2 / 2 + O(dy^3), so
    # Campisi's residual (selection) must match half convexity times dy^2 from the cash flows.
    d = np.array(["2025-06-02"], dtype="datetime64[D]")
    mat = np.array(["2032-03-15"], dtype="datetime64[D]")
    y0, gov_move, spread_move = 0.031, 0.0040, 0.0015
    a0 = bond_analytics(d, np.array([0.03]), np.array([1]), mat, np.array([[y0]]))
    a1 = bond_analytics(d, np.array([0.03]), np.array([1]), mat, np.array([[y0 + gov_move + spread_move]]))
    bonds = pd.DataFrame({"dirty_start": a0["dirty_price"][0], "dirty_end": a1["dirty_price"][0], "coupon_rate": 0.03,
                          "period_years": 0.0, "gov_start": 0.02, "gov_end": 0.02 + gov_move, "spread_start": 0.011,
                          "spread_end": 0.011 + spread_move, "mod_duration": a0["mod_duration"][0]}, index=["X"])
    sel = risk.campisi(bonds).bonds.selection.iloc[0]
    dy = gov_move + spread_move
    assert sel == pytest.approx(0.5 * a0["convexity"][0, 0] * dy ** 2, rel=0.05)


def test_shift_and_twist_split_the_treasury_effect():
    res = risk.campisi(_one_bond(gov_shift=0.0006)).bonds.loc["B1"]
    assert res.treasury_shift == pytest.approx(-4.5 * 0.0006)
    assert res.treasury_twist == pytest.approx(-4.5 * 0.0004)
    assert res.treasury_shift + res.treasury_twist == pytest.approx(res.treasury)


finite = st.floats(-0.02, 0.02)


@settings(max_examples=40, deadline=None)
@given(st.floats(80, 120), st.floats(-0.05, 0.05), st.floats(0, 0.08), st.floats(0, 0.5), finite, finite, finite, finite,
       st.floats(0, 20), st.floats(0, 20))
def test_effects_add_up_to_total(p0, move, cpn, yrs, g0, g1, s0, s1, d, sd):
    bonds = _one_bond(dirty_start=p0, dirty_end=p0 * (1 + move), coupon_rate=cpn, period_years=yrs, gov_start=g0,
                      gov_end=g1, spread_start=s0, spread_end=s1, mod_duration=d, spread_duration=sd)
    row = risk.campisi(bonds).bonds.iloc[0]
    assert row[["income", "treasury", "spread", "selection"]].sum() == pytest.approx(row.total, abs=1e-14)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(0, 10_000), st.sampled_from(["carino", "menchero", "grap"]))
def test_linked_effects_add_up_to_compounded_return(t, seed, linking):
    rng = np.random.default_rng(seed)
    parts = rng.normal(0, 0.003, (t, 4))
    eff = np.column_stack([parts, parts.sum(1)])
    linked = risk.link_absolute(eff, linking)
    total = np.prod(1 + eff[:, -1]) - 1
    assert linked[:4].sum() == pytest.approx(total, abs=1e-13)
    assert linked[-1] == pytest.approx(total, abs=1e-13)


@pytest.mark.parametrize("kw,field", [
    ({"dirty_end": float("nan")}, "missing price"),
    ({"dirty_start": -1.0}, "dirty_start"),
    ({"gov_end": float("nan")}, "gov_end"),
])
def test_bad_bond_input(kw, field):
    with pytest.raises(ValueError, match=field):
        risk.campisi(_one_bond(**kw))


def test_bad_weights_and_columns():
    with pytest.raises(ValueError, match="weights must sum to 1"):
        risk.campisi(_one_bond(), weights=pd.Series({"B1": 0.9}))
    with pytest.raises(ValueError, match="no analytics row"):
        risk.campisi(_one_bond(), weights=pd.Series({"B1": 0.5, "B9": 0.5}))
    with pytest.raises(ValueError, match="missing columns"):
        risk.campisi(_one_bond().drop(columns=["mod_duration"]))
