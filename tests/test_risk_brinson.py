"""Brinson attribution: Bacon's textbook example by hand, perfattr on the same data, additive identities."""
from __future__ import annotations

import numpy as np
import pandas as pd
import perfattr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import risk

# Bacon, "Practical Portfolio Performance Measurement and Attribution", the
# three-market example: portfolio 8.3%, benchmark 6.4%, active 1.9%.
SECTORS = ["UK equities", "Japanese equities", "US equities"]
WP = pd.Series([0.40, 0.30, 0.30], index=SECTORS)
WB = pd.Series([0.40, 0.20, 0.40], index=SECTORS)
RP = pd.Series([0.20, -0.05, 0.06], index=SECTORS)
RB = pd.Series([0.10, -0.04, 0.08], index=SECTORS)


def test_bacon_bhb_by_hand():
    # Rp = .4*.2 + .3*-.05 + .3*.06 = .083 ; Rb = .4*.1 + .2*-.04 + .4*.08 = .064
    # allocation (wp-wb) rb:      UK 0,  Japan  .1*-.04 = -.004,  US -.1*.08 = -.008   -> -1.2%
    # selection  wb (rp-rb):      UK .4*.1 = .04, Japan .2*-.01 = -.002, US .4*-.02 = -.008 -> 3.0%
    # interaction (wp-wb)(rp-rb): UK 0,  Japan .1*-.01 = -.001,  US -.1*-.02 = .002    -> 0.1%
    out = risk.brinson(WP, WB, RP, RB, model="BHB")
    np.testing.assert_allclose(out.allocation, [0.0, -0.004, -0.008], atol=1e-15)
    np.testing.assert_allclose(out.selection, [0.04, -0.002, -0.008], atol=1e-15)
    np.testing.assert_allclose(out.interaction, [0.0, -0.001, 0.002], atol=1e-15)
    assert out.attrs["portfolio_return"] == pytest.approx(0.083)
    assert out.attrs["benchmark_return"] == pytest.approx(0.064)
    assert out[["allocation", "selection", "interaction"]].to_numpy().sum() == pytest.approx(0.019)


def test_bacon_brinson_fachler_by_hand():
    # BF allocation (wp-wb)(rb-Rb): UK 0, Japan .1*(-.04-.064) = -.0104, US -.1*(.08-.064) = -.0016
    out = risk.brinson(WP, WB, RP, RB, model="BF")
    np.testing.assert_allclose(out.allocation, [0.0, -0.0104, -0.0016], atol=1e-15)
    np.testing.assert_allclose(out.selection, [0.04, -0.002, -0.008], atol=1e-15)
    # Two-effect form: selection wp (rp-rb) = .4*.1, .3*-.01, .3*-.02 = .04, -.003, -.006
    two = risk.brinson(WP, WB, RP, RB, model="BF", effects=2)
    np.testing.assert_allclose(two.selection, [0.04, -0.003, -0.006], atol=1e-15)
    assert (two.interaction == 0).all()


def _frame(w, r, d0, d1):
    return pd.DataFrame({"from_date": d0, "thru_date": d1, "identifier": list(w.index),
                         "weight": w.to_numpy(), "return": r.to_numpy()})


METHODS = {
    ("BF", 3): perfattr.AttributionMethod.BRINSON_FACHLER_THREE_EFFECT,
    ("BF", 2): perfattr.AttributionMethod.BRINSON_FACHLER_TWO_EFFECT,
    ("BHB", 3): perfattr.AttributionMethod.BRINSON_HOOD_BEEBOWER_THREE_EFFECT,
    ("BHB", 2): perfattr.AttributionMethod.BRINSON_HOOD_BEEBOWER_TWO_EFFECT,
}


def _random_periods(n, k, seed):
    rng = np.random.default_rng(seed)
    names = [f"S{i:02d}" for i in range(k)]
    out = []
    for _ in range(n):
        out.append((pd.Series(rng.dirichlet(np.ones(k)), index=names), pd.Series(rng.dirichlet(np.ones(k)), index=names),
                    pd.Series(rng.normal(0.01, 0.05, k), index=names), pd.Series(rng.normal(0.008, 0.04, k), index=names)))
    return out


