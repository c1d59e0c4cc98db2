"""Loading helpers shared by the batch jobs: holdings as of a date, holdings history, price and return matrices."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

RESULT_COLUMNS = ["portfolio_id", "item", "metric", "value"]


def register_ids(con, name: str, ids: Sequence[str], col: str) -> None:
    """Register a DataFrame of ids (and their positions, column ``pos``) under ``name`` for joins."""
    con.register(name, pd.DataFrame({col: np.asarray(list(ids), dtype=object), "pos": np.arange(len(ids), dtype=np.int32)}))


def _snapshot_frame(source: str, owners: Sequence[str], start: dt.date, end: dt.date, con, with_date: bool,
                    value: str, nonzero: bool) -> pd.DataFrame:
    """Positions of the owners' snapshots (p_idx, [date,] asset_key, ``value``) from the packed copy; errors name
    the long table."""
    from risk.packed import read_snapshots

    return snapshot_frame(source, owners, start, read_snapshots(con, source, owners, start, end), with_date, value,
                          nonzero)


def snapshot_frame(source: str, owners: Sequence[str], start: dt.date, snap: tuple, with_date: bool, value: str,
                   nonzero: bool) -> pd.DataFrame:
    """A DataFrame (p_idx, [date,] asset_key, ``value``) of snapshot rows read by ``packed.read_snapshots``;
    an asset missing from ``assets`` or an owner without a snapshot on or before ``start`` raises ValueError."""
    p, days, k, v = snapshot_arrays(source, owners, start, snap, nonzero)
    cols = {"p_idx": p}
    if with_date:
        cols["date"] = days
    cols["asset_key"] = k
    cols[value] = v
    return pd.DataFrame(cols)


def snapshot_arrays(source: str, owners: Sequence[str], start: dt.date, snap: tuple,
                    nonzero: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions (owner position, snapshot date, asset_key, value) of snapshot rows as arrays, with the checks of
    ``snapshot_frame`` (no DataFrame: the jobs that only need arrays skip building one)."""
    owner_col = "portfolio" if source == "holdings" else "benchmark"
    p, days, k, v, unknown = snap
    if unknown is not None:
        raise ValueError(f"{source}: asset {unknown[1]!r} of {owner_col} {owners[unknown[0]]!r} is not in the assets table")
    seen = np.zeros(len(owners), dtype=bool)
    seen[p] = True
    missing = np.flatnonzero(~seen)
    if len(missing):
        what = "holdings" if source == "holdings" else "weights"
        raise ValueError(f"{source}: {owner_col} {owners[missing[0]]!r} has no {what} on or before {start}"
                         + (f" ({len(missing)} {owner_col}s in all)" if len(missing) > 1 else ""))
    keep = (v != 0) if nonzero else (k >= 0)
    return p[keep], days[keep], k[keep], v[keep]


def holdings_asof(con, pids: Sequence[str], date: dt.date) -> pd.DataFrame:
    """Positions (p_idx into ``pids``, asset_key, quantity) of each portfolio's latest snapshot on or before ``date``."""
    return _snapshot_frame("holdings", list(pids), date, date, con, False, "quantity", True)


