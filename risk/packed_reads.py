"""Reads of the packed copies as parts of one statement: several SELECTs run as a single ``UNION ALL BY NAME``.

Each DuckDB statement costs about 0.3-2 ms on its own here (more under load), so a job
gathers every read that does not depend on another into one statement: part i is
tagged with a ``src`` column, its parameters are renamed ``$name_i``, columns it
lacks come back NULL, and ``run_parts`` hands each part its own rows. The helpers
below build the parts (daily matrices, snapshots in effect over a window) and
decode their rows.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Part = tuple[str, dict[str, Any]]
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def run_parts(con, parts: Sequence[Part]) -> list[pa.Table]:
    """Run SELECT parts as one UNION ALL BY NAME statement; returns each part's rows (as an Arrow table)."""
    sqls, params = [], {}
    for i, (sql, p) in enumerate(parts):
        body = sql.strip()
        if not body.upper().startswith("SELECT "):
            raise ValueError(f"parts: each part must be a SELECT, got {body[:30]!r}")
        sqls.append(f"SELECT {i} AS src, " + _PARAM.sub(lambda m: f"${m.group(1)}_{i}", body[len("SELECT "):]))
        params.update({f"{k}_{i}": v for k, v in p.items()})
    t = arrow_rows(con, " UNION ALL BY NAME ".join(sqls), params or None)
    if len(parts) == 1:
        return [t]
    src = t.column("src").to_numpy()
    if len(src) and (np.diff(src) < 0).any():
        # Parts interleaved (parallel scan): gather each part's rows (a copy of its blobs).
        order = np.argsort(src, kind="stable")
        t, src = t.take(pa.array(order)), src[order]
    # Parts in order, as DuckDB returns a UNION ALL here: zero-copy slices, no copy of the blobs.
    bounds = np.searchsorted(src, np.arange(len(parts) + 1))
    return [t.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i])) for i in range(len(parts))]


def arrow_rows(con, sql: str, params: dict[str, Any] | None) -> pa.Table:
    """Run one SELECT and return its rows as Arrow.

    On a plain connection this goes straight to the statement runner of the DuckDB build's relation layer
    (``duckdb._seam.submit``): ``con.sql(...).to_arrow_table()`` binds the statement once more before running it,
    which cost 1-2 ms of the 4-11 ms a job's input statement takes (measured). ``_seam`` is the build's internal
    module, so anything else (a wrapped connection, a build without it) takes the public relation API.
    """
    import duckdb

    submit = getattr(getattr(duckdb, "_seam", None), "submit", None)
    if submit is not None and isinstance(con, duckdb.DuckDBPyConnection):
        try:
            return submit(con, sql, params, "arrow").arrow_table()
        except (TypeError, AttributeError):
            pass  # a build whose internal runner has another shape: the public path below
    return con.sql(sql, params=params).to_arrow_table()


def daily_part(source: str, cols: Sequence[str], start: dt.date, end: dt.date) -> Part:
    """The days of a packed daily table in [start, end] with ``cols`` (BLOB rows of float64)."""
    from risk.packed import packed_name

    # Constant bounds: DuckDB filters in the scan and reads the blobs of those rows only (a bound from a
    # subquery made it read every row's blobs: 7 ms instead of 3.6 ms for a year of returns, measured).
    return (f"SELECT date, key_lo, {', '.join(cols)} FROM {packed_name(source)} WHERE date BETWEEN $s AND $e",
            {"s": start, "e": end})


def decode_daily(t: pa.Table, cols: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Days, (days x n) matrices of ``cols`` (column j = asset_key lo + j) and lo from a ``daily_part``'s rows."""
    from risk.packed import blob_matrix

    days = t.column("date").to_numpy().astype("datetime64[D]")
    lo = int(t.column("key_lo")[0].as_py()) if len(t) else 0
    if len(days) < 2 or (days[1:] > days[:-1]).all():
        return days, {c: blob_matrix(t.column(c)) for c in cols}, lo  # in date order already: read in place
    order = np.argsort(days, kind="stable")
    return days[order], {c: blob_matrix(t.column(c))[order] for c in cols}, lo


def effective_part(source: str, start: dt.date, end: dt.date, owners: Sequence[str] | None = None) -> Part:
    """The snapshots of a packed snapshot table in effect at some point in [start, end] (each owner's latest on or
    before ``start`` and every later one up to ``end``), by the plain range test on ``date`` and ``next_date``:
    one statement, no index pass. With ``owners``, only the owners between the least and the greatest of them
    are read (a superset: ``decode_effective`` keeps the listed ones)."""
    from risk.packed import packed_name

    sql = (f"SELECT owner, date, keys, vals, unknown FROM {packed_name(source)} "
           "WHERE date <= $e AND next_date > $s")
    args: dict[str, Any] = {"s": start, "e": end}
    if owners:
        # A range on the pack's sort key is filtered in the scan, before any blob is read; an IN list or
        # IN (SELECT unnest(...)) is a join after the scan (5 of 160 portfolios: 1.6 against 2.4-2.8 ms, measured).
        sql += " AND owner BETWEEN $lo AND $hi"
        args.update(lo=min(owners), hi=max(owners))
    return sql, args


def decode_effective(t: pa.Table, owners: Sequence[str], start: dt.date) -> tuple:
    """Per position of an ``effective_part``'s rows: the owner's position in ``owners``, the snapshot date, asset_key
    and value, plus the first (owner position, asset id) not in ``assets`` (or None).

    Rows of other owners are dropped; so are all rows of an owner without a snapshot on or before ``start`` (it
    has no position then, and the caller names it).
    """
    pos = pc.fill_null(pc.index_in(t.column("owner"), value_set=pa.array(list(owners), pa.string())), -1)
    pos = np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.int64)
    day = t.column("date").to_numpy().astype("datetime64[D]")
    s = np.datetime64(start, "D")
    started = np.zeros(len(owners) + 1, dtype=bool)  # last slot: other owners (pos -1)
    started[pos[day <= s]] = True
    keep = (pos >= 0) & started[pos]
    part = t if keep.all() else t.filter(pa.array(keep))
    return snapshot_positions(part, pos[keep], day[keep])


def snapshot_positions(part: pa.Table, pos: np.ndarray, day: np.ndarray) -> tuple:
    """Per position of the chosen snapshot rows ``part`` (row i: owner position ``pos[i]``, date ``day[i]``): owner
    position, date, asset_key and value, plus the first (owner position, asset id) not in ``assets`` (or None)."""
    from risk.packed import _concat_blobs

    k, n = _concat_blobs(part.column("keys"), "<i4")
    v, _ = _concat_blobs(part.column("vals"), "<f8")
    unknown = None
    if part.column("unknown").null_count < len(part):
        bad = part.column("unknown").to_pylist()
        j = next(j for j, u in enumerate(bad) if u is not None)
        unknown = (int(pos[j]), bad[j])
    return np.repeat(pos, n), np.repeat(day, n), k.astype(np.int64), v.astype(float), unknown
