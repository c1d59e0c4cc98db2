"""Stress tests: factor-shock scenarios and historical worst-window scenarios, per position and portfolio.

Factor scenarios revalue each position by sensitivities:
  equity  return = beta * shock(index_id) + shock(sector)
  bond    return = -mod_duration * dy_gov(T) - spread_duration * ds + 0.5 * convexity * (dy_gov(T) + ds)^2
where dy_gov(T) = parallel + twist * (T - TWIST_PIVOT) / TWIST_SPAN (a twist of X bp moves the
2-year point by -X/2 and the 10-year by +X/2: a steepener for X > 0) and ds is the spread shock of
the bond's rating (or the "*" default).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from risk._checks import as_float_array, check_positive_int

TWIST_SHORT, TWIST_LONG = 2.0, 10.0
TWIST_PIVOT, TWIST_SPAN = (TWIST_SHORT + TWIST_LONG) / 2, TWIST_LONG - TWIST_SHORT
BP = 1e-4
POSITION_COLUMNS = {"asset_class": None, "market_value": None}
EQUITY_COLUMNS = ["beta", "index_id", "sector"]
BOND_COLUMNS = ["mod_duration", "spread_duration", "convexity", "maturity_years", "rating"]


@dataclass(frozen=True)
class Scenario:
    """A factor-shock scenario; returns as decimals, rates and spreads in basis points."""

    name: str
    index_shocks: Mapping[str, float] = field(default_factory=dict)
    sector_shocks: Mapping[str, float] = field(default_factory=dict)
    parallel_bp: float = 0.0
    twist_bp: float = 0.0
    spread_bp: Mapping[str, float] = field(default_factory=dict)  # by rating, "*" for any other

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name: a scenario needs a non-empty name")
        for fld in ("index_shocks", "sector_shocks", "spread_bp"):
            d = getattr(self, fld)
            if not isinstance(d, Mapping):
                raise ValueError(f"{fld}: must be a mapping, got {type(d).__name__}")
            for k, v in d.items():
                if not np.isfinite(float(v)):
                    raise ValueError(f"{fld}[{k!r}]: shock must be finite")
                if fld != "spread_bp" and float(v) <= -1:
                    raise ValueError(f"{fld}[{k!r}]: a return shock must be above -100%, got {v}")
        for fld in ("parallel_bp", "twist_bp"):
            if not np.isfinite(float(getattr(self, fld))):
                raise ValueError(f"{fld}: must be finite")


def scenarios_from_rows(rows: pd.DataFrame) -> list[Scenario]:
    """Build scenarios from long rows (scenario_id, factor_type, factor_key, shock) as stored in DuckDB.

    factor_type is one of index, sector (return shocks), parallel, twist (bp, key ignored), spread (bp by rating).
    """
    kinds = {"index": "index_shocks", "sector": "sector_shocks", "spread": "spread_bp"}
    out: dict[str, dict] = {}
    for sid, ftype, key, shock in rows[["scenario_id", "factor_type", "factor_key", "shock"]].itertuples(index=False):
        d = out.setdefault(sid, {"name": sid, "index_shocks": {}, "sector_shocks": {}, "spread_bp": {}})
        if ftype in kinds:
            d[kinds[ftype]][key] = float(shock)
        elif ftype in ("parallel", "twist"):
            d[f"{ftype}_bp"] = float(shock)
        else:
            raise ValueError(f"stress_scenarios.factor_type: unknown {ftype!r} in scenario {sid!r}; "
                             "allowed: index, sector, parallel, twist, spread")
    return [Scenario(**d) for d in out.values()]


def _col(positions: pd.DataFrame, name: str, mask: np.ndarray, numeric: bool = True) -> np.ndarray:
    if name not in positions.columns:
        if mask.any():
            raise ValueError(f"positions: column {name!r} is required for {'bond' if 'dur' in name or name in BOND_COLUMNS else 'equity'} positions")
        return np.zeros(len(positions)) if numeric else np.full(len(positions), "", dtype=object)
    v = positions[name].to_numpy()
    if numeric:
        v = v.astype(float)
        bad = mask & ~np.isfinite(v)
        if bad.any():
            raise ValueError(f"positions.{name}: missing value for position {positions.index[np.argmax(bad)]!r}")
        return np.where(mask, v, 0.0)
    return v


def _lookup(values: np.ndarray, mapping: dict, default: float) -> np.ndarray:
    """``mapping.get(v, default)`` for every value, looked up once per distinct value (positions share a few)."""
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    table = np.array([mapping.get(u, default) for u in uniq] + [default], dtype=float)
    return table[codes]  # code -1 (a missing value) takes the default, as dict.get(None) did


def position_returns(positions: pd.DataFrame, scenarios: Sequence[Scenario]) -> np.ndarray:
    """Scenario returns of each position (positions x scenarios) from its sensitivities."""
    if not isinstance(positions, pd.DataFrame) or "asset_class" not in positions.columns:
        raise ValueError("positions: must be a DataFrame with an 'asset_class' column (equity or bond)")
    cls = positions["asset_class"].to_numpy()
    unknown = ~np.isin(cls, ("equity", "bond"))
    if unknown.any():
        raise ValueError(f"positions.asset_class: must be 'equity' or 'bond', got {cls[np.argmax(unknown)]!r}")
    eq, bd = cls == "equity", cls == "bond"
    beta = _col(positions, "beta", eq)
    index_id = _col(positions, "index_id", eq, numeric=False)
    sector = _col(positions, "sector", eq, numeric=False)
    dur = _col(positions, "mod_duration", bd)
    sdur = positions["spread_duration"].fillna(positions["mod_duration"]).to_numpy(float) if "spread_duration" in positions else dur
    # Convexity is optional (a missing one means a first-order revaluation).
    conv = np.where(bd, np.nan_to_num(positions["convexity"].to_numpy(float)), 0.0) if "convexity" in positions else np.zeros(len(cls))
    mat = _col(positions, "maturity_years", bd)
    rating = _col(positions, "rating", bd, numeric=False)
    out = np.zeros((len(positions), len(scenarios)))
    for k, s in enumerate(scenarios):  # a handful of scenarios, each vectorised over positions
        idx = _lookup(index_id, s.index_shocks, 0.0) if s.index_shocks else 0.0
        sec = _lookup(sector, s.sector_shocks, 0.0) if s.sector_shocks else 0.0
        r_eq = beta * idx + sec
        dy = (s.parallel_bp + s.twist_bp * (mat - TWIST_PIVOT) / TWIST_SPAN) * BP
        default = s.spread_bp.get("*", 0.0)
        ds = _lookup(rating, s.spread_bp, default) * BP if s.spread_bp else 0.0
        r_bd = -dur * dy - sdur * ds + 0.5 * conv * (dy + ds) ** 2
        out[:, k] = np.where(eq, r_eq, np.where(bd, r_bd, 0.0))
    return out


def factor_stress(positions: pd.DataFrame, scenarios: Sequence[Scenario]) -> pd.DataFrame:
    """NAV impact (currency) of each position under each scenario: rows positions, columns scenario names."""
    if not scenarios:
        raise ValueError("scenarios: at least one scenario is required")
    mv = as_float_array(positions.get("market_value"), "positions.market_value") if "market_value" in positions else None
    if mv is None:
        raise ValueError("positions: column 'market_value' is required")
    r = position_returns(positions, scenarios)
    return pd.DataFrame(r * mv[:, None], index=positions.index, columns=[s.name for s in scenarios])


@dataclass(frozen=True)
class HistoricalScenario:
    """One worst window of a portfolio: its dates, portfolio return and per-position P&L."""

    start: Any
    end: Any
    portfolio_return: float
    position_pnl: np.ndarray


def window_returns(asset_returns: np.ndarray, window: int) -> np.ndarray:
    """Compounded returns of every asset over every window of ``window`` consecutive days (W x N)."""
    r = as_float_array(asset_returns, "asset_returns", ndim=(2,))
    window = check_positive_int(window, "window")
    if window > r.shape[0]:
        raise ValueError(f"window: {window} days exceeds the {r.shape[0]} days of returns")
    if (r <= -1).any():
        raise ValueError("asset_returns: a daily return of -100% or worse")
    c = np.concatenate([np.zeros((1, r.shape[1])), np.cumsum(np.log1p(r), axis=0)])
    return np.expm1(c[window:] - c[:-window])


def worst_windows(portfolio_pnl: np.ndarray, n_worst: int, window: int) -> np.ndarray:
    """Start indices of the ``n_worst`` worst non-overlapping windows for each column (n_worst x P, -1 if none)."""
    w, p = portfolio_pnl.shape
    out = np.full((n_worst, p), -1, dtype=np.int64)
    allowed = np.ones((w, p), dtype=bool)
    idx = np.arange(w)[:, None]
    cols = np.arange(p)
    # Greedy, all portfolios at once: the worst allowed window (argmin takes the earliest of ties, as a stable
    # sort would), then every window overlapping it is ruled out.
    for k in range(n_worst):
        live = allowed.any(axis=0)
        if not live.any():
            break
        pick = np.argmin(np.where(allowed, portfolio_pnl, np.inf), axis=0)
        out[k, live] = pick[live]
        allowed &= ~(np.abs(idx - pick[None, :]) < window) | ~live[None, :]
    return out


def historical_stress(asset_returns: np.ndarray, market_values: np.ndarray, window: int = 10,
                      n_worst: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Worst historical windows for each portfolio, holding today's positions through them.

    ``market_values`` is N assets x P portfolios. Returns (starts n_worst x P,
    portfolio P&L n_worst x P, position P&L n_worst x N x P); buy-and-hold within the window.
    """
    mv = as_float_array(market_values, "market_values", ndim=(1, 2))
    mv = mv.reshape(mv.shape[0], -1)
    wr = window_returns(asset_returns, window)
    if wr.shape[1] != mv.shape[0]:
        raise ValueError(f"market_values: {mv.shape[0]} rows but asset_returns has {wr.shape[1]} assets")
    n_worst = check_positive_int(n_worst, "n_worst")
    pnl = wr @ mv
    starts = worst_windows(pnl, n_worst, window)
    safe = np.where(starts >= 0, starts, 0)
    port = np.where(starts >= 0, np.take_along_axis(pnl, safe, axis=0), np.nan)
    pos = (wr[safe] * mv.T[None, :, :]).transpose(0, 2, 1)  # n_worst x N x P
    pos = np.where((starts >= 0)[:, None, :], pos, np.nan)
    return starts, port, pos
