"""DuckDB storage: create the schema, load Parquet/CSV, read job inputs, write and look up results."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from risk.schema import INPUT_TABLES, KEYED_TABLES, TABLES, VIEWS


def connect(path: str | Path, read_only: bool = False, create: bool = False):
    """Open a DuckDB database file; a missing file is an error unless ``create``."""
    import duckdb

    p = Path(path)
    if not create and str(path) != ":memory:" and not p.exists():
        raise FileNotFoundError(f"--db: database file {str(p)!r} does not exist (create one with 'foreland risk generate')")
    try:
        con = duckdb.connect(str(p), read_only=read_only)
    except duckdb.Error as exc:
        raise OSError(f"--db: cannot open {str(p)!r}: {exc}") from None
    if create:
        create_schema(con)
    return con


def create_schema(con) -> None:
    """Create every table and view of the risk store that does not exist yet (migrating older result tables)."""
    for name, cols in TABLES.items():
        if not name.startswith("risk_"):
            con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
    ensure_result_tables(con)


def table_columns(name: str) -> list[str]:
    """Column names of a schema table, in order."""
    cols = []
    body = re.sub(r"PRIMARY KEY\s*\([^)]*\)", "", TABLES[name])
    for part in body.replace("\n", " ").split(","):
        tok = part.strip().split()
        if tok and tok[0] != "PRIMARY":
            cols.append(tok[0])
    return cols


def insert_frame(con, table: str, df: pd.DataFrame) -> int:
    """Append a DataFrame whose columns are exactly the table's; returns the row count."""
    cols = table_columns(table)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{table}: missing columns {', '.join(missing)}")
    con.register("_risk_insert", df[cols])
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM _risk_insert")
    finally:
        con.unregister("_risk_insert")
    return len(df)


def load_file(con, table: str, path: str | Path, replace: bool = False) -> int:
    """Fill an input table from a Parquet or CSV file with the table's column names."""
    if table not in INPUT_TABLES:
        raise ValueError(f"--table: must be one of {', '.join(INPUT_TABLES)}, got {table!r}")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"--file: {str(p)!r} does not exist")
    reader = {".parquet": "read_parquet", ".csv": "read_csv_auto"}.get(p.suffix.lower())
    if reader is None:
        raise ValueError(f"--file: must end in .parquet or .csv, got {p.name!r}")
    cols = table_columns(table)
    have = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}(?)", [str(p)]).fetchall()]
    select = ", ".join(f"f.{c}" for c in cols)
    join = ""
    if table in KEYED_TABLES and "asset_key" not in have and "asset_id" in have:
        # Files name assets by id; the store keys its daily facts by the integer asset_key.
        unknown = con.execute(f"SELECT DISTINCT f.asset_id FROM {reader}(?) f ANTI JOIN assets a USING (asset_id) LIMIT 1",
                              [str(p)]).fetchall()
        if unknown:
            raise ValueError(f"--file: asset_id {unknown[0][0]!r} in {p.name} is not in the assets table (load assets first)")
        select = select.replace("f.asset_key", "a.asset_key")
        join = " JOIN assets a USING (asset_id)"
        have.append("asset_key")
    missing = [c for c in cols if c not in have]
    if missing:
        raise ValueError(f"--file: {p.name} lacks columns {', '.join(missing)} needed by table {table}")
    create_schema(con)
    if replace:
        con.execute(f"DELETE FROM {table}")
    n0 = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    con.execute(f"INSERT INTO {table} SELECT {select} FROM {reader}(?) f{join}", [str(p)])
    n = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] - n0
    from risk.packed import invalidate

    invalidate(con, [table])  # the packed copies of this table are rebuilt by the next job
    return n


def check_tables(con, names: Iterable[str]) -> None:
    """Raise ValueError naming the first required table that is absent or empty; create result tables."""
    # One catalogue query (estimated sizes are exact for tables without pending deletes): cheap on every run.
    sizes = dict(con.sql("SELECT table_name, estimated_size FROM duckdb_tables()").fetchall())
    for n in names:
        if not sizes.get(n):
            if n in sizes and con.sql(f"SELECT count(*) FROM {n}").fetchall()[0][0]:
                continue
            raise ValueError(f"--db: table {n!r} is missing or empty; load it or run 'foreland risk generate'")
    if "risk_result_log" not in sizes or "risk_run_log" not in sizes:
        ensure_result_tables(con)