def _perfattr(periods, model, effects, linking):
    days = pd.date_range("2024-01-01", periods=len(periods) + 1, freq="MS")
    p = pd.concat([_frame(wp, rp, days[i], days[i + 1] - pd.Timedelta(days=1)) for i, (wp, wb, rp, rb) in enumerate(periods)])
    b = pd.concat([_frame(wb, rb, days[i], days[i + 1] - pd.Timedelta(days=1)) for i, (wp, wb, rp, rb) in enumerate(periods)])
    prep = perfattr.prepare_attribution(p, b)
    link = {"carino": perfattr.EffectLinkingMethod.CARINO, "menchero": perfattr.EffectLinkingMethod.MENCHERO}[linking]
    return perfattr.calculate_attribution(prep.portfolio, prep.benchmark, method=METHODS[(model, effects)],
                                          effect_linking_method=link)


@pytest.mark.parametrize("model,effects", list(METHODS))
def test_single_period_matches_perfattr(model, effects):
    res = _perfattr([(WP, WB, RP, RB)], model, effects, "carino").period_detail.set_index("identifier").loc[SECTORS]
    out = risk.brinson(WP, WB, RP, RB, model=model, effects=effects)
    np.testing.assert_allclose(out.allocation, res.allocation_effect, atol=1e-14)
    if effects == 3:
        np.testing.assert_allclose(out.selection, res.selection_effect, atol=1e-14)
        np.testing.assert_allclose(out.interaction, res.interaction_effect, atol=1e-14)
    else:
        np.testing.assert_allclose(out.selection + out.interaction, res.selection_effect, atol=1e-14)


@pytest.mark.parametrize("linking", ["carino", "menchero"])
@pytest.mark.parametrize("model", ["BF", "BHB"])
def test_linked_matches_perfattr(linking, model):
    periods = _random_periods(12, 6, seed=3)
    ref = _perfattr(periods, model, 3, linking).overall_detail.set_index("identifier")
    out = risk.brinson_linked(periods, linking=linking, model=model)
    idx = out.effects.index
    np.testing.assert_allclose(out.effects.allocation, ref.loc[idx, "linked_allocation_effect"], atol=1e-12)
    np.testing.assert_allclose(out.effects.selection, ref.loc[idx, "linked_selection_effect"], atol=1e-12)
    np.testing.assert_allclose(out.effects.interaction, ref.loc[idx, "linked_interaction_effect"], atol=1e-12)


def test_grap_two_periods_by_hand():
    # Period 1: Rp .10, Rb .05; period 2: Rp -.02, Rb .01. GRAP factors:
    # period 1: (after) (1 + Rb2) = 1.01; period 2: (before) (1 + Rp1) = 1.10.
    c = risk.link_coefficients(np.array([0.10, -0.02]), np.array([0.05, 0.01]), "grap")
    np.testing.assert_allclose(c, [1.01, 1.10])
    # Active effects .05 and -.03 link to .0505 - .033 = .0175 = 1.1*.98 - 1.05*1.01 = 1.078 - 1.0605.
    assert c @ np.array([0.05, -0.03]) == pytest.approx(1.078 - 1.0605)


def test_carino_coefficient_by_hand():
    # k_t = ln(1.1/1.05)/(0.05) = 0.930425...; K = ln(1.078/1.0605)/(0.0175) = 0.935160...
    c = risk.link_coefficients(np.array([0.10, -0.02]), np.array([0.05, 0.01]), "carino")
    assert c[0] == pytest.approx(np.log(1.1 / 1.05) / 0.05 / (np.log(1.078 / 1.0605) / 0.0175), rel=1e-12)


weights = st.lists(st.floats(0.01, 1.0), min_size=2, max_size=8)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 24), st.integers(2, 8), st.integers(0, 10_000),
       st.sampled_from(["carino", "menchero", "grap"]), st.sampled_from(["BF", "BHB"]), st.sampled_from([2, 3]))
