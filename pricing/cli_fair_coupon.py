"""``foreland fair-coupon``: the coupon that makes a snowball note worth zero."""
from __future__ import annotations

import argparse
import json
import time


def build_parser(prog: str) -> argparse.ArgumentParser:
    """Argument parser of ``foreland fair-coupon``."""
    from pricing.cli_common import add_common
    p = argparse.ArgumentParser(prog=prog, description="Solve the coupon that makes a snowball note worth zero "
                                "(exact: the value is linear in the coupon).")
    add_common(p)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``foreland fair-coupon``."""
    from pricing.api import fair_coupon, resolve_backend
    from pricing.cli_common import trade_from_args
    trade = trade_from_args(args)
    t0 = time.perf_counter()
    c = fair_coupon(trade.note, trade.market, method=args.method, paths=args.paths, seed=args.seed,
                    backend=args.backend, elapsed_days=trade.elapsed_days, knocked_in=trade.knocked_in,
                    show_progress=True)
    dt = time.perf_counter() - t0
    backend = resolve_backend(args.backend) if args.method == "mc" else "cpu"
    if args.json:
        print(json.dumps({"fair_coupon": c, "method": args.method, "backend": backend, "elapsed_s": dt}))
    else:
        extra = f", {args.paths:,} paths" if args.method == "mc" else ""
        print(f"fair coupon  {c:.4%}   ({args.method}, {backend}{extra}, {dt:.3f} s)")
    return 0
