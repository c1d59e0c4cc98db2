"""``foreland forecast``: generate | train | predict | evaluate | explain | report."""
from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

DATA_HELP = ("a daily-quote file (exchange quote file, CSV or Parquet), or 'demo' (the synthetic market, "
             "with its margin/fee calendar) or 'sp500' (S&P 500 volume shipped by the arch package)")
BUNDLE_MAGIC = "foreland-forecast-bundle-v1"


def _add_config(p: argparse.ArgumentParser) -> None:
    from .engine import Config

    d = Config()
    p.add_argument("--models", default=",".join(d.models), help="comma-separated subset of seq2seq,arima,svr (default: all)")
    p.add_argument("--min-volume", type=float, default=None,
                   help=f"forecast contracts whose 5-day mean volume is at least this (default {d.min_volume:g}; 0 for sp500)")
    p.add_argument("--val-days", type=int, default=d.val_days, help="validation window, trading days (fusion weights)")
    p.add_argument("--test-days", type=int, default=d.test_days, help="test window per fold, trading days")
    p.add_argument("--folds", type=int, default=d.folds, help="rolling-origin folds, each test_days earlier")
    p.add_argument("--train-days", type=int, default=d.train_days, help="training window, trading days")
    p.add_argument("--epochs", type=int, default=d.epochs, help="Seq2Seq training epochs")
    p.add_argument("--hidden", type=int, default=d.hidden, help="Seq2Seq GRU width")
    p.add_argument("--step", type=float, default=d.step, help="fusion weight grid step on the simplex")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (training is deterministic under it)")
    p.add_argument("--threads", type=int, default=d.threads, help="PyTorch CPU threads")
    p.add_argument("--refit", action="store_true",
                   help="retrain SVR/Seq2Seq on training + validation after fitting the fusion weights")
    p.add_argument("--val-blocks", type=int, default=d.val_blocks,
                   help="validation windows from successive rolling origins pooled for the fusion weights")
    p.add_argument("--no-fuse-persistence", action="store_true", help="leave persistence out of the fusion candidates")
    p.add_argument("--no-fusion-scale", action="store_true",
                   help="fusion weights on the simplex (sum one) instead of with their Acc-optimal level")
    p.add_argument("--skip-folds", type=int, default=d.skip_folds,
                   help="leave out the most recent test windows (development runs that never see them)")


def _config(args, data: str):
    from .engine import Config

    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    mv = args.min_volume if args.min_volume is not None else (0.0 if data == "sp500" else Config().min_volume)
    return Config().with_(models=models, min_volume=mv, val_days=args.val_days, test_days=args.test_days,
                          folds=args.folds, train_days=args.train_days, epochs=args.epochs, hidden=args.hidden,
                          step=args.step, seed=args.seed, threads=args.threads, refit=args.refit,
                          val_blocks=args.val_blocks, fuse_persistence=not args.no_fuse_persistence,
                          fusion_scale=not args.no_fusion_scale,
                          skip_folds=args.skip_folds)


def _load(data: str, calendar: str | None, seed: int = 0):
    from .loaders import load_calendar, load_quotes
    from .synthetic import generate_market, sp500_volume_panel

    if data == "demo":
        panel, cal = generate_market(seed=seed)
        return panel, (load_calendar(calendar) if calendar else cal)
    if data == "sp500":
        return sp500_volume_panel(), (load_calendar(calendar) if calendar else None)
    return load_quotes(data), (load_calendar(calendar) if calendar else None)


def _bar(total: int, desc: str):
    from foreland.progress import progress

    return progress(total=total, desc=desc)


def _save_bundle(tr, path: str) -> None:
    with open(path, "wb") as fh:
        pickle.dump({"magic": BUNDLE_MAGIC, "trained": tr}, fh)


def _load_bundle(path: str):
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such model file")
    try:
        with open(p, "rb") as fh:
            obj = pickle.load(fh)  # bundles are trusted files written by 'foreland forecast train'
    except Exception as exc:
        raise ValueError(f"{p}: not a forecast model bundle ({exc.__class__.__name__})") from None
    if not isinstance(obj, dict) or obj.get("magic") != BUNDLE_MAGIC:
        raise ValueError(f"{p}: not a forecast model bundle written by 'foreland forecast train'")
    return obj["trained"]


