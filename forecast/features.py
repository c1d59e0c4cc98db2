"""Feature table of the source's groups, built without look-ahead.

Every feature of a row (contract c, day T) is computed from rows of day T and
earlier only; cross-sectional features (main contract, main-vs-next spread)
use day T's cross-section only; the margin/fee calendar contributes the values
in force on day T, and *known-future* features use only calendar rows
announced by day T. A feature whose input columns a dataset lacks is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .contracts import business_days_between, last_trading_day
from .schema import CLIENT_GROUPS, HORIZON, TARGETS

DEFAULT_LAGS = 5

# name, group, needs (panel columns; "calendar:<col>" for calendar columns), lagged?, meaning
FEATURE_TABLE: tuple[tuple[str, str, tuple[str, ...], bool, str], ...] = (
    ("high_swing", "settlement", ("high", "prev_settle"), True, "high / previous settle - 1"),
    ("open_swing", "settlement", ("open", "prev_settle"), True, "open / previous settle - 1"),
    ("close_swing", "settlement", ("close", "prev_settle"), True, "close / previous settle - 1"),
    ("settle_swing", "settlement", ("settle", "prev_settle"), True, "settle / previous settle - 1"),
    ("spot_swing", "settlement", ("spot",), True, "spot / previous spot - 1"),
    ("spread_main_next", "settlement", ("settle", "open_interest"), True,
     "product's main (largest OI) settle / next (2nd largest OI) settle - 1, same day"),
    ("margin_change", "settlement", ("calendar:margin_rate",), True, "margin rate in force / previous day's - 1"),
    ("fee_rel", "settlement", ("calendar:fee",), False, "fee in force / product's first calendar fee"),
    ("close_today_fee_rel", "settlement", ("calendar:close_today_fee",), False,
     "close-today fee in force / product's first calendar fee"),
    ("log_oi", "market", ("open_interest",), False, "log(1 + open interest)"),
    ("oi_swing", "market", ("open_interest",), True, "open interest / previous day's - 1"),
    ("oi_dev5", "market", ("open_interest",), False, "log OI minus its 5-day mean"),
    ("oi_dev20", "market", ("open_interest",), False, "log OI minus its 20-day mean"),
    ("oi_over_max5", "market", ("open_interest",), False, "OI / its max over the last 5 days"),
    ("log_vol", "market", ("volume",), False, "log(1 + volume)"),
    ("vol_swing", "market", ("volume",), True, "volume / previous day's - 1"),
    ("vol_dev5", "market", ("volume",), False, "log volume minus its 5-day mean"),
    ("vol_dev20", "market", ("volume",), False, "log volume minus its 20-day mean"),
    ("vol_over_max5", "market", ("volume",), False, "volume / its max over the last 5 days"),
    ("vol_oi_ratio", "market", ("volume", "open_interest"), False, "volume / open interest"),
    *((f"vol_share_{g}", "client", (f"vol_{g}", "volume"), False, f"{g} clients' share of volume") for g in CLIENT_GROUPS),
    *((f"oi_share_{g}", "client", (f"oi_{g}", "open_interest"), False, f"{g} clients' share of OI") for g in CLIENT_GROUPS),
    *((f"stage_{k}", "contract", ("contract:expiry",), False, f"life stage {k} (one-hot by business days to expiry)") for k in range(5)),
    ("dte", "contract", ("contract:expiry",), False, "business days to the last trading day / 250"),
    ("is_main", "contract", ("open_interest",), False, "1 if the product's largest-OI contract that day"),
    ("is_next", "contract", ("open_interest",), False, "1 if the product's 2nd largest-OI contract that day"),
)

# Known-future features, one value per horizon h = 1..5 (used by the SVR of that
# horizon and fed to the Seq2Seq decoder): the contract calendar and announced
# margin / fee changes are public before the day they take effect.
FUTURE_TABLE: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("fut_dte", ("contract:expiry",), "business days from T+h to the last trading day / 250"),
    ("fut_margin_ratio", ("calendar:margin_rate",), "margin rate in force on T+h as announced by T / today's - 1"),
    ("fut_close_today_fee_rel", ("calendar:close_today_fee",), "close-today fee on T+h as announced by T / first fee"),
    ("fut_horizon", (), "h / 5"),
)

STAGE_EDGES = (20, 60, 120, 180)  # business days to expiry separating the 5 life stages


@dataclass
class Features:
    """Feature matrix aligned with the panel rows (sorted by contract, date), plus future features and targets."""

    panel: pd.DataFrame
    X: np.ndarray
    names: list[str]
    groups: dict[str, str]
    future: np.ndarray  # (n, HORIZON, n_future)
    future_names: list[str]
    targets: list[str]
    levels: np.ndarray  # (n, n_targets): y_T
    ahead: np.ndarray  # (n, n_targets, HORIZON): y_{T+h}, NaN beyond the contract's last row
    position: np.ndarray  # row's index within its contract (0 = first day)
    notes: list[str] = field(default_factory=list)


def _calendar_on(panel: pd.DataFrame, cal: pd.DataFrame, when: np.ndarray, known_by: np.ndarray | None, col: str) -> np.ndarray:
    """Value of calendar column ``col`` in force on ``when`` per row, using rows announced by ``known_by``."""
    out = np.full(len(panel), np.nan)
    key = "contract" if "contract" in cal.columns and cal["contract"].notna().any() else "product"
    for k, rows in cal[cal[col].notna()].groupby(key):
        sel = np.flatnonzero(panel[key].values == k)
        if len(sel) == 0:
            continue
        eff = rows["effective_date"].values.astype("datetime64[ns]")
        ann = rows["announce_date"].values.astype("datetime64[ns]")
        val = rows[col].values.astype(float)
        w = when[sel]
        if known_by is None:
            idx = np.searchsorted(np.sort(eff), w, side="right") - 1
            order = np.argsort(eff, kind="mergesort")
            vv = val[order]
            out[sel] = np.where(idx >= 0, vv[np.clip(idx, 0, None)], np.nan)
        else:
            kb = known_by[sel]
            # latest row with effective <= when and announce <= known_by; few rows, so a direct scan
            ok = (eff[None, :] <= w[:, None]) & (ann[None, :] <= kb[:, None])
            effm = np.where(ok, eff[None, :].astype("int64"), np.iinfo(np.int64).min)
            j = np.argmax(effm, axis=1)
            out[sel] = np.where(ok.any(axis=1), val[j], np.nan)
    return out


def _safe_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = a / b
    r[~np.isfinite(r)] = np.nan
    return r


def build_features(panel: pd.DataFrame, calendar: pd.DataFrame | None = None, lags: int = DEFAULT_LAGS) -> Features:
    """Compute the feature table for every row of ``panel`` from data up to that row's day only."""
    if lags < 1:
        raise ValueError("lags: must be >= 1")
    p = panel.sort_values(["contract", "date"], kind="mergesort").reset_index(drop=True)
    cols = set(p.columns)
    g = p.groupby("contract", sort=False)
    base: dict[str, np.ndarray] = {}
    notes: list[str] = []
    dates = p["date"].values.astype("datetime64[ns]")

    first_day = p.groupby("contract", sort=False)["date"].first()
    expiry = pd.to_datetime(p["contract"].map({c: last_trading_day(c, d) for c, d in first_day.items()}))
    has_expiry = expiry.notna().all()
    dte = business_days_between(p["date"], expiry) if has_expiry else None

    def prev(col: str) -> np.ndarray:
        return g[col].shift(1).values.astype(float)

    for c in ("high", "open", "close", "settle", "spot"):
        if c in cols and ("prev_settle" in cols or c == "spot"):
            ref = prev("spot") if c == "spot" else p["prev_settle"].values.astype(float)
            base[f"{c}_swing"] = _safe_ratio(p[c].values.astype(float), ref) - 1.0
    if "open_interest" in cols:
        oi = p["open_interest"].values.astype(float)
        # day-T cross-section: rank contracts of a product by open interest
        rank = p.groupby(["product", "date"])["open_interest"].rank(method="first", ascending=False).values
        base["is_main"] = (rank == 1).astype(float)
        base["is_next"] = (rank == 2).astype(float)
        px = p["settle"] if "settle" in cols else p["close"]
        main_settle = px.where(rank == 1).groupby([p["product"], p["date"]]).transform("max").values
        next_settle = px.where(rank == 2).groupby([p["product"], p["date"]]).transform("max").values
        base["spread_main_next"] = _safe_ratio(main_settle, next_settle) - 1.0
        logoi = np.log1p(oi)
        base["log_oi"] = logoi
        base["oi_swing"] = _safe_ratio(oi, prev("open_interest")) - 1.0
        s = pd.Series(logoi)
        base["oi_dev5"] = logoi - s.groupby(p["contract"]).transform(lambda x: x.rolling(5, min_periods=1).mean()).values
        base["oi_dev20"] = logoi - s.groupby(p["contract"]).transform(lambda x: x.rolling(20, min_periods=1).mean()).values
        mx = g["open_interest"].transform(lambda x: x.rolling(5, min_periods=1).max()).values
        base["oi_over_max5"] = _safe_ratio(oi, mx)
        base["vol_oi_ratio"] = _safe_ratio(p["volume"].values.astype(float), oi)
    else:
        notes.append("no open_interest column: OI features, main/next flags and spread skipped")
    vol = p["volume"].values.astype(float)
    logv = np.log1p(vol)
    base["log_vol"] = logv
    base["vol_swing"] = _safe_ratio(vol, prev("volume")) - 1.0
    s = pd.Series(logv)
    base["vol_dev5"] = logv - s.groupby(p["contract"]).transform(lambda x: x.rolling(5, min_periods=1).mean()).values
    base["vol_dev20"] = logv - s.groupby(p["contract"]).transform(lambda x: x.rolling(20, min_periods=1).mean()).values
    base["vol_over_max5"] = _safe_ratio(vol, g["volume"].transform(lambda x: x.rolling(5, min_periods=1).max()).values)
    for grp in CLIENT_GROUPS:
        if f"vol_{grp}" in cols:
            base[f"vol_share_{grp}"] = _safe_ratio(p[f"vol_{grp}"].values.astype(float), vol)
        if f"oi_{grp}" in cols and "open_interest" in cols:
            base[f"oi_share_{grp}"] = _safe_ratio(p[f"oi_{grp}"].values.astype(float), p["open_interest"].values.astype(float))
    if dte is not None:
        stage = np.searchsorted(np.array(STAGE_EDGES), dte, side="right")
        stage = 4 - stage  # stage 0 = newly listed (far), stage 4 = about to expire
        for k in range(5):
            base[f"stage_{k}"] = (stage == k).astype(float)
        base["dte"] = dte / 250.0
    else:
        notes.append("contract codes carry no delivery month: life-stage and days-to-expiry features skipped")

    cal_now = {}
    first_fee = None
    if calendar is not None:
        if "fee" in calendar.columns:
            first_fee = calendar.sort_values("effective_date").groupby("product")["fee"].first() if "product" in calendar.columns else None
        for c in ("margin_rate", "fee", "close_today_fee"):
            if c in calendar.columns:
                cal_now[c] = _calendar_on(p, calendar, dates, None, c)
        if "margin_rate" in cal_now:
            m = cal_now["margin_rate"]
            mprev = pd.Series(m).groupby(p["contract"]).shift(1).values
            base["margin_change"] = np.where(np.isnan(mprev), 0.0, _safe_ratio(m, mprev) - 1.0)
        ref_fee = p["product"].map(first_fee).values.astype(float) if first_fee is not None else None
        if ref_fee is not None:
            if "fee" in cal_now:
                base["fee_rel"] = _safe_ratio(cal_now["fee"], ref_fee)
            if "close_today_fee" in cal_now:
                base["close_today_fee_rel"] = _safe_ratio(cal_now["close_today_fee"], ref_fee)
    else:
        notes.append("no margin/fee calendar: settlement-parameter margin and fee features skipped")

    names, groups, cols_out = [], {}, []
    for name, group, _needs, lagged, _doc in FEATURE_TABLE:
        if name not in base:
            continue
        v = base[name]
        if lagged:
            series = pd.Series(v)
            for k in range(lags):
                nm = f"{name}_l{k}"
                cols_out.append(series.groupby(p["contract"]).shift(k).values if k else v)
                names.append(nm)
                groups[nm] = group
        else:
            cols_out.append(v)
            names.append(name)
            groups[name] = group
    X = np.column_stack(cols_out).astype(float) if cols_out else np.zeros((len(p), 0))
    X[~np.isfinite(X)] = 0.0  # undefined swings (first day, zero denominators) are neutral

    # known-future features per horizon
    fut_cols, fut_names = [], []
    bd = pd.offsets.BDay
    when_h = [(p["date"] + bd(h)).values.astype("datetime64[ns]") for h in range(1, HORIZON + 1)]
    if dte is not None:
        fut_cols.append(np.stack([(dte - h) / 250.0 for h in range(1, HORIZON + 1)], axis=1))
        fut_names.append("fut_dte")
    if calendar is not None and "margin_rate" in calendar.columns:
        now = cal_now["margin_rate"]
        fut = np.stack([_calendar_on(p, calendar, w, dates, "margin_rate") for w in when_h], axis=1)
        fut_cols.append(_safe_ratio(fut, now[:, None]) - 1.0)
        fut_names.append("fut_margin_ratio")
    if calendar is not None and "close_today_fee" in calendar.columns and first_fee is not None:
        ref_fee = p["product"].map(first_fee).values.astype(float)
        fut = np.stack([_calendar_on(p, calendar, w, dates, "close_today_fee") for w in when_h], axis=1)
        fut_cols.append(_safe_ratio(fut, ref_fee[:, None]))
        fut_names.append("fut_close_today_fee_rel")
    fut_cols.append(np.tile(np.arange(1, HORIZON + 1) / HORIZON, (len(p), 1)))
    fut_names.append("fut_horizon")
    future = np.stack(fut_cols, axis=2)
    future[~np.isfinite(future)] = 0.0

    targets = [t for t in TARGETS if t in cols]
    levels = p[targets].values.astype(float)
    ahead = np.stack([np.stack([g[t].shift(-h).values.astype(float) for h in range(1, HORIZON + 1)], axis=1)
                      for t in targets], axis=1)
    position = g.cumcount().values
    return Features(p, X, names, groups, future, fut_names, targets, levels, ahead, position, notes)


def feature_doc_table() -> str:
    """The feature table as Markdown (name, group, inputs, lagged, meaning)."""
    lines = ["| feature | group | needs | lags | meaning |", "| --- | --- | --- | --- | --- |"]
    for name, group, needs, lagged, doc in FEATURE_TABLE:
        lines.append(f"| {name}{'_l0..l4' if lagged else ''} | {group} | {', '.join(needs)} | {'yes' if lagged else 'no'} | {doc} |")
    for name, needs, doc in FUTURE_TABLE:
        lines.append(f"| {name}[h] | known future | {', '.join(needs) or '-'} | h=1..5 | {doc} |")
    return "\n".join(lines)
