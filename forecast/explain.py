"""LIME explanations of single forecasts: top features with thresholds, values and contributions."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import HORIZON


@dataclass
class Explanation:
    """A LIME explanation of one (contract, day, target, horizon) forecast of the feature model."""

    contract: str
    date: pd.Timestamp
    target: str
    horizon: int
    predicted_change: float  # model's log change, T -> T+h
    local_prediction: float  # LIME surrogate's prediction at the instance
    intercept: float
    table: pd.DataFrame  # feature, condition, value, contribution (log change; x100 ~ percent)


def _feature_of(condition: str, names: list[str]) -> str:
    # longest name first: 'vol_swing_l1' must not match inside 'vol_swing_l10'
    for n in sorted(names, key=len, reverse=True):
        if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", condition):
            return n
    raise ValueError(f"cannot find a feature name in LIME condition {condition!r}")


def explain_forecast(predict_fn, background: np.ndarray, instance: np.ndarray, names: list[str],
                     num_features: int = 10, seed: int = 0, num_samples: int = 2000) -> tuple[pd.DataFrame, float, float]:
    """Run LIME (tabular, quartile discretiser) on ``predict_fn`` at ``instance``.

    Returns (table of feature, condition, value, contribution; surrogate's
    local prediction; surrogate's intercept).
    """
    from lime.lime_tabular import LimeTabularExplainer

    if background.ndim != 2 or background.shape[1] != len(names) or instance.shape != (len(names),):
        raise ValueError("background/instance: shapes must match the feature names")
    if num_features < 1:
        raise ValueError("num_features: must be >= 1")
    explainer = LimeTabularExplainer(background, feature_names=names, mode="regression",
                                     discretize_continuous=True, random_state=seed)
    exp = explainer.explain_instance(instance, predict_fn, num_features=num_features, num_samples=num_samples)
    rows = []
    for cond, weight in exp.as_list():
        f = _feature_of(cond, names)
        rows.append((f, cond, float(instance[names.index(f)]), float(weight)))
    table = pd.DataFrame(rows, columns=["feature", "condition", "value", "contribution"])
    local = float(np.ravel(exp.local_pred)[0]) if exp.local_pred is not None else float("nan")
    return table, local, float(exp.intercept[0] if isinstance(exp.intercept, dict) else exp.intercept)


def explain_svr(tr, ds, row: int, target: str, horizon: int, num_features: int = 10) -> Explanation:
    """Explain the SVR forecast of ``target`` at T+``horizon`` from panel row ``row`` (see docs/forecast.md)."""
    if tr.svr is None:
        raise ValueError("models: LIME explains the feature model, so the trained bundle must include 'svr'")
    if target not in tr.targets:
        raise ValueError(f"target: choose from {', '.join(tr.targets)}")
    if not 1 <= horizon <= HORIZON:
        raise ValueError(f"horizon: must be 1..{HORIZON}")
    k, h = tr.targets.index(target), horizon - 1
    names = list(ds.feat.names) + [f"{n}[T+{horizon}]" for n in ds.feat.future_names]
    bx, bf = tr.info["lime_background"]
    background = np.hstack([bx, bf[:, h, :]])
    instance = np.hstack([ds.feat.X[row], ds.feat.future[row, h, :]])
    table, local, intercept = explain_forecast(lambda z: tr.svr.predict_one(k, h, z), background, instance, names,
                                               num_features=num_features, seed=tr.cfg.seed)
    pred = float(tr.svr.predict_one(k, h, instance[None, :])[0])
    r = ds.feat.panel.iloc[row]
    return Explanation(str(r["contract"]), pd.Timestamp(r["date"]), target, horizon, pred, local, intercept, table)