def build_parser(prog: str) -> argparse.ArgumentParser:
    """Argument parser of ``foreland forecast``."""
    ap = argparse.ArgumentParser(prog=prog, description="Futures volume / open-interest forecaster (ARIMA, SVR, Seq2Seq, fusion).")
    sub = ap.add_subparsers(dest="cmd", required=True)

    g = sub.add_parser("generate", help="write the synthetic market and its margin/fee calendar")
    g.add_argument("--out", required=True, help="panel file (.parquet or .csv)")
    g.add_argument("--calendar-out", help="calendar file (.csv or .parquet)")
    g.add_argument("--products", type=int, default=4)
    g.add_argument("--days", type=int, default=750)
    g.add_argument("--seed", type=int, default=0)

    t = sub.add_parser("train", help="train on all the data; the last --val-days fit the fusion weights")
    t.add_argument("data", help=DATA_HELP)
    t.add_argument("--calendar", help="margin/fee calendar file (optional)")
    t.add_argument("--model", required=True, help="output model bundle (pickle)")
    _add_config(t)

    p = sub.add_parser("predict", help="forecast T+1..T+5 for every active contract")
    p.add_argument("data", help=DATA_HELP)
    p.add_argument("--calendar")
    p.add_argument("--model", required=True, help="model bundle from 'train'")
    p.add_argument("--as-of", help="forecast origin date (default: last date in the data)")
    p.add_argument("--out", help="write the forecasts as CSV (default: print the fused ones)")

    e = sub.add_parser("evaluate", help="rolling-origin evaluation with tables and plots")
    e.add_argument("data", help=DATA_HELP)
    e.add_argument("--calendar")
    e.add_argument("--out-dir", help="write cases.csv, summary.md and PNG plots here")
    e.add_argument("--plot-contract", help="contract to plot (default: the most forecast one)")
    _add_config(e)

    x = sub.add_parser("explain", help="LIME explanation of one forecast")
    x.add_argument("data", help=DATA_HELP)
    x.add_argument("--calendar")
    x.add_argument("--model", required=True)
    x.add_argument("--contract", required=True)
    x.add_argument("--date", help="origin date (default: the contract's last date)")
    x.add_argument("--target", default="volume", help="volume or open_interest")
    x.add_argument("--horizon", type=int, default=1, help="1..5")
    x.add_argument("--features", type=int, default=10, help="number of features to show")
    x.add_argument("--png", help="write the contributions chart here")

    r = sub.add_parser("report", help="results table on the synthetic market and the S&P 500 volume")
    r.add_argument("--out", help="write the Markdown report here")
    r.add_argument("--quick", action="store_true", help="smaller run (fewer epochs, one fold)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--development", action="store_true",
                   help="run on the development folds (earlier test windows), leaving the report's own windows untouched")
    r.add_argument("--datasets", default="demo,sp500", help="comma-separated subset of demo,sp500")
    return ap


def run(args) -> int:
    """Run the chosen forecast subcommand; returns the exit status."""
    return {"generate": _generate, "train": _train, "predict": _predict, "evaluate": _evaluate,
            "explain": _explain, "report": _report}[args.cmd](args)


def _generate(args) -> int:
    from .loaders import save_panel
    from .synthetic import generate_market

    panel, cal = generate_market(n_products=args.products, n_days=args.days, seed=args.seed)
    save_panel(panel, args.out)
    if args.calendar_out:
        save_panel(cal, args.calendar_out)
    print(f"wrote {len(panel)} rows, {panel['contract'].nunique()} contracts to {args.out}")
    return 0


def _train(args) -> int:
    from .engine import n_trainings, train_final

    cfg = _config(args, args.data)
    panel, cal = _load(args.data, args.calendar, cfg.seed)
    with _bar(n_trainings(cfg), "training") as bar:
        tr = train_final(panel, cal, cfg, progress_bar=bar)
    _save_bundle(tr, args.model)
    print(f"trained {', '.join(cfg.models)} on {tr.info['n_train']} origins; fusion weights from {tr.info['n_val']} "
          f"validation origins; saved {args.model}")
    for k, t in enumerate(tr.targets):
        for h in range(tr.weights.shape[1]):
            w = " ".join(f"{m}={tr.weights[k, h, j]:.2f}" for j, m in enumerate(cfg.candidates))
            print(f"  {t} T+{h + 1}: {w}")
    return 0


