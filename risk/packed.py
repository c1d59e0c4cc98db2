"""Packed copies of the large input tables: one row per day or snapshot holding whole arrays as BLOBs.

The long tables (``prices``, ``asset_returns``, ``bond_analytics``, ``holdings``,
``benchmark_weights``) stay the source of truth and the loading interface. Next
to them the store keeps, per table, a packed copy the batch jobs read:

* ``packed_prices`` / ``packed_asset_returns`` / ``packed_bond_analytics``:
  one row per date, each value column a BLOB of little-endian float64 for
  the asset_keys key_lo .. key_lo + n - 1 of the keys the table holds (NaN
  where the long table has no row or a NULL);
* ``packed_holdings`` / ``packed_benchmark_weights``: one row per (owner,
  date) snapshot, ``next_date`` (the owner's next snapshot date, 9999-12-31
  for its last), ``keys`` a BLOB of int32 asset_key (-1 for an id missing
  from ``assets``) and ``vals`` a BLOB of float64 quantity or weight, plus
  ``unknown`` (the first non-zero position whose id is not in ``assets``,
  else NULL). The snapshots in effect over [s, e] are the rows with
  ``date <= e AND next_date > s``: one range-filtered read, which a job
  runs as one part of its single input statement.

BLOBs rather than DuckDB arrays or lists: this DuckDB build converts list
elements one by one (about 0.5 us each), a BLOB is one buffer that numpy
reads in place (``np.frombuffer``).

Reading a year of returns is then 250 rows instead of 150,000, and the latest
holdings of 86 portfolios 86 rows instead of a scan and a string join over
185,000. ``packed_meta_v<N>`` records, per packed table, the row counts of its
source and of ``assets`` when it was built; ``ensure_packed`` compares them
with the current counts in one statement at the start of every job and
rebuilds what differs (rows appended or deleted by any means). An in-place
``UPDATE`` of a long table keeps its row count: the loader (``load_file``),
``generate`` and ``foreland risk pack`` rebuild the packs, and any other
writer must call ``pack(con)`` after it (docs/risk.md, "Packed copies").
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa

# Daily fact tables and the value columns the jobs read from them.
DAILY: dict[str, tuple[str, ...]] = {
    "prices": ("close",),
    "asset_returns": ("ret",),
    "bond_analytics": ("dirty_price", "coupon_paid", "spread", "mod_duration", "spread_duration", "convexity"),
}
# Snapshot tables: owner column and value column.
SNAPSHOTS: dict[str, tuple[str, str]] = {
    "holdings": ("portfolio_id", "quantity"),
    "benchmark_weights": ("benchmark_id", "weight"),
}
SOURCES = tuple(DAILY) + tuple(SNAPSHOTS)
PACK_VERSION = 8  # bump when the packed layout changes: older packs are then rebuilt
META = f"packed_meta_v{PACK_VERSION}"
# asset_key is a column index: a table's keys must be dense enough that its rows stay near its number of assets.
MAX_SPARSITY = 4
MAX_SLACK = 1024


def packed_name(source: str) -> str:
    """Name of the packed copy of a source table."""
    return f"packed_{source}"


def _pack_daily(con, source: str) -> np.ndarray:
    cols = DAILY[source]
    res = con.execute(f"SELECT date, asset_key, {', '.join(cols)} FROM {source}").fetchnumpy()
    dates = np.asarray(res["date"], dtype="datetime64[D]")
    days = np.unique(dates)
    key = np.asarray(res["asset_key"], dtype=np.int64)
    row = np.searchsorted(days, dates)
    # Only the source's own key range is stored (bond analytics: the bonds' keys, not every asset's).
    lo = int(key.min()) if len(key) else 0
    span = int(key.max()) - lo + 1 if len(key) else 1
    n_keys = len(np.unique(key))
    if lo < 0 or span > MAX_SPARSITY * n_keys + MAX_SLACK:
        raise ValueError(f"{source}.asset_key: asset keys must be dense non-negative integers (as the assets table "
                         f"assigns them); got {n_keys} keys from {lo} to {lo + span - 1}")
    arrays = {"date": pa.array(days, type=pa.date32()), "key_lo": pa.array(np.full(len(days), lo, dtype=np.int32))}
    for c in cols:
        m = np.full((len(days), span), np.nan, dtype="<f8")
        v = res[c]
        m[row, key - lo] = np.ma.filled(v.astype(float), np.nan) if isinstance(v, np.ma.MaskedArray) else np.asarray(v, float)
        arrays[c] = pa.array([m[i].tobytes() for i in range(len(days))], type=pa.binary())
    _create_packed(con, source, "date DATE, key_lo INTEGER, " + ", ".join(f"{c} {RAW_BLOB}" for c in cols),
                   pa.table(arrays), "date")
    return days


def _pack_snapshots(con, source: str) -> None:
    owner, value = SNAPSHOTS[source]
    res = con.execute(f"""
        SELECT s.{owner} AS owner, s.date, coalesce(a.asset_key, -1) AS k, s.{value} AS v, s.asset_id
          FROM {source} s LEFT JOIN assets a USING (asset_id)
         ORDER BY owner, s.date, s.asset_id""").fetchnumpy()
    own = np.asarray(res["owner"], dtype=object)
    d = np.asarray(res["date"], dtype="datetime64[D]")
    k = np.asarray(res["k"], dtype="<i4")
    v = np.asarray(res["v"], dtype="<f8")
    ids = np.asarray(res["asset_id"], dtype=object)
    cut = np.flatnonzero(np.r_[True, (own[1:] != own[:-1]) | (d[1:] != d[:-1]), True]) if len(own) else np.array([0])
    lo, hi = cut[:-1], cut[1:]
    unknown = []
    for a, b in zip(lo, hi):
        bad = np.flatnonzero((k[a:b] < 0) & (v[a:b] != 0))
        unknown.append(ids[a + bad[0]] if len(bad) else None)
    # Each snapshot's end: the owner's next snapshot date (9999-12-31 for its last), so "in effect at some point
    # in [s, e]" is the plain range test date <= e AND next_date > s, read in one statement with no index pass.
    first_d = d[lo]
    never = np.datetime64("9999-12-31", "D")
    next_d = np.full(len(lo), never)
    if len(lo) > 1:
        same = own[lo][1:] == own[lo][:-1]
        next_d[:-1] = np.where(same, first_d[1:], never)
    tbl = pa.table({"owner": pa.array(own[lo].tolist(), pa.string()),
                    "date": pa.array(first_d, pa.date32()),
                    "next_date": pa.array(next_d.astype("datetime64[D]"), pa.date32()),
                    "keys": pa.array([k[a:b].tobytes() for a, b in zip(lo, hi)], pa.binary()),
                    "vals": pa.array([v[a:b].tobytes() for a, b in zip(lo, hi)], pa.binary()),
                    "unknown": pa.array(unknown, pa.string())})
    _create_packed(con, source, f"owner VARCHAR, date DATE, next_date DATE, keys {RAW_BLOB}, vals {RAW_BLOB}, "
                   "unknown VARCHAR", tbl, "owner, date")


# Blob columns are stored uncompressed: DuckDB's default (dictionary + FSST) squeezes price blobs a little but
# decompresses them on every read, which doubled the read of a year of returns (2.9-4.1 against 1.4 ms, measured).
RAW_BLOB = "BLOB USING COMPRESSION uncompressed"


def _create_packed(con, source: str, columns: str, table: pa.Table, order: str) -> None:
    name = packed_name(source)
    con.execute(f"CREATE OR REPLACE TABLE {name} ({columns})")
    con.register("_risk_pack", table)
    try:
        con.execute(f"INSERT INTO {name} SELECT * FROM _risk_pack ORDER BY {order}")
    finally:
        con.unregister("_risk_pack")


def _counts_sql(sources: Iterable[str]) -> str:
    return ", ".join(f"(SELECT count(*) FROM {s}) AS {s}" for s in sources)


def pack(con, sources: Sequence[str] | None = None) -> list[str]:
    """(Re)build the packed copy of each source table (default: every one present); returns those packed."""
    from risk.store import create_schema

    create_schema(con)
    todo = list(SOURCES if sources is None else sources)
    for s in todo:
        if s not in SOURCES:
            raise ValueError(f"sources: must be among {', '.join(SOURCES)}, got {s!r}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {META} (source VARCHAR PRIMARY KEY, source_rows BIGINT, "
                "assets_rows BIGINT, days BLOB)")
    for s in todo:
        days = _pack_daily(con, s) if s in DAILY else _pack_snapshots(con, s)
        # Counts taken after packing, in the same connection: no writer runs in between.
        n, na = con.execute(f"SELECT {_counts_sql([s, 'assets'])}").fetchall()[0]
        blob = None if days is None else np.asarray(days, dtype="datetime64[D]").astype("<i4").tobytes()
        con.execute(f"INSERT OR REPLACE INTO {META} VALUES (?, ?, ?, ?)", [s, n, na, blob])
    return todo


def invalidate(con, sources: Iterable[str]) -> None:
    """Forget the packs built from these tables (``assets`` invalidates every pack); the next job rebuilds them."""
    src = list(sources)
    if "assets" in src:
        src = list(SOURCES)
    src = [s for s in src if s in SOURCES]
    if src and con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [META]).fetchall()[0][0]:
        con.execute(f"DELETE FROM {META} WHERE source IN (SELECT unnest($s))", {"s": src})


def ensure_packed(con, sources: Sequence[str], required: Sequence[str] = ()) -> list[str]:
    """Rebuild the packs of ``sources`` whose source or ``assets`` row counts changed since they were built.

    The ``required`` tables are counted in the same statement, so a job's whole check is one statement when
    everything is in place; a missing or empty required table raises ValueError naming it
    (``store.check_tables``). Returns the sources it repacked.
    """
    return guard(con, sources, required)[0]


def guard(con, sources: Sequence[str], required: Sequence[str] = ()) -> tuple[list[str], np.ndarray | None]:
    """``ensure_packed``, plus the trading days of the packed returns (datetime64[D], ascending) when ``sources``
    include ``asset_returns``: recorded in the meta table when it was packed, so the job's plan knows its as-of
    day and window from this statement (fourth round; before, a subquery of the plan statement found them)."""
    import duckdb

    from risk.store import check_tables

    sources = [s for s in SOURCES if s in sources]
    # The result tables are not counted: they grow with every run (and keep deleted rows until a checkpoint), so
    # counting them cost more each day (count(*) over 5M rows: 40 ms); the plan statement reads risk_runs and
    # run_job creates both when it is missing (store.ensure_result_tables).
    names = list(dict.fromkeys(list(required) + sources + ["assets"]))
    # UNION ALL of plain counts: the same counts as scalar subqueries of one SELECT cost several times more here.
    # The job's plan stays a statement of its own: merged into this one (UNION ALL BY NAME) the pair cost
    # 10-12 ms against 2.3 + 4.2 ms apart (measured), so fewer statements is not always less time.
    want_days = "asset_returns" in sources
    days_col = "CASE WHEN source = 'asset_returns' THEN days END" if want_days else "NULL::BLOB"
    sql = " UNION ALL ".join([f"SELECT '{n}', count(*), NULL::BIGINT, NULL::BLOB FROM {n}" for n in names]
                             + [f"SELECT 'packed:' || source, source_rows, assets_rows, {days_col} FROM {META}"])
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.CatalogException:
        # Something is missing: a required table (named by check_tables), the result tables (created by it)
        # or the packs themselves (built here).
        check_tables(con, required)
        done = pack(con, sources) if sources else []
        return done, (_packed_days(con) if want_days else None)
    current = {r[0]: r[1] for r in rows if not r[0].startswith("packed:")}
    if any(current[n] == 0 for n in required):
        check_tables(con, required)
    built = {r[0][len("packed:"):]: (r[1], r[2]) for r in rows if r[0].startswith("packed:")}
    stale = [s for s in sources if built.get(s) != (current[s], current["assets"])]
    done = pack(con, stale) if stale else []
    if not want_days:
        return done, None
    if "asset_returns" in done:
        return done, _packed_days(con)
    blob = next((r[3] for r in rows if r[0] == "packed:asset_returns"), None)
    return done, (_days(blob) if blob is not None else _packed_days(con))


def _days(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<i4").astype("datetime64[D]")


def _packed_days(con) -> np.ndarray:
    """The packed returns' days from the meta table (after a repack: one more statement, rarely)."""
    rows = con.execute(f"SELECT days FROM {META} WHERE source = 'asset_returns'").fetchall()
    return _days(rows[0][0]) if rows and rows[0][0] is not None else np.zeros(0, "datetime64[D]")


