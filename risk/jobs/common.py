"""Loading helpers shared by the batch jobs: holdings as of a date, holdings history, price and return matrices."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

RESULT_COLUMNS = ["portfolio_id", "item", "metric", "value"]


IDS_CTE = "(SELECT unnest($ids) AS {col}, (generate_subscripts($ids, 1) - 1)::BIGINT AS pos)"


def register_ids(con, name: str, ids: Sequence[str], col: str) -> None:
    """Register a DataFrame of ids (and their positions, column ``pos``) under ``name`` for joins."""
    con.register(name, pd.DataFrame({col: np.asarray(list(ids), dtype=object), "pos": np.arange(len(ids), dtype=np.int32)}))


def ids_table(col: str) -> str:
    """SQL for a table (``col``, pos) of the ids passed as the list parameter ``$ids`` (no registration, no pandas)."""
    return IDS_CTE.format(col=col)


def _numeric_frame(res: dict, cols: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: np.ma.getdata(res[c]) if isinstance(res[c], np.ma.MaskedArray) else res[c] for c in cols})


def _holdings_query(con, sql: str, pids: Sequence[str], params: dict, cols: Sequence[str]) -> pd.DataFrame:
    # Integer positions and keys come back (fetchnumpy, no string columns): converting strings costs more than the query.
    res = con.execute(sql, dict(params, ids=list(pids))).fetchnumpy()
    key = res["asset_key"]
    if isinstance(key, np.ma.MaskedArray) and key.mask.any():
        i = int(np.flatnonzero(np.ma.getmaskarray(key))[0])
        raise ValueError(f"holdings: asset {res['asset_id'][i]!r} of portfolio {pids[int(res['p_idx'][i])]!r} is not in the assets table")
    df = _numeric_frame(res, cols).astype({"asset_key": np.int64, "p_idx": np.int64})
    seen = np.zeros(len(pids), dtype=bool)
    seen[df.p_idx.to_numpy()] = True
    missing = np.flatnonzero(~seen)
    if len(missing):
        raise ValueError(f"holdings: portfolio {pids[missing[0]]!r} has no holdings on or before {params.get('date', params.get('start'))}"
                         + (f" ({len(missing)} portfolios in all)" if len(missing) > 1 else ""))
    return df


def holdings_asof(con, pids: Sequence[str], date: dt.date) -> pd.DataFrame:
    """Positions (p_idx into ``pids``, asset_key, quantity) of each portfolio's latest snapshot on or before ``date``."""
    return _holdings_query(con, f"""
        WITH p AS {ids_table("portfolio_id")},
             last AS (SELECT h.portfolio_id, max(h.date) AS d FROM holdings h JOIN p USING (portfolio_id)
                      WHERE h.date <= $date GROUP BY 1)
        SELECT p.pos AS p_idx, a.asset_key, h.quantity, h.asset_id
          FROM holdings h JOIN last ON h.portfolio_id = last.portfolio_id AND h.date = last.d
          JOIN p ON p.portfolio_id = h.portfolio_id
          LEFT JOIN assets a ON a.asset_id = h.asset_id
         WHERE h.quantity <> 0""", pids, {"date": date}, ["p_idx", "asset_key", "quantity"])


