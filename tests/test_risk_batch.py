"""Batch layer end to end on a small synthetic store: results against independent pandas/empyrical paths,
reruns, failures and retries, a Dask in-process cluster, Parquet loading, bad data."""
from __future__ import annotations

import duckdb
import empyrical
import numpy as np
import pandas as pd
import pytest

import risk
from risk.batch import run_job
from risk.packed import pack
from risk.store import connect, load_file, read_results
from risk_fixtures import small_db


def risk_cli_main(argv):
    from risk.cli import build_parser, run

    return run(build_parser("foreland risk").parse_args(argv))

VAR = {"window": 120}


def _raw(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        q = lambda s: con.execute(s).df()  # noqa: E731
        return {"holdings": q("SELECT * FROM holdings"), "assets": q("SELECT * FROM assets"),
                "prices": q("SELECT p.date, a.asset_id, p.close FROM prices p JOIN assets a USING (asset_key)"),
                "returns": q("SELECT r.date, a.asset_id, r.ret FROM asset_returns r JOIN assets a USING (asset_key)"),
                "bench": q("SELECT * FROM benchmark_weights"), "portfolios": q("SELECT * FROM portfolios")}
    finally:
        con.close()


def _weights_asof(raw, pid, day):
    h = raw["holdings"]
    h = h[(h.portfolio_id == pid) & (h.date <= day)]
    h = h[h.date == h.date.max()]
    px = raw["prices"][raw["prices"].date == day].set_index("asset_id").close
    mv = h.set_index("asset_id").quantity * px.reindex(h.asset_id).to_numpy()
    return mv / mv.sum(), mv.sum()


def _results(db, job):
    con = connect(db, read_only=True)
    try:
        return read_results(con, job)
    finally:
        con.close()


def test_var_job_matches_pandas_and_empyrical(tmp_path):
    db = small_db(tmp_path)
    s = run_job(str(db), "var", scheduler="sync", params=VAR, show_progress=False)
    assert not s.failed and len(s.computed) == 12
    res = _results(db, "var").set_index(["portfolio_id", "metric"]).value
    raw = _raw(db)
    day = raw["returns"].date.max()
    wide = raw["returns"].pivot(index="date", columns="asset_id", values="ret").sort_index().iloc[-120:]
    for pid in ("EQ-00001", "FI-00002", "MX-00001"):
        w, nav = _weights_asof(raw, pid, day)
        x = wide[w.index].to_numpy() @ w.to_numpy()
        assert res[(pid, "var_99")] == pytest.approx(-empyrical.value_at_risk(x, 0.01), rel=1e-9)
        assert res[(pid, "es_95")] == pytest.approx(-empyrical.conditional_value_at_risk(x, 0.05), rel=1e-9)
        assert res[(pid, "nav")] == pytest.approx(nav, rel=1e-12)
        assert res[(pid, "var_99_amount")] == pytest.approx(res[(pid, "var_99")] * nav, rel=1e-12)


def test_rerun_skips_force_and_new_params_recompute(tmp_path):
    db = str(small_db(tmp_path))
    first = run_job(db, "var", scheduler="sync", params=VAR, show_progress=False, portfolios=["EQ-00001", "EQ-00002"])
    again = run_job(db, "var", scheduler="sync", params=VAR, show_progress=False, portfolios=["EQ-00001", "EQ-00002"])
    assert len(first.computed) == 2 and again.computed == [] and sorted(again.skipped) == ["EQ-00001", "EQ-00002"]
    forced = run_job(db, "var", scheduler="sync", params=VAR, force=True, show_progress=False, portfolios=["EQ-00001"])
    assert forced.computed == ["EQ-00001"]
    other = run_job(db, "var", scheduler="sync", params=dict(VAR, method="parametric"), show_progress=False,
                    portfolios=["EQ-00001"])
    assert other.computed == ["EQ-00001"]
    rows = _results(db, "var")
    assert len(rows[rows.portfolio_id == "EQ-00001"]) == 10  # replaced, not duplicated


def _flaky(marker_dir, always_fail, flaky):
    """A compute function that always fails for one portfolio and fails once for another (file-based counter)."""
    from risk.jobs.var import compute

    def fn(shared, payload, params):
        pids = payload["pids"]
        if always_fail in pids:
            raise RuntimeError(f"simulated worker crash on {always_fail}")
        if flaky in pids:
            mark = marker_dir / f"{flaky}.tried"
            if not mark.exists():
                mark.write_text("1")
                raise RuntimeError("transient failure")
        return compute(shared, payload, params)
    return fn


def test_failed_task_is_recorded_and_retried_without_losing_others(tmp_path):
    db = str(small_db(tmp_path))
    fn = _flaky(tmp_path, "EQ-00003", "EQ-00005")
    s = run_job(db, "var", scheduler="sync", params=VAR, chunk_size=1, retries=1, compute=fn, show_progress=False)
    assert list(s.failed) == ["EQ-00003"] and "simulated worker crash" in s.failed["EQ-00003"]
    assert "EQ-00005" in s.computed and len(s.computed) == 11
    con = connect(db, read_only=True)
    runs = con.execute("SELECT portfolio_id, status, attempts FROM risk_runs WHERE job = 'var'").df().set_index("portfolio_id")
    con.close()
    assert runs.loc["EQ-00003", "status"] == "failed" and runs.loc["EQ-00005", "attempts"] == 2
    again = run_job(db, "var", scheduler="sync", params=VAR, chunk_size=1, show_progress=False)
    assert again.computed == ["EQ-00003"] and len(again.skipped) == 11 and not again.failed


def test_dask_in_process_cluster_matches_sync_and_retries(tmp_path):
    db_sync, db_dask = str(small_db(tmp_path, "a.duckdb")), str(small_db(tmp_path, "b.duckdb"))
    run_job(db_sync, "var", scheduler="sync", params=VAR, show_progress=False)
    fn = _flaky(tmp_path, "never", "FI-00001")
    s = run_job(db_dask, "var", scheduler="threads", workers=2, params=VAR, chunk_size=3, retries=2, compute=fn,
                show_progress=False)
    assert not s.failed and len(s.computed) == 12 and (tmp_path / "FI-00001.tried").exists()
    a = _results(db_sync, "var").set_index(["portfolio_id", "metric"]).value
    b = _results(db_dask, "var").set_index(["portfolio_id", "metric"]).value
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index(), rtol=1e-12)


