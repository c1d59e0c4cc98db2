"""Result tables: Acc with the source's interval, MAPE, per-product tables and fused-model win shares."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import Evaluation
from .metrics import acc_interval

SINGLE = ("seq2seq", "arima", "svr")

# The source's published figures (source notes, section 3), shown next to ours.
SOURCE_FIGURES = {
    "volume": "Acc 0.51-0.77 by commodity (8 of 16 > 0.70); CF1805 fused 0.74 vs Seq2Seq 0.67, ARIMA 0.65, SVR 0.70",
    "open_interest": "Acc 0.74-0.86 by commodity; CF1805 fused 0.92 vs Seq2Seq 0.64, ARIMA 0.79, SVR 0.90",
    "win_share": "fused beats every single model in 88% of cases",
}


def summary_table(ev: Evaluation) -> pd.DataFrame:
    """Per target and model: cases, mean Acc, the source's 95% interval (mean +/- 1.96 sd), MAPE."""
    rows = []
    order = [m for m in SINGLE if m in ev.models] + ["fused", "persistence"]
    for t in ev.targets:
        for m in order:
            g = ev.cases[(ev.cases["target"] == t) & (ev.cases["model"] == m)]
            mean, lo, hi = acc_interval(g["acc"].values)
            # Acc lies in [0, 1]; the source's mean +/- 1.96 sd can overshoot, so the interval is clipped
            rows.append({"target": t, "model": m, "cases": len(g), "acc": mean, "acc_lo": max(lo, 0.0),
                         "acc_hi": min(hi, 1.0), "mape": float(g["mape"].mean())})
    return pd.DataFrame(rows)


def product_table(ev: Evaluation) -> pd.DataFrame:
    """Mean Acc per product (commodity), target and model."""
    return ev.cases.pivot_table(index=["target", "product"], columns="model", values="acc", aggfunc="mean").reset_index()


def contract_table(ev: Evaluation) -> pd.DataFrame:
    """Mean Acc per contract, target and model."""
    return ev.cases.pivot_table(index=["target", "contract"], columns="model", values="acc", aggfunc="mean").reset_index()


def win_shares(ev: Evaluation) -> pd.DataFrame:
    """Per target: share of forecasts where fused beats each rival, all singles at once, and of products where it does on average."""
    singles = [m for m in SINGLE if m in ev.models]
    out = []
    for t, g in ev.cases.groupby("target", sort=False):
        wide = g.pivot_table(index=["fold", "date", "contract"], columns="model", values="acc")
        row = {"target": t, "cases": len(wide)}
        for m in singles + ["persistence"]:
            row[f"beats_{m}"] = float(np.mean(wide["fused"] > wide[m]))
        row["beats_all_singles"] = float(np.mean(wide["fused"] > wide[singles].max(axis=1)))
        prod = g.pivot_table(index="product", columns="model", values="acc", aggfunc="mean")
        row["products_beats_all_singles"] = float(np.mean(prod["fused"] > prod[singles].max(axis=1)))
        out.append(row)
    return pd.DataFrame(out)


def own_level_table(ev: Evaluation) -> pd.DataFrame:
    """Per target: test Acc of each fusion candidate alone times its own validation-fitted level, next to fused.

    A diagnostic, not a model of the source: it shows how much of the fused
    model's gain comes from the level (calibration to the metric) rather than
    from combining models.
    """
    from .metrics import acc

    rows = []
    for k, t in enumerate(ev.targets):
        row = {"target": t}
        for j, m in enumerate(ev.candidates):
            accs = [acc(fc[m][:, k, :] * ev.own_scale[f][k, :, j][None, :], fc["actual"][:, k, :])
                    for f, fc in ev.forecasts.items() if f in ev.own_scale]
            if accs:
                row[f"{m}+level"] = float(np.mean(np.concatenate(accs)))
        row["fused"] = float(ev.cases[(ev.cases["target"] == t) & (ev.cases["model"] == "fused")]["acc"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def fold_table(ev: Evaluation) -> pd.DataFrame:
    """Mean Acc per fold, target and model, with whether fused beats every single model in that fold."""
    singles = [m for m in SINGLE if m in ev.models]
    t = ev.cases.pivot_table(index=["target", "fold"], columns="model", values="acc", aggfunc="mean").reset_index()
    t["fused_best"] = t["fused"] > t[singles + ["persistence"]].max(axis=1)
    t["first_origin"] = [ev.cases[(ev.cases["fold"] == f)]["date"].min().date().isoformat() for f in t["fold"]]
    return t


def weights_table(ev: Evaluation) -> pd.DataFrame:
    """Fusion weights per fold, target and horizon (columns in the fusion candidates' order)."""
    rows = []
    for fold, w in ev.weights.items():
        for k, t in enumerate(ev.targets):
            for h in range(w.shape[1]):
                rows.append({"fold": fold, "target": t, "h": h + 1, **{m: float(w[k, h, j]) for j, m in enumerate(ev.candidates or ev.models)}})
    return pd.DataFrame(rows)


def to_markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A small Markdown table writer (no optional dependency on 'tabulate')."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render(name: str, ev: Evaluation, seconds: float | None = None, cpu_seconds: float | None = None) -> str:
    """A Markdown section with the summary, win shares, per-product Acc and the source's figures."""
    parts = [f"### {name}", ""]
    if seconds is not None:
        cpu = f" ({cpu_seconds:.0f} s CPU)" if cpu_seconds is not None else ""
        parts += [f"Training + evaluation wall time: {seconds:.0f} s{cpu}", ""]
    parts += [to_markdown(summary_table(ev)), "", "Fused-model win shares:", "", to_markdown(win_shares(ev)), "",
              "By fold (fused_best: fused above every single model and persistence in that fold):", "",
              to_markdown(fold_table(ev).astype({"fused_best": str})), "",
              "Diagnostic, each candidate alone with its own validation-fitted level:", "", to_markdown(own_level_table(ev)), "",
              "Mean Acc per product:", "", to_markdown(product_table(ev)), "",
              "Source: " + "; ".join(f"{k}: {v}" for k, v in SOURCE_FIGURES.items()), ""]
    if ev.notes:
        parts += ["Skipped features: " + "; ".join(ev.notes), ""]
    return "\n".join(parts)
