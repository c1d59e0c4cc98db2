"""How many DuckDB statements a batch run issues (a regression guard on the fast path's per-statement cost), and
that the append-only write path (no DELETE or UPDATE, readers take each key's latest run) shows the same results as
replacing them did; compaction, atomicity and the migration of an older result layout."""
from __future__ import annotations

import duckdb
import numpy as np
import pytest

from risk.batch import run_job
from risk.statement_count import CountingConnection
from risk_fixtures import small_db

# Upper bounds per run, whatever the number of portfolios (one chunk in-process): plan 2 (table counts + packs'
# guard; date + window start + portfolios + benchmark ids + recorded runs), load 1 (VaR: holdings in effect + returns
# + closes; Brinson: sectors + returns + closes + holdings and benchmark snapshots in effect, by the packs'
# next_date), write 4 (BEGIN, INSERT rows, INSERT run records, COMMIT) on a first run and on a rerun alike: results
# are append-only (no DELETE of old rows, no UPDATE of run records). First round: VaR 12, Brinson 17 on a forced
# rerun; second round: 9 and 9; third: 8 and 8.
FIRST = {"var": 7, "brinson": 7}
RERUN = {"var": 7, "brinson": 7}
# Campisi (window days + holdings and benchmark snapshots + bonds + analytics + curve: 1 read) and stress
# (holdings + closes + analytics + returns + scenarios + asset attributes: 1 read), forced rerun. Second round:
# Campisi 16, stress 15; third: 8 and 8.
RERUN_OTHERS = {"campisi": 7, "stress": 7}


@pytest.fixture()
def con(tmp_path):
    c = duckdb.connect(str(small_db(tmp_path)))
    yield c
    c.close()


def _ids(con, kind="equity"):
    return [r[0] for r in con.execute("SELECT portfolio_id FROM portfolios WHERE kind = ? ORDER BY 1", [kind]).fetchall()]


SHORT = {"var": {"window": 60}, "brinson": {"periods": 60}, "campisi": {"periods": 60}, "stress": {"window": 60}}  # the small store has under a year of days


def _run(con, job, pids, params=None, **kw):
    s = run_job(con, job, portfolios=pids, scheduler="sync", show_progress=False,
                params=dict(SHORT[job], **(params or {})), **kw)
    assert not s.failed, s.failed
    return s


def _rows(con, job):
    return sorted(con.execute("SELECT portfolio_id, item, metric, value FROM risk_results WHERE job = ?", [job]).fetchall())


@pytest.mark.parametrize("job", ["var", "brinson"])
def test_statements_per_run_first_skip_and_force(con, job):
    pids = _ids(con)
    c = CountingConnection(con)
    _run(c, job, pids)
    first = list(c.statements)
    assert len(first) <= FIRST[job], "\n".join(first)
    assert sum(1 for x in first if x.upper().startswith("SELECT")) <= 3  # guard, plan, one read
    assert c.count("DELETE") == 0 and c.count("UPDATE") == 0 and c.count("INSERT OR REPLACE") == 0
    rows = _rows(con, job)
    assert {r[0] for r in rows} == set(pids)

    c.reset()
    s = _run(c, job, pids)
    assert s.skipped == pids and not s.computed
    assert len(c.statements) == 2, c.statements  # a rerun of done work only plans
    assert c.count("INSERT") + c.count("DELETE") + c.count("UPDATE") + c.count("BEGIN") == 0

    c.reset()
    _run(c, job, pids, force=True)
    assert len(c.statements) <= RERUN[job], "\n".join(c.statements)
    assert c.count("DELETE") == 0 and c.count("UPDATE") == 0 and c.count("INSERT INTO RISK_RUN_LOG") == 1
    assert _rows(con, job) == rows  # superseded, not duplicated: readers see the same rows as after the first run
    logged = con.execute("SELECT count(*), count(DISTINCT run) FROM risk_result_log WHERE job = ?", [job]).fetchall()
    assert logged == [(2 * len(rows), 2)]  # both runs are in the log until compaction


def test_statement_count_does_not_grow_with_portfolios(con):
    pids = _ids(con)
    _run(con, "var", pids)
    counts = []
    for sub in (pids[:2], pids):
        c = CountingConnection(con)
        _run(c, "var", sub, force=True)
        counts.append(len(c.statements))
    assert counts[0] == counts[1]