def test_brinson_job_matches_api_on_pandas_built_periods(tmp_path):
    db = str(small_db(tmp_path))
    periods = 15
    run_job(db, "brinson", scheduler="sync", params={"periods": periods}, portfolios=["EQ-00002"], show_progress=False)
    res = _results(db, "brinson")
    raw = _raw(db)
    sector = raw["assets"].set_index("asset_id").sector
    days = np.sort(raw["returns"].date.unique())[-(periods + 1):]
    close = raw["prices"].pivot(index="date", columns="asset_id", values="close")
    ret = raw["returns"].pivot(index="date", columns="asset_id", values="ret")
    h, bw = raw["holdings"], raw["bench"]
    h = h[h.portfolio_id == "EQ-00002"]
    bench = raw["portfolios"].set_index("portfolio_id").benchmark_id["EQ-00002"]
    bw = bw[bw.benchmark_id == bench]
    inputs = []
    for prev, day in zip(days[:-1], days[1:]):
        snap = h[h.date == h.date[h.date <= prev].max()].set_index("asset_id").quantity
        mv = snap * close.loc[prev, snap.index]
        b = bw[bw.date == bw.date[bw.date <= prev].max()]
        reb = b.date.iloc[0]
        bmv = b.set_index("asset_id").weight / close.loc[reb, b.asset_id].to_numpy() * close.loc[prev, b.asset_id].to_numpy()
        side = []
        for m in (mv, bmv):
            w = m.groupby(sector[m.index].to_numpy()).sum() / m.sum()
            r = (m * ret.loc[day, m.index]).groupby(sector[m.index].to_numpy()).sum() / m.groupby(sector[m.index].to_numpy()).sum()
            side.append((w, r))
        inputs.append((side[0][0], side[1][0], side[0][1], side[1][1]))
    ref = risk.brinson_linked(inputs, linking="carino", model="BF")
    got = res[res["item"] != ""].pivot(index="item", columns="metric", values="value")
    for eff in ("allocation", "selection", "interaction"):
        np.testing.assert_allclose(got.loc[ref.effects.index, eff], ref.effects[eff], atol=1e-12)
    tot = res[res["item"] == ""].set_index("metric").value
    assert tot["active_return"] == pytest.approx(ref.active_return, abs=1e-13)
    assert tot[["allocation", "selection", "interaction"]].sum() == pytest.approx(ref.active_return, abs=1e-12)


