"""Options shared by ``foreland price`` and ``foreland fair-coupon``."""
from __future__ import annotations

import argparse
from dataclasses import replace

from pricing.api import BACKENDS, METHODS
from pricing.notes import Trade, load_trade


def add_common(p: argparse.ArgumentParser) -> None:
    """Add the note, market-override and engine options."""
    p.add_argument("note", nargs="?", default=None,
                   help="note file (.toml or .json); default: the built-in standard note")
    p.add_argument("--method", default="mc", choices=METHODS, help="mc (Monte Carlo) or pde (finite differences)")
    p.add_argument("--paths", type=int, default=1_000_000, help="Monte Carlo paths (even; default 1,000,000)")
    p.add_argument("--seed", type=int, default=0, help="random seed, 0 <= seed < 2**64 (default 0)")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="Monte Carlo backend (auto = hardware device if present, else cpu)")
    p.add_argument("--elapsed-days", type=int, default=None, help="trading days since the strike date")
    p.add_argument("--knocked-in", action="store_true", default=None, help="the running trade has knocked in")
    for name in ("spot", "vol", "rate", "dividend"):
        p.add_argument(f"--{name}", type=float, default=None, help=f"override the market's {name}")
    p.add_argument("--coupon", type=float, default=None, help="override the note's coupon")


def trade_from_args(args: argparse.Namespace) -> Trade:
    """The trade to value: the file (or default note) with command-line overrides applied."""
    t = load_trade(args.note)
    mk = {k: getattr(args, k) for k in ("spot", "vol", "rate", "dividend") if getattr(args, k) is not None}
    market = replace(t.market, **mk) if mk else t.market
    note = t.note.with_coupon(args.coupon) if args.coupon is not None else t.note
    elapsed = t.elapsed_days if args.elapsed_days is None else args.elapsed_days
    ki = t.knocked_in if args.knocked_in is None else args.knocked_in
    return Trade(note, market, elapsed, ki)
