"""``foreland risk``: generate synthetic data, load files, run batch jobs, show results."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

JOB_HELP = {
    "var": "VaR and ES per portfolio (historical, parametric, Monte Carlo, filtered HS) with optional backtest",
    "stress": "factor-shock and worst-historical-window stress tests, per portfolio and per position",
    "brinson": "Brinson sector attribution against the benchmark, linked over the window",
    "campisi": "Campisi fixed-income attribution against the benchmark, linked over the window",
    "book": "revalue snowball books with Greeks through pricing.price",
}


def _common_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True, help="DuckDB database file (see 'foreland risk generate')")
    p.add_argument("--portfolios", nargs="+", metavar="ID",
                   help="portfolio ids (space or comma separated); default: every portfolio the job applies to")
    p.add_argument("--date", help="as-of date YYYY-MM-DD (default: the latest day with returns)")
    p.add_argument("--scheduler", default="local",
                   help="'local' (Dask LocalCluster, default), 'threads' (in-process cluster), 'sync' (no Dask) "
                        "or the address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    p.add_argument("--chunk-size", type=int, help="portfolios per task (default depends on the job)")
    p.add_argument("--retries", type=int, default=2, help="retries of a failed task (default 2)")
    p.add_argument("--force", action="store_true", help="recompute portfolios already done for this date")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")


def build_parser(prog: str) -> argparse.ArgumentParser:
    """Argument parser of ``foreland risk``."""
    ap = argparse.ArgumentParser(prog=prog, description="Portfolio risk batch engine on DuckDB and Dask.")
    sub = ap.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a batch job over portfolios")
    jobs = run.add_subparsers(dest="job", required=True)
    p = jobs.add_parser("var", help=JOB_HELP["var"])
    _common_run(p)
    p.add_argument("--method", default="historical",
                   help="historical | parametric | mc-normal | mc-t | fhs-ewma | fhs-garch (default historical)")
    p.add_argument("--confidence", type=float, nargs="+", default=[0.95, 0.99], help="confidence levels (default 0.95 0.99)")
    p.add_argument("--horizon", type=int, default=1, help="horizon in trading days (default 1)")
    p.add_argument("--scaling", default="sqrt", help="sqrt (square-root-of-time) | overlapping (h-day returns)")
    p.add_argument("--window", type=int, default=250, help="days of history (default 250)")
    p.add_argument("--backtest-days", type=int, default=0, help="also backtest 1-day VaR over this many past days")
    p = jobs.add_parser("stress", help=JOB_HELP["stress"])
    _common_run(p)
    p.add_argument("--window", type=int, default=250, help="days searched for historical scenarios (default 250)")
    p.add_argument("--hist-window", type=int, default=10, help="length of a historical scenario in days (default 10)")
    p.add_argument("--n-worst", type=int, default=3, help="worst non-overlapping windows kept (default 3)")
    p.add_argument("--no-positions", action="store_true", help="portfolio totals only, no per-position rows")
    p = jobs.add_parser("brinson", help=JOB_HELP["brinson"])
    _common_run(p)
    p.add_argument("--periods", type=int, default=250, help="daily periods linked (default 250)")
    p.add_argument("--model", default="BF", help="BF (Brinson-Fachler) | BHB (Brinson-Hood-Beebower)")
    p.add_argument("--effects", type=int, default=3, help="3 (allocation, selection, interaction) | 2")
    p.add_argument("--linking", default="carino", help="carino | menchero | grap")
    p = jobs.add_parser("campisi", help=JOB_HELP["campisi"])
    _common_run(p)
    p.add_argument("--periods", type=int, default=250, help="daily periods linked (default 250)")
    p.add_argument("--linking", default="carino", help="carino | menchero | grap")
    p = jobs.add_parser("book", help=JOB_HELP["book"])
    _common_run(p)
    p.add_argument("--method", default="pde", help="pde | mc (default pde)")
    p.add_argument("--paths", type=int, default=200_000, help="Monte Carlo paths (default 200000)")
    p.add_argument("--seed", type=int, default=0, help="Monte Carlo seed (default 0)")

    g = sub.add_parser("generate", help="fill a DuckDB file with a synthetic data set")
    g.add_argument("--db", required=True, help="DuckDB file to create or overwrite")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--start", default="2024-01-02", help="first trading day (default 2024-01-02)")
    g.add_argument("--end", default="2025-12-31", help="last trading day (default 2025-12-31)")
    g.add_argument("--equities", type=int, default=600)
    g.add_argument("--bonds", type=int, default=240)
    g.add_argument("--equity-portfolios", type=int, default=86)
    g.add_argument("--bond-portfolios", type=int, default=52)
    g.add_argument("--mixed-portfolios", type=int, default=20)
    g.add_argument("--books", type=int, default=2, help="snowball books (default 2)")
    g.add_argument("--trades-per-book", type=int, default=8)
    g.add_argument("--rebalance", default="monthly", help="monthly | none (one holdings snapshot)")

    ld = sub.add_parser("load", help="fill an input table from a Parquet or CSV file")
    ld.add_argument("--db", required=True)
    ld.add_argument("--table", required=True, help="input table name (see docs/risk.md)")
    ld.add_argument("--file", required=True, help=".parquet or .csv file with the table's columns")
    ld.add_argument("--replace", action="store_true", help="empty the table first")

    pk = sub.add_parser("pack", help="rebuild the packed copies the jobs read (after writing input tables by SQL) and "
                                     "remove superseded result rows")
    pk.add_argument("--db", required=True)

    sh = sub.add_parser("show", help="print stored results of a job")
    sh.add_argument("--db", required=True)
    sh.add_argument("--job", required=True, choices=list(JOB_HELP))
    sh.add_argument("--portfolios", nargs="+", metavar="ID")
    sh.add_argument("--date")
    sh.add_argument("--items", action="store_true", help="include per-sector/position/bond/trade rows")
    sh.add_argument("--csv", help="write the rows to this CSV file instead of printing")
    return ap


def _split_ids(values) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for x in values for v in x.split(",") if v.strip()]
    if not out:
        raise ValueError("--portfolios: no portfolio id given")
    return out


def _job_params(args) -> dict:
    if args.job == "var":
        return {"method": args.method, "confidences": list(args.confidence), "horizon": args.horizon,
                "scaling": args.scaling, "window": args.window, "backtest_days": args.backtest_days}
    if args.job == "stress":
        return {"window": args.window, "hist_window": args.hist_window, "n_worst": args.n_worst,
                "positions": not args.no_positions}
    if args.job == "brinson":
        return {"periods": args.periods, "model": args.model, "effects": args.effects, "linking": args.linking}
    if args.job == "campisi":
        return {"periods": args.periods, "linking": args.linking}
    return {"method": args.method, "paths": args.paths, "seed": args.seed}


def run(args) -> int:
    """Execute ``foreland risk``; returns the exit status (1 when some portfolios failed)."""
    if args.command == "generate":
        return _generate(args)
    if args.command == "load":
        from risk.store import connect, load_file

        con = connect(args.db, create=True)
        try:
            n = load_file(con, args.table, args.file, replace=args.replace)
        finally:
            con.close()
        print(f"loaded {n} rows into {args.table}")
        return 0
    if args.command == "show":
        return _show(args)
    if args.command == "pack":
        from risk.packed import pack
        from risk.store import connect

        from risk.store import compact_results

        con = connect(args.db)
        try:
            done = pack(con)
            rows, recs = compact_results(con)  # results are append-only: superseded runs go here (and lazily)
        finally:
            con.close()
        print(f"packed {', '.join(done)}; removed {rows} superseded result rows and {recs} run records")
        return 0
    from risk.batch import SCHEDULERS, run_job

    sched = args.scheduler
    if sched not in SCHEDULERS and "://" not in sched and ":" not in sched:
        raise ValueError(f"--scheduler: must be one of {', '.join(SCHEDULERS)} or a scheduler address host:port, got {sched!r}")
    s = run_job(args.db, args.job, portfolios=_split_ids(args.portfolios), date=args.date, scheduler=sched,
                params=_job_params(args), chunk_size=args.chunk_size, force=args.force, retries=args.retries,
                workers=args.workers, show_progress=not args.quiet)
    if not args.quiet:
        rate = len(s.computed) / s.seconds if s.seconds > 0 else 0.0
        print(f"risk {s.job} {s.date}: {len(s.computed)} computed, {len(s.skipped)} already done, "
              f"{len(s.failed)} failed, {s.rows} result rows in {s.seconds:.2f} s ({rate:.1f} portfolios/s)")
    for pid, err in list(s.failed.items())[:10]:
        print(f"foreland risk: portfolio {pid} failed: {err}", file=sys.stderr)
    return 1 if s.failed else 0


def _generate(args) -> int:
    from risk.store import connect
    from risk.synth import SynthConfig, generate

    cfg = SynthConfig(seed=args.seed, start=args.start, end=args.end, n_equities=args.equities, n_bonds=args.bonds,
                      n_equity_portfolios=args.equity_portfolios, n_bond_portfolios=args.bond_portfolios,
                      n_mixed_portfolios=args.mixed_portfolios, n_books=args.books,
                      trades_per_book=args.trades_per_book, rebalance=args.rebalance)
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    con = connect(args.db, create=True)
    try:
        counts = generate(con, cfg)
    finally:
        con.close()
    print(f"wrote {args.db}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _show(args) -> int:
    from risk.store import connect, read_results, resolve_date

    con = connect(args.db, read_only=True)
    try:
        d = resolve_date(con, args.date) if args.date else None
        df = read_results(con, args.job, d, _split_ids(args.portfolios))
    finally:
        con.close()
    if not args.items:
        df = df[df["item"] == ""]
    if df.empty:
        raise ValueError(f"--job: no stored results for {args.job} (run 'foreland risk run {args.job}' first)")
    if args.csv:
        df.to_csv(args.csv, index=False)
        print(f"wrote {len(df)} rows to {args.csv}")
        return 0
    wide = df.pivot_table(index=["portfolio_id", "date", "item"], columns="metric", values="value", aggfunc="first")
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 200):
        print(wide.reset_index().to_string(index=False))
    return 0
