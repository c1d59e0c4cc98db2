"""``foreland price``: value a snowball note and print price, error, Greeks, probabilities, fair coupon."""
from __future__ import annotations

import argparse
import json
import math

from pricing.cli_common import add_common, trade_from_args


def build_parser(prog: str) -> argparse.ArgumentParser:
    """Argument parser of ``foreland price``."""
    p = argparse.ArgumentParser(prog=prog, description="Price a snowball note (Monte Carlo or finite differences). "
                                "With no note file, prices the built-in standard note.")
    add_common(p)
    p.add_argument("--greeks", action="store_true", help="also compute delta, gamma, vega, theta, rho")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--plot", metavar="FILE.png", default=None, help="draw value and delta against spot")
    return p


def _fmt(v, spec: str = ".6f") -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def format_table(res, trade) -> str:
    """The human-readable result table."""
    n = trade.note
    rows = [
        ("note", f"KO {min(n.ko_barrier):.2%}{' step-down' if len(set(n.ko_barrier)) > 1 else ''}, "
                 f"KI {n.ki_barrier:.2%} ({n.ki_observation}), coupon {n.coupon:.2%}, {n.maturity_days} days"),
        ("trade", f"day {trade.elapsed_days}, {'knocked in' if trade.knocked_in else 'not knocked in'}; spot "
                  f"{trade.market.spot:g}, r {trade.market.rate:.2%}, q {trade.market.dividend:.2%}, "
                  f"vol {trade.market.vol:.2%}"),
        ("price", _fmt(res.price, ".6f")),
        ("stderr", _fmt(res.stderr, ".6f") + ("  (3 s.e.: " + _fmt(3 * res.stderr, ".6f") + ")"
                                                if res.method == "mc" else "")),
        ("fair coupon", _fmt(res.fair_coupon, ".4%") if res.fair_coupon is not None else "n/a"),
        ("KO probability", _fmt(res.ko_probability, ".4f")),
        ("KI probability", _fmt(res.ki_probability, ".4f")),
        ("expected life", _fmt(res.expected_life_years, ".4f") + " years"),
    ]
    for g in ("delta", "gamma", "vega", "theta", "rho"):
        if g in res.greeks:
            rows.append((g, _fmt(float(res.greeks[g]), ".6f")))
    rows.append(("method", res.method))
    rows.append(("backend", res.backend))
    if res.method == "mc":
        rows.append(("paths", f"{res.paths:,} (seed {res.seed})"))
        if res.path_steps:
            rows.append(("path-steps", f"{res.path_steps:,} ({res.path_steps / max(res.elapsed_s, 1e-9):,.0f}/s)"))
    rows.append(("time", f"{res.elapsed_s:.3f} s"))
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)


def run(args: argparse.Namespace) -> int:
    """Run ``foreland price``."""
    from pricing.api import price
    from pricing.plot import check_plot_path
    trade = trade_from_args(args)
    if args.plot:
        check_plot_path(args.plot)  # fail before a long valuation, not after
    res = price(trade.note, trade.market, method=args.method, paths=args.paths, seed=args.seed,
                backend=args.backend, greeks=args.greeks, elapsed_days=trade.elapsed_days,
                knocked_in=trade.knocked_in, show_progress=True)
    if args.plot:
        from pricing.plot import plot_value_delta
        plot_value_delta(trade.note, trade.market, args.plot, trade.elapsed_days, trade.knocked_in)
    if args.json:
        d = res.to_dict()
        d["greeks"] = {k: float(v) for k, v in d["greeks"].items()}
        print(json.dumps(d, indent=2, default=float))
    else:
        print(format_table(res, trade))
        if args.plot:
            print(f"plot written to {args.plot}")
    return 0
