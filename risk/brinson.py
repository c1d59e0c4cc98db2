"""Brinson equity attribution: Brinson-Hood-Beebower and Brinson-Fachler, single and linked periods."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from risk._checks import WEIGHT_TOLERANCE, check_choice
from risk.linking import LINKINGS, link_coefficients

MODELS = ("BF", "BHB")
EFFECT_COLUMNS = ["allocation", "selection", "interaction"]


def brinson_arrays(wp: np.ndarray, wb: np.ndarray, rp: np.ndarray, rb: np.ndarray,
                   model: str = "BF", effects: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allocation, selection and interaction along the last (sector) axis; any leading axes broadcast.

    NaN returns mean "not held": a sector the portfolio does not hold has no
    selection or interaction; a sector outside the benchmark has no allocation
    or interaction and its whole effect is selection (off-benchmark picks).
    """
    off = np.isnan(rb)
    rb_total = np.nansum(wb * rb, axis=-1, keepdims=True)
    rp = np.where(np.isnan(rp), rb, rp)
    rb_f = np.where(off, rb_total, rb)
    rp_f = np.where(np.isnan(rp), rb_f, rp)
    dw = wp - wb
    alloc = dw * (rb_f - rb_total) if model == "BF" else dw * rb_f
    if effects == 3:
        sel, inter = wb * (rp_f - rb_f), dw * (rp_f - rb_f)
    else:  # two-effect form: selection on portfolio weights absorbs the interaction
        sel, inter = wp * (rp_f - rb_f), np.zeros_like(alloc)
    if off.any():
        total = alloc + sel + inter
        alloc, sel, inter = np.where(off, 0.0, alloc), np.where(off, total, sel), np.where(off, 0.0, inter)
    return alloc, sel, inter


def _series(x: Any, name: str) -> pd.Series:
    if isinstance(x, pd.Series):
        s = x
    elif isinstance(x, Mapping):
        s = pd.Series(dict(x))
    else:
        raise ValueError(f"{name}: must be a pandas Series (or mapping) indexed by sector, got {type(x).__name__}")
    if s.index.has_duplicates:
        raise ValueError(f"{name}: duplicate sectors {list(s.index[s.index.duplicated()][:3])}")
    try:
        return pd.Series(np.asarray(s.to_numpy(), dtype=float), index=s.index)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: values must be numeric") from None


