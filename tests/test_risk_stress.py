"""Stress tests: hand-computed factor shocks, exact bond repricing, brute-force worst windows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import risk
from risk.bondmath import bond_analytics
from risk.stress import historical_stress, scenarios_from_rows, window_returns, worst_windows

POS = pd.DataFrame({
    "asset_class": ["equity", "equity", "bond", "bond"],
    "market_value": [1_000_000.0, 500_000.0, 2_000_000.0, 1_000_000.0],
    "beta": [1.2, 0.8, np.nan, np.nan],
    "index_id": ["SSE50", "CSI1000", None, None],
    "sector": ["Banks", "Media", None, None],
    "mod_duration": [np.nan, np.nan, 5.0, 1.8],
    "spread_duration": [np.nan, np.nan, 5.0, 1.8],
    "convexity": [np.nan, np.nan, 30.0, 4.0],
    "maturity_years": [np.nan, np.nan, 10.0, 2.0],
    "rating": [None, None, "GOV", "AA"],
}, index=["EQ1", "EQ2", "BD1", "BD2"])


def test_factor_shocks_by_hand():
    s = risk.Scenario("crash", index_shocks={"SSE50": -0.10, "CSI1000": -0.20}, sector_shocks={"Banks": -0.05},
                      parallel_bp=100, spread_bp={"AA": 50})
    out = risk.factor_stress(POS, [s])["crash"]
    # EQ1: 1.2 * -10% - 5% = -17% of 1,000,000 = -170,000
    # EQ2: 0.8 * -20% = -16% of 500,000 = -80,000
    # BD1 (GOV, +100bp): -5 * .01 + .5 * 30 * .01^2 = -.0485 of 2,000,000 = -97,000
    # BD2 (AA, +100bp gov +50bp spread): -1.8*.01 - 1.8*.005 + .5*4*.015^2 = -.02655 of 1,000,000
    np.testing.assert_allclose(out.to_numpy(), [-170_000, -80_000, -97_000, -26_550], rtol=1e-12)


def test_twist_moves_two_and_ten_year_points_oppositely():
    s = risk.Scenario("steep", twist_bp=50)
    r = risk.position_returns(POS, [s])[:, 0]
    # 10y: dy = 50 * (10-6)/8 = +25bp -> -5*.0025 + .5*30*.0025^2; 2y: dy = -25bp -> +1.8*.0025 + .5*4*.0025^2
    assert r[2] == pytest.approx(-5 * 0.0025 + 0.5 * 30 * 0.0025 ** 2)
    assert r[3] == pytest.approx(1.8 * 0.0025 + 0.5 * 4 * 0.0025 ** 2)


def test_duration_convexity_close_to_full_repricing():
    # Second method: reprice the bond's cash flows at the shocked yield.
    d = np.array(["2025-06-02"], dtype="datetime64[D]")
    mat = np.array(["2035-05-20"], dtype="datetime64[D]")
    base = bond_analytics(d, np.array([0.028]), np.array([1]), mat, np.array([[0.03]]))
    shocked = bond_analytics(d, np.array([0.028]), np.array([1]), mat, np.array([[0.03 + 0.005]]))
    pos = pd.DataFrame({"asset_class": ["bond"], "market_value": [base["dirty_price"][0, 0]],
                        "mod_duration": [base["mod_duration"][0, 0]], "convexity": [base["convexity"][0, 0]],
                        "maturity_years": [10.0], "rating": ["GOV"]})
    approx = risk.factor_stress(pos, [risk.Scenario("up50", parallel_bp=50)]).iloc[0, 0]
    exact = shocked["dirty_price"][0, 0] - base["dirty_price"][0, 0]
    assert approx == pytest.approx(exact, rel=2e-3)


def test_worst_windows_match_brute_force():
    rng = np.random.default_rng(3)
    r = rng.standard_t(4, (120, 5)) * 0.01
    mv = rng.uniform(0, 1e6, (5, 3))
    starts, port, pos = historical_stress(r, mv, window=10, n_worst=3)
    for j in range(3):
        pnl = [float(np.prod(1 + r[s:s + 10], axis=0) @ mv[:, j] - mv[:, j].sum()) for s in range(111)]
        # Greedy: the worst window, then the worst not overlapping it, and so on.
        chosen = []
        for s in np.argsort(pnl, kind="stable"):
            if all(abs(s - c) >= 10 for c in chosen):
                chosen.append(int(s))
            if len(chosen) == 3:
                break
        assert list(starts[:, j]) == chosen
        np.testing.assert_allclose(port[:, j], [pnl[c] for c in chosen], rtol=1e-10)
        np.testing.assert_allclose(pos[:, :, j].sum(1), port[:, j], rtol=1e-10)


def test_window_returns_compound():
    r = np.array([[0.1], [-0.1], [0.05]])
    np.testing.assert_allclose(window_returns(r, 2)[:, 0], [1.1 * 0.9 - 1, 0.9 * 1.05 - 1])


def test_scenarios_from_rows_and_unknown_type():
    rows = pd.DataFrame({"scenario_id": ["A", "A", "B"], "factor_type": ["index", "parallel", "spread"],
                         "factor_key": ["SSE50", None, "*"], "shock": [-0.1, 25.0, 40.0]})
    a, b = scenarios_from_rows(rows)
    assert a.index_shocks == {"SSE50": -0.1} and a.parallel_bp == 25.0 and b.spread_bp == {"*": 40.0}
    with pytest.raises(ValueError, match="factor_type"):
        scenarios_from_rows(rows.assign(factor_type=["index", "curvature", "spread"]))


def test_bad_input():
    with pytest.raises(ValueError, match="index_shocks"):
        risk.Scenario("x", index_shocks={"SSE50": -1.5})
    with pytest.raises(ValueError, match="asset_class"):
        risk.factor_stress(POS.assign(asset_class="fx"), [risk.Scenario("x")])
    with pytest.raises(ValueError, match="mod_duration"):
        risk.factor_stress(POS.assign(mod_duration=np.nan), [risk.Scenario("x")])
    with pytest.raises(ValueError, match="window"):
        window_returns(np.zeros((5, 2)), 6)
    assert worst_windows(np.array([[1.0], [2.0]]), 3, 5)[1:, 0].tolist() == [-1, -1]