def _predict(args) -> int:
    from .engine import forecast_latest

    tr = _load_bundle(args.model)
    panel, cal = _load(args.data, args.calendar, tr.cfg.seed)
    out = forecast_latest(tr, panel, cal, args.as_of)
    if args.out:
        out.to_csv(args.out, index=False, date_format="%Y-%m-%d")
        print(f"wrote {len(out)} forecasts to {args.out}")
    else:
        fused = out[out["model"] == "fused"].pivot_table(index=["contract", "target"], columns="h", values="forecast")
        print(fused.round(0).to_string())
    return 0


def _evaluate(args) -> int:
    from .engine import evaluate, n_trainings
    from .report import render

    cfg = _config(args, args.data)
    panel, cal = _load(args.data, args.calendar, cfg.seed)
    t0 = time.perf_counter()
    with _bar(cfg.folds * (n_trainings(cfg) + 1), "evaluating") as bar:
        ev = evaluate(panel, cal, cfg, progress_bar=bar)
    secs = time.perf_counter() - t0
    text = render(f"{args.data}", ev, secs)
    print(text)
    if args.out_dir:
        from .plots import plot_forecast_vs_actual
        from .report import weights_table

        d = Path(args.out_dir)
        d.mkdir(parents=True, exist_ok=True)
        ev.cases.to_csv(d / "cases.csv", index=False, date_format="%Y-%m-%d")
        weights_table(ev).to_csv(d / "weights.csv", index=False)
        (d / "summary.md").write_text(text, encoding="utf-8")
        fused = ev.cases[(ev.cases["fold"] == 0) & (ev.cases["model"] == "fused")]
        contract = args.plot_contract or fused["contract"].value_counts().index[0]
        for t in ev.targets:
            for h in (1, 5):
                plot_forecast_vs_actual(ev, contract, t, d / f"forecast_{contract}_{t}_T{h}.png", horizon=h)
        print(f"wrote cases.csv, weights.csv, summary.md and plots for {contract} to {d}", file=sys.stderr)
    return 0


def _explain(args) -> int:
    import numpy as np
    import pandas as pd

    from .engine import check_compatible, make_dataset
    from .explain import explain_svr

    tr = _load_bundle(args.model)
    panel, cal = _load(args.data, args.calendar, tr.cfg.seed)
    ds = make_dataset(panel, cal, tr.cfg)
    check_compatible(tr, ds)
    p = ds.feat.panel
    rows = np.flatnonzero(p["contract"].values == args.contract)
    if len(rows) == 0:
        raise ValueError(f"contract: {args.contract!r} is not in the data")
    if args.date:
        hit = rows[p["date"].values[rows] == np.datetime64(pd.Timestamp(args.date))]
        if len(hit) == 0:
            raise ValueError(f"date: {args.contract} has no row on {args.date}")
        row = int(hit[0])
    else:
        row = int(rows[-1])
    ex = explain_svr(tr, ds, row, args.target, args.horizon, num_features=args.features)
    print(f"{ex.contract} {ex.target} T+{ex.horizon} from {ex.date.date()}: SVR change {100 * ex.predicted_change:+.1f}% "
          f"(LIME local fit {100 * ex.local_prediction:+.1f}%, intercept {100 * ex.intercept:+.1f}%)")
    t = ex.table.assign(contribution_pct=(100 * ex.table["contribution"]).round(1)).drop(columns="contribution")
    print(t.to_string(index=False))
    if args.png:
        from .plots import plot_lime

        plot_lime(ex, args.png)
        print(f"wrote {args.png}", file=sys.stderr)
    return 0


def _report(args) -> int:
    from .benchmark import results_report

    datasets = tuple(d.strip() for d in args.datasets.split(",") if d.strip())
    text = results_report(quick=args.quick, seed=args.seed, development=args.development, datasets=datasets)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0