def holdings_snapshots(con, pids: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Every holdings snapshot in effect at some point in [start, end]: (p_idx, date, asset_key, quantity)."""
    return _snapshot_frame("holdings", list(pids), start, end, con, True, "quantity", False)


def portfolio_window(con, date: dt.date, chunks: Sequence[Sequence[str]], periods: int):
    """Portfolio ids of the chunks, the window's trading days, their holdings snapshots and benchmark map."""
    pids = [p for c in chunks for p in c]
    days = window_days(con, date, periods + 1)
    snap = holdings_snapshots(con, pids, days[0].item(), days[-2].item())
    bmap = dict(con.execute("SELECT portfolio_id, benchmark_id FROM portfolios WHERE portfolio_id IN (SELECT unnest($ids))",
                            {"ids": pids}).fetchall())
    return pids, days, snap, bmap


def benchmark_snapshots(con, bids: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
    """Benchmark weight sets in effect over [start, end]: (portfolio_id = benchmark id, p_idx, date, asset_key, weight)."""
    df = _snapshot_frame("benchmark_weights", list(bids), start, end, con, True, "weight", False)
    df.insert(0, "portfolio_id", np.asarray(list(bids), dtype=object)[df.p_idx.to_numpy()])
    return df


def chunk_rows(df: pd.DataFrame, lo: int, n: int) -> pd.DataFrame:
    """Rows of portfolios lo..lo+n-1, renumbered from 0 (a chunk's view of holdings)."""
    p = df.p_idx.to_numpy()
    if lo == 0 and (len(p) == 0 or p.max() < n):
        return df  # one chunk holds every portfolio (in-process runs): nothing to filter or renumber
    sub = df[(p >= lo) & (p < lo + n)]
    return sub.assign(p_idx=sub.p_idx - lo)


def asset_name(con, key: int) -> str:
    """The asset_id of an asset_key (for error messages)."""
    rows = con.sql("SELECT asset_id FROM assets WHERE asset_key = $k", params={"k": int(key)}).fetchall()
    return rows[0][0] if rows else f"asset_key {key}"


def select_keys(packed: np.ndarray, keys: np.ndarray, lo: int = 0) -> np.ndarray:
    """Columns of ``keys`` from a packed (days x n) matrix whose column j is asset_key lo + j; a key outside
    the packed range reads as missing (NaN)."""
    at = np.asarray(keys, dtype=np.int64) - lo
    inside = (at >= 0) & (at < packed.shape[1])
    if inside.all():
        return packed[:, at]
    out = np.full((packed.shape[0], len(at)), np.nan)
    out[:, inside] = packed[:, at[inside]]
    return out


def check_complete(con, m: np.ndarray, keys: np.ndarray, days: np.ndarray, table: str, col: str) -> np.ndarray:
    """Raise ValueError naming the table, asset and date of the first missing or NaN cell of a (days x keys) matrix."""
    bad = np.isnan(m)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        n = int(bad.sum())
        raise ValueError(f"{table}.{col}: missing or NaN value for asset {asset_name(con, keys[j])!r} on {days[i]}"
                         + (f" ({n} missing cells in all)" if n > 1 else ""))
    return m


def daily_matrices(con, keys: np.ndarray, days: np.ndarray, table: str, cols: Sequence[str]) -> dict[str, np.ndarray]:
    """Dense (days x assets) matrices of daily columns for asset keys; a missing or NaN cell raises ValueError."""
    from risk.packed import read_daily

    keys = np.asarray(keys, dtype=np.int64)
    got, full, lo = read_daily(con, table, cols, start=days[0].item(), end=days[-1].item())
    at = np.searchsorted(got, days)
    found = (at < len(got)) & (got[np.minimum(at, len(got) - 1)] == days) if len(got) else np.zeros(len(days), bool)
    out = {}
    for col in cols:
        m = np.full((len(days), len(keys)), np.nan)
        m[found] = select_keys(full[col][at[found]], keys, lo)
        out[col] = check_complete(con, m, keys, days, table, col)
    return out


def daily_window(con, keys: np.ndarray, end: dt.date, count: int, table: str,
                 cols: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The last ``count`` days of ``table`` up to ``end`` and their dense (days x assets) matrices, in one read."""
    from risk.packed import read_daily

    keys = np.asarray(keys, dtype=np.int64)
    days, full, lo = read_daily(con, table, cols, end=end, last=count)
    if len(days) < count:
        raise ValueError(f"--window: needs {count} trading days up to {end}, the database has {len(days)}")
    return days, {c: check_complete(con, select_keys(full[c], keys), keys, days, table, c) for c in cols}


def daily_range(con, keys: np.ndarray, start, end, table: str,
                cols: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The days of ``table`` in [start, end] and their dense (days x assets) matrices, in one read."""
    from risk.packed import read_daily

    keys = np.asarray(keys, dtype=np.int64)
    days, full, lo = read_daily(con, table, cols, start=np.datetime64(start, "D").item(),
                                end=np.datetime64(end, "D").item())
    return days, {c: check_complete(con, select_keys(full[c], keys, lo), keys, days, table, c) for c in cols}


def window_first(con, end: dt.date, count: int) -> dt.date | None:
    """The first of the last ``count`` trading days up to ``end`` (None when there are fewer), from the packed
    returns (``run_job`` gets it from its plan statement instead)."""
    days = con.sql("SELECT date FROM packed_asset_returns WHERE date <= $e ORDER BY date DESC LIMIT $n",
                   params={"e": end, "n": int(count)}).fetchnumpy()["date"]
    return np.asarray(days, dtype="datetime64[D]").min().item() if len(days) == count else None


def window_start(con, date: dt.date, params: dict, n_days: int) -> dt.date:
    """First day of the job's window: from ``run_job``'s plan statement when it has it, else :func:`window_first`."""
    first = params.get("_window_start") or window_first(con, date, n_days)
    if first is None:
        raise ValueError(f"--window: needs {n_days} trading days up to {date}, the database has fewer")
    return first


_BENCHMARK_IDS = "SELECT portfolio_id AS pf, benchmark_id AS bench FROM portfolios WHERE portfolio_id IN (SELECT unnest($ids))"


def benchmark_parts(params: dict, pids: list) -> list:
    """The statement part that reads the portfolios' benchmark ids, or none when the plan statement already has them."""
    return [] if params.get("_benchmarks") is not None else [(_BENCHMARK_IDS, {"ids": pids})]


def benchmark_map(params: dict, pids: list, bm: list) -> dict:
    """portfolio -> benchmark id, from the plan statement or from the result of :func:`benchmark_parts`' part."""
    known = params.get("_benchmarks")
    if known is not None:
        return {x: known.get(x) for x in pids}
    return dict(zip(bm[0].column("pf").to_pylist(), bm[0].column("bench").to_pylist()))


def window_days(con, end: dt.date, count: int) -> np.ndarray:
    """The last ``count`` trading days (dates with returns) up to ``end`` inclusive, from the packed returns."""
    from risk.packed import packed_name

    rows = con.sql(f"SELECT date FROM {packed_name('asset_returns')} WHERE date <= $end ORDER BY date DESC LIMIT $n",
                   params={"end": end, "n": count}).fetchnumpy()["date"]
    days = np.sort(np.asarray(rows, dtype="datetime64[D]"))
    if len(days) < count:
        raise ValueError(f"--window: needs {count} trading days up to {end}, the database has {len(days)}")
    return days


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


def scatter_add(shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A dense matrix with ``values`` summed at (rows, cols) (duplicates add up), via bincount: np.add.at is slow."""
    flat = np.asarray(rows, dtype=np.int64) * shape[1] + np.asarray(cols, dtype=np.int64)
    return np.bincount(flat, weights=np.asarray(values, dtype=float), minlength=shape[0] * shape[1]).reshape(shape)


def dense_positions(h: pd.DataFrame, n_portfolios: int, keys: np.ndarray, col: str = "quantity") -> np.ndarray:
    """Assets x portfolios matrix of a position column (zeros where not held)."""
    a_idx = key_positions(keys, h.asset_key.to_numpy())
    return scatter_add((len(keys), n_portfolios), a_idx, h.p_idx.to_numpy(), h[col].to_numpy(dtype=float))


def daily_quantities(snap: pd.DataFrame, n_portfolios: int, keys: np.ndarray, days: np.ndarray,
                     time_major: bool = False) -> np.ndarray:
    """Quantities in effect at the close of each day (portfolios x days x assets, or days x portfolios x assets
    with ``time_major``), forward-filled between snapshots.

    ``snap`` has columns p_idx, date, asset_key, quantity.
    """
    p_all = snap.p_idx.to_numpy().astype(np.int64)
    d_all = np.asarray(snap["date"].to_numpy(), dtype="datetime64[D]").astype(np.int64)
    day_num = np.asarray(days, dtype="datetime64[D]").astype(np.int64)
    # One id per (portfolio, snapshot date), ordered by portfolio then date: all portfolios in one dense fill.
    base = int(min(d_all.min(initial=0), day_num.min(initial=0)))
    span = int(max(d_all.max(initial=0), day_num.max(initial=0))) - base + 1
    code = p_all * span + (d_all - base)
    uniq, inv = np.unique(code, return_inverse=True)
    q = scatter_add((len(uniq), len(keys)), inv, key_positions(keys, snap.asset_key.to_numpy()),
                    snap.quantity.to_numpy(dtype=float))
    owner = np.arange(n_portfolios)[:, None]
    which = np.searchsorted(uniq, owner * span + (day_num - base)[None, :], side="right") - 1
    ok = (which >= 0) & (uniq[np.maximum(which, 0)] // span == owner)
    if not ok.all():
        j = int(np.argwhere(~ok)[0][0])
        raise ValueError(f"holdings: portfolio number {j} has no holdings on or before {days[0]}")
    return q[which.T] if time_major else q[which]


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


def span_days(owner: np.ndarray, dates: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For positions of snapshots (owner position, snapshot date): the first and one-past-last index into ``days``
    of the days whose close the snapshot is in effect at (from its date until the owner's next snapshot)."""
    d = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    o = np.asarray(owner, dtype=np.int64)
    day_num = np.asarray(days, dtype="datetime64[D]").astype(np.int64)
    span = int(max(d.max(initial=0), day_num.max(initial=0)) - min(d.min(initial=0), day_num.min(initial=0))) + 2
    base = int(min(d.min(initial=0), day_num.min(initial=0)))
    code = o * span + (d - base)
    uniq, inv = np.unique(code, return_inverse=True)
    u_own, u_day = uniq // span, uniq % span + base
    # Next snapshot of the same owner (one past the last day for the owner's last snapshot).
    nxt = np.full(len(uniq), np.iinfo(np.int64).max // 4)
    if len(uniq) > 1:
        same = u_own[1:] == u_own[:-1]
        nxt[:-1] = np.where(same, u_day[1:], nxt[:-1])
    j0 = np.searchsorted(day_num, u_day, side="left")
    j1 = np.searchsorted(day_num, nxt, side="left")
    return j0[inv], j1[inv]


def sector_panel(owner: np.ndarray, key: np.ndarray, sector: np.ndarray, qty: np.ndarray, j0: np.ndarray,
                 j1: np.ndarray, close: np.ndarray, c0: int, ret: np.ndarray, r0: int, n_owners: int, n_days: int,
                 n_sectors: int) -> tuple[np.ndarray, np.ndarray]:
    """Market value at each day's close and the next day's P&L, summed by sector (owners x days x sectors), from
    sparse positions (owner, key row of ``close``/``ret``, sector, quantity, day span [j0, j1)): one pass over the
    (position, day) pairs actually held (a compiled loop), not a dense owners x days x assets array.

    ``close`` and ``ret`` are key-major (keys x rows, ``gather_columns``): day t is column ``c0 + t`` of ``close``
    and its next-day return column ``r0 + t`` of ``ret``."""
    from risk.jobs.kernels import sector_panel_kernel

    i64 = np.int64
    return sector_panel_kernel()(np.asarray(owner, dtype=i64), np.asarray(key, dtype=i64),
                                 np.asarray(sector, dtype=i64), np.asarray(qty, dtype=float),
                                 np.asarray(j0, dtype=i64), np.asarray(j1, dtype=i64), close, int(c0), ret, int(r0),
                                 int(n_owners), int(n_days), int(n_sectors))


def gather_columns(m: np.ndarray, row0: int, row1: int, cols: np.ndarray) -> tuple[np.ndarray, bool]:
    """Rows [row0, row1) of the columns ``cols`` of a packed (rows x assets) matrix as a key-major (cols x rows)
    array, and whether all of it is present (no NaN, no column outside ``m``): one compiled pass over the rows as
    stored (about 0.35 ms for a year of 230 keys, like numpy's column gather alone; the separate NaN pass of
    ``check_complete`` is gone)."""
    from risk.jobs.kernels import gather_columns_kernel

    return gather_columns_kernel()(m, int(row0), int(row1), np.asarray(cols, dtype=np.int64))
