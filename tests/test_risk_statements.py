"""How many DuckDB statements a batch run issues (a regression guard on the fast path's per-statement cost), and
that the leaner write path (no DELETE on a first run, UPDATE of existing run records) stores the same rows."""
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
# next_date), write 4 (BEGIN, INSERT rows, INSERT run records, COMMIT) or 5 on a rerun (DELETE old rows, INSERT
# rows, UPDATE run records). First round: VaR 12, Brinson 17 on a forced rerun; second round: 9 and 9.
FIRST = {"var": 7, "brinson": 7}
RERUN = {"var": 8, "brinson": 8}
# Campisi (window days + holdings and benchmark snapshots + bonds + analytics + curve: 1 read) and stress
# (holdings + closes + analytics + returns + scenarios + asset attributes: 1 read), forced rerun. Second round:
# Campisi 16, stress 15.
RERUN_OTHERS = {"campisi": 8, "stress": 8}


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
    assert c.count("DELETE") == 1 and c.count("UPDATE") == 1 and c.count("INSERT INTO RISK_RUNS") == 0
    assert _rows(con, job) == rows  # replaced, not duplicated: the same rows as the first run


def test_statement_count_does_not_grow_with_portfolios(con):
    pids = _ids(con)
    _run(con, "var", pids)
    counts = []
    for sub in (pids[:2], pids):
        c = CountingConnection(con)
        _run(c, "var", sub, force=True)
        counts.append(len(c.statements))
    assert counts[0] == counts[1]


def test_mixed_rerun_updates_old_records_and_inserts_new(con):
    pids = _ids(con)
    _run(con, "var", pids[:3], params={"confidences": [0.95]})
    c = CountingConnection(con)
    _run(c, "var", pids, params={"confidences": [0.99]})  # new parameters: the 3 old runs are recomputed
    assert c.count("DELETE") == 1 and c.count("UPDATE") == 1 and c.count("INSERT INTO RISK_RUNS") == 1
    runs = con.execute("SELECT portfolio_id, status, params FROM risk_runs WHERE job = 'var' ORDER BY 1").fetchall()
    assert [r[0] for r in runs] == pids and {r[1] for r in runs} == {"done"}
    assert all('"confidences": [0.99]' in r[2] for r in runs)
    metrics = con.execute("SELECT DISTINCT metric FROM risk_results WHERE job = 'var'").fetchall()
    assert not any("95" in m[0] for m in metrics)  # the old parameters' rows are gone
    c2 = CountingConnection(con)
    _run(c2, "var", pids, params={"confidences": [0.99]}, force=True)
    assert len(_rows(con, "var")) == len(pids) * 6


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
    con.execute("DROP TABLE IF EXISTS risk_results")
    con.execute("DROP TABLE IF EXISTS risk_runs")
    c = CountingConnection(con)
    _run(c, "var", pids)
    assert "risk_results" not in c.statements[0] and "risk_runs" not in c.statements[0]
    assert {r[0] for r in _rows(con, "var")} == set(pids)
    con.execute("DROP TABLE risk_results")  # the plan sees risk_runs; the write finds risk_results missing
    _run(con, "var", pids, force=True)
    assert {r[0] for r in _rows(con, "var")} == set(pids)