def test_campisi_job_total_matches_returns_table(tmp_path):
    db = str(small_db(tmp_path))
    periods = 40
    run_job(db, "campisi", scheduler="sync", params={"periods": periods}, portfolios=["FI-00001", "FI-00003"],
            show_progress=False)
    res = _results(db, "campisi")
    raw = _raw(db)
    days = np.sort(raw["returns"].date.unique())[-(periods + 1):]
    close = raw["prices"].pivot(index="date", columns="asset_id", values="close")
    ret = raw["returns"].pivot(index="date", columns="asset_id", values="ret")
    for pid in ("FI-00001", "FI-00003"):
        h = raw["holdings"][raw["holdings"].portfolio_id == pid]
        growth = 1.0
        for prev, day in zip(days[:-1], days[1:]):
            snap = h[h.date == h.date[h.date <= prev].max()].set_index("asset_id").quantity
            mv = snap * close.loc[prev, snap.index]
            growth *= 1 + (mv * ret.loc[day, mv.index]).sum() / mv.sum()
        port = res[(res.portfolio_id == pid) & (res["item"] == "")].set_index("metric").value
        assert port["total"] == pytest.approx(growth - 1, abs=1e-12)
        parts = port[["income", "treasury", "spread", "selection"]].sum()
        assert parts == pytest.approx(port["total"], abs=1e-12)
        assert port["active_total"] == pytest.approx(port["total"] - port["benchmark_total"], abs=1e-14)
        bonds = res[(res.portfolio_id == pid) & (res["item"] != "")].pivot(index="item", columns="metric", values="value")
        for effect in ("income", "treasury", "spread", "selection", "total"):  # bond contributions add up per effect
            assert bonds[effect].sum() == pytest.approx(port[effect], abs=1e-12)


def test_stress_job_totals_and_historical_windows(tmp_path):
    db = str(small_db(tmp_path))
    run_job(db, "stress", scheduler="sync", params={"window": 120}, portfolios=["EQ-00001", "FI-00001"],
            show_progress=False)
    res = _results(db, "stress")
    for pid in ("EQ-00001", "FI-00001"):
        r = res[res.portfolio_id == pid]
        port = r[r["item"] == ""].set_index("metric").value
        pos = r[(r["item"] != "") & (r.metric == "RATES_UP_100")].value.sum()
        assert port["RATES_UP_100"] == pytest.approx(pos, rel=1e-12)
    eq = res[(res.portfolio_id == "EQ-00001") & (res["item"] == "")].set_index("metric").value
    assert eq["RATES_UP_100"] == 0.0 and eq["EQUITY_CRASH"] < -0.1 * eq["nav"]
    fi = res[(res.portfolio_id == "FI-00001") & (res["item"] == "")].set_index("metric").value
    assert fi["RATES_UP_100"] < 0 < fi["RATES_DOWN_50"] and fi["EQUITY_CRASH"] == 0.0
    # The worst 10-day window, found by brute force over today's holdings with pandas.
    raw = _raw(db)
    day = raw["returns"].date.max()
    w, nav = _weights_asof(raw, "EQ-00001", day)
    mv = w * nav
    wide = raw["returns"].pivot(index="date", columns="asset_id", values="ret").sort_index().iloc[-120:][mv.index]
    growth = (1 + wide).rolling(10).apply(np.prod, raw=True).dropna()
    worst = ((growth - 1) @ mv).min()
    hist = res[(res.portfolio_id == "EQ-00001") & (res.metric == "hist_worst_1") & res["item"].str.contains("/")]
    assert hist.value.iloc[0] == pytest.approx(worst, rel=1e-9)


def _fake_pricer(calls):
    from types import SimpleNamespace

    def price(note, market, method, greeks, elapsed_days, knocked_in, **kw):
        calls.append((note, market, elapsed_days, knocked_in))
        v = note.notional * (market.spot / note.initial_price - 1)
        return SimpleNamespace(price=v, stderr=0.0, ko_probability=0.5, ki_probability=0.1,
                               greeks={"delta": note.notional / note.initial_price, "gamma": 0.0, "vega": 1.0,
                                       "rho": 2.0, "theta": -3.0})
    return price


