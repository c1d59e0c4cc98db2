"""LIME explanations find the feature that drives a model, with its threshold, value and sign."""
import numpy as np

from forecast.explain import explain_forecast


def test_lime_finds_the_driving_feature():
    rng = np.random.default_rng(0)
    names = ["vol_swing_l0", "vol_swing_l3", "oi_swing_l0", "margin_change_l0"]
    bg = rng.normal(size=(500, 4))
    f = lambda x: 0.3 * (x[:, 1] > 0.5) - 0.05 * x[:, 2]  # noqa: E731  only vol_swing_l3 matters much
    inst = np.array([0.1, 1.2, -0.3, 0.0])
    table, local, _ = explain_forecast(f, bg, inst, names, num_features=3, seed=0)
    top = table.iloc[0]
    assert top["feature"] == "vol_swing_l3" and top["value"] == 1.2
    assert ">" in top["condition"] and top["contribution"] > 0.15
    assert abs(table.iloc[0]["contribution"]) > 3 * abs(table.iloc[1]["contribution"])
    # the same instance with the driver switched off: its contribution turns negative
    inst2 = inst.copy()
    inst2[1] = -1.0
    t2, _, _ = explain_forecast(f, bg, inst2, names, num_features=3, seed=0)
    assert t2.iloc[0]["feature"] == "vol_swing_l3" and t2.iloc[0]["contribution"] < 0