def test_mixed_rerun_supersedes_old_records_and_adds_new(con):
    pids = _ids(con)
    _run(con, "var", pids[:3], params={"confidences": [0.95]})
    c = CountingConnection(con)
    _run(c, "var", pids, params={"confidences": [0.99]})  # new parameters: the 3 old runs are recomputed
    assert c.count("DELETE") == 0 and c.count("UPDATE") == 0 and c.count("INSERT INTO RISK_RUN_LOG") == 1
    runs = con.execute("SELECT portfolio_id, status, params FROM risk_runs WHERE job = 'var' ORDER BY 1").fetchall()
    assert [r[0] for r in runs] == pids and {r[1] for r in runs} == {"done"}
    assert all('"confidences": [0.99]' in r[2] for r in runs)
    metrics = con.execute("SELECT DISTINCT metric FROM risk_results WHERE job = 'var'").fetchall()
    assert not any("95" in m[0] for m in metrics)  # the old parameters' rows are superseded
    c2 = CountingConnection(con)
    _run(c2, "var", pids, params={"confidences": [0.99]}, force=True)
    assert len(_rows(con, "var")) == len(pids) * 6


def _shifted(job, by):
    """The job's compute with every value moved by ``by`` (tells one run's rows from another's)."""
    import pyarrow as pa

    from risk.batch import job_module

    def compute(shared, payload, params):
        t = job_module(job).compute(shared, payload, params)
        return t.set_column(3, "value", pa.array(t.column("value").to_numpy() + by))
    return compute


def test_readers_see_the_latest_run_only(con):
    """Append-only results: the views (and read_results) show the latest run's rows, whichever run wrote last;
    every run stays in the log, numbered in order."""
    from risk.store import read_results

    pids = _ids(con)[:3]
    _run(con, "var", pids)
    first = _rows(con, "var")
    _run(con, "var", pids, force=True, compute=_shifted("var", 1.0))
    second = _rows(con, "var")
    assert [r[:3] for r in second] == [r[:3] for r in first]
    np.testing.assert_allclose([r[3] for r in second], [r[3] + 1.0 for r in first])
    df = read_results(con, "var")
    assert sorted(zip(df.portfolio_id, df["item"], df.metric, df.value)) == second
    runs = con.execute("SELECT DISTINCT run FROM risk_result_log ORDER BY run").fetchall()
    assert len(runs) == 2 and runs[0][0] < runs[1][0]


def test_failed_rerun_keeps_the_last_good_results_and_is_retried(con):
    from risk.store import run_states

    pids = _ids(con)[:2]
    _run(con, "var", pids)
    good = _rows(con, "var")

    def boom(shared, payload, params):
        raise RuntimeError("simulated crash")
    s = run_job(con, "var", portfolios=pids, scheduler="sync", show_progress=False, params=SHORT["var"], force=True,
                compute=boom, retries=0)
    assert set(s.failed) == set(pids)
    assert _rows(con, "var") == good  # the last done run's rows stay readable
    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    from risk.jobs.var import DEFAULTS

    assert {p: st for p, (st, _) in run_states(con, "var", day, dict(DEFAULTS, **SHORT["var"])).items()} == \
        {p: "failed" for p in pids}
    again = _run(con, "var", pids)  # the failed records are the latest: retried without --force
    assert again.computed == pids and _rows(con, "var") == good