def ensure_result_tables(con) -> None:
    """Create the result logs and their views where missing; a store with the older in-place result tables
    (``risk_results`` and ``risk_runs`` as tables, schema.RESULTS_VERSION 1) is migrated to the logs first."""
    kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables WHERE table_name IN "
                             "('risk_results', 'risk_runs', 'risk_result_log', 'risk_run_log')").fetchall())
    old = [n for n in ("risk_results", "risk_runs") if kinds.get(n) == "BASE TABLE"]
    if not old:
        if len(kinds) < 4:  # a new store (or one missing a log or view): plain creation, no transaction needed
            for n in ("risk_result_log", "risk_run_log"):
                con.execute(f"CREATE TABLE IF NOT EXISTS {n} ({TABLES[n]})")
            for n, body in VIEWS.items():
                con.execute(f"CREATE VIEW IF NOT EXISTS {n} AS {body}")
        return
    con.execute("BEGIN TRANSACTION")  # the migration: all of it or none
    try:
        for n in ("risk_result_log", "risk_run_log"):
            con.execute(f"CREATE TABLE IF NOT EXISTS {n} ({TABLES[n]})")
        if "risk_results" in old:
            con.execute("INSERT INTO risk_result_log "
                        "SELECT job, portfolio_id, date, item, metric, value, 0 FROM risk_results")
        if "risk_runs" in old:
            # Version 1 replaced a done record by a failed one but kept the rows: a done record (run 0, parameters
            # 'migrated', so never taken as done for any run) keeps those rows readable; the old record is run 1.
            con.execute("""INSERT INTO risk_run_log SELECT job, portfolio_id, date, params, status, error, attempts,
                                  seconds, finished_at, CASE WHEN status = 'done' THEN 0 ELSE 1 END FROM risk_runs""")
            if "risk_results" in old:
                con.execute("""INSERT INTO risk_run_log
                               SELECT DISTINCT r.job, r.portfolio_id, r.date, 'migrated', 'done', NULL, NULL, NULL,
                                      NULL, 0
                                 FROM risk_results r JOIN risk_runs u USING (job, portfolio_id, date)
                                WHERE u.status <> 'done'""")
        for n in old:
            con.execute(f"DROP TABLE {n}")
        for n, body in VIEWS.items():
            con.execute(f"CREATE VIEW IF NOT EXISTS {n} AS {body}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def parse_date(date: str | dt.date) -> dt.date:
    """A ``--date`` value as a date; ValueError naming the field unless it is YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(str(date))
    except ValueError:
        raise ValueError(f"--date: must be YYYY-MM-DD, got {date!r}") from None


def resolve_date(con, date: str | dt.date | None) -> dt.date:
    """The as-of date: the given one if it is a trading day in asset_returns, else the latest one."""
    if date is None:
        d = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
        if d is None:
            raise ValueError("--db: asset_returns is empty; nothing to compute")
        return d
    d = parse_date(date)
    if con.execute("SELECT count(*) FROM asset_returns WHERE date = ?", [d]).fetchall()[0][0] == 0:
        raise ValueError(f"--date: {d} is not a trading day with returns in asset_returns")
    return d


def resolve_portfolios(con, requested: Sequence[str] | None, kinds: Sequence[str],
                       rows: Sequence[tuple[str, str]] | None = None) -> list[str]:
    """Portfolio ids to run: all of the given kinds by default; an unknown id raises ValueError.

    ``rows`` are the (portfolio_id, kind) pairs when the caller already has them (see ``plan_states``).
    """
    if rows is None:
        rows = con.execute("SELECT portfolio_id, kind FROM portfolios ORDER BY portfolio_id").fetchall()
    known = dict(rows)
    if not requested:
        out = [p for p, k in rows if k in kinds]
        if not out:
            raise ValueError(f"--portfolios: the database has no portfolio of kind {'/'.join(kinds)}")
        return out
    out = []
    for p in requested:
        if p not in known:
            sample = ", ".join(list(known)[:5])
            raise ValueError(f"--portfolios: unknown portfolio {p!r} (known ids look like: {sample})")
        if known[p] not in kinds:
            raise ValueError(f"--portfolios: {p!r} is a {known[p]} portfolio; this job takes {'/'.join(kinds)}")
        if p not in out:
            out.append(p)
    return out


def trading_days(con, end: dt.date, count: int) -> np.ndarray:
    """The last ``count`` trading days up to ``end`` inclusive (datetime64[D], ascending)."""
    rows = con.sql("SELECT date FROM asset_returns WHERE date <= $end GROUP BY date ORDER BY date DESC LIMIT $n",
                   params={"end": end, "n": count}).fetchnumpy()["date"]
    days = np.sort(np.asarray(rows, dtype="datetime64[D]"))
    if len(days) < count:
        raise ValueError(f"--window: needs {count} trading days up to {end}, the database has {len(days)}")
    return days


def trading_days_between(con, start, end) -> np.ndarray:
    """Trading days (dates with returns or prices) from ``start`` to ``end`` inclusive (datetime64[D])."""
    rows = con.sql("SELECT date FROM prices WHERE date BETWEEN $s AND $e GROUP BY date ORDER BY date",
                   params={"s": np.datetime64(start, "D").item(), "e": np.datetime64(end, "D").item()}).fetchnumpy()["date"]
    return np.asarray(rows, dtype="datetime64[D]")


def params_key(params: dict[str, Any]) -> str:
    """Canonical JSON of a job's parameters, stored with each run to tell reruns apart."""
    return json.dumps(params, sort_keys=True, default=str)


def done_portfolios(con, job: str, date: dt.date, params: dict[str, Any]) -> set[str]:
    """Portfolios whose (job, date) run finished with these same parameters."""
    return {p for p, (status, same) in run_states(con, job, date, params).items() if status == "done" and same}


def run_states(con, job: str, date: dt.date, params: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Recorded runs of (job, date): portfolio -> (status, whether its parameters equal ``params``)."""
    rows = con.execute("SELECT portfolio_id, status, params = ? FROM risk_runs WHERE job = ? AND date = ?",
                       [params_key(params), job, date]).fetchall()
    return {r[0]: (r[1], bool(r[2])) for r in rows}


def plan_states(con, job: str, date: dt.date, params: dict[str, Any]) -> tuple[list[tuple[str, str]], dict[str, tuple[str, bool]]]:
    """Every portfolio (id, kind) and the recorded runs of (job, date) (see ``run_states``), in one statement."""
    _, known, states = plan_run(con, job, date, params, "asset_returns")
    return known, states


def plan_run(con, job: str, date: str | dt.date | None, params: dict[str, Any], dates_from: str = "asset_returns",
             window: int | None = None, with_benchmarks: bool = False) -> tuple:
    """The as-of date (as ``resolve_date``), every portfolio (id, kind) and the recorded runs of (job, date), in one
    statement; ``dates_from`` is ``asset_returns`` or its packed copy (same dates, 250 rows a year, not 150,000).

    With ``window``, also the first of the last ``window`` trading days up to the date (None if fewer), as a
    fourth element, so the job reads its window with constant bounds. With ``with_benchmarks``, also every
    portfolio's benchmark id (portfolio -> benchmark_id or None) as the last element, which the attribution jobs
    would otherwise read in a statement of their own.
    """
    sql, args, given = plan_query(job, date, params, dates_from, window)
    t = _plan_table(con, sql, args)  # the dates subquery always gives one row: no rows means no portfolios
    day = t.column("day")[0].as_py()
    if day is None and given is None:
        raise ValueError("--db: asset_returns is empty; nothing to compute")
    if given is not None and day != given:
        raise ValueError(f"--date: {given} is not a trading day with returns in asset_returns")
    # The portfolios and their run records as plan_for_day reads them (the same rows, plus the day columns).
    out: tuple = (day,) + plan_rows(t, with_benchmarks)
    if window is None:
        return out
    first = t.column("first")[0].as_py() if t.column("n_days")[0].as_py() == window else None
    return out[:3] + (first,) + out[3:]


def plan_query(job: str, date: str | dt.date | None, params: dict[str, Any], dates_from: str = "asset_returns",
               window: int | None = None) -> tuple[str, dict[str, Any], dt.date | None]:
    """The SELECT of ``plan_run`` (columns day, first, n_days, portfolio_id, kind, benchmark_id, status, same, run), its
    parameters and the parsed ``date``; a job may run it as part of a bigger statement (``packed.ensure_packed``)."""
    given = None if date is None else parse_date(date)
    if dates_from not in ("asset_returns", "packed_asset_returns"):
        raise ValueError(f"dates_from: must be asset_returns or packed_asset_returns, got {dates_from!r}")
    # The date and the done check in one statement: the date picks the run records the join reads.
    # The last n dates up to the date in one small subquery (date column only): the as-of day is their max, the
    # window's first day their min (a scalar OFFSET subquery or a second max cost twice as much, measured).
    group = "" if dates_from == "packed_asset_returns" else "GROUP BY date"  # one row per date in the pack
    # Run records are append-only (schema.py): a portfolio has one row per record of (job, day) here (few: see
    # COMPACT_AFTER) and plan_rows keeps the latest; aggregating in SQL (arg_max ... GROUP BY) cost 4.6 against
    # 3.1 ms (measured).
    sql = f"""SELECT d.day, d.first, d.n_days, p.portfolio_id, p.kind, p.benchmark_id, r.status, r.params = $k AS same,
                     r.run
                FROM (SELECT max(date) AS day, min(date) AS first, count(*) AS n_days
                        FROM (SELECT date FROM {dates_from} WHERE $g::DATE IS NULL OR date <= $g
                               {group} ORDER BY date DESC LIMIT $n)) d
                CROSS JOIN portfolios p LEFT JOIN risk_run_log r
                  ON r.portfolio_id = p.portfolio_id AND r.job = $j AND r.date = d.day
               ORDER BY p.portfolio_id, r.run NULLS FIRST"""
    return sql, {"g": given, "k": params_key(params), "j": job, "n": int(window or 1)}, given


def window_from_days(days: np.ndarray, date: str | dt.date | None, window: int | None) -> tuple:
    """The as-of day and the first day of the last ``window`` trading days up to it (None when there are fewer),
    from the packed returns' days (``packed.guard``): what ``plan_query`` finds with its dates subquery, with the
    same errors."""
    given = None if date is None else parse_date(date)
    days = np.asarray(days, dtype="datetime64[D]")
    if given is None:
        if len(days) == 0:
            raise ValueError("--db: asset_returns is empty; nothing to compute")
        at = len(days) - 1
    else:
        at = int(np.searchsorted(days, np.datetime64(given, "D")))
        if at >= len(days) or days[at] != np.datetime64(given, "D"):
            raise ValueError(f"--date: {given} is not a trading day with returns in asset_returns")
    day = days[at].item()
    if window is None:
        return day, None
    return day, (days[at - window + 1].item() if at + 1 >= window else None)


_PLAN_FOR_DAY = """SELECT p.portfolio_id, p.kind, p.benchmark_id, r.status, r.params = $k AS same, r.run
                     FROM portfolios p LEFT JOIN risk_run_log r
                       ON r.portfolio_id = p.portfolio_id AND r.job = $j AND r.date = $d
                    ORDER BY p.portfolio_id, r.run NULLS FIRST"""


def plan_for_day(con, job: str, day: dt.date, params: dict[str, Any], with_benchmarks: bool = False) -> tuple:
    """Every portfolio (id, kind), the recorded runs of (job, ``day``) (``RunStates``) and, with
    ``with_benchmarks``, every portfolio's benchmark id: ``plan_run`` for a known day, so the run records are
    filtered by a constant (2.7 against 3.9 ms for the statement with the dates subquery, measured).

    The rows come as Arrow (one row per portfolio and record) and only each portfolio's last row becomes Python
    objects (fifth round: 0.6-1 ms less than ``fetchnumpy`` of every row and masked arrays, measured)."""
    return plan_rows(_plan_table(con, _PLAN_FOR_DAY, {"d": day, "k": params_key(params), "j": job}), with_benchmarks)


def _plan_table(con, sql: str, args: dict[str, Any]):
    """A plan statement's rows as Arrow (one row per portfolio and run record at least); creates the result tables
    of a store that has none yet (the guard does not count them) and names an empty portfolios table."""
    import duckdb

    from risk.packed_reads import arrow_rows

    try:
        t = arrow_rows(con, sql, args)
    except duckdb.CatalogException:
        ensure_result_tables(con)
        t = arrow_rows(con, sql, args)
    if len(t) == 0:
        raise ValueError("--db: table 'portfolios' is missing or empty; load it or run 'foreland risk generate'")
    return t


def plan_rows(t, with_benchmarks: bool = False) -> tuple:
    """``plan_for_day``'s answer from its Arrow rows (ordered by portfolio, then run): (known, states[, bmap])."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(t)
    pid = t.column("portfolio_id")
    # Each portfolio's last row is its latest record (or its only, record-less row): compared in Arrow, no
    # Python strings for the superseded records.
    change = pc.not_equal(pid.slice(1), pid.slice(0, n - 1)).to_numpy(zero_copy_only=False) if n > 1 else []
    last = np.flatnonzero(np.r_[np.asarray(change, dtype=bool), True])
    run_c, status_c = t.column("run"), t.column("status")
    has = (np.asarray(pc.is_valid(run_c).to_numpy(zero_copy_only=False), dtype=bool)
           & np.asarray(pc.is_valid(status_c).to_numpy(zero_copy_only=False), dtype=bool))
    run = np.asarray(pc.fill_null(run_c, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    counts = np.add.reduceat(has.astype(np.int64), np.r_[0, last[:-1] + 1])
    lt = t.take(pa.array(last))
    pids = lt.column("portfolio_id").to_pylist()
    status, same = lt.column("status").to_pylist(), lt.column("same").to_pylist()
    states = RunStates((pids[i], (status[i], bool(same[i]))) for i in np.flatnonzero(has[last]))
    states.last_run = int(np.where(has, run, 0).max(initial=0))
    states.most_records = int(counts.max(initial=0))
    known = list(zip(pids, lt.column("kind").to_pylist()))
    if with_benchmarks:
        return known, states, dict(zip(pids, lt.column("benchmark_id").to_pylist()))
    return known, states


class RunStates(dict):
    """portfolio -> (status, same parameters) of its latest run record for (job, date), plus ``last_run`` (the
    highest run number among them, 0 if none) and ``most_records`` (the most records any portfolio has there:
    superseded ones pile up until ``compact_results``)."""

    last_run: int = 0
    most_records: int = 0


_LAST_RUN = [0]


def next_run(after: int = 0) -> int:
    """A new run number: microseconds since the epoch, above ``after`` (the latest recorded run of the keys it
    writes) and above every number this process handed out, so the latest run of a key is the highest number even
    if the clock steps back."""
    import time

    run = max(time.time_ns() // 1000, int(after) + 1, _LAST_RUN[0] + 1)
    _LAST_RUN[0] = run
    return run


def write_results(con, job: str, date: dt.date, params: dict[str, Any], results: Any,
                  portfolios: Sequence[str], seconds: float, attempts: int = 1, run: int | None = None) -> int:
    """Append the results (Arrow table or DataFrame of portfolio_id, item, metric, value) of (job, portfolio, date)
    for ``portfolios`` and their done records under one run number, atomically; returns the run number.

    Nothing is deleted or updated: readers take each key's latest run (the ``risk_results`` / ``risk_runs`` views),
    and ``compact_results`` removes superseded rows later.
    """
    import duckdb

    run = next_run() if run is None else int(run)
    args = {"j": job, "d": date, "r": run}
    rec = dict(args, k=params_key(params), a=attempts, s=seconds, p=list(portfolios))
    try:
        _write(con, results, args, rec)
    except duckdb.CatalogException:
        ensure_result_tables(con)  # dropped after the plan ran: create and write once more
        _write(con, results, args, rec)
    return run


def _write(con, results, args, rec) -> None:
    # One transaction: a chunk's rows and its done records land together or not at all (a crash in between leaves
    # neither, so a rerun computes the chunk again).
    con.execute("BEGIN TRANSACTION")
    try:
        if len(results):
            _insert_rows(con, results, args)
        con.execute("INSERT INTO risk_run_log SELECT $j, unnest($p), $d, $k, 'done', NULL, $a, $s, "
                    "now()::TIMESTAMP, $r", rec)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _insert_rows(con, results, args) -> None:
    import duckdb

    sql = "INSERT INTO risk_result_log SELECT $j, portfolio_id, $d, item, metric, value, $r FROM _risk_rows"
    if isinstance(con, duckdb.DuckDBPyConnection):
        # A plain connection finds the rows in this frame's locals (DuckDB's replacement scan): register +
        # unregister cost 0.8 ms more per write (measured). A wrapped connection (a service's proxy, the statement
        # counter) calls DuckDB from another frame, so it registers them.
        _risk_rows = results  # noqa: F841
        con.execute(sql, args)
        return
    con.register("_risk_rows", results)
    try:
        con.execute(sql, args)
    finally:
        con.unregister("_risk_rows")


def write_failure(con, job: str, date: dt.date, params: dict[str, Any], portfolios: Sequence[str], error: str,
                  attempts: int, run: int | None = None) -> None:
    """Record failed (job, portfolio, date) runs so a rerun retries them and reports the error (the last good
    results stay readable)."""
    run = next_run() if run is None else int(run)
    con.execute("INSERT INTO risk_run_log SELECT $j, unnest($p), $d, $k, 'failed', $e, $a, NULL, now()::TIMESTAMP, $r",
                {"j": job, "p": list(portfolios), "d": date, "k": params_key(params), "e": error[:2000],
                 "a": attempts, "r": run})


# A (job, date) whose portfolios have this many run records gets its superseded ones removed after a run: a forced
# rerun appends, so without a bound the logs would grow with every rerun.
COMPACT_AFTER = 8


def drop_superseded(con, job: str, date: dt.date, run: int, portfolios: Sequence[str]) -> None:
    """After a run numbered ``run`` wrote done results for ``portfolios``: remove their earlier rows and records of
    (job, date), which that run superseded (constant filters on the logs: no join, unlike ``compact_results``)."""
    args = {"j": job, "d": date, "r": int(run), "p": list(portfolios)}
    where = "job = $j AND date = $d AND run < $r AND portfolio_id IN (SELECT unnest($p))"
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM risk_result_log WHERE {where}", args)
        con.execute(f"DELETE FROM risk_run_log WHERE {where}", args)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def compact_results(con, job: str | None = None, date: dt.date | None = None) -> tuple[int, int]:
    """Remove superseded results (all of a key's rows but its latest done run's) and run records (all but the
    latest and the latest done one), of one (job, date) or everywhere; returns (rows, records) removed.

    What the ``risk_results`` / ``risk_runs`` views show does not change.
    """
    conds = [c for c, v in (("job = $j", job), ("date = $d", date)) if v is not None]
    args = {k: v for k, v in (("j", job), ("d", date)) if v is not None} or None
    where = " AND ".join(conds) or "true"
    where_l = " AND ".join(f"l.{c}" for c in conds) or "true"
    # The rows and records to keep: each key's latest done run (what risk_results shows) and latest record.
    keep_done = (f"SELECT job, portfolio_id, date, max(run) AS run FROM risk_run_log WHERE status = 'done' AND {where} "
                 "GROUP BY ALL")
    same_key = "k.job = l.job AND k.portfolio_id = l.portfolio_id AND k.date = l.date"
    ensure_result_tables(con)
    con.execute("BEGIN TRANSACTION")
    try:
        rows = con.execute(f"""DELETE FROM risk_result_log l WHERE {where_l}
                                 AND NOT EXISTS (SELECT 1 FROM ({keep_done}) k WHERE {same_key} AND k.run = l.run)""",
                           args).fetchall()[0][0]
        recs = con.execute(f"""DELETE FROM risk_run_log l WHERE {where_l}
                                 AND l.run < (SELECT max(run) FROM risk_run_log k WHERE {same_key})
                                 AND NOT EXISTS (SELECT 1 FROM ({keep_done}) k WHERE {same_key} AND k.run = l.run)""",
                           args).fetchall()[0][0]
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return int(rows), int(recs)


def read_results(con, job: str, date: dt.date | None = None, portfolios: Sequence[str] | None = None) -> pd.DataFrame:
    """Stored results of a job as a long DataFrame (portfolio_id, date, item, metric, value)."""
    q = "SELECT portfolio_id, date, item, metric, value FROM risk_results WHERE job = ?"
    args: list[Any] = [job]
    if date is not None:
        q += " AND date = ?"
        args.append(date)
    df = con.execute(q + " ORDER BY portfolio_id, item, metric", args).df()
    if portfolios is not None:
        df = df[df.portfolio_id.isin(list(portfolios))]
    return df
