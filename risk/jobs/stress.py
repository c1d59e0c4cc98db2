"""Batch stress job: factor-shock scenarios and worst historical windows, per portfolio and per position."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from risk.jobs.common import (check_complete, coded, concat_results, dense_positions, key_positions, results_frame,
                              select_keys, snapshot_frame, window_start)
from risk.packed_reads import daily_part, decode_daily, decode_effective, effective_part, run_parts
from risk.stress import historical_stress, position_returns, scenarios_from_rows

KINDS = ("equity", "bond", "mixed")
TABLES = ("holdings", "prices", "asset_returns", "assets", "stress_scenarios")
PACKS = ("holdings", "prices", "asset_returns", "bond_analytics")
DEFAULTS = {"window": 250, "hist_window": 10, "n_worst": 3, "positions": True}


def window_length(params) -> int:
    """Trading days of returns the job reads up to the as-of date."""
    return params["window"]


def load(con, date, chunks, params):
    """Position sensitivities and scenario returns (shared), market values per chunk."""
    pids = [p for c in chunks for p in c]
    first = window_start(con, date, params, params["window"])
    # One statement (packed_reads): the holdings in effect on the date, the day's closes and bond analytics, the
    # window's returns, the scenarios and every asset's attributes (a few hundred rows: cheaper than a second
    # statement with the held keys as an IN list, 10 ms under load, measured).
    h_rows, px_t, ba_t, ret_t, sc_t, at_t = run_parts(con, [
        effective_part("holdings", date, date, pids), daily_part("prices", ["close"], date, date),
        daily_part("bond_analytics", ["mod_duration", "spread_duration", "convexity"], date, date),
        daily_part("asset_returns", ["ret"], first, date),
        ("SELECT scenario_id, factor_type, factor_key, shock FROM stress_scenarios", {}),
        ("""SELECT a.asset_key, a.asset_id, a.asset_class, a.beta, a.index_id, a.sector, b.rating,
                   date_diff('day', $d::DATE, b.maturity_date) / 365.0 AS maturity_years
              FROM assets a LEFT JOIN bonds b ON b.asset_id = a.asset_id""", {"d": date})])
    h = snapshot_frame("holdings", pids, date, decode_effective(h_rows, pids, date), False, "quantity", True)
    keys = np.unique(h.asset_key.to_numpy())
    pday, pfull, plo = decode_daily(px_t, ["close"])
    px = select_keys(pfull["close"], keys, plo) if len(pday) else np.full((1, len(keys)), np.nan)
    px = check_complete(con, px, keys, np.array([np.datetime64(date, "D")]), "prices", "close")[0]
    # Attributes of the held keys only, as arrays (no pandas round trip for the other assets).
    all_keys = np.asarray(at_t.column("asset_key").to_numpy(zero_copy_only=False), dtype=np.int64)
    at = key_positions(all_keys, keys)
    take = pa.array(at, type=pa.int64())

    def col(name, numeric=False):
        c = at_t.column(name).take(take)
        if numeric:
            return np.asarray(c.to_numpy(zero_copy_only=False), dtype=float)  # NULL -> NaN
        return np.asarray(c.to_pylist(), dtype=object)

    pos = pd.DataFrame({"asset_id": col("asset_id"), "asset_class": col("asset_class"), "beta": col("beta", True),
                        "index_id": col("index_id"), "sector": col("sector"), "rating": col("rating"),
                        "maturity_years": col("maturity_years", True)})
    bonds = (pos.asset_class == "bond").to_numpy()
    for c in ("mod_duration", "spread_duration", "convexity"):
        pos[c] = np.nan
    if bonds.any():
        # Bond analytics on the day from the packed copy; a held bond without them is an error.
        bk = keys[bonds]
        _, full, lo = decode_daily(ba_t, ["mod_duration", "spread_duration", "convexity"])
        for c in ("mod_duration", "spread_duration", "convexity"):
            v = select_keys(full[c], bk, lo)[0] if len(full[c]) else np.full(len(bk), np.nan)
            pos.loc[bonds, c] = v
        if pos.loc[bonds, "mod_duration"].isna().any():
            bad = np.flatnonzero(bonds & pos.mod_duration.isna().to_numpy())[0]
            raise ValueError(f"bond_analytics: no analytics for held bond {pos.asset_id.iloc[bad]!r} on {date}")
    scen = scenarios_from_rows(sc_t.select(["scenario_id", "factor_type", "factor_key", "shock"]).to_pandas())
    if not scen:
        raise ValueError("stress_scenarios: no scenarios defined")
    shared = {"asset_ids": pos.asset_id.to_numpy(dtype=object), "scenario_names": [s.name for s in scen],
              "scenario_returns": position_returns(pos, scen)}
    days, full_r, rlo = decode_daily(ret_t, ["ret"])
    if len(days) < params["window"]:
        raise ValueError(f"--window: needs {params['window']} trading days up to {date}, the database has {len(days)}")
    shared["returns"] = check_complete(con, select_keys(full_r["ret"], keys, rlo), keys, days, "asset_returns", "ret")
    shared["days"] = days
    mv = dense_positions(h, len(pids), keys) * px[:, None]
    out, k = [], 0
    for c in chunks:
        out.append({"pids": list(c), "market_values": mv[:, k:k + len(c)]})
        k += len(c)
    return shared, out


def compute(shared, payload, params) -> pa.Table:
    """NAV impact per scenario for each portfolio (item '') and each held position (item = asset id)."""
    mv, pids = payload["market_values"], np.asarray(payload["pids"], dtype=object)
    names = np.asarray(shared["scenario_names"], dtype=object)
    sr, ids = shared["scenario_returns"], shared["asset_ids"]
    total = mv.T @ sr  # portfolios x scenarios in one product
    nav = mv.sum(axis=0)
    k, n_p = len(names), len(pids)
    # String columns go as positions into the short lists of ids and names: no per-row Python strings.
    frames = [results_frame(coded(pids, np.repeat(np.arange(n_p), k + 1)), coded([""], np.zeros(n_p * (k + 1))),
                            coded(np.r_[names, ["nav"]], np.tile(np.arange(k + 1), n_p)),
                            np.column_stack([total, nav]).ravel())]
    if params["positions"]:
        a, p = np.nonzero(mv)
        imp = sr[a] * mv[a, p][:, None]  # held positions x scenarios
        frames.append(results_frame(coded(pids, np.repeat(p, k)), coded(ids, np.repeat(a, k)),
                                    coded(names, np.tile(np.arange(k), len(a))), imp.ravel()))
    hw, nw = params["hist_window"], params["n_worst"]
    starts, port, posp = historical_stress(shared["returns"], mv, window=hw, n_worst=nw)
    days = shared["days"]
    for i in range(nw):
        ok = np.flatnonzero(starts[i] >= 0)
        metric = coded([f"hist_worst_{i + 1}"], np.zeros(len(ok)))
        win = np.array([f"{days[s]}/{days[s + hw - 1]}" for s in starts[i][ok]], dtype=object)
        frames.append(results_frame(coded(pids, ok), win, metric, port[i][ok]))
        if params["positions"]:
            a, p = np.nonzero(mv[:, ok])
            frames.append(results_frame(coded(pids, ok[p]), coded(ids, a), coded([f"hist_worst_{i + 1}"], np.zeros(len(a))),
                                        posp[i][:, ok][a, p]))
    return concat_results(frames)


def validate(params) -> None:
    """Check parameters before any work starts (errors name the CLI option)."""
    from risk._checks import check_positive_int

    check_positive_int(params["window"], "--window")
    check_positive_int(params["hist_window"], "--hist-window")
    check_positive_int(params["n_worst"], "--n-worst")
    if params["hist_window"] > params["window"]:
        raise ValueError(f"--hist-window: {params['hist_window']} days exceeds --window {params['window']}")
