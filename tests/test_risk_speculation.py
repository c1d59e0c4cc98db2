"""The speculative input read (risk.speculation): a warm rerun sends its input statement before the guard and the
plan, and uses it only when they confirm it. Reference: the same run through a wrapped connection, which is never
speculated; every change between two runs (stale packs, new days, a portfolio done meanwhile, a wrong guess, another
connection) must give the reference's rows."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from risk import speculation
from risk.batch import run_job
from risk.statement_count import CountingConnection
from risk_fixtures import small_db

SHORT = {"var": {"window": 60}, "brinson": {"periods": 60}}


@pytest.fixture()
def con(tmp_path):
    speculation.forget()
    c = duckdb.connect(str(small_db(tmp_path)))
    yield c
    c.close()


def _ids(con):
    return [r[0] for r in con.execute("SELECT portfolio_id FROM portfolios WHERE kind = 'equity' ORDER BY 1").fetchall()]


def _run(con, job, pids, **kw):
    s = run_job(con, job, portfolios=pids, scheduler="sync", show_progress=False, params=SHORT[job], **kw)
    assert not s.failed, s.failed
    return s


def _rows(con, job):
    return sorted(con.execute("SELECT portfolio_id, item, metric, value FROM risk_results WHERE job = ?", [job]).fetchall())


def _rows_on(con, job, day):
    return sorted(con.execute("SELECT portfolio_id, item, metric, value FROM risk_results WHERE job = ? AND date = ?",
                              [job, day]).fetchall())


def _reference(con, job, pids):
    """The same forced run on a wrapped connection (no speculation); its rows."""
    s = _run(CountingConnection(con), job, pids, force=True)
    assert s.speculation == ""
    return _rows(con, job)


@pytest.mark.parametrize("job", ["var", "brinson"])
def test_a_warm_rerun_uses_its_guess_and_equals_the_plain_path(con, job):
    pids = _ids(con)
    assert _run(con, job, pids, force=True).speculation == ""  # nothing remembered yet
    s = _run(con, job, pids, force=True)
    assert s.speculation == "hit" and s.computed == pids
    got = _rows(con, job)
    assert got == _reference(con, job, pids)


def test_packs_made_stale_between_two_runs_drop_the_guess(con):
    """A new holdings snapshot (SQL insert) between two runs: the guard rebuilds the packs, the guess (which may
    have read the old ones) is dropped, and the new quantities are used."""
    pids = _ids(con)
    _run(con, "var", pids, force=True)
    nav = dict(con.execute("SELECT portfolio_id, value FROM risk_results WHERE job = 'var' AND metric = 'nav'").fetchall())
    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    con.execute("""INSERT INTO holdings SELECT portfolio_id, $d, asset_id, 2 * quantity FROM holdings
                   WHERE portfolio_id = $p AND date = (SELECT max(date) FROM holdings WHERE portfolio_id = $p)""",
                {"d": day, "p": pids[0]})
    s = _run(con, "var", pids, force=True)
    got = _rows(con, "var")
    new_nav = dict(con.execute("SELECT portfolio_id, value FROM risk_results WHERE job = 'var' AND metric = 'nav'").fetchall())
    assert new_nav[pids[0]] == pytest.approx(2 * nav[pids[0]], rel=1e-12)
    assert new_nav[pids[1]] == nav[pids[1]]
    assert s.speculation == "miss"
    assert got == _reference(con, "var", pids)


def test_new_days_appended_between_two_runs_drop_the_guess(con):
    """A trading day appended to returns and prices: the as-of day moves, the guess (the old window) is dropped."""
    pids = _ids(con)
    s0 = _run(con, "brinson", pids, force=True)
    new = s0.date + dt.timedelta(days=1)
    for table, col in (("asset_returns", "ret"), ("prices", "close")):
        con.execute(f"INSERT INTO {table} SELECT $n, asset_key, {col} * 1.001 FROM {table} WHERE date = $d",
                    {"n": new, "d": s0.date})
    s = _run(con, "brinson", pids, force=True)
    assert s.speculation == "miss" and s.date == new
    got = _rows_on(con, "brinson", new)
    _reference(con, "brinson", pids)
    assert got and got == _rows_on(con, "brinson", new)


def test_a_portfolio_done_meanwhile_drops_the_guess(con):
    """The guess was for three portfolios; one of them was computed by another run in between, so this run has two
    to do: a different statement, so the guess is dropped and the done one skipped."""
    pids = _ids(con)[:3]

    def boom(shared, payload, params):
        raise RuntimeError("simulated crash")
    s = run_job(con, "var", portfolios=pids, scheduler="sync", show_progress=False, params=SHORT["var"], compute=boom,
                retries=0)
    assert set(s.failed) == set(pids)
    _run(con, "var", pids[1:2])
    s = _run(con, "var", pids)
    assert s.speculation == "miss" and s.computed == [pids[0], pids[2]] and s.skipped == [pids[1]]
    got = _rows(con, "var")
    assert got == _reference(con, "var", pids)


def test_a_wrong_guess_is_never_used(con):
    """Remembered arguments that differ from what the plan asks (the window of the day before; another benchmark
    for a portfolio) load fine but would give other numbers: they are dropped, and the rows are the plain path's."""
    pids = _ids(con)
    days = [r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns ORDER BY 1").fetchall()]
    _run(con, "var", pids, force=True)
    [key] = [k for k in speculation._CACHE if k[0] == id(con) and k[1] == "var"]
    day, chunks, params = speculation._CACHE[key].args
    assert day == days[-1] and params["_window_start"] == days[-60]
    speculation._CACHE[key].args = (days[-2], chunks, dict(params, _window_start=days[-61]))
    s = _run(con, "var", pids, force=True)
    assert _rows(con, "var") == _reference(con, "var", pids)
    assert s.speculation == "miss"

    _run(con, "brinson", pids, force=True)
    [key] = [k for k in speculation._CACHE if k[0] == id(con) and k[1] == "brinson"]
    day, chunks, params = speculation._CACHE[key].args
    bench = params["_benchmarks"]
    other = next(b for b in sorted({b for b in bench.values() if b}) if b != bench[pids[0]])
    speculation._CACHE[key].args = (day, chunks, dict(params, _benchmarks=dict(bench, **{pids[0]: other})))
    s = _run(con, "brinson", pids, force=True)
    assert _rows(con, "brinson") == _reference(con, "brinson", pids)
    assert s.speculation == "miss"


def test_another_connection_or_a_reopened_file_never_reuses_a_guess(con, tmp_path):
    pids = _ids(con)
    _run(con, "var", pids, force=True)
    assert _run(con, "var", pids, force=True).speculation == "hit"
    other = duckdb.connect(str(small_db(tmp_path, "other.duckdb")))
    try:
        assert _run(other, "var", pids, force=True).speculation == ""  # another store
    finally:
        other.close()
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    con.close()
    again = duckdb.connect(path)
    try:
        assert _run(again, "var", pids, force=True).speculation == ""  # the same file reopened
        assert _run(again, "var", pids, force=True).speculation == "hit"
    finally:
        again.close()


def test_nothing_left_to_do_stops_guessing(con):
    """A rerun that finds everything done had guessed for nothing; the next one guesses nothing."""
    pids = _ids(con)[:2]
    _run(con, "var", pids)
    s = _run(con, "var", pids)
    assert s.computed == [] and s.speculation == "miss"
    s = _run(con, "var", pids)
    assert s.computed == [] and s.speculation == ""
