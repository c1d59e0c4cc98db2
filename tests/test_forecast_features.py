"""Features: no look-ahead (perturbing the future changes nothing up to T), hand checks, skipped groups."""
import numpy as np
import pandas as pd
import pytest

from forecast.features import FEATURE_TABLE, build_features, feature_doc_table
from forecast_fixtures import small_market

PERTURBED = ["prev_settle", "open", "high", "low", "close", "settle", "volume", "open_interest", "turnover",
             "vol_long_term", "vol_short_term", "vol_large", "vol_small", "oi_long_term", "oi_short_term",
             "oi_large", "oi_small"]


def _perturb_after(panel, cal, cut, seed):
    rng = np.random.default_rng(seed)
    p = panel.copy()
    late = p["date"] > cut
    for c in PERTURBED:
        p.loc[late, c] = p.loc[late, c] * rng.uniform(0.2, 3.0, late.sum())
    p = p[~(late & (rng.random(len(p)) < 0.1))]  # also drop some future rows
    c2 = cal.copy()
    fut = c2["announce_date"] > cut
    c2.loc[fut, "margin_rate"] = 0.2
    c2.loc[fut, "close_today_fee"] = 99.0
    extra = pd.DataFrame({"product": ["CF"], "effective_date": [cut + pd.offsets.BDay(2)],
                          "announce_date": [cut + pd.offsets.BDay(1)], "margin_rate": [0.5], "fee": [4.3],
                          "close_today_fee": [50.0]})
    return p, pd.concat([c2, extra], ignore_index=True)


@pytest.mark.parametrize("cut_index", [60, 150, 240])
def test_no_look_ahead(cut_index):
    panel, cal = small_market()
    cut = np.sort(panel["date"].unique())[cut_index]
    base = build_features(panel, cal)
    p2, c2 = _perturb_after(panel, cal, cut, cut_index)
    pert = build_features(p2, c2)
    key = ["contract", "date"]
    a = base.panel[key].assign(i=np.arange(len(base.panel)))
    b = pert.panel[key].assign(j=np.arange(len(pert.panel)))
    m = a.merge(b, on=key)
    m = m[m["date"] <= cut]
    assert len(m) > 100
    np.testing.assert_array_equal(base.X[m["i"]], pert.X[m["j"]])
    np.testing.assert_array_equal(base.future[m["i"]], pert.future[m["j"]])
    np.testing.assert_array_equal(base.levels[m["i"]], pert.levels[m["j"]])
    # the check can fail: the same perturbation one day earlier does change features on the cut day
    p3, _ = _perturb_after(panel, cal, cut - pd.offsets.BDay(1), cut_index)
    early = build_features(p3, cal)
    c = early.panel[key].assign(j=np.arange(len(early.panel))).merge(a, on=key)
    c = c[c["date"] == cut]
    assert not np.array_equal(base.X[c["i"]], early.X[c["j"]])


def test_announced_margin_is_known_only_from_its_announcement():
    panel, cal = small_market()
    cal = cal[cal["product"] != "CF"]
    cf = pd.DataFrame({"product": "CF", "effective_date": pd.to_datetime(["2016-01-04", "2016-06-10"]),
                       "announce_date": pd.to_datetime(["2016-01-04", "2016-06-07"]), "margin_rate": [0.07, 0.10],
                       "fee": [4.3, 4.3], "close_today_fee": [0.0, 0.0]})
    f = build_features(panel, pd.concat([cal, cf], ignore_index=True))
    j = f.future_names.index("fut_margin_ratio")
    cf_rows = (f.panel["product"] == "CF").values
    d = f.panel["date"]
    before = cf_rows & (d == "2016-06-06").values
    on_ann = cf_rows & (d == "2016-06-07").values  # 2016-06-10 is T+3
    assert np.all(f.future[before, :, j] == 0.0)
    np.testing.assert_allclose(f.future[on_ann][:, :, j], [[0, 0, 0.10 / 0.07 - 1, 0.10 / 0.07 - 1, 0.10 / 0.07 - 1]] * on_ann.sum())
    after = cf_rows & (d == "2016-06-10").values
    assert np.allclose(f.X[after, f.names.index("margin_change_l0")], 0.10 / 0.07 - 1)


def test_hand_checked_features():
    panel, cal = small_market()
    f = build_features(panel, cal)
    p = f.panel
    n = f.names
    i = int(np.flatnonzero((p["contract"] == p["contract"].iloc[500]).values)[30])
    v = p["volume"].values
    assert f.X[i, n.index("vol_swing_l0")] == pytest.approx(v[i] / v[i - 1] - 1)
    assert f.X[i, n.index("vol_swing_l3")] == pytest.approx(v[i - 3] / v[i - 4] - 1)
    assert f.X[i, n.index("high_swing_l0")] == pytest.approx(p["high"].iloc[i] / p["prev_settle"].iloc[i] - 1)
    assert f.X[i, n.index("vol_over_max5")] == pytest.approx(v[i] / v[i - 4:i + 1].max())
    # main contract = largest OI of its product that day, by an independent groupby
    day = p[p["date"] == p["date"].iloc[i]]
    for prod, g in day.groupby("product"):
        main = g["open_interest"].idxmax()
        assert f.X[main, n.index("is_main")] == 1.0
        assert f.X[g.index, n.index("is_main")].sum() == 1.0
    # targets are the next rows of the same contract
    assert f.ahead[i, 0, 2] == v[i + 3] and f.levels[i, 1] == p["open_interest"].iloc[i]


def test_missing_inputs_are_skipped_not_faked():
    panel, _ = small_market()
    slim = panel[["date", "contract", "product", "close", "volume"]].copy()
    slim["contract"] = "IDX"  # no delivery month, a single series
    slim = slim.drop_duplicates("date")
    f = build_features(slim)
    assert f.targets == ["volume"]
    assert not any(x.startswith(("oi_", "log_oi", "stage_", "is_main", "margin", "high_swing", "vol_share")) for x in f.names)
    assert "log_vol" in f.names and len(f.notes) == 3


def test_feature_table_documents_every_feature():
    panel, cal = small_market()
    f = build_features(panel, cal)
    documented = {name for name, *_ in FEATURE_TABLE}
    for name in f.names:
        assert name.rsplit("_l", 1)[0] in documented or name in documented
    assert "vol_swing_l0..l4" in feature_doc_table()