def test_compaction_removes_superseded_runs_only(con):
    """Forced reruns pile up superseded rows; after COMPACT_AFTER records a run compacts its (job, date), and
    compact_results keeps each key's latest done run (and its latest record, here a failure)."""
    from risk.store import COMPACT_AFTER, compact_results

    pids = _ids(con)[:2]
    _run(con, "var", pids)
    rows = _rows(con, "var")
    for _ in range(COMPACT_AFTER - 1):
        _run(con, "var", pids, force=True)
    n_runs = con.execute("SELECT count(DISTINCT run) FROM risk_run_log WHERE job = 'var'").fetchall()[0][0]
    assert n_runs == COMPACT_AFTER  # not compacted yet: the plan saw fewer records than the bound
    _run(con, "var", pids, force=True)  # plans with COMPACT_AFTER records per portfolio: compacts after writing
    assert con.execute("SELECT count(DISTINCT run), count(*) FROM risk_result_log WHERE job = 'var'").fetchall() == \
        [(1, len(rows))]
    assert con.execute("SELECT count(*) FROM risk_run_log WHERE job = 'var'").fetchall()[0][0] == len(pids)
    assert _rows(con, "var") == rows

    def boom(shared, payload, params):
        raise RuntimeError("simulated crash")
    _run(con, "var", pids, force=True)
    run_job(con, "var", portfolios=pids, scheduler="sync", show_progress=False, params=SHORT["var"], force=True,
            compute=boom, retries=0)
    before = con.execute("SELECT * FROM risk_runs ORDER BY portfolio_id").fetchall()
    # Removed: the first done run's rows and records; kept: the failed records (latest) and the last done run.
    assert compact_results(con) == (len(rows), len(pids))
    assert con.execute("SELECT * FROM risk_runs ORDER BY portfolio_id").fetchall() == before
    assert _rows(con, "var") == rows
    assert compact_results(con) == (0, 0)


def test_a_chunk_is_written_atomically(con):
    """A write that fails after its rows went in (here: the run records violate NOT NULL) leaves neither."""
    import duckdb
    import pyarrow as pa

    from risk.store import write_results

    pids = _ids(con)[:2]
    _run(con, "var", pids)
    before = con.execute("SELECT count(*) FROM risk_result_log").fetchall()[0][0]
    rows = pa.table({"portfolio_id": ["EQ-00001"], "item": [""], "metric": ["x"], "value": [1.0]})
    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    with pytest.raises(duckdb.ConstraintException):
        write_results(con, "var", day, {}, rows, ["EQ-00001", None], 0.1)
    assert con.execute("SELECT count(*) FROM risk_result_log").fetchall()[0][0] == before
    assert con.execute("SELECT count(*) FROM risk_run_log WHERE params = '{}'").fetchall()[0][0] == 0


# The result layout before RESULTS_VERSION 2, verbatim: rows replaced in place, one run record per key.
V1_TABLES = {
    "risk_results": """job VARCHAR NOT NULL, portfolio_id VARCHAR NOT NULL, date DATE NOT NULL, item VARCHAR NOT NULL,
                       metric VARCHAR NOT NULL, value DOUBLE""",
    "risk_runs": """job VARCHAR NOT NULL, portfolio_id VARCHAR NOT NULL, date DATE NOT NULL, params VARCHAR NOT NULL,
                    status VARCHAR NOT NULL, error VARCHAR, attempts INTEGER, seconds DOUBLE,
                    finished_at TIMESTAMP, PRIMARY KEY (job, portfolio_id, date)""",
}


def test_an_older_result_layout_is_migrated(con):
    """A store written with the version-1 tables: its results stay readable, its done runs are skipped, its failed
    ones retried, and new runs supersede the migrated rows."""
    from risk.jobs.var import DEFAULTS
    from risk.store import params_key

    pids = _ids(con)[:3]
    _run(con, "var", pids)
    rows = _rows(con, "var")
    runs = con.execute("SELECT job, portfolio_id, date, params, status, error, attempts, seconds, finished_at "
                       "FROM risk_runs").fetchall()
    for v in ("risk_results", "risk_runs"):
        con.execute(f"DROP VIEW {v}")
    for t in ("risk_result_log", "risk_run_log"):
        con.execute(f"DROP TABLE {t}")
    for name, cols in V1_TABLES.items():
        con.execute(f"CREATE TABLE {name} ({cols})")
    con.executemany("INSERT INTO risk_results VALUES ('var', ?, ?, ?, ?, ?)",
                    [(p, runs[0][2], i, m, v) for p, i, m, v in rows])
    con.executemany("INSERT INTO risk_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
    # The third portfolio's last run failed after an earlier success: version 1 kept its rows.
    con.execute("UPDATE risk_runs SET status = 'failed', error = 'x' WHERE portfolio_id = ?", [pids[2]])
    assert params_key(dict(DEFAULTS, **SHORT["var"])) == runs[0][3]

    s = _run(con, "var", pids)
    kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                             "WHERE table_name LIKE 'risk_%'").fetchall())
    assert kinds == {"risk_result_log": "BASE TABLE", "risk_run_log": "BASE TABLE", "risk_results": "VIEW",
                     "risk_runs": "VIEW"}
    assert s.skipped == pids[:2] and s.computed == pids[2:]
    got = _rows(con, "var")  # the recomputed portfolio's new rows equal its old ones (to rounding: a smaller product)
    assert [r[:3] for r in got] == [r[:3] for r in rows]
    np.testing.assert_allclose([r[3] for r in got], [r[3] for r in rows], rtol=1e-12)
    assert con.execute("SELECT count(*) FROM risk_result_log WHERE run = 0").fetchall()[0][0] == len(rows)