def test_book_job_plumbing_with_injected_pricer(tmp_path):
    db = str(small_db(tmp_path))
    calls = []
    s = run_job(db, "book", scheduler="sync", pricer=_fake_pricer(calls), show_progress=False)
    assert s.computed == ["BOOK-001"] and not s.failed
    raw = _raw(db)
    con = duckdb.connect(db, read_only=True)
    trades = con.execute("SELECT * FROM snowball_trades").df().set_index("trade_id")
    con.close()
    res = _results(db, "book")
    per = res[res["item"].str.startswith("SB-")].pivot(index="item", columns="metric", values="value")
    day = raw["returns"].date.max()
    all_days = np.sort(raw["prices"].date.unique())
    for tid, tr in trades.iterrows():
        path = raw["prices"][(raw["prices"].asset_id == tr.underlying_id) & (raw["prices"].date >= tr.start_date)].sort_values("date")
        elapsed = int(((all_days > np.datetime64(tr.start_date)) & (all_days <= np.datetime64(day))).sum())
        assert per.loc[tid, "elapsed_days"] == elapsed
        assert per.loc[tid, "knocked_in"] == float((path.close.iloc[1:] < tr.ki_barrier * tr.initial_price).any())
        ko_days = [d for d in range(63, int(tr.maturity_days) + 1, 21) if d <= elapsed]
        ko = any(path.close.iloc[d] >= tr.ko_barrier * tr.initial_price for d in ko_days)
        assert per.loc[tid, "status"] == (1.0 if ko else 0.0)
    live = per[per.status == 0]
    assert len(calls) == len(live)
    book = res[(res["item"] == "")].set_index("metric").value
    assert book["value"] == pytest.approx(live.value.sum())
    assert book["cash_delta"] == pytest.approx((live.delta * live.spot).sum())


def test_book_job_uses_pricing_price(tmp_path):
    pricing = pytest.importorskip("pricing")
    if not hasattr(pricing, "price"):
        pytest.skip("pricing.price not available yet")
    db = str(small_db(tmp_path))
    s = run_job(db, "book", scheduler="sync", params={"method": "pde"}, show_progress=False)
    assert not s.failed, s.failed
    res = _results(db, "book")
    per = res[res["item"].str.startswith("SB-")].pivot(index="item", columns="metric", values="value")
    live = per[per.status == 0]
    assert len(live) >= 1
    # The same trade priced directly with the job's inputs gives the stored value.
    con = duckdb.connect(db, read_only=True)
    tid = live.index[0]
    tr = con.execute("SELECT * FROM snowball_trades WHERE trade_id = ?", [tid]).df().iloc[0]
    day = con.execute("SELECT max(date) FROM asset_returns").fetchall()[0][0]
    mp = con.execute("SELECT vol, dividend FROM market_params WHERE underlying_id = ? AND date = ?", [tr.underlying_id, day]).fetchall()[0]
    curve = con.execute("SELECT tenor_years, yield FROM curves WHERE date = ? ORDER BY 1", [day]).df()
    con.close()
    note = pricing.Snowball(ko_barrier=tr.ko_barrier, ki_barrier=tr.ki_barrier, coupon=tr.coupon,
                            maturity_days=int(tr.maturity_days), lockup_days=int(tr.lockup_days),
                            initial_price=tr.initial_price, notional=tr.notional)
    mkt = pricing.Market(spot=live.loc[tid, "spot"], rate=float(np.log1p(np.interp(1.0, curve.tenor_years, curve["yield"]))),
                         dividend=mp[1], vol=mp[0])
    direct = pricing.price(note, mkt, method="pde", greeks=True, elapsed_days=int(live.loc[tid, "elapsed_days"]),
                           knocked_in=bool(live.loc[tid, "knocked_in"]))
    assert live.loc[tid, "value"] == pytest.approx(direct.price, rel=1e-12)
    assert live.loc[tid, "delta"] == pytest.approx(direct.greeks["delta"], rel=1e-12)


