"""Risk batch engine benchmarks, end to end from DuckDB on synthetic data of the source's sizes.

Each job is timed through ``risk.batch.run_job`` on an open connection to the
DuckDB file, in-process, as a long-lived service holds it. The timed region
is a whole run: checking the tables and the packed copies (one statement),
resolving the date, portfolios and earlier runs, reading every input from the
file (the packed daily matrices and holdings snapshots of risk/packed.py, the
small tables as they are), computing, and writing the results and run records
back to the file in one transaction; ``force=True``, so every round supersedes
the previous round's rows (results are append-only: no DELETE or UPDATE; every
COMPACT_AFTER-th forced rerun of the same date also drops the rows it
superseded, inside the timed region, as production does). Outside the timed region: imports, Numba
compilation (one warm-up run), opening the connection, and building the packed
copies (``generate`` builds them, as the loader does in production). Each job
also runs next to a per-portfolio peer on the same data in the same run (the
usual micro-service shape: one portfolio at a time, pandas and a peer
library), which checks our numbers. Source times (source-notes, section 4):
VaR HS 86 portfolios 1.81 s, Brinson 5 portfolios 1.05 s, Campisi 52
portfolios 13.62 s, stress 79 portfolios 15.3 s; the goal is >= 100x faster.
Wall time (perf_counter) and process CPU time (process_time) are both
reported, with the CPU time per stage (connect, plan, load, compute, write)
and the number of DuckDB statements of one run (risk.statement_count), which load does not blur. The timed runs
are on a plain connection, so from the second on each run's load is speculated (risk.speculation: the input
statement and its decode start on a second cursor while the guard and the plan run); the peers check the rows of
the last timed run.
Plus 10,000 portfolios of VaR on a Dask LocalCluster (2 worker processes), as
portfolios per second. Run::

    python -m pytest bench/bench_risk.py --benchmark-enable -s
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

import risk
from risk.batch import run_job
from risk.statement_count import CountingConnection
from risk.store import connect
from risk.synth import SynthConfig, generate

SOURCE_SECONDS = {"var": 1.81, "brinson": 1.05, "campisi": 13.62, "stress": 15.3}
GOAL_SPEEDUP = 100
RESULTS: dict[str, dict[str, float]] = {}


@pytest.fixture(scope="module")
def store():
    path = Path(tempfile.mkdtemp(prefix="bench_risk_")) / "risk.duckdb"
    con = connect(path, create=True)
    generate(con, SynthConfig(seed=1))
    ids = {k: [r[0] for r in con.execute("SELECT portfolio_id FROM portfolios WHERE kind = ? ORDER BY 1", [k]).fetchall()]
           for k in ("equity", "bond", "mixed")}
    sel = {"var": ids["equity"][:86], "brinson": ids["equity"][:5], "campisi": ids["bond"][:52],
           "stress": ids["equity"][:40] + ids["bond"][:25] + ids["mixed"][:14]}
    yield con, path, sel
    con.close()
    shutil.rmtree(path.parent, ignore_errors=True)


def _run(con, job, pids, **kw):
    s = run_job(con, job, portfolios=pids, scheduler="sync", force=True, show_progress=False, **kw)
    assert not s.failed, s.failed
    return s


ROUNDS = 9  # best of N: the machine is shared, the minimum is the least disturbed run


def _bench(benchmark, con, job, pids, params=None):
    _run(con, job, pids, params=params)  # warm caches (first queries, lazy imports)
    # Statements per run (one more run, through a counting wrapper, outside the timing): what load on the machine
    # cannot blur, next to the noisy times. Run before the timed rounds, so the rows the peers check afterwards are
    # those of a timed (plain connection, speculated: risk.speculation) run.
    counted = CountingConnection(con)
    _run(counted, job, pids, params=params)
    cpu: list[float] = []
    stages: list[dict] = []
    guesses: list[str] = []

    def once():
        c0 = time.process_time()  # CPU of this process (all its threads): what load on the machine inflates least
        s = _run(con, job, pids, params=params)
        cpu.append(time.process_time() - c0)
        stages.append(s.stages)
        guesses.append(s.speculation)

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    best = benchmark.stats.stats.min
    goal = SOURCE_SECONDS[job] / GOAL_SPEEDUP
    RESULTS.setdefault(job, {}).update(ours=best, cpu=min(cpu), cpu_median=float(np.median(cpu)),
                                       wall_median=benchmark.stats.stats.median)
    benchmark.extra_info.update(portfolios=len(pids), seconds=best, cpu_seconds=min(cpu), source_seconds=SOURCE_SECONDS[job],
                                speedup_vs_source=SOURCE_SECONDS[job] / best,
                                cpu_speedup_vs_source=SOURCE_SECONDS[job] / min(cpu), goal_seconds=goal,
                                speculated=guesses.count("hit"))
    print(f"\n{job}: {len(pids)} portfolios, best of {ROUNDS}: wall {best * 1e3:.1f} ms "
          f"(median {benchmark.stats.stats.median * 1e3:.1f}), CPU {min(cpu) * 1e3:.1f} ms "
          f"(median {np.median(cpu) * 1e3:.1f}); vs the source's {SOURCE_SECONDS[job]} s: "
          f"{SOURCE_SECONDS[job] / best:.0f}x wall, {SOURCE_SECONDS[job] / min(cpu):.0f}x CPU (goal {GOAL_SPEEDUP}x = "
          f"{goal * 1e3:.1f} ms); speculative load used in {guesses.count('hit')} of {ROUNDS} runs")
    by_stage = {k: float(np.median([x[k][1] for x in stages if k in x])) for k in stages[0]}
    wall_stage = {k: float(np.median([x[k][0] for x in stages if k in x])) for k in stages[0]}
    RESULTS[job]["stages"] = by_stage
    RESULTS[job]["wall_stages"] = wall_stage
    print(f"{job}: CPU by stage (median, ms): " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in by_stage.items()))
    print(f"{job}: wall by stage (median, ms): " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in wall_stage.items()))
    RESULTS[job]["statements"] = len(counted.statements)
    benchmark.extra_info.update(statements_per_run=len(counted.statements))
    print(f"{job}: {len(counted.statements)} DuckDB statements per run (force rerun): "
          + "; ".join(st.split(" FROM ")[0][:40] for st in counted.statements))


def _results(con, job, pids):
    df = con.execute("SELECT portfolio_id, item, metric, value FROM risk_results WHERE job = ?", [job]).df()
    return df[df.portfolio_id.isin(pids)]


# --- VaR -------------------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="var-hs-86")
def test_var_hs_86_ours(benchmark, store):
    con, _, sel = store
    _bench(benchmark, con, "var", sel["var"], {"confidences": [0.99]})


def _var_peer(con, pids):
    """One portfolio at a time: SQL by asset id, pandas pivot, empyrical."""
    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    days = [r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns WHERE date <= ? ORDER BY date DESC LIMIT 250", [day]).fetchall()]
    out = {}
    for pid in pids:
        h = con.execute("""SELECT h.asset_id, h.quantity FROM holdings h WHERE h.portfolio_id = ? AND h.date =
                           (SELECT max(date) FROM holdings WHERE portfolio_id = ? AND date <= ?)""", [pid, pid, day]).df()
        px = con.execute("""SELECT a.asset_id, p.close FROM prices p JOIN assets a USING (asset_key)
                            WHERE p.date = ? AND a.asset_id IN (SELECT unnest(?))""", [day, h.asset_id.tolist()]).df()
        r = con.execute("""SELECT r.date, a.asset_id, r.ret FROM asset_returns r JOIN assets a USING (asset_key)
                           WHERE r.date >= ? AND r.date <= ? AND a.asset_id IN (SELECT unnest(?))""",
                        [min(days), day, h.asset_id.tolist()]).df()
        wide = r.pivot(index="date", columns="asset_id", values="ret")
        mv = h.set_index("asset_id").quantity * px.set_index("asset_id").close
        x = wide[mv.index].to_numpy() @ (mv / mv.sum()).to_numpy()
        out[pid] = (-empyrical.value_at_risk(x, 0.01), -empyrical.conditional_value_at_risk(x, 0.01))
    return out


@pytest.mark.benchmark(group="var-hs-86")
def test_var_hs_86_peer_per_portfolio(benchmark, store):
    con, _, sel = store
    peer = benchmark.pedantic(lambda: _var_peer(con, sel["var"]), rounds=2, iterations=1)
    RESULTS["var"]["peer"] = benchmark.stats.stats.min
    ours = _results(con, "var", sel["var"]).set_index(["portfolio_id", "metric"]).value
    for pid, (v, e) in peer.items():
        assert ours[(pid, "var_99")] == pytest.approx(v, rel=1e-9)
        assert ours[(pid, "es_99")] == pytest.approx(e, rel=1e-9)


@pytest.mark.benchmark(group="var-hs-86-cold")
def test_var_hs_86_cold_open(benchmark, store):
    """The same VaR run opening and closing the database file each time (a one-shot CLI call)."""
    con, path, sel = store
    con.execute("CHECKPOINT")
    cold = path.with_name("cold.duckdb")
    shutil.copy(path, cold)  # a consistent copy after the checkpoint; the fixture keeps its connection
    benchmark.pedantic(lambda: run_job(str(cold), "var", portfolios=sel["var"], scheduler="sync", force=True,
                                       show_progress=False, params={"confidences": [0.99]}), rounds=5, iterations=1)
    RESULTS.setdefault("var-cold", {})["ours"] = benchmark.stats.stats.min


# --- Brinson ------------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="brinson-5x250x31")
def test_brinson_5_ours(benchmark, store):
    _, _, sel = store
    _bench(benchmark, store[0], "brinson", sel["brinson"])


def _brinson_inputs(con, pid, periods=250):
    """Daily sector weights and returns of one portfolio and its benchmark, built with pandas from SQL."""
    days = [r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns ORDER BY date DESC LIMIT ?", [periods + 1]).fetchall()][::-1]
    assets = con.execute("SELECT asset_id, sector FROM assets").df().set_index("asset_id").sector
    close = con.execute("SELECT p.date, a.asset_id, p.close FROM prices p JOIN assets a USING (asset_key) WHERE a.asset_class = 'equity'").df().pivot(index="date", columns="asset_id", values="close")
    ret = con.execute("SELECT r.date, a.asset_id, r.ret FROM asset_returns r JOIN assets a USING (asset_key) WHERE a.asset_class = 'equity' AND r.date >= ?", [days[1]]).df().pivot(index="date", columns="asset_id", values="ret")
    h = con.execute("SELECT * FROM holdings WHERE portfolio_id = ?", [pid]).df()
    bench = con.execute("SELECT benchmark_id FROM portfolios WHERE portfolio_id = ?", [pid]).fetchall()[0][0]
    bw = con.execute("SELECT * FROM benchmark_weights WHERE benchmark_id = ?", [bench]).df()
    close.index = pd.to_datetime(close.index)
    ret.index = pd.to_datetime(ret.index)
    rows_p, rows_b = [], []
    for prev, day in zip(days[:-1], days[1:]):
        prev, day = pd.Timestamp(prev), pd.Timestamp(day)
        snap = h[h.date == h.date[h.date <= prev].max()].set_index("asset_id").quantity
        b = bw[bw.date == bw.date[bw.date <= prev].max()]
        bmv = b.set_index("asset_id").weight / close.loc[b.date.iloc[0], b.asset_id].to_numpy() * close.loc[prev, b.asset_id].to_numpy()
        for mv, rows in ((snap * close.loc[prev, snap.index], rows_p), (bmv, rows_b)):
            g = assets[mv.index].to_numpy()
            w = mv.groupby(g).sum() / mv.sum()
            r = (mv * ret.loc[day, mv.index]).groupby(g).sum() / mv.groupby(g).sum()
            rows.append(pd.DataFrame({"from_date": prev + pd.Timedelta(days=1), "thru_date": day,
                                      "identifier": w.index, "weight": w.to_numpy(), "return": r.to_numpy()}))
    return pd.concat(rows_p, ignore_index=True), pd.concat(rows_b, ignore_index=True)


def _brinson_peer(con, pids):
    import perfattr

    out = {}
    for pid in pids:
        p, b = _brinson_inputs(con, pid)
        prep = perfattr.prepare_attribution(p, b)
        out[pid] = perfattr.calculate_attribution(prep.portfolio, prep.benchmark,
                                                  method=perfattr.AttributionMethod.BRINSON_FACHLER_THREE_EFFECT)
    return out


PEER_BRINSON = 1  # perfattr takes tens of seconds per portfolio here: time one, compare per portfolio


@pytest.mark.benchmark(group="brinson-5x250x31")
def test_brinson_5_peer_perfattr(benchmark, store):
    con, _, sel = store
    pids = sel["brinson"][:PEER_BRINSON]
    peer = benchmark.pedantic(lambda: _brinson_peer(con, pids), rounds=1, iterations=1)
    RESULTS["brinson"]["peer"] = benchmark.stats.stats.min * len(sel["brinson"]) / PEER_BRINSON  # scaled to 5
    ours = _results(con, "brinson", pids)
    for pid, res in peer.items():
        # perfattr zero-fills unheld sectors, which moves effects between columns of those sectors only:
        # each sector's linked total and the portfolio's totals must agree.
        ref = res.overall_detail.set_index("identifier")
        got = ours[(ours.portfolio_id == pid) & (ours["item"] != "")].pivot(index="item", columns="metric", values="value")
        np.testing.assert_allclose(got.loc[ref.index, "total"], ref.linked_total_effect, atol=1e-10)
        tot = ours[(ours.portfolio_id == pid) & (ours["item"] == "")].set_index("metric").value
        assert tot["active_return"] == pytest.approx(res.cumulative.cumulative_active_return.iloc[-1], abs=1e-12)


# --- Campisi -------------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="campisi-52")
def test_campisi_52_ours(benchmark, store):
    _, _, sel = store
    _bench(benchmark, store[0], "campisi", sel["campisi"])


PEER_CAMPISI = 4  # the per-day pandas peer is slow: time it on a few portfolios and compare per portfolio


def _campisi_peer(con, pids, periods=250):
    """Per portfolio and day: a DataFrame of bond analytics through risk.campisi(), linked with Carino."""
    days = [r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns ORDER BY date DESC LIMIT ?", [periods + 1]).fetchall()][::-1]
    an = con.execute("""SELECT b.date, a.asset_id, b.dirty_price, b.coupon_paid, b.spread, b.mod_duration, b.spread_duration,
                               bd.coupon_rate, bd.maturity_date
                          FROM bond_analytics b JOIN assets a USING (asset_key) JOIN bonds bd USING (asset_id)
                         WHERE b.date >= ?""", [days[0]]).df().set_index(["date", "asset_id"]).sort_index()
    curve = con.execute("SELECT date, tenor_years, yield FROM curves WHERE date >= ?", [days[0]]).df()
    curves = {d: g.sort_values("tenor_years") for d, g in curve.groupby("date")}
    out = {}
    for pid in pids:
        h = con.execute("SELECT * FROM holdings WHERE portfolio_id = ?", [pid]).df()
        eff = []
        for prev, day in zip(days[:-1], days[1:]):
            prev, day = pd.Timestamp(prev), pd.Timestamp(day)
            snap = h[h.date == h.date[h.date <= prev].max()].set_index("asset_id").quantity
            a0, a1 = an.loc[prev].loc[snap.index], an.loc[day].loc[snap.index]
            tau = (pd.to_datetime(a0.maturity_date) - prev).dt.days / 365.0
            c0, c1 = curves[prev], curves[day]
            bonds = pd.DataFrame({"dirty_start": a0.dirty_price, "dirty_end": a1.dirty_price, "coupon_paid": a1.coupon_paid,
                                  "coupon_rate": a0.coupon_rate, "period_years": (day - prev).days / 365.0,
                                  "gov_start": np.interp(tau, c0.tenor_years, c0["yield"]),
                                  "gov_end": np.interp(tau, c1.tenor_years, c1["yield"]),
                                  "spread_start": a0.spread, "spread_end": a1.spread, "mod_duration": a0.mod_duration,
                                  "spread_duration": a0.spread_duration})
            mv = snap * a0.dirty_price
            eff.append(risk.campisi(bonds, weights=mv / mv.sum()).portfolio)
        e = pd.DataFrame(eff)
        out[pid] = pd.Series(risk.link_absolute(e.to_numpy()), index=e.columns)
    return out


@pytest.mark.benchmark(group="campisi-52")
def test_campisi_peer_per_portfolio(benchmark, store):
    _, _, sel = store
    con = store[0]
    pids = sel["campisi"][:PEER_CAMPISI]
    peer = benchmark.pedantic(lambda: _campisi_peer(con, pids), rounds=1, iterations=1)
    RESULTS["campisi"]["peer"] = benchmark.stats.stats.min * len(sel["campisi"]) / PEER_CAMPISI  # scaled to 52
    ours = _results(con, "campisi", pids)
    for pid, ref in peer.items():
        got = ours[(ours.portfolio_id == pid) & (ours["item"] == "")].set_index("metric").value
        for k in ("income", "treasury", "spread", "selection", "total"):
            assert got[k] == pytest.approx(ref[k], abs=1e-10)


# --- Stress --------------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="stress-79")
def test_stress_79_ours(benchmark, store):
    _, _, sel = store
    _bench(benchmark, store[0], "stress", sel["stress"])


def _stress_peer(con, pids):
    """One portfolio at a time: positions by SQL, risk.factor_stress, pandas rolling worst windows."""
    from risk.stress import scenarios_from_rows

    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    scen = scenarios_from_rows(con.execute("SELECT * FROM stress_scenarios").df())
    days = [r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns WHERE date <= ? ORDER BY date DESC LIMIT 250", [day]).fetchall()]
    out = {}
    for pid in pids:
        pos = con.execute("""
            SELECT h.asset_id, h.quantity * p.close AS market_value, a.asset_class, a.beta, a.index_id, a.sector,
                   b.rating, ba.mod_duration, ba.spread_duration, ba.convexity,
                   date_diff('day', ?::DATE, b.maturity_date) / 365.0 AS maturity_years
              FROM holdings h JOIN assets a USING (asset_id) JOIN prices p ON p.asset_key = a.asset_key AND p.date = ?
              LEFT JOIN bonds b USING (asset_id) LEFT JOIN bond_analytics ba ON ba.asset_key = a.asset_key AND ba.date = ?
             WHERE h.portfolio_id = ? AND h.date = (SELECT max(date) FROM holdings WHERE portfolio_id = ? AND date <= ?)""",
                          [day, day, day, pid, pid, day]).df().set_index("asset_id")
        imp = risk.factor_stress(pos, scen).sum()
        r = con.execute("""SELECT r.date, a.asset_id, r.ret FROM asset_returns r JOIN assets a USING (asset_key)
                           WHERE r.date >= ? AND a.asset_id IN (SELECT unnest(?))""", [min(days), pos.index.tolist()]).df()
        wide = r.pivot(index="date", columns="asset_id", values="ret")[pos.index]
        growth = np.exp(np.log1p(wide).rolling(10).sum()).dropna() - 1
        out[pid] = (imp, float((growth @ pos.market_value).min()))
    return out


@pytest.mark.benchmark(group="stress-79")
def test_stress_79_peer_per_portfolio(benchmark, store):
    _, _, sel = store
    con = store[0]
    peer = benchmark.pedantic(lambda: _stress_peer(con, sel["stress"]), rounds=1, iterations=1)
    RESULTS["stress"]["peer"] = benchmark.stats.stats.min
    ours = _results(con, "stress", sel["stress"])
    for pid, (imp, worst) in peer.items():
        mine = ours[ours.portfolio_id == pid]
        got = mine[mine["item"] == ""].set_index("metric").value
        np.testing.assert_allclose(got[imp.index].to_numpy(), imp.to_numpy(), rtol=1e-9, atol=1e-6)
        hist = mine[(mine.metric == "hist_worst_1") & mine["item"].str.contains("/")].value
        assert hist.iloc[0] == pytest.approx(worst, rel=1e-9)


# --- 10,000 portfolios of VaR on Dask ------------------------------------------------------------------

N_MANY = 10_000


@pytest.fixture(scope="module")
def many():
    path = Path(tempfile.mkdtemp(prefix="bench_risk_many_")) / "many.duckdb"
    con = connect(path, create=True)
    generate(con, SynthConfig(seed=2, start="2024-06-03", n_equity_portfolios=N_MANY, n_bond_portfolios=0,
                              n_mixed_portfolios=0, n_books=0, rebalance="none"))
    con.execute("CHECKPOINT")
    con.close()
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


@pytest.mark.benchmark(group="var-10k")
def test_var_10k_dask_localcluster(benchmark, many):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50) as cluster:
        run = lambda: run_job(str(many), "var", scheduler=cluster.scheduler_address, force=True, chunk_size=500,  # noqa: E731
                              show_progress=False, params={"confidences": [0.99]})
        run()  # workers import risk and warm up
        s = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(s.computed) == N_MANY and not s.failed
    rate = N_MANY / benchmark.stats.stats.min
    RESULTS.setdefault("var-10k", {})["dask"] = benchmark.stats.stats.min
    benchmark.extra_info.update(portfolios=N_MANY, portfolios_per_s=rate)
    print(f"\nVaR on a Dask LocalCluster (2 processes): {N_MANY} portfolios in {benchmark.stats.stats.min:.2f} s "
          f"= {rate:,.0f} portfolios/s (cluster already running)")


@pytest.mark.benchmark(group="var-10k")
def test_var_10k_in_process(benchmark, many):
    run = lambda: run_job(str(many), "var", scheduler="sync", force=True, show_progress=False,  # noqa: E731
                          params={"confidences": [0.99]})
    s = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(s.computed) == N_MANY
    RESULTS.setdefault("var-10k", {})["sync"] = benchmark.stats.stats.min
    print(f"\nVaR in-process: {N_MANY / benchmark.stats.stats.min:,.0f} portfolios/s")


def test_zz_summary():
    """Print the ratios (peer / ours) and the speed-ups against the source's reported times."""
    lines = ["", "job        wall (ms)   CPU (ms)   peer (ms)   peer/ours   source (s)   source/wall   source/CPU   goal (ms)"]
    for job in ("var", "brinson", "campisi", "stress"):
        r = RESULTS.get(job, {})
        if "ours" in r:
            peer = r.get("peer", float("nan"))
            lines.append(f"{job:<10} {r['ours'] * 1e3:9.1f}   {r['cpu'] * 1e3:8.1f}   {peer * 1e3:9.1f}   {peer / r['ours']:9.1f}   "
                         f"{SOURCE_SECONDS[job]:10.2f}   {SOURCE_SECONDS[job] / r['ours']:10.0f}x   "
                         f"{SOURCE_SECONDS[job] / r['cpu']:9.0f}x   {SOURCE_SECONDS[job] / GOAL_SPEEDUP * 1e3:9.1f}")
    for job in ("var", "brinson", "campisi", "stress"):
        st = RESULTS.get(job, {}).get("stages")
        if st:
            lines.append(f"{job:<10} CPU by stage (median, ms): " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in st.items())
                         + f"; {RESULTS[job].get('statements', '?')} statements per run")
            wst = RESULTS[job].get("wall_stages", {})
            lines.append(f"{job:<10} wall by stage (median, ms): " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in wst.items()))
    if "var-cold" in RESULTS:
        lines.append(f"var, opening the file each run: {RESULTS['var-cold']['ours'] * 1e3:.1f} ms")
    if "var-10k" in RESULTS:
        r = RESULTS["var-10k"]
        lines.append(f"VaR 10k portfolios: Dask {N_MANY / r.get('dask', float('nan')):,.0f}/s, "
                     f"in-process {N_MANY / r.get('sync', float('nan')):,.0f}/s")
    lines.append("load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
                 + f" on {os.cpu_count()} CPUs; wall is inflated by other processes, CPU time much less")
    print("\n".join(lines))