def test_linked_effects_add_up_to_compounded_active(n, k, seed, linking, model, effects):
    periods = _random_periods(n, k, seed)
    out = risk.brinson_linked(periods, linking=linking, model=model, effects=effects)
    rp = np.prod([1 + (wp * rp).sum() for wp, wb, rp, rb in periods]) - 1
    rb = np.prod([1 + (wb * rb).sum() for wp, wb, rp, rb in periods]) - 1
    assert out.effects[["allocation", "selection", "interaction"]].to_numpy().sum() == pytest.approx(rp - rb, abs=1e-12)
    assert out.active_return == pytest.approx(rp - rb, abs=1e-14)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 10), st.integers(0, 10_000), st.sampled_from(["BF", "BHB"]))
def test_single_period_effects_add_up(k, seed, model):
    (wp, wb, rp, rb), = _random_periods(1, k, seed)
    out = risk.brinson(wp, wb, rp, rb, model=model)
    assert out.total.sum() == pytest.approx((wp * rp).sum() - (wb * rb).sum(), abs=1e-14)


def test_sector_held_on_one_side_only():
    # The portfolio holds "Cash-like" (not in the benchmark) and not "US" (in the benchmark).
    wp = pd.Series({"UK": 0.6, "Cash-like": 0.4})
    wb = pd.Series({"UK": 0.5, "US": 0.5})
    rp = pd.Series({"UK": 0.05, "Cash-like": 0.01})
    rb = pd.Series({"UK": 0.04, "US": 0.02})
    out = risk.brinson(wp, wb, rp, rb, model="BF")
    # Documented handling (perfattr's): no selection where the portfolio holds nothing; an
    # off-benchmark sector has no allocation or interaction, its effect .4 * (.01 - Rb=.03) is selection.
    assert out.loc["US", "selection"] == 0.0 and out.loc["US", "interaction"] == 0.0
    assert out.loc["US", "allocation"] == pytest.approx(-0.5 * (0.02 - 0.03))
    assert out.loc["Cash-like", "allocation"] == 0.0 and out.loc["Cash-like", "interaction"] == 0.0
    assert out.loc["Cash-like", "selection"] == pytest.approx(0.4 * (0.01 - 0.03))
    assert out.total.sum() == pytest.approx((0.6 * 0.05 + 0.4 * 0.01) - 0.03)
    bhb = risk.brinson(wp, wb, rp, rb, model="BHB")
    assert bhb.loc["Cash-like", "selection"] == pytest.approx(0.4 * 0.01)
    assert bhb.total.sum() == pytest.approx((0.6 * 0.05 + 0.4 * 0.01) - 0.03)


@pytest.mark.parametrize("model,effects", list(METHODS))
def test_unheld_sectors_totals_match_perfattr(model, effects):
    # perfattr zero-fills a missing weight and return; that moves effects between allocation, selection
    # and interaction of unheld sectors, but each sector's total effect must be the same as ours.
    wp = pd.Series({"UK": 0.6, "Cash-like": 0.4})
    wb = pd.Series({"UK": 0.5, "US": 0.5})
    rp = pd.Series({"UK": 0.05, "Cash-like": 0.01})
    rb = pd.Series({"UK": 0.04, "US": 0.02})
    p = pd.DataFrame({"from_date": "2024-01-01", "thru_date": "2024-01-31", "identifier": wp.index,
                      "weight": wp.to_numpy(), "return": rp.to_numpy()})
    b = pd.DataFrame({"from_date": "2024-01-01", "thru_date": "2024-01-31", "identifier": wb.index,
                      "weight": wb.to_numpy(), "return": rb.to_numpy()})
    prep = perfattr.prepare_attribution(p, b)
    ref = perfattr.calculate_attribution(prep.portfolio, prep.benchmark, method=METHODS[(model, effects)])
    ref = ref.period_detail.set_index("identifier")
    out = risk.brinson(wp, wb, rp, rb, model=model, effects=effects).loc[ref.index]
    np.testing.assert_allclose(out.total, ref.total_effect if model == "BF" else
                               ref.allocation_effect + ref.selection_effect + ref.get("interaction_effect", 0.0), atol=1e-15)
    np.testing.assert_allclose(out.loc["UK", ["allocation", "selection"]].to_numpy(),
                               ref.loc["UK", ["allocation_effect", "selection_effect"]].to_numpy(dtype=float), atol=1e-15)