def test_load_from_parquet_and_csv_gives_same_results(tmp_path):
    src = small_db(tmp_path, "src.duckdb")
    con = duckdb.connect(str(src), read_only=True)
    files = {}
    for t in ("assets", "portfolios", "holdings"):
        files[t] = tmp_path / f"{t}.parquet"
        con.execute(f"COPY {t} TO '{files[t]}' (FORMAT parquet)")
    # Daily facts exported by asset id (as a vendor file would be), one as CSV.
    con.execute(f"COPY (SELECT p.date, a.asset_id, p.close FROM prices p JOIN assets a USING (asset_key)) TO '{tmp_path / 'prices.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY (SELECT r.date, a.asset_id, r.ret FROM asset_returns r JOIN assets a USING (asset_key)) TO '{tmp_path / 'asset_returns.csv'}' (HEADER)")
    con.close()
    files["prices"] = tmp_path / "prices.parquet"
    files["asset_returns"] = tmp_path / "asset_returns.csv"
    dst = tmp_path / "loaded.duckdb"
    c2 = connect(dst, create=True)
    for t, f in files.items():
        assert load_file(c2, t, f) > 0
    with pytest.raises(ValueError, match="--table"):
        load_file(c2, "risk_results", files["assets"])
    c2.close()
    pids = ["EQ-00001", "MX-00002"]
    run_job(str(src), "var", scheduler="sync", params=VAR, portfolios=pids, show_progress=False)
    run_job(str(dst), "var", scheduler="sync", params=VAR, portfolios=pids, show_progress=False)
    a = _results(src, "var").set_index(["portfolio_id", "metric"]).value
    b = _results(dst, "var").set_index(["portfolio_id", "metric"]).value
    pd.testing.assert_series_equal(a, b, rtol=1e-12)


def test_bad_data_and_requests(tmp_path):
    db = str(small_db(tmp_path))
    with pytest.raises(ValueError, match="unknown portfolio 'NOPE'"):
        run_job(db, "var", scheduler="sync", portfolios=["NOPE"], params=VAR)
    with pytest.raises(ValueError, match="takes bond"):
        run_job(db, "campisi", scheduler="sync", portfolios=["EQ-00001"])
    with pytest.raises(ValueError, match="params: unknown parameter"):
        run_job(db, "var", scheduler="sync", params={"alpha": 1})
    with pytest.raises(ValueError, match="--confidence"):
        run_job(db, "var", scheduler="sync", params={"confidences": [0.99, 1.2]})
    with pytest.raises(ValueError, match="--date"):
        run_job(db, "var", scheduler="sync", date="2025-02-30", params=VAR)
    con = duckdb.connect(db)
    day = con.execute("SELECT max(date) FROM prices").fetchall()[0][0]
    held = con.execute("SELECT asset_id FROM holdings WHERE portfolio_id = 'EQ-00001' LIMIT 1").fetchall()[0][0]
    key = con.execute("SELECT asset_key FROM assets WHERE asset_id = ?", [held]).fetchall()[0][0]
    con.execute("DELETE FROM prices WHERE asset_key = ? AND date = ?", [key, day])
    con.close()
    with pytest.raises(ValueError, match=f"prices.close: missing or NaN value for asset '{held}'"):
        run_job(db, "var", scheduler="sync", portfolios=["EQ-00001"], params=VAR)
    con = duckdb.connect(db)
    con.execute("UPDATE asset_returns SET ret = NULL WHERE asset_key = ? AND date = ?", [key, day])
    pack(con)  # an in-place UPDATE keeps row counts: a writer outside the loader repacks (docs/risk.md)
    con.close()
    with pytest.raises(ValueError, match=f"asset_returns.ret: missing or NaN value for asset '{held}'"):
        run_job(db, "var", scheduler="sync", portfolios=["EQ-00001"], params=VAR)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_job(str(tmp_path / "none.duckdb"), "var", scheduler="sync")
    con = duckdb.connect(db)
    last = con.execute("SELECT max(date) FROM benchmark_weights").fetchall()[0][0]
    con.execute("UPDATE benchmark_weights SET weight = weight * 1.1 WHERE date = ?", [last])
    con.close()
    assert risk_cli_main(["pack", "--db", db]) == 0
    with pytest.raises(ValueError, match="benchmark_weights: weights of 'SSE50' .* must sum to 1"):
        run_job(db, "brinson", scheduler="sync", portfolios=["EQ-00002"], params={"periods": 10})


