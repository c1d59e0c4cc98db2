"""Batch book job: revalue each snowball position with Greeks through ``pricing.price``.

Knock-in and knock-out so far are read from the underlying's closes since the
trade date (knock-in: a close strictly below the barrier on any day; knock-out:
a close at or above the barrier on a KO observation day, the conventions of
docs/snowball-conventions), so a trade that already knocked out or matured is
reported with its status and no value rather than priced.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from risk.jobs.common import concat_results, daily_matrix, grid_results, register_ids, results_frame
from risk.schema import GOV_CURVE
from risk.store import trading_days_between

KINDS = ("book",)
TABLES = ("snowball_trades", "prices", "market_params", "curves")
PACKS = ("prices",)
DEFAULTS = {"method": "pde", "paths": 200_000, "seed": 0, "backend": "cpu"}
STATUS = {"live": 0.0, "knocked_out": 1.0, "matured": 2.0}
GREEKS = ["delta", "gamma", "vega", "rho", "theta"]
KO_PERIOD_DAYS = 21  # monthly KO observations after the lock-up (conventions' default schedule)


def default_pricer() -> Callable[..., Any]:
    """``pricing.price``, imported only when a book is revalued."""
    from pricing import price

    return price


def _ko_days(lockup: int, maturity: int) -> np.ndarray:
    days = list(range(lockup, maturity + 1, KO_PERIOD_DAYS))
    if not days or days[-1] != maturity:
        days.append(maturity)
    return np.array(days)


def load(con, date, chunks, params):
    """Trades with their path-dependent state and market data as of ``date``."""
    pids = [p for c in chunks for p in c]
    register_ids(con, "_pids", pids, "portfolio_id")
    trades = con.sql("""SELECT t.*, a.asset_key FROM snowball_trades t JOIN _pids USING (portfolio_id)
                        LEFT JOIN assets a ON a.asset_id = t.underlying_id ORDER BY trade_id""").df()
    if trades.asset_key.isna().any():
        raise ValueError(f"snowball_trades: underlying {trades.underlying_id[trades.asset_key.isna()].iloc[0]!r} "
                         "is not in the assets table")
    empty = sorted(set(pids) - set(trades.portfolio_id))
    if empty:
        raise ValueError(f"snowball_trades: book {empty[0]!r} has no trades")
    start = np.asarray(trades.start_date.to_numpy(), dtype="datetime64[D]")
    if (start > np.datetime64(date, "D")).any():
        raise ValueError(f"snowball_trades: trade {trades.trade_id[start > np.datetime64(date, 'D')].iloc[0]!r} starts after {date}")
    days = trading_days_between(con, start.min(), date)
    keys = np.unique(trades.asset_key.to_numpy(np.int64))
    close = daily_matrix(con, keys, days, "prices", "close")
    mp = con.sql("SELECT a.asset_key, m.vol, m.dividend FROM market_params m JOIN assets a ON a.asset_id = m.underlying_id WHERE m.date = $d",
                 params={"d": date}).df().set_index("asset_key")
    miss = [k for k in keys if k not in mp.index]
    if miss:
        u = trades.underlying_id[trades.asset_key == miss[0]].iloc[0]
        raise ValueError(f"market_params: no vol/dividend for underlying {u!r} on {date}")
    curve = con.sql("SELECT tenor_years, yield FROM curves WHERE curve_id = $c AND date = $d ORDER BY tenor_years",
                    params={"c": GOV_CURVE, "d": date}).fetchnumpy()
    if len(curve["yield"]) == 0:
        raise ValueError(f"curves: no {GOV_CURVE} curve on {date} for the discount rate")
    rows = []
    kpos = pd.Index(keys)
    for tr in trades.itertuples(index=False):
        s = int(np.searchsorted(days, np.datetime64(tr.start_date, "D")))
        if s >= len(days) or days[s] != np.datetime64(tr.start_date, "D"):
            raise ValueError(f"snowball_trades: trade {tr.trade_id!r} starts on {tr.start_date:%Y-%m-%d}, not a trading day")
        path = close[s:, kpos.get_loc(tr.asset_key)]
        elapsed = len(path) - 1
        rel = path / tr.initial_price
        status, ki = "live", bool((rel[1:] < tr.ki_barrier).any())
        ko = _ko_days(int(tr.lockup_days), int(tr.maturity_days))
        past = ko[ko <= elapsed]
        if (rel[past] >= tr.ko_barrier).any():
            status = "knocked_out"
        elif elapsed >= tr.maturity_days:
            status = "matured"
        y1 = float(np.interp(1.0, curve["tenor_years"], curve["yield"]))
        rows.append({"trade_id": tr.trade_id, "portfolio_id": tr.portfolio_id, "underlying_id": tr.underlying_id,
                     "status": status, "elapsed_days": elapsed, "knocked_in": ki, "spot": float(path[-1]),
                     "vol": float(mp.loc[tr.asset_key, "vol"]), "dividend": float(mp.loc[tr.asset_key, "dividend"]),
                     "rate": float(np.log1p(y1)),  # the curve is annually compounded; the pricer wants continuous
                     "note": {"ko_barrier": tr.ko_barrier, "ki_barrier": tr.ki_barrier, "coupon": tr.coupon,
                              "maturity_days": int(tr.maturity_days), "lockup_days": int(tr.lockup_days),
                              "ki_strike": 1.0 if pd.isna(tr.ki_strike) else float(tr.ki_strike),
                              "floor": None if pd.isna(tr.floor) else float(tr.floor),
                              "initial_price": float(tr.initial_price), "notional": float(tr.notional)}})
    book = pd.DataFrame(rows)
    shared = {"pricer": params.get("_pricer")}
    return shared, [{"pids": list(c), "trades": book[book.portfolio_id.isin(c)]} for c in chunks]


def compute(shared, payload, params) -> pa.Table:
    """Value and Greeks per trade (item = trade id) and per book, plus cash delta by underlying."""
    pricer = shared.get("pricer") or default_pricer()
    from pricing import Market, Snowball

    frames, totals = [], []
    for pid in payload["pids"]:
        book = payload["trades"][payload["trades"].portfolio_id == pid]
        agg = dict.fromkeys(["value"] + GREEKS + ["cash_delta"], 0.0)
        by_und: dict[str, float] = {}
        for tr in book.itertuples(index=False):
            vals = {"status": STATUS[tr.status], "spot": tr.spot, "elapsed_days": float(tr.elapsed_days),
                    "knocked_in": float(tr.knocked_in)}
            if tr.status == "live":
                note = Snowball(**tr.note)
                mkt = Market(spot=tr.spot, rate=tr.rate, dividend=tr.dividend, vol=tr.vol)
                kw = {"paths": params["paths"], "seed": params["seed"], "backend": params["backend"]} if params["method"] == "mc" else {}
                res = pricer(note, mkt, method=params["method"], greeks=True, elapsed_days=int(tr.elapsed_days),
                             knocked_in=bool(tr.knocked_in), **kw)
                vals.update(value=float(res.price), stderr=float(res.stderr), ko_probability=float(res.ko_probability),
                            ki_probability=float(res.ki_probability), **{g: float(res.greeks[g]) for g in GREEKS})
                for k in ["value"] + GREEKS:
                    agg[k] += vals[k]
                agg["cash_delta"] += vals["delta"] * tr.spot
                by_und[tr.underlying_id] = by_und.get(tr.underlying_id, 0.0) + vals["delta"] * tr.spot
            frames.append(results_frame([pid] * len(vals), [tr.trade_id] * len(vals), list(vals), list(vals.values())))
        for u, cd in by_und.items():
            frames.append(results_frame([pid], [f"underlying:{u}"], ["cash_delta"], [cd]))
        agg["live_trades"] = float((book.status == "live").sum())
        totals.append((pid, agg))
    for pid, agg in totals:
        frames.append(grid_results([pid], list(agg), np.array([list(agg.values())])))
    return concat_results(frames)


def validate(params) -> None:
    """Check parameters before any work starts (errors name the CLI option)."""
    from risk._checks import check_choice, check_positive_int

    check_choice(params["method"], "--method", ("pde", "mc"))
    check_positive_int(params["paths"], "--paths")
    if isinstance(params["seed"], bool) or not isinstance(params["seed"], int) or params["seed"] < 0:
        raise ValueError(f"--seed: must be a non-negative integer, got {params['seed']!r}")
