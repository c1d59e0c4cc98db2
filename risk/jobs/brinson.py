"""Batch Brinson job: daily sector attribution against the benchmark over a window, linked to the window."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from risk.brinson import brinson_arrays
from risk.jobs.common import (check_complete, chunk_rows, concat_results, daily_quantities, grid_results, key_positions,
                              results_frame, select_keys, snapshot_frame, window_first)
from risk.packed_reads import choose_snapshots, daily_part, decode_daily, decode_snapshots, index_part, rows_part, run_parts
from risk.linking import link_coefficients

KINDS = ("equity",)
TABLES = ("holdings", "prices", "asset_returns", "assets", "benchmark_weights", "portfolios")
PACKS = ("holdings", "prices", "asset_returns", "benchmark_weights")
DEFAULTS = {"periods": 250, "model": "BF", "effects": 3, "linking": "carino"}
UNCLASSIFIED = "Unclassified"
RECONCILE_TOL = 1e-9


def window_length(params) -> int:
    """Trading days the job reads up to the as-of date (the periods and the day before the first)."""
    return params["periods"] + 1


def load(con, date, chunks, params):
    """Daily sector weights and returns of portfolios and their benchmarks over the window."""
    pids = [p for c in chunks for p in c]
    n_days = window_length(params)
    first_day = params.get("_window_start") or window_first(con, date, n_days)
    if first_day is None:
        raise ValueError(f"--window: needs {n_days} trading days up to {date}, the database has fewer")
    # Two statements in all: everything that does not depend on another read, then the chosen snapshots
    # and the closes from the earliest benchmark weight set on (packed_reads).
    bm, sec_t, ret_t, h_idx, b_idx = run_parts(con, [
        ("SELECT portfolio_id AS pf, benchmark_id AS bench FROM portfolios WHERE portfolio_id IN (SELECT unnest($ids))",
         {"ids": pids}),
        ("SELECT asset_key, sector FROM assets", {}),
        daily_part("asset_returns", ["ret"], first_day, date), index_part("holdings"), index_part("benchmark_weights")])
    bmap = dict(zip(bm.column("pf").to_pylist(), bm.column("bench").to_pylist()))
    nob = [p for p in pids if not bmap.get(p)]
    if nob:
        raise ValueError(f"portfolios: {nob[0]!r} has no benchmark_id; Brinson needs one")
    bids = sorted(set(bmap.values()))
    days, full_ret, ret_lo = decode_daily(ret_t, ["ret"])
    if len(days) < n_days:
        raise ValueError(f"--window: needs {n_days} trading days up to {date}, the database has {len(days)}")
    start, end = days[0].item(), days[-2].item()
    h_pick = choose_snapshots(h_idx, pids, start, end)
    b_pick = choose_snapshots(b_idx, bids, start, end)
    # Benchmark weight sets may predate the window (last rebalance before it): price from the earliest one.
    first = min(b_pick[2].min(initial=days[0]), days[0])
    h_rows, b_rows, px_t = run_parts(con, [rows_part("holdings", h_pick[0]), rows_part("benchmark_weights", b_pick[0]),
                                           daily_part("prices", ["close"], first.item(), date)])
    snap = snapshot_frame("holdings", pids, start, decode_snapshots(h_rows, h_pick), True, "quantity", False)
    bw = snapshot_frame("benchmark_weights", bids, start, decode_snapshots(b_rows, b_pick), True, "weight", False)
    bw.insert(0, "portfolio_id", np.asarray(bids, dtype=object)[bw.p_idx.to_numpy()])
    sector_by_key = _sector_lookup(sec_t)
    # Sum per (benchmark, date) weight set with numpy (a pandas groupby costs more than the whole check).
    b_day = np.asarray(bw.date.to_numpy(), dtype="datetime64[D]")
    sets, inv = np.unique(bw.p_idx.to_numpy() * 10**6 + b_day.astype(np.int64), return_inverse=True)
    sums = np.bincount(inv, weights=bw.weight.to_numpy(dtype=float), minlength=len(sets))
    off = np.flatnonzero(np.abs(sums - 1) > 1e-6)
    if len(off):
        i = int(np.flatnonzero(inv == off[0])[0])
        raise ValueError(f"benchmark_weights: weights of {bw.portfolio_id.iloc[i]!r} on {b_day[i]} sum to "
                         f"{sums[off[0]]:.8g}, must sum to 1")
    keys = np.union1d(snap.asset_key.to_numpy(), bw.asset_key.to_numpy())
    # Order assets by sector so a sector total is a contiguous reduceat, not a one-hot product.
    sec = _sectors(sector_by_key, keys)
    order = np.argsort(sec, kind="stable")
    keys, sec = keys[order], sec[order]
    starts = np.flatnonzero(np.r_[True, sec[1:] != sec[:-1]])
    sectors = sec[starts]
    # Benchmark weight sets may predate the window (last rebalance before it): price from the earliest one.
    first = min(np.datetime64(bw.date.min(), "D"), days[0])
    ext, px_full, px_lo = decode_daily(px_t, ["close"])
    close_ext = check_complete(con, select_keys(px_full["close"], keys, px_lo), keys, ext, "prices", "close")
    if len(ext) < len(days) or (ext[len(ext) - len(days):] != days).any():
        raise ValueError(f"prices: the window {days[0]}..{days[-1]} has days without prices")
    close = close_ext[len(ext) - len(days):]
    ret = check_complete(con, select_keys(full_ret["ret"][1:], keys, ret_lo), keys, days[1:], "asset_returns", "ret")
    # Benchmark weights become index units at their date so they drift with prices like holdings do.
    key_pos = key_positions(keys, bw.asset_key.to_numpy())
    day_pos = np.searchsorted(ext, np.asarray(bw.date.to_numpy(), dtype="datetime64[D]"))
    if (day_pos >= len(ext)).any() or (ext[np.minimum(day_pos, len(ext) - 1)] != np.asarray(bw.date.to_numpy(), dtype="datetime64[D]")).any():
        raise ValueError("benchmark_weights: a weight set is dated on a day without prices")
    px_at = close_ext[day_pos, key_pos]
    bw["quantity"] = bw.weight.to_numpy() / px_at
    bq = daily_quantities(bw, len(bids), keys, days[:-1])
    b_w, b_r = _sector_weights_returns(bq, close[:-1], ret, starts)
    shared = {"sectors": sectors, "bench_w": b_w, "bench_r": b_r, "bench_ids": bids}
    out, lo = [], 0
    for c in chunks:
        q = daily_quantities(chunk_rows(snap, lo, len(c)), len(c), keys, days[:-1])
        lo += len(c)
        w, r = _sector_weights_returns(q, close[:-1], ret, starts)
        out.append({"pids": list(c), "wp": w, "rp": r, "bench": np.array([bids.index(bmap[p]) for p in c])})
    return shared, out


def _sector_lookup(t) -> np.ndarray:
    """Sector by asset_key (index = key; ``Unclassified`` where the assets table has none) from (asset_key, sector)
    rows."""
    keys = np.asarray(t.column("asset_key").to_numpy(zero_copy_only=False), dtype=np.int64)
    sec = np.asarray(t.column("sector").to_pylist(), dtype=object)
    by_key = np.full(int(keys.max(initial=-1)) + 1, UNCLASSIFIED, dtype=object)
    known = np.array([v is not None for v in sec], dtype=bool)
    by_key[keys[known]] = sec[known]
    return by_key


def _sectors(by_key: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Sector of each asset key from a key-indexed lookup (``Unclassified`` outside it)."""
    keys = np.asarray(keys, dtype=np.int64)
    out = np.full(len(keys), UNCLASSIFIED, dtype=object)
    inside = (keys >= 0) & (keys < len(by_key))
    out[inside] = by_key[keys[inside]]
    return out