def test_var_job_backtest_matches_rolling_empyrical(tmp_path):
    import math

    db = str(small_db(tmp_path))
    win, bt = 60, 80
    run_job(db, "var", scheduler="sync", params={"window": win, "backtest_days": bt, "confidences": [0.95]},
            portfolios=["EQ-00003"], show_progress=False)
    res = _results(db, "var").set_index("metric").value
    raw = _raw(db)
    day = raw["returns"].date.max()
    w, _ = _weights_asof(raw, "EQ-00003", day)
    wide = raw["returns"].pivot(index="date", columns="asset_id", values="ret").sort_index().iloc[-(win + bt):]
    x = wide[w.index].to_numpy() @ w.to_numpy()
    # Day t's forecast uses only the `win` days before it; a hit is a loss beyond that forecast.
    hits = [-x[t] > -empyrical.value_at_risk(x[t - win:t], 0.05) for t in range(win, win + bt)]
    n_exc = int(sum(hits))
    assert res["exceptions_95"] == n_exc
    phat = n_exc / bt
    lr = -2 * ((bt - n_exc) * math.log(0.95) + n_exc * math.log(0.05)
               - (bt - n_exc) * math.log(1 - phat) - (n_exc * math.log(phat) if n_exc else 0.0))
    assert res["kupiec_p_95"] == pytest.approx(math.erfc(math.sqrt(lr / 2)), rel=1e-9)
    assert res["cc_p_95"] == pytest.approx(risk.christoffersen(np.array(hits), p=0.05).cc_p_value, rel=1e-12)


@pytest.mark.parametrize("job", ["brinson", "campisi"])
def test_attribution_chunks_on_dask_match_one_in_process_chunk(tmp_path, job):
    """Chunked payloads (sliced sector arrays, per-chunk bond pairs) on an in-process Dask cluster give the same
    rows as one in-process chunk."""
    db_sync, db_dask = str(small_db(tmp_path, "a.duckdb")), str(small_db(tmp_path, "b.duckdb"))
    prm = {"periods": 60}
    run_job(db_sync, job, scheduler="sync", params=prm, show_progress=False)
    s = run_job(db_dask, job, scheduler="threads", workers=2, params=prm, chunk_size=2, show_progress=False)
    assert not s.failed
    a = _results(db_sync, job).set_index(["portfolio_id", "item", "metric"]).value.sort_index()
    b = _results(db_dask, job).set_index(["portfolio_id", "item", "metric"]).value.sort_index()
    pd.testing.assert_series_equal(a, b, rtol=1e-12)


def test_brinson_names_missing_closes_and_returns(tmp_path):
    """Brinson's compiled pre-check over the packed matrices finds a gap anywhere in the window, for a portfolio's
    asset and for a benchmark constituent, and the error names the table, the asset and the day."""
    brinson = {"periods": 20}
    cases = [("holdings", "prices", "DELETE FROM prices WHERE asset_key = ? AND date = ?", "prices.close"),
             ("holdings", "asset_returns", "UPDATE asset_returns SET ret = 'NaN' WHERE asset_key = ? AND date = ?",
              "asset_returns.ret"),
             ("benchmark_weights", "prices", "DELETE FROM prices WHERE asset_key = ? AND date = ?", "prices.close")]
    for i, (owner_table, table, sql, what) in enumerate(cases):
        db = str(small_db(tmp_path, f"gap{i}.duckdb"))
        run_job(db, "brinson", scheduler="sync", portfolios=["EQ-00001"], params=brinson, show_progress=False)
        con = duckdb.connect(db)
        days = [r[0] for r in con.execute("SELECT DISTINCT date FROM asset_returns ORDER BY 1 DESC LIMIT 21").fetchall()]
        day = days[7]  # inside the window, neither its first nor its last day
        who = "portfolio_id = 'EQ-00001'" if owner_table == "holdings" else "benchmark_id = 'SSE50'"
        asset = con.execute(f"SELECT asset_id FROM {owner_table} WHERE {who} AND date <= ? ORDER BY date DESC, "
                            "asset_id LIMIT 1", [day]).fetchall()[0][0]
        key = con.execute("SELECT asset_key FROM assets WHERE asset_id = ?", [asset]).fetchall()[0][0]
        con.execute(sql, [key, day])
        pack(con)
        con.close()
        with pytest.raises(ValueError, match=f"{what}: missing or NaN value for asset '{asset}' on {day}"):
            run_job(db, "brinson", scheduler="sync", portfolios=["EQ-00001"], params=brinson, force=True,
                    show_progress=False)