@pytest.mark.parametrize("args,field", [
    ((WP * 0.9, WB, RP, RB), "wp"),
    ((WP, WB * 1.1, RP, RB), "wb"),
    ((WP, WB, RP.drop("US equities"), RB), "rp"),
    ((WP, WB, RP.where(RP > 0), RB), "rp"),
    ((WP, WB, RP, [0.1, 0.2, 0.3]), "rb"),
])
def test_bad_input(args, field):
    with pytest.raises(ValueError, match=field):
        risk.brinson(*args)


def test_bad_linking_and_model():
    with pytest.raises(ValueError, match="linking"):
        risk.brinson_linked([(WP, WB, RP, RB)], linking="frongello-ish")
    with pytest.raises(ValueError, match="model"):
        risk.brinson(WP, WB, RP, RB, model="XYZ")
    with pytest.raises(ValueError, match="periods"):
        risk.brinson_linked([])


def _reference_job_compute(wp, wb, rp, rb, model, effects, linking):
    """The batch job's earlier numpy compute (brinson_arrays on whole arrays, then linked sums): the reference for
    its compiled loop."""
    from risk.brinson import brinson_arrays
    from risk.linking import link_coefficients

    alloc, sel, inter = brinson_arrays(wp, wb, rp, rb, model, effects)
    port_t, bench_t = np.nansum(wp * rp, -1), np.nansum(wb * rb, -1)
    coef = link_coefficients(port_t, bench_t, linking)[..., None]
    return np.stack([(alloc * coef).sum(1), (sel * coef).sum(1), (inter * coef).sum(1)], -1), port_t, bench_t


@pytest.mark.parametrize("model, effects, linking", [("BF", 3, "carino"), ("BHB", 3, "menchero"), ("BF", 2, "grap"),
                                                     ("BHB", 2, "carino")])
def test_batch_kernel_equals_brinson_arrays(model, effects, linking):
    """risk.jobs.brinson.compute's compiled loop against brinson_arrays on the same (owners x days x sectors)
    inputs, with sectors unheld by the portfolio, outside the benchmark, and both, on some days."""
    from risk.jobs.brinson import compute

    rng = np.random.default_rng(3)
    p, t, s = 3, 40, 7
    wp, wb = rng.dirichlet(np.ones(s), (p, t)), rng.dirichlet(np.ones(s), (2, t))
    rp, rb = rng.normal(0.0005, 0.01, (p, t, s)), rng.normal(0.0005, 0.01, (2, t, s))
    wp[:, :10, 0], rp[:, :10, 0] = 0.0, np.nan  # unheld by the portfolios
    wb[:, 5:15, 1], rb[:, 5:15, 1] = 0.0, np.nan  # outside the benchmark
    wp[:, :, 2], rp[:, :, 2], wb[:, :, 2], rb[:, :, 2] = 0.0, np.nan, 0.0, np.nan  # neither
    wp, wb = wp / wp.sum(-1, keepdims=True), wb / wb.sum(-1, keepdims=True)
    bench = np.array([0, 1, 1])
    shared = {"sectors": np.array([f"S{i}" for i in range(s)], dtype=object), "bench_w": wb, "bench_r": rb}
    payload = {"pids": ["A", "B", "C"], "wp": wp, "rp": rp, "bench": bench}
    got = compute(shared, payload, {"model": model, "effects": effects, "linking": linking}).to_pandas()
    ref, port_t, bench_t = _reference_job_compute(wp, wb[bench], rp, rb[bench], model, effects, linking)
    for i, pid in enumerate("ABC"):
        mine = got[got.portfolio_id == pid]
        per = mine[mine["item"] != ""].pivot(index="item", columns="metric", values="value").loc[shared["sectors"]]
        np.testing.assert_allclose(per[["allocation", "selection", "interaction"]].to_numpy(), ref[i], rtol=1e-12,
                                   atol=1e-15)
        tot = mine[mine["item"] == ""].set_index("metric").value
        assert tot["portfolio_return"] == pytest.approx(np.prod(1 + port_t[i]) - 1, rel=1e-13)
        assert tot["benchmark_return"] == pytest.approx(np.prod(1 + bench_t[i]) - 1, rel=1e-13)
