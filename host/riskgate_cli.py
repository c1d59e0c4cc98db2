"""``foreland riskgate``: replay a message file through the gate, or generate a realistic stream."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kernels import riskgate_spec as S


def build_parser(prog: str) -> argparse.ArgumentParser:
    """Parser of ``foreland riskgate {replay,generate}``."""
    p = argparse.ArgumentParser(prog=prog, description="Pre-trade risk gate: replay or generate order streams.")
    sub = p.add_subparsers(dest="action", required=True, metavar="{replay,generate}")
    r = sub.add_parser("replay", help="decide a messages file against a start-of-day state",
                       description="Decide every message of MESSAGES.parquet in order and summarise.")
    r.add_argument("messages", help="Parquet file: type, ts_us, order_id, account, code, side, price, qty")
    r.add_argument("--db", required=True, metavar="STATE",
                   help="directory of instruments/accounts/positions[/orders].parquet, or a DuckDB file")
    r.add_argument("--backend", choices=("cpu", "rtl", "auto"), default="auto")
    r.add_argument("--batch", type=int, default=65536, help="messages per kernel call (default 65536)")
    r.add_argument("--out", metavar="DECISIONS.parquet", help="also write the decisions (accepted, reason)")
    r.add_argument("--snapshot", metavar="DIR", help="also write the final tables as Parquet files here")
    g = sub.add_parser("generate", help="write a realistic stream and its start-of-day state",
                       description="Zipf-hot accounts and instruments, buys and sells, cancels and partial fills "
                                   "of accepted orders, day boundaries; writes OUT/messages.parquet and the state.")
    g.add_argument("out", help="output directory")
    g.add_argument("--messages", type=int, default=1_000_000)
    g.add_argument("--accounts", type=int, default=100_000)
    g.add_argument("--instruments", type=int, default=4_000)
    g.add_argument("--days", type=int, default=5)
    g.add_argument("--hot", type=float, default=1.1, help="Zipf exponent of account/instrument activity")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--format", choices=("parquet", "duckdb"), default="parquet",
                   help="state as OUT/state/*.parquet (default) or OUT/state.duckdb")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the chosen action; returns the exit status."""
    if args.action == "replay":
        return _replay(args)
    return _generate(args)


def _replay(args) -> int:
    from foreland.progress import progress
    from host.riskgate import RiskGate
    from host.riskgate_messages import decisions_frame, messages_from_frame

    if args.batch < 1:
        raise ValueError(f"--batch: must be >= 1, got {args.batch}")
    path = Path(args.messages)
    if not path.exists():
        raise FileNotFoundError(f"messages file not found: {path}")
    t0 = time.perf_counter()
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own types for a non-Parquet file
        raise ValueError(f"{path}: not a readable Parquet file ({exc})") from None
    msgs = messages_from_frame(frame)
    del frame
    # size the orders table for the busiest day: NEWs between EODs
    day = np.cumsum(msgs["type"] == S.MSG_EOD)
    news = np.bincount(day[msgs["type"] == S.MSG_NEW]) if len(msgs) else np.zeros(1, dtype=np.int64)
    gate = RiskGate(args.backend, order_rows=int(news.max(initial=0)) + 1024).load_state(args.db)
    t1 = time.perf_counter()
    out = np.zeros(len(msgs), dtype=S.DECISION_DTYPE)
    kernel = 0.0
    with progress(total=len(msgs), desc="replay", unit="msg", unit_scale=True) as bar:
        for a in range(0, len(msgs), args.batch):
            b = min(a + args.batch, len(msgs))
            k0 = time.perf_counter()
            out[a:b] = gate.process_array(msgs[a:b])
            kernel += time.perf_counter() - k0
            bar.update(b - a)
    t2 = time.perf_counter()
    counts = np.bincount(out["reason"], minlength=len(S.REASON_NAMES))
    n = len(msgs)
    print(f"risk gate replay: {n:,} messages, backend {gate.backend}")
    print(f"{'reason':<24}{'count':>12}{'share':>9}")
    for code in np.flatnonzero(counts):
        print(f"{S.REASON_NAMES[code]:<24}{counts[code]:>12,}{counts[code] / max(n, 1):>9.2%}")
    print(f"accepted {int(out['accepted'].sum()):,} / {n:,}")
    rate = n / kernel if kernel > 0 else float("inf")
    print(f"throughput: {rate / 1e6:,.2f} M messages/s in the gate ({kernel:.3f} s; "
          f"load and parse {t1 - t0:.2f} s, replay {t2 - t1:.2f} s wall)")
    if args.out:
        decisions_frame(out).to_parquet(args.out, index=False)
    if args.snapshot:
        snap = Path(args.snapshot)
        snap.mkdir(parents=True, exist_ok=True)
        for name, df in gate.snapshot().items():
            df.to_parquet(snap / f"{name}.parquet", index=False)
    return 0


def _generate(args) -> int:
    from foreland.progress import progress
    from host.riskgate_generate import generate_state, generate_stream
    from host.riskgate_load import write_state
    from host.riskgate_messages import frame_from_messages

    for name in ("messages", "accounts", "instruments", "days"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name}: must be >= 1, got {getattr(args, name)}")
    if args.hot < 0:
        raise ValueError(f"--hot: must be >= 0, got {args.hot}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory")
    state = generate_state(args.accounts, args.instruments, seed=args.seed, hot=args.hot)
    with progress(total=args.messages, desc="generate", unit="msg", unit_scale=True) as bar:
        msgs = generate_stream(state, args.messages, days=args.days, seed=args.seed, hot=args.hot,
                               progress=bar.update)
    out.mkdir(parents=True, exist_ok=True)
    frame_from_messages(msgs).to_parquet(out / "messages.parquet", index=False)
    state_path = out / ("state.duckdb" if args.format == "duckdb" else "state")
    write_state(state, state_path)
    print(f"wrote {len(msgs):,} messages to {out / 'messages.parquet'} and the state to {state_path}",
          file=sys.stderr)
    return 0