def _sector_weights_returns(q, close_prev, ret, starts):
    """Beginning-of-day sector weights and sector returns (portfolios x days x sectors); NaN return where unheld."""
    mv = q * close_prev[None]
    nav = mv.sum(-1, keepdims=True)
    if (nav <= 0).any():
        raise ValueError("holdings: a portfolio has a non-positive value on some day of the window")
    # Sector sums first, divisions after: on (P x T x sectors), not (P x T x assets).
    mv_s = np.add.reduceat(mv, starts, axis=-1)
    mv *= ret[None]
    pnl_s = np.add.reduceat(mv, starts, axis=-1)
    w = mv_s / nav
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(mv_s > 0, pnl_s / np.where(mv_s > 0, mv_s, 1.0), np.nan)
    return w, r


def compute(shared, payload, params) -> pa.Table:
    """Linked allocation/selection/interaction per sector and in total, plus the compounded returns."""
    wp, rp = payload["wp"], payload["rp"]
    wb, rb = shared["bench_w"][payload["bench"]], shared["bench_r"][payload["bench"]]
    # NaN sector returns mark unheld sectors; brinson_arrays attributes them (docs/risk.md).
    alloc, sel, inter = brinson_arrays(wp, wb, rp, rb, params["model"], params["effects"])
    port_t, bench_t = np.nansum(wp * rp, -1), np.nansum(wb * rb, -1)
    coef = link_coefficients(port_t, bench_t, params["linking"])[..., None]
    eff = np.stack([(alloc * coef).sum(1), (sel * coef).sum(1), (inter * coef).sum(1)], -1)  # P x S x 3
    cp = np.prod(1 + port_t, axis=1) - 1
    cb = np.prod(1 + bench_t, axis=1) - 1
    gap = np.abs(eff.sum((1, 2)) - (cp - cb))
    if (gap > RECONCILE_TOL).any():
        raise RuntimeError(f"brinson: linked effects miss the active return by {gap.max():.3g}")
    pids = payload["pids"]
    sectors = shared["sectors"]
    p, s = eff.shape[:2]
    names = ["allocation", "selection", "interaction", "total"]
    full = np.concatenate([eff, eff.sum(-1, keepdims=True)], -1)
    per_sector = results_frame(np.repeat(np.asarray(pids, dtype=object), s * 4), np.tile(np.repeat(sectors, 4), p),
                               np.tile(names, p * s), full.ravel())
    tot = np.column_stack([eff.sum(1), cp, cb, cp - cb])
    port = grid_results(pids, names[:3] + ["portfolio_return", "benchmark_return", "active_return"], tot)
    return concat_results([port, per_sector])


def validate(params) -> None:
    """Check parameters before any work starts (errors name the CLI option)."""
    from risk._checks import check_choice, check_positive_int
    from risk.brinson import MODELS
    from risk.linking import LINKINGS

    check_positive_int(params["periods"], "--periods")
    check_choice(params["model"], "--model", MODELS)
    if params["effects"] not in (2, 3):
        raise ValueError(f"--effects: must be 2 or 3, got {params['effects']!r}")
    check_choice(params["linking"], "--linking", LINKINGS)