def one_chunk(col) -> pa.Array:
    """The column as one Arrow array: its only chunk as it is (combine_chunks copies even a single sliced chunk:
    1 ms for a year of closes, measured), else the chunks combined."""
    if not isinstance(col, pa.ChunkedArray):
        return col
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def blob_matrix(col, width: int | None = None) -> np.ndarray:
    """A (rows x W) float64 matrix from a BLOB column of equal-length float64 rows, read in place."""
    arr = one_chunk(col)
    n = len(arr)
    if n == 0:
        return np.zeros((0, width or 0))
    if arr.null_count:
        raise ValueError("packed tables: a NULL row; rebuild them with 'foreland risk pack'")
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offs[0]:offs[-1]]
    return data.view("<f8").reshape(n, -1)


def read_daily_sets(con, requests: Sequence[tuple]) -> list[tuple[np.ndarray, dict[str, np.ndarray], int]]:
    """``read_daily`` for several (source, cols, start, end) requests in one statement (``packed_reads``)."""
    from risk.packed_reads import daily_part, decode_daily, run_parts

    tables = run_parts(con, [daily_part(s, c, a, b) for s, c, a, b in requests])
    return [decode_daily(t, r[1]) for t, r in zip(tables, requests)]


def read_daily(con, source: str, cols: Sequence[str], start: dt.date | None = None, end: dt.date | None = None,
               last: int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Days, (days x n) matrices of ``cols`` (column j = asset_key lo + j) and lo, from a packed daily table.

    Either the days in [start, end] (one statement) or, with ``last``, the last ``last`` days up to ``end``
    (two: the window's first day from the small date column, then the rows with constant bounds).
    """
    if last is not None:
        rows = con.sql(f"SELECT date FROM {packed_name(source)} WHERE date <= $e ORDER BY date DESC LIMIT $n",
                       params={"e": end, "n": int(last)}).fetchnumpy()["date"]
        if len(rows) == 0:
            return np.zeros(0, "datetime64[D]"), {c: np.zeros((0, 0)) for c in cols}, 0
        start = np.asarray(rows, dtype="datetime64[D]").min().item()
    return read_daily_sets(con, [(source, cols, start, end)])[0]


def _concat_blobs(col, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    arr = one_chunk(col)
    n = len(arr)
    size = np.dtype(dtype).itemsize
    if n == 0:
        return np.zeros(0, dtype=dtype), np.zeros(0, dtype=np.int64)
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset:arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offs[0]:offs[-1]].view(dtype)
    return data, np.diff(offs) // size


def read_snapshot_sets(con, requests: Sequence[tuple[str, Sequence[str], dt.date, dt.date]]) -> list[tuple]:
    """``read_snapshots`` for several (source, owners, start, end) requests in one statement in all: each
    request's snapshots in effect over its window, by the packs' ``next_date`` (``packed_reads``)."""
    # One range-filtered read per request (date <= end AND next_date > start) replaces the earlier index pass
    # plus rows-by-rowid pair of statements; the owner choice is made in Arrow on the few rows that come back.
    from risk.packed_reads import decode_effective, effective_part, run_parts

    rows = run_parts(con, [effective_part(src, s, e, owners) for src, owners, s, e in requests])
    return [decode_effective(t, owners, s) for t, (_, owners, s, _e) in zip(rows, requests)]


def read_snapshots(con, source: str, owners: Sequence[str], start: dt.date, end: dt.date) -> tuple:
    """Snapshots of ``owners`` in effect at some point in [start, end] (the last one on or before ``start`` and
    every later one up to ``end``), in one statement (the range test on the packs' ``date`` and ``next_date``).

    Returns, per position, the owner's position in ``owners``, the date, asset_key and value, and the first
    (owner position, asset id) of a chosen snapshot whose asset is not in ``assets`` (or None). An owner
    without a snapshot on or before ``start`` has no rows.
    """
    return read_snapshot_sets(con, [(source, owners, start, end)])[0]
