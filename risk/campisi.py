"""Campisi fixed-income attribution: income, treasury-curve, spread and selection effects.

Per bond and period (prices are dirty, per 100 of face value):
  total     = (dirty_end + coupon_paid - dirty_start) / dirty_start
  income    = coupon_rate * 100 * period_years / dirty_start       (coupon accrual)
  treasury  = -mod_duration * (gov_end - gov_start)               (government yield at the bond's maturity)
  spread    = -spread_duration * (spread_end - spread_start)
  selection = total - income - treasury - spread                  (residual: convexity, roll-down, issuer moves)
With ``gov_shift`` (the curve's parallel move) the treasury effect splits into
shift = -mod_duration * gov_shift and twist = treasury - shift.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk._checks import WEIGHT_TOLERANCE
from risk.linking import LINKINGS, link_coefficients

EFFECTS = ["income", "treasury", "spread", "selection", "total"]
REQUIRED = ["dirty_start", "dirty_end", "coupon_rate", "period_years", "gov_start", "gov_end",
            "spread_start", "spread_end", "mod_duration"]
OPTIONAL = {"coupon_paid": 0.0, "spread_duration": None, "gov_shift": None}


def campisi_arrays(dirty_start, dirty_end, coupon_paid, coupon_rate, period_years, gov_start, gov_end,
                   spread_start, spread_end, mod_duration, spread_duration) -> np.ndarray:
    """Campisi effects stacked on a new last axis in the order of ``EFFECTS``; inputs broadcast."""
    total = (dirty_end + coupon_paid - dirty_start) / dirty_start
    income = coupon_rate * 100.0 * period_years / dirty_start
    treasury = -mod_duration * (gov_end - gov_start)
    spread = -spread_duration * (spread_end - spread_start)
    selection = total - income - treasury - spread
    return np.stack([income, treasury, spread, selection, total], axis=-1)


@dataclass(frozen=True)
class CampisiResult:
    """Per-bond effects and, when weights were given, portfolio, benchmark and active effects."""

    bonds: pd.DataFrame
    portfolio: pd.Series | None
    benchmark: pd.Series | None
    active: pd.Series | None


def _check_bonds(bonds: Any) -> pd.DataFrame:
    if not isinstance(bonds, pd.DataFrame):
        raise ValueError(f"bonds: must be a pandas DataFrame with columns {', '.join(REQUIRED)}")
    missing = [c for c in REQUIRED if c not in bonds.columns]
    if missing:
        raise ValueError(f"bonds: missing columns {', '.join(missing)}")
    if bonds.index.has_duplicates:
        raise ValueError("bonds: index (bond id) has duplicates")
    df = bonds.copy()
    for c, default in OPTIONAL.items():
        if c not in df.columns:
            df[c] = df["mod_duration"] if c == "spread_duration" else default
    cols = REQUIRED + ["coupon_paid", "spread_duration"]
    try:
        df[cols] = df[cols].astype(float)
    except (TypeError, ValueError):
        raise ValueError("bonds: analytics columns must be numeric") from None
    for c in cols:
        bad = ~np.isfinite(df[c])
        if bad.any():
            what = "missing price" if c.startswith("dirty") else "missing value"
            raise ValueError(f"bonds.{c}: {what} (NaN) for bond {bad[bad].index[0]!r}")
    for c in ("dirty_start", "dirty_end"):
        if (df[c] <= 0).any():
            raise ValueError(f"bonds.{c}: dirty prices must be positive (bond {df.index[df[c] <= 0][0]!r})")
    if (df["period_years"] < 0).any():
        raise ValueError("bonds.period_years: must be non-negative")
    return df


def _weights(w: Any, index: pd.Index, name: str) -> pd.Series:
    if not isinstance(w, pd.Series):
        raise ValueError(f"{name}: must be a pandas Series indexed by bond id")
    unknown = w.index.difference(index)
    if len(unknown):
        raise ValueError(f"{name}: bond {unknown[0]!r} has no analytics row in bonds")
    w = w.astype(float).reindex(index).fillna(0.0)
    if abs(w.sum() - 1.0) > WEIGHT_TOLERANCE:
        raise ValueError(f"{name}: weights must sum to 1 (tolerance {WEIGHT_TOLERANCE:g}), got {w.sum():.10g}")
    return w


def campisi(bonds: pd.DataFrame, weights: pd.Series | None = None,
            benchmark_weights: pd.Series | None = None) -> CampisiResult:
    """Campisi attribution of one period per bond, and per portfolio/benchmark from (start-of-period) weights.

    ``bonds`` is indexed by bond id with the columns in ``REQUIRED`` (yields and
    spreads as decimals, durations in years) and optional ``coupon_paid``,
    ``spread_duration`` (defaults to ``mod_duration``) and ``gov_shift``.
    """
    df = _check_bonds(bonds)
    e = campisi_arrays(*(df[c].to_numpy() for c in ("dirty_start", "dirty_end", "coupon_paid", "coupon_rate",
                                                     "period_years", "gov_start", "gov_end", "spread_start",
                                                     "spread_end", "mod_duration", "spread_duration")))
    out = pd.DataFrame(e, index=df.index, columns=EFFECTS)
    cols = EFFECTS
    if df["gov_shift"].notna().any():
        shift = -df["mod_duration"] * df["gov_shift"].astype(float)
        out.insert(2, "treasury_shift", shift)
        out.insert(3, "treasury_twist", out["treasury"] - shift)
        cols = list(out.columns)
    port = bench = active = None
    if weights is not None:
        port = out[cols].T @ _weights(weights, df.index, "weights")
    if benchmark_weights is not None:
        bench = out[cols].T @ _weights(benchmark_weights, df.index, "benchmark_weights")
    if port is not None and bench is not None:
        active = port - bench
    return CampisiResult(out, port, bench, active)


def link_absolute(effects: np.ndarray, linking: str = "carino") -> np.ndarray:
    """Link per-period effects (..., T, E with total last) of an absolute return over the T periods.

    The linked effects add up exactly to the compounded total ``prod(1 + total_t) - 1``.
    """
    if linking not in LINKINGS:
        raise ValueError(f"linking: must be one of {', '.join(LINKINGS)}, got {linking!r}")
    total = effects[..., -1]
    coef = link_coefficients(total, np.zeros_like(total), linking)
    return np.sum(effects * coef[..., None], axis=-2)
