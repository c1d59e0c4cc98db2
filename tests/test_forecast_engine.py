"""Engine: time-ordered folds without leakage, fusion applied as fitted, persistence by hand, reproducibility."""
import numpy as np
import pandas as pd
import pytest

from forecast.engine import Config, evaluate, forecast_latest, make_dataset, split_fold, train_final
from forecast.metrics import acc
from forecast_fixtures import SMALL, small_market


@pytest.fixture(scope="module")
def evaluation():
    panel, cal = small_market()
    return evaluate(panel, cal, SMALL)


def test_folds_are_time_ordered_without_leakage():
    panel, cal = small_market()
    cfg = SMALL.with_(folds=2)
    ds = make_dataset(panel, cal, cfg)
    dates = np.sort(ds.feat.panel["date"].unique())
    d = ds.feat.panel["date"].values
    prev_test_lo = None
    for fold in range(2):
        tr, va, te = split_fold(ds, cfg, fold)
        pos = lambda rows: np.searchsorted(dates, d[rows])  # noqa: E731
        # the last target (T+5) of every training origin is observed by the first validation origin ...
        assert pos(tr).max() + 5 <= pos(va).min()
        assert pos(va).max() + 5 <= pos(te).min()
        # ... and test windows of successive folds do not overlap
        if prev_test_lo is not None:
            assert pos(te).max() < prev_test_lo
        prev_test_lo = pos(te).min()
        assert len(np.unique(d[te])) == cfg.test_days
        assert np.all(ds.feat.ahead[te] > 0)


def test_fused_is_weights_applied_and_persistence_by_hand(evaluation):
    ev = evaluation
    for fold, fc in ev.forecasts.items():
        w = ev.weights[fold]
        assert np.allclose(w.sum(axis=2), 1.0) and (w >= 0).all()
        for k in range(len(ev.targets)):
            manual = sum(w[k, :, j][None, :] * fc[m][:, k, :] for j, m in enumerate(ev.models))
            np.testing.assert_allclose(fc["fused"][:, k, :], manual)
    panel, cal = small_market()
    ds = make_dataset(panel, cal, SMALL)
    rows = ev.forecasts[0]["rows"]
    vol_today = ds.feat.panel["volume"].values[rows]
    vol_next = np.stack([ds.feat.panel["volume"].values[rows + h] for h in range(1, 6)], axis=1)
    # same contract for rows + 5: every test origin has five more days of its contract
    assert np.all(ds.feat.panel["contract"].values[rows + 5] == ds.feat.panel["contract"].values[rows])
    want = acc(np.repeat(vol_today[:, None], 5, axis=1), vol_next)
    got = ev.cases.query("fold == 0 and model == 'persistence' and target == 'volume'")["acc"].values
    np.testing.assert_allclose(got, want)
    assert set(ev.cases["model"]) == {"seq2seq", "arima", "svr", "fused", "persistence"}
    assert ev.cases["acc"].between(0, 1).all()


def test_training_is_reproducible_under_a_seed():
    panel, cal = small_market()
    # ARIMA has no randomness (and is checked against statsmodels elsewhere); the seeded models are trained here
    cfg = SMALL.with_(val_days=15, models=("seq2seq", "svr"))
    a = forecast_latest(train_final(panel, cal, cfg), panel, cal)
    b = forecast_latest(train_final(panel, cal, cfg), panel, cal)
    pd.testing.assert_frame_equal(a, b)
    c = forecast_latest(train_final(panel, cal, cfg.with_(seed=1)), panel, cal)
    s2s = lambda f: f[f["model"] == "seq2seq"]["forecast"].values  # noqa: E731
    assert not np.array_equal(s2s(a), s2s(c))
    assert set(a["h"]) == {1, 2, 3, 4, 5} and (a["forecast"] >= 0).all()


def test_config_rejects_bad_fields():
    with pytest.raises(ValueError, match="models"):
        Config(models=("arima", "lstm")).check()
    with pytest.raises(ValueError, match="val_days"):
        Config(val_days=1).check()
    with pytest.raises(ValueError, match="min_volume"):
        Config(min_volume=-1).check()
    panel, cal = small_market()
    with pytest.raises(ValueError, match="not enough history"):
        evaluate(panel, cal, SMALL.with_(folds=20))