def align_sectors(wp: Any, wb: Any, rp: Any, rb: Any) -> pd.DataFrame:
    """Align the four inputs on the union of sectors and fill returns where a side holds nothing.

    A missing weight is zero; a missing return stays NaN where its weight is
    zero (see ``brinson_arrays`` for how unheld sectors are attributed). A
    missing or NaN return where the weight is non-zero, or weights not summing
    to one, raise ValueError.
    """
    named = [(_series(v, n), n) for v, n in ((wp, "wp"), (wb, "wb"), (rp, "rp"), (rb, "rb"))]
    idx = named[0][0].index
    for s, _ in named[1:]:
        if not s.index.equals(idx):
            idx = idx.union(s.index, sort=False)
    cols = {}
    for s, n in named:  # numpy from here on: pandas per-call overhead dominates small inputs
        pos = idx.get_indexer(s.index)
        v = np.full(len(idx), np.nan)
        v[pos] = s.to_numpy()
        cols[n] = v
    for w in ("wp", "wb"):
        v = np.nan_to_num(cols[w], nan=0.0, posinf=np.inf, neginf=-np.inf)
        if not np.isfinite(v).all():
            raise ValueError(f"{w}: weights must be finite")
        total = v.sum()
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise ValueError(f"{w}: weights must sum to 1 (tolerance {WEIGHT_TOLERANCE:g}), got {total:.10g}")
        cols[w] = v
    for r, w in (("rp", "wp"), ("rb", "wb")):
        bad = np.isnan(cols[r]) & (cols[w] != 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{r}: missing or NaN return for sector {idx[i]!r} which has weight {cols[w][i]:.6g}")
        if np.isinf(cols[r]).any():
            raise ValueError(f"{r}: returns must be finite")
    return pd.DataFrame(cols, index=idx)


def brinson(wp: Any, wb: Any, rp: Any, rb: Any, model: str = "BF", effects: int = 3) -> pd.DataFrame:
    """Single-period Brinson attribution by sector: columns allocation, selection, interaction, total.

    ``model`` is "BF" (Brinson-Fachler, allocation against the benchmark total)
    or "BHB" (Brinson-Hood-Beebower); ``effects=2`` folds interaction into
    selection. The effects add up to the active return ``sum(wp rp) - sum(wb rb)``.
    """
    check_choice(model, "model", MODELS)
    if effects not in (2, 3):
        raise ValueError(f"effects: must be 2 or 3, got {effects!r}")
    df = align_sectors(wp, wb, rp, rb)
    a, s, i = brinson_arrays(df.wp.to_numpy(), df.wb.to_numpy(), df.rp.to_numpy(), df.rb.to_numpy(), model, effects)
    out = pd.DataFrame({"allocation": a, "selection": s, "interaction": i}, index=df.index)
    out.index.name = "sector"
    out["total"] = out.sum(axis=1)
    out.attrs.update(portfolio_return=float(np.nansum(df.wp * df.rp)), benchmark_return=float(np.nansum(df.wb * df.rb)),
                     model=model, effects=effects)
    out.attrs["active_return"] = out.attrs["portfolio_return"] - out.attrs["benchmark_return"]
    return out


@dataclass(frozen=True)
class LinkedAttribution:
    """Linked multi-period attribution: per-sector effects plus the compounded returns they reconcile to."""

    effects: pd.DataFrame  # sector x allocation, selection, interaction, total (linked)
    by_period: pd.DataFrame  # (period, sector) x unlinked single-period effects and their total
    coefficients: np.ndarray  # one linking coefficient per period
    portfolio_return: float
    benchmark_return: float
    active_return: float  # compounded portfolio minus compounded benchmark return
    linking: str


def _period_inputs(p: Any, k: int) -> tuple:
    if isinstance(p, Mapping):
        try:
            return p["wp"], p["wb"], p["rp"], p["rb"]
        except KeyError as exc:
            raise ValueError(f"periods[{k}]: missing key {exc.args[0]!r}; need wp, wb, rp, rb") from None
    if isinstance(p, (tuple, list)) and len(p) == 4:
        return tuple(p)
    raise ValueError(f"periods[{k}]: must be a (wp, wb, rp, rb) tuple or a mapping with those keys")


def brinson_linked(periods: Sequence[Any], linking: str = "carino", model: str = "BF", effects: int = 3) -> LinkedAttribution:
    """Brinson over several periods, linked by "carino", "menchero" or "grap" to the compounded active return."""
    check_choice(linking, "linking", LINKINGS)
    periods = list(periods)
    if not periods:
        raise ValueError("periods: at least one period is required")
    check_choice(model, "model", MODELS)
    if effects not in (2, 3):
        raise ValueError(f"effects: must be 2 or 3, got {effects!r}")
    aligned = []
    for k, p in enumerate(periods):
        try:
            aligned.append(align_sectors(*_period_inputs(p, k)))
        except ValueError as exc:
            raise ValueError(f"periods[{k}].{exc}") from None
    sectors = aligned[0].index
    for a in aligned[1:]:
        sectors = sectors.union(a.index, sort=False)
    # A sector absent from a period has zero weights there; its returns then carry no effect.
    stack = {c: np.stack([a[c].reindex(sectors).to_numpy() for a in aligned]) for c in ("wp", "wb", "rp", "rb")}
    for w in ("wp", "wb"):
        stack[w] = np.nan_to_num(stack[w])
    alloc, sel, inter = brinson_arrays(stack["wp"], stack["wb"], stack["rp"], stack["rb"], model, effects)
    rp = np.nansum(stack["wp"] * stack["rp"], axis=1)
    rb = np.nansum(stack["wb"] * stack["rb"], axis=1)
    coef = link_coefficients(rp, rb, linking)
    idx = pd.MultiIndex.from_product([range(len(aligned)), sectors], names=["period", "sector"])
    by_period = pd.DataFrame({"allocation": alloc.ravel(), "selection": sel.ravel(), "interaction": inter.ravel()}, index=idx)
    by_period["total"] = by_period.sum(axis=1)
    eff = pd.DataFrame({"allocation": coef @ alloc, "selection": coef @ sel, "interaction": coef @ inter}, index=sectors)
    eff.index.name = "sector"
    eff["total"] = eff.sum(axis=1)
    cp, cb = float(np.prod(1 + rp) - 1), float(np.prod(1 + rb) - 1)
    return LinkedAttribution(eff, by_period, coef, cp, cb, cp - cb, linking)