def test_plan_run_date_and_window_start_against_the_long_table(con):
    from risk.jobs.var import DEFAULTS
    from risk.store import plan_run

    days = sorted(r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns").fetchall())
    day, known, states, first = plan_run(con, "var", None, DEFAULTS, "packed_asset_returns", 60)
    assert day == days[-1] and first == days[-60] and states == {}
    assert [k for k, _ in known] == sorted(r[0] for r in con.execute("SELECT portfolio_id FROM portfolios").fetchall())
    day, _, _, first = plan_run(con, "var", days[-10].isoformat(), DEFAULTS, "asset_returns", 60)
    assert day == days[-10] and first == days[-69]
    assert plan_run(con, "var", None, DEFAULTS, "packed_asset_returns", len(days) + 1)[3] is None
    with pytest.raises(ValueError, match="--date: .* is not a trading day"):
        plan_run(con, "var", "2025-01-04", DEFAULTS, "packed_asset_returns", 60)  # a Saturday
    with pytest.raises(ValueError, match="--window: needs"):
        _run(con, "var", _ids(con)[:1], params={"window": len(days) + 1})
    con.execute("DELETE FROM asset_returns")
    with pytest.raises(ValueError, match="asset_returns is empty"):
        plan_run(con, "campisi", None, DEFAULTS, "asset_returns", None)
    con.execute("DELETE FROM portfolios")
    with pytest.raises(ValueError, match="table 'portfolios' is missing or empty"):
        plan_run(con, "campisi", None, DEFAULTS, "asset_returns", None)


def test_parts_of_one_statement_equal_separate_reads(con):
    from risk.packed import packed_name
    from risk.packed_reads import daily_part, decode_daily, run_parts

    days = sorted(r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns").fetchall())
    parts = [daily_part("asset_returns", ["ret"], days[-30], days[-1]),
             (f"SELECT rowid, owner, date FROM {packed_name('holdings')}", {}),  # a part without blobs
             daily_part("prices", ["close"], days[-1], days[-1])]
    together = run_parts(con, parts)
    for part, got in zip(parts, together):
        [alone] = run_parts(con, [part])
        cols = [c for c in alone.column_names if c != "src"]
        assert got.select(cols).sort_by(cols[0]).equals(alone.select(cols).sort_by(cols[0]))
    d, m, lo = decode_daily(together[0], ["ret"])
    ref = con.execute("SELECT date, asset_key, ret FROM asset_returns WHERE date >= ?", [days[-30]]).df().pivot(
        index="date", columns="asset_key", values="ret")
    assert list(d) == [np.datetime64(x, "D") for x in days[-30:]]
    np.testing.assert_array_equal(m["ret"], ref[np.arange(lo, lo + m["ret"].shape[1])].to_numpy())


@pytest.mark.parametrize("job, kind", [("campisi", "bond"), ("stress", "equity")])
def test_statements_per_forced_rerun_campisi_and_stress(con, job, kind):
    pids = _ids(con, kind)
    _run(con, job, pids)
    rows = _rows(con, job)
    c = CountingConnection(con)
    _run(c, job, pids, force=True)
    assert len(c.statements) <= RERUN_OTHERS[job], "\n".join(c.statements)
    assert _rows(con, job) == rows  # replaced, not duplicated


def test_guard_does_not_count_the_result_tables_and_missing_ones_are_created(con):
    """The result tables grow with every run (count(*) over millions of rows costs tens of ms), so the guard does
    not count them; a store without them (or with one dropped between plan and write) still runs."""
    pids = _ids(con)[:2]
    for v in ("risk_results", "risk_runs"):
        con.execute(f"DROP VIEW {v}")
    for t in ("risk_result_log", "risk_run_log"):
        con.execute(f"DROP TABLE {t}")
    c = CountingConnection(con)
    _run(c, "var", pids)
    assert "risk_result" not in c.statements[0] and "risk_run" not in c.statements[0]
    assert {r[0] for r in _rows(con, "var")} == set(pids)
    con.execute("DROP TABLE risk_result_log")  # the plan sees risk_run_log; the write finds risk_result_log missing
    _run(con, "var", pids, force=True)
    assert {r[0] for r in _rows(con, "var")} == set(pids)


def test_pack_command_compacts_the_result_logs(tmp_path, capsys):
    """`foreland risk pack` removes what forced reruns superseded; what readers see does not change."""
    from risk.cli import build_parser, run

    db = small_db(tmp_path, "cli.duckdb")
    c = duckdb.connect(str(db))
    pids = _ids(c)[:2]
    _run(c, "var", pids)
    _run(c, "var", pids, force=True)
    rows = _rows(c, "var")
    assert c.execute("SELECT count(*) FROM risk_result_log").fetchall()[0][0] == 2 * len(rows)
    c.close()
    assert run(build_parser("foreland risk").parse_args(["pack", "--db", str(db)])) == 0
    assert f"removed {len(rows)} superseded result rows and {len(pids)} run records" in capsys.readouterr().out
    c = duckdb.connect(str(db))
    assert c.execute("SELECT count(*) FROM risk_result_log").fetchall()[0][0] == len(rows)
    assert _rows(c, "var") == rows
    c.close()


def test_day_and_window_from_the_packed_days_equal_the_plan_statement(con):
    """run_job takes the as-of day and the window's first day from the packed returns' days that the guard
    statement brings (packed.guard, store.window_from_days); the plan statement's dates subquery over the long
    table is the reference, errors included."""
    from risk.jobs.var import DEFAULTS
    from risk.packed import guard
    from risk.store import plan_for_day, plan_run, window_from_days

    _, days = guard(con, ["holdings", "prices", "asset_returns"], required=("portfolios",))
    long_days = sorted(r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns").fetchall())
    assert [d.item() for d in days] == long_days
    for date in (None, long_days[-10].isoformat(), long_days[59].isoformat(), long_days[58]):
        for window in (None, 1, 60, len(long_days) + 1):
            ref = plan_run(con, "var", date, DEFAULTS, "asset_returns", window)
            got = window_from_days(days, date, window)
            assert got[0] == ref[0]
            if window is not None:
                assert got[1] == ref[3]
    for bad in ("2025-01-04", "2025-13-01"):  # a Saturday; not a date
        with pytest.raises(ValueError) as ref_err:
            plan_run(con, "var", bad, DEFAULTS, "asset_returns", 60)
        with pytest.raises(ValueError) as got_err:
            window_from_days(days, bad, 60)
        assert str(got_err.value) == str(ref_err.value)
    pids = _ids(con)[:2]
    _run(con, "var", pids)
    day = long_days[-1]
    ref = plan_run(con, "var", None, dict(DEFAULTS, **SHORT["var"]), "packed_asset_returns", 60, with_benchmarks=True)
    known, states, bmap = plan_for_day(con, "var", day, dict(DEFAULTS, **SHORT["var"]), with_benchmarks=True)
    assert (known, dict(states), bmap) == (ref[1], dict(ref[2]), ref[4])
    assert states.last_run == ref[2].last_run > 0 and set(states) == set(pids)


def test_a_portfolio_without_benchmark_is_named(con):
    """A NULL benchmark_id reaches Brinson as None from either plan form (the numpy one once filled it with '?',
    which then failed later with a confusing error); Brinson names the portfolio."""
    from risk.jobs.var import DEFAULTS
    from risk.store import plan_for_day, plan_run

    pid = _ids(con)[0]
    con.execute("UPDATE portfolios SET benchmark_id = NULL WHERE portfolio_id = ?", [pid])
    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    assert plan_for_day(con, "var", day, DEFAULTS, with_benchmarks=True)[2][pid] is None
    assert plan_run(con, "var", None, DEFAULTS, "packed_asset_returns", 60, with_benchmarks=True)[4][pid] is None
    with pytest.raises(ValueError, match=f"portfolios: '{pid}' has no benchmark_id; Brinson needs one"):
        _run(con, "brinson", [pid])
