"""PNG plots: forecast versus actual per model, and LIME contributions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def plot_forecast_vs_actual(ev, contract: str, target: str, path: str | Path, horizon: int = 1, fold: int = 0) -> Path:
    """Plot each model's T+``horizon`` forecast against the actual series of one contract over a test window."""
    if fold not in ev.forecasts:
        raise ValueError(f"fold: choose from {sorted(ev.forecasts)}")
    if target not in ev.targets:
        raise ValueError(f"target: choose from {', '.join(ev.targets)}")
    if not 1 <= horizon <= 5:
        raise ValueError("horizon: must be 1..5")
    fc = ev.forecasts[fold]
    sub = ev.cases[(ev.cases["fold"] == fold) & (ev.cases["target"] == target) & (ev.cases["model"] == "fused")]
    sel = np.flatnonzero(sub["contract"].values == contract)
    if len(sel) == 0:
        raise ValueError(f"contract: {contract!r} has no test forecasts in fold {fold}")
    k, h = ev.targets.index(target), horizon - 1
    dates = pd.to_datetime(sub["date"].values[sel]) + pd.offsets.BDay(horizon)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(dates, fc["actual"][sel, k, h], color="black", lw=2.2, label="actual")
    styles = {"fused": ("tab:red", "-"), "seq2seq": ("tab:blue", "--"), "arima": ("tab:green", "--"),
              "svr": ("tab:purple", "--"), "persistence": ("grey", ":")}
    for m in ("persistence",) + tuple(ev.models) + ("fused",):
        c, ls = styles[m]
        ax.plot(dates, fc[m][sel, k, h], color=c, ls=ls, lw=1.4, label=m)
    ax.set_title(f"{contract} {target.replace('_', ' ')}: T+{horizon} forecasts vs actual")
    ax.set_ylabel(target.replace("_", " "))
    ax.legend(ncol=3, fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_lime(expl, path: str | Path) -> Path:
    """Horizontal bar chart of LIME contributions (percent of the forecast's log change)."""
    plt = _plt()
    t = expl.table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(t) + 1.5))
    colors = ["tab:green" if v > 0 else "tab:red" for v in t["contribution"]]
    ax.barh([f"{c}  (= {v:.3g})" for c, v in zip(t["condition"], t["value"])], 100 * t["contribution"], color=colors)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("contribution to the forecast change, %")
    ax.set_title(f"LIME: {expl.contract} {expl.target} T+{expl.horizon} from {expl.date.date()} "
                 f"(SVR change {100 * expl.predicted_change:+.1f}%)", fontsize=9)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