def holdings_snapshots(con, pids: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Every holdings snapshot in effect at some point in [start, end]: (p_idx, date, asset_key, quantity)."""
    return _holdings_query(con, f"""
        WITH p AS {ids_table("portfolio_id")},
             first AS (SELECT h.portfolio_id, max(h.date) AS d FROM holdings h JOIN p USING (portfolio_id)
                       WHERE h.date <= $start GROUP BY 1)
        SELECT p.pos AS p_idx, h.date, a.asset_key, h.quantity, h.asset_id
          FROM holdings h JOIN first USING (portfolio_id) JOIN p ON p.portfolio_id = h.portfolio_id
          LEFT JOIN assets a ON a.asset_id = h.asset_id
         WHERE h.date >= first.d AND h.date <= $end""", pids, {"start": start, "end": end},
        ["p_idx", "date", "asset_key", "quantity"])


def portfolio_window(con, date: dt.date, chunks: Sequence[Sequence[str]], periods: int):
    """Portfolio ids of the chunks, the window's trading days, their holdings snapshots and benchmark map."""
    from risk.store import trading_days

    pids = [p for c in chunks for p in c]
    days = trading_days(con, date, periods + 1)
    snap = holdings_snapshots(con, pids, days[0].item(), days[-2].item())
    bmap = dict(con.execute("SELECT portfolio_id, benchmark_id FROM portfolios WHERE portfolio_id IN (SELECT unnest($ids))",
                            {"ids": pids}).fetchall())
    return pids, days, snap, bmap


def benchmark_snapshots(con, bids: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Benchmark weight sets in effect over [start, end]: (portfolio_id = benchmark id, p_idx, date, asset_key, weight)."""
    res = con.execute(f"""
        WITH b AS {ids_table("benchmark_id")},
             first AS (SELECT benchmark_id, max(date) AS d FROM benchmark_weights JOIN b USING (benchmark_id)
                       WHERE date <= $s GROUP BY 1)
        SELECT b.pos AS p_idx, w.date, w.asset_id, a.asset_key, w.weight
          FROM benchmark_weights w JOIN first USING (benchmark_id) JOIN b ON b.benchmark_id = w.benchmark_id
          LEFT JOIN assets a ON a.asset_id = w.asset_id
         WHERE w.date >= first.d AND w.date <= $e""", {"s": start, "e": end, "ids": list(bids)}).fetchnumpy()
    p_idx = np.asarray(res["p_idx"], dtype=np.int64)
    seen = np.zeros(len(bids), dtype=bool)
    seen[p_idx] = True
    if not seen.all():
        raise ValueError(f"benchmark_weights: benchmark {bids[int(np.argmin(seen))]!r} has no weights on or before {start}")
    key = res["asset_key"]
    if isinstance(key, np.ma.MaskedArray) and key.mask.any():
        raise ValueError(f"benchmark_weights: asset {res['asset_id'][int(np.flatnonzero(np.ma.getmaskarray(key))[0])]!r} "
                         "is not in the assets table")
    df = _numeric_frame(res, ["p_idx", "date", "asset_key", "weight"]).astype({"asset_key": np.int64, "p_idx": np.int64})
    df.insert(0, "portfolio_id", np.asarray(list(bids), dtype=object)[p_idx])
    return df


def chunk_rows(df: pd.DataFrame, lo: int, n: int) -> pd.DataFrame:
    """Rows of portfolios lo..lo+n-1, renumbered from 0 (a chunk's view of holdings)."""
    sub = df[(df.p_idx >= lo) & (df.p_idx < lo + n)]
    return sub.assign(p_idx=sub.p_idx - lo)


def asset_name(con, key: int) -> str:
    """The asset_id of an asset_key (for error messages)."""
    rows = con.sql("SELECT asset_id FROM assets WHERE asset_key = $k", params={"k": int(key)}).fetchall()
    return rows[0][0] if rows else f"asset_key {key}"


def daily_matrices(con, keys: np.ndarray, days: np.ndarray, table: str, cols: Sequence[str]) -> dict[str, np.ndarray]:
    """Dense (days x assets) matrices of daily columns for asset keys; a missing or NaN cell raises ValueError."""
    keys = np.asarray(keys, dtype=np.int64)
    first = days[0].item()
    # Day offsets and integer keys travel instead of dates and ids; lookups place them without sorting.
    res = con.sql(f"SELECT asset_key, date_diff('day', $a, date)::INTEGER AS d, {', '.join(cols)} FROM {table} "
                  "WHERE date BETWEEN $a AND $b", params={"a": first, "b": days[-1].item()}).fetchnumpy()
    k = np.asarray(res["asset_key"], dtype=np.int64)
    c = np.full(int(max(k.max(initial=0), keys.max(initial=0))) + 1, -1, dtype=np.int64)
    c[keys] = np.arange(len(keys))
    c = c[k]
    offsets = (days - days[0]).astype(np.int64)
    r = np.full(int(offsets[-1]) + 1, -1, dtype=np.int64)
    r[offsets] = np.arange(len(days))
    r = r[np.asarray(res["d"], dtype=np.int64)]
    ok = (c >= 0) & (r >= 0)
    rows, cidx = r[ok], c[ok]
    out = {}
    for col in cols:
        m = np.full((len(days), len(keys)), np.nan)
        v = res[col]
        # NULLs arrive as a masked array: they must become NaN (and fail), never their fill value.
        v = np.ma.filled(v.astype(float), np.nan) if isinstance(v, np.ma.MaskedArray) else np.asarray(v, dtype=float)
        m[rows, cidx] = v[ok]
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


def key_positions(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of each ``wanted`` asset key within ``keys`` (any order; every wanted key must be present)."""
    keys = np.asarray(keys, dtype=np.int64)
    wanted = np.asarray(wanted, dtype=np.int64)
    lookup = np.full(int(max(keys.max(initial=0), wanted.max(initial=0))) + 1, -1, dtype=np.int64)
    lookup[keys] = np.arange(len(keys))
    return lookup[wanted]


def dense_positions(h: pd.DataFrame, n_portfolios: int, keys: np.ndarray, col: str = "quantity") -> np.ndarray:
    """Assets x portfolios matrix of a position column (zeros where not held)."""
    a_idx = key_positions(keys, h.asset_key.to_numpy())
    out = np.zeros((len(keys), n_portfolios))
    np.add.at(out, (a_idx, h.p_idx.to_numpy()), h[col].to_numpy(dtype=float))
    return out


def daily_quantities(snap: pd.DataFrame, n_portfolios: int, keys: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Quantities in effect at the close of each day (portfolios x days x assets), forward-filled between snapshots.

    ``snap`` has columns p_idx, date, asset_key, quantity.
    """
    out = np.zeros((n_portfolios, len(days), len(keys)))
    p_all = snap.p_idx.to_numpy()
    d_all = np.asarray(snap["date"].to_numpy(), dtype="datetime64[D]")
    k_all = key_positions(keys, snap.asset_key.to_numpy())
    q_all = snap.quantity.to_numpy(dtype=float)
    order = np.argsort(p_all, kind="stable")
    bounds = np.searchsorted(p_all[order], np.arange(n_portfolios + 1))
    for j in range(n_portfolios):  # one small dense fill per portfolio
        rows = order[bounds[j]:bounds[j + 1]]
        uniq, inv = np.unique(d_all[rows], return_inverse=True)
        q = np.zeros((len(uniq), len(keys)))
        np.add.at(q, (inv, k_all[rows]), q_all[rows])
        which = np.searchsorted(uniq, days, side="right") - 1
        if len(uniq) == 0 or (which < 0).any():
            raise ValueError(f"holdings: portfolio number {j} has no holdings on or before {days[0]}")
        out[j] = q[which]
    return out


def coded(names: Sequence[str], codes: np.ndarray) -> pa.DictionaryArray:
    """A string column given as positions into a few distinct ``names`` (no per-row Python strings)."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)),
                                          pa.array(np.asarray(list(names), dtype=object), type=pa.string()))


def _text(x) -> pa.DictionaryArray:
    if isinstance(x, pa.DictionaryArray):
        return x
    # One type for every result column (dictionary of strings), so chunks and parts concatenate.
    d = pa.array(np.asarray(x, dtype=object), type=pa.string()).dictionary_encode()
    return pa.DictionaryArray.from_arrays(d.indices.cast(pa.int32()), d.dictionary)


def results_frame(pids, items, metrics, values) -> pa.Table:
    """Long result rows (portfolio_id, item, metric, value) from parallel arrays, as an Arrow table.

    Arrow rather than pandas: building and inserting thousands of string rows
    through pandas costs more than computing them. String columns are either
    arrays of strings or ``coded`` (positions into a short list of names).
    """
    return pa.table({"portfolio_id": _text(pids), "item": _text(items), "metric": _text(metrics),
                     "value": pa.array(np.asarray(values, dtype=float), type=pa.float64())})


def grid_results(pids: Sequence[str], metrics: Sequence[str], values: np.ndarray, item: str = "") -> pa.Table:
    """Rows for a (portfolios x metrics) array of portfolio-level values."""
    p, m = values.shape
    return results_frame(coded(pids, np.repeat(np.arange(p), m)), coded([item], np.zeros(p * m)),
                         coded(metrics, np.tile(np.arange(m), p)), values.ravel())


def concat_results(tables: Sequence[pa.Table]) -> pa.Table:
    """One result table from several."""
    return pa.concat_tables(list(tables))
