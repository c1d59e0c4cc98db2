"""Loading helpers shared by the batch jobs: holdings as of a date, holdings history, price and return matrices."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import numpy as np
import pandas as pd

RESULT_COLUMNS = ["portfolio_id", "item", "metric", "value"]


def register_ids(con, name: str, ids: Sequence[str], col: str) -> None:
    """Register a one-column DataFrame of ids under ``name`` for joins."""
    con.register(name, pd.DataFrame({col: np.asarray(list(ids), dtype=object)}))


def _holdings_query(con, sql: str, pids: Sequence[str], params: dict) -> pd.DataFrame:
    register_ids(con, "_pids", pids, "portfolio_id")
    df = con.sql(sql, params=params).df()
    unknown = df[df.asset_key.isna()]
    if len(unknown):
        raise ValueError(f"holdings: asset {unknown.asset_id.iloc[0]!r} of portfolio {unknown.portfolio_id.iloc[0]!r} "
                         "is not in the assets table")
    return df.astype({"asset_key": np.int64})


def holdings_asof(con, pids: Sequence[str], date: dt.date) -> pd.DataFrame:
    """Positions (portfolio_id, asset_id, asset_key, quantity) of the latest snapshot on or before ``date``."""
    df = _holdings_query(con, """
        WITH last AS (SELECT h.portfolio_id, max(h.date) AS d FROM holdings h JOIN _pids USING (portfolio_id)
                      WHERE h.date <= $date GROUP BY 1)
        SELECT h.portfolio_id, h.asset_id, a.asset_key, h.quantity
          FROM holdings h JOIN last ON h.portfolio_id = last.portfolio_id AND h.date = last.d
          LEFT JOIN assets a ON a.asset_id = h.asset_id
         WHERE h.quantity <> 0""", pids, {"date": date})
    missing = sorted(set(pids) - set(df.portfolio_id))
    if missing:
        raise ValueError(f"holdings: portfolio {missing[0]!r} has no holdings on or before {date}"
                         + (f" ({len(missing)} portfolios in all)" if len(missing) > 1 else ""))
    return df


def holdings_snapshots(con, pids: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Every holdings snapshot in effect at some point in [start, end]: (portfolio_id, date, asset_id, asset_key, quantity)."""
    df = _holdings_query(con, """
        WITH first AS (SELECT h.portfolio_id, max(h.date) AS d FROM holdings h JOIN _pids USING (portfolio_id)
                       WHERE h.date <= $start GROUP BY 1)
        SELECT h.portfolio_id, h.date, h.asset_id, a.asset_key, h.quantity
          FROM holdings h JOIN first USING (portfolio_id) LEFT JOIN assets a ON a.asset_id = h.asset_id
         WHERE h.date >= first.d AND h.date <= $end""", pids, {"start": start, "end": end})
    missing = sorted(set(pids) - set(df.portfolio_id))
    if missing:
        raise ValueError(f"holdings: portfolio {missing[0]!r} has no holdings on or before {start}")
    return df


def asset_name(con, key: int) -> str:
    """The asset_id of an asset_key (for error messages)."""
    rows = con.sql("SELECT asset_id FROM assets WHERE asset_key = $k", params={"k": int(key)}).fetchall()
    return rows[0][0] if rows else f"asset_key {key}"


def daily_matrices(con, keys: np.ndarray, days: np.ndarray, table: str, cols: Sequence[str]) -> dict[str, np.ndarray]:
    """Dense (days x assets) matrices of daily columns for asset keys; a missing or NaN cell raises ValueError."""
    keys = np.asarray(keys, dtype=np.int64)
    res = con.sql(f"SELECT asset_key, date, {', '.join(cols)} FROM {table} WHERE date BETWEEN $a AND $b",
                  params={"a": days[0].item(), "b": days[-1].item()}).fetchnumpy()
    # Every asset in the window comes back; a key -> column lookup keeps the wanted ones.
    k = np.asarray(res["asset_key"], dtype=np.int64)
    size = int(max(k.max(initial=0), keys.max(initial=0))) + 1
    lookup = np.full(size, -1, dtype=np.int64)
    lookup[keys] = np.arange(len(keys))
    c = lookup[k]
    dates = np.asarray(res["date"], dtype="datetime64[D]")
    r = np.searchsorted(days, dates)
    ok = (c >= 0) & (r < len(days))
    ok[ok] &= days[r[ok]] == dates[ok]
    out = {}
    for col in cols:
        m = np.full((len(days), len(keys)), np.nan)
        m[r[ok], c[ok]] = np.asarray(res[col], dtype=float)[ok]
        bad = np.isnan(m)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            n = int(bad.sum())
            raise ValueError(f"{table}.{col}: missing or NaN value for asset {asset_name(con, keys[j])!r} on {days[i]}"
                             + (f" ({n} missing cells in all)" if n > 1 else ""))
        out[col] = m
    return out


def daily_matrix(con, keys: np.ndarray, days: np.ndarray, table: str = "prices", col: str = "close") -> np.ndarray:
    """Dense (days x assets) matrix of one daily column (see ``daily_matrices``)."""
    return daily_matrices(con, keys, days, table, [col])[col]


def dense_positions(h: pd.DataFrame, pids: Sequence[str], keys: np.ndarray, col: str = "quantity") -> np.ndarray:
    """Assets x portfolios matrix of a position column (zeros where not held)."""
    a_idx = pd.Index(keys).get_indexer(h.asset_key)
    p_idx = pd.Index(list(pids)).get_indexer(h.portfolio_id)
    out = np.zeros((len(keys), len(pids)))
    np.add.at(out, (a_idx, p_idx), h[col].to_numpy(dtype=float))
    return out


def daily_quantities(snap: pd.DataFrame, pids: Sequence[str], keys: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Quantities in effect at the close of each day (portfolios x days x assets), forward-filled between snapshots."""
    k_index, p_index = pd.Index(keys), pd.Index(list(pids))
    out = np.zeros((len(pids), len(days), len(keys)))
    snap = snap.assign(_d=np.asarray(snap["date"].to_numpy(), dtype="datetime64[D]"))
    for pid, g in snap.groupby("portfolio_id", sort=False):
        uniq, inv = np.unique(g["_d"].to_numpy(), return_inverse=True)
        q = np.zeros((len(uniq), len(keys)))
        np.add.at(q, (inv, k_index.get_indexer(g.asset_key)), g.quantity.to_numpy(dtype=float))
        which = np.searchsorted(uniq, days, side="right") - 1
        if (which < 0).any():
            raise ValueError(f"holdings: portfolio {pid!r} has no holdings on or before {days[0]}")
        out[p_index.get_loc(pid)] = q[which]
    return out


def results_frame(pids, items, metrics, values) -> pd.DataFrame:
    """Long result rows (portfolio_id, item, metric, value) from parallel arrays."""
    return pd.DataFrame({"portfolio_id": np.asarray(pids, dtype=object), "item": np.asarray(items, dtype=object),
                         "metric": np.asarray(metrics, dtype=object), "value": np.asarray(values, dtype=float)})


def grid_results(pids: Sequence[str], metrics: Sequence[str], values: np.ndarray, item: str = "") -> pd.DataFrame:
    """Rows for a (portfolios x metrics) array of portfolio-level values."""
    p, m = values.shape
    return results_frame(np.repeat(np.asarray(list(pids), dtype=object), m), np.full(p * m, item, dtype=object),
                         np.tile(np.asarray(list(metrics), dtype=object), p), values.ravel())
