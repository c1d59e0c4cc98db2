"""Batch Brinson job: daily sector attribution against the benchmark over a window, linked to the window."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from risk.jobs.common import (benchmark_map, benchmark_parts, check_complete, coded, concat_results, gather_columns,
                              grid_results, key_positions, results_frame, sector_panel, select_keys, snapshot_arrays,
                              span_days, window_start)
from risk.packed import one_chunk
from risk.packed_reads import daily_part, decode_daily, decode_effective, effective_part, run_parts
from risk.linking import link_coefficients

KINDS = ("equity",)
TABLES = ("holdings", "prices", "asset_returns", "assets", "benchmark_weights", "portfolios")
PACKS = ("holdings", "prices", "asset_returns", "benchmark_weights")
DEFAULTS = {"periods": 250, "model": "BF", "effects": 3, "linking": "carino"}
UNCLASSIFIED = "Unclassified"
RECONCILE_TOL = 1e-9
USES_BENCHMARKS = True  # run_job passes each portfolio's benchmark id from its plan statement
# run_job may start this job's load on a second cursor before the guard and the plan confirm its arguments
# (risk.speculation): the load reads the database only through its arguments (as-of day, chunks, load parameters).
SPECULATIVE_LOAD = True


def window_length(params) -> int:
    """Trading days the job reads up to the as-of date (the periods and the day before the first)."""
    return params["periods"] + 1


# Closes are read from this many calendar days before the window in the same statement as everything else, to
# price benchmark weight sets set before the window (monthly rebalances); an older set costs one more statement.
PRICE_LOOKBACK_DAYS = 45


def input_parts(date, pids, params) -> list:
    """The parts of the job's input statement (``packed_reads``) for the window starting on
    ``params['_window_start']``: benchmark ids (unless the plan brought them), sectors, the window's returns and
    closes (from a little before it), and the holdings and benchmark snapshots in effect over the window (the
    packs' next_date range test). Periods run from the close of the window's first day to that of its last:
    snapshots in effect on all but the last day matter."""
    first_day = params["_window_start"]
    px_from = first_day - dt.timedelta(days=PRICE_LOOKBACK_DAYS)
    return benchmark_parts(params, pids) + [
        ("SELECT asset_key, sector FROM assets", {}),
        daily_part("asset_returns", ["ret"], first_day, date),
        effective_part("holdings", first_day, date, pids),
        effective_part("benchmark_weights", first_day, date),
        daily_part("prices", ["close"], px_from, date)]


def load(con, date, chunks, params):
    """Daily sector weights and returns of portfolios and their benchmarks over the window."""
    pids = [p for c in chunks for p in c]
    n_days = window_length(params)
    first_day = window_start(con, date, params, n_days)
    *bm, sec_t, ret_t, h_rows, b_rows, px_t = run_parts(
        con, input_parts(date, pids, dict(params, _window_start=first_day)))
    bmap = benchmark_map(params, pids, bm)
    nob = [p for p in pids if not bmap.get(p)]
    if nob:
        raise ValueError(f"portfolios: {nob[0]!r} has no benchmark_id; Brinson needs one")
    bids = sorted(set(bmap.values()))
    days, full_ret, ret_lo = decode_daily(ret_t, ["ret"])
    if len(days) < n_days:
        raise ValueError(f"--window: needs {n_days} trading days up to {date}, the database has {len(days)}")
    start, end = days[0].item(), days[-2].item()
    prev = days[:-1]
    h_p, h_d, h_k, h_q = _in_window(snapshot_arrays("holdings", pids, start, decode_effective(h_rows, pids, start), False),
                                    end)
    b_p, b_d, b_k, b_w = _in_window(snapshot_arrays("benchmark_weights", bids, start,
                                                    decode_effective(b_rows, bids, start), False), end)
    # Sum per (benchmark, date) weight set with numpy (a pandas groupby costs more than the whole check).
    sets, inv = np.unique(b_p * 10**6 + b_d.astype(np.int64), return_inverse=True)
    sums = np.bincount(inv, weights=b_w, minlength=len(sets))
    off = np.flatnonzero(np.abs(sums - 1) > 1e-6)
    if len(off):
        i = int(np.flatnonzero(inv == off[0])[0])
        raise ValueError(f"benchmark_weights: weights of {bids[b_p[i]]!r} on {b_d[i]} sum to "
                         f"{sums[off[0]]:.8g}, must sum to 1")
    keys = np.union1d(h_k, b_k)
    sectors, sec_code = _sector_codes(sec_t, keys)
    # Benchmark weight sets may predate the window (last rebalance before it): price from the earliest one.
    first = min(b_d.min(initial=days[0]), days[0])
    ext, px_full, px_lo = decode_daily(px_t, ["close"])
    if len(ext) == 0 or ext[0] > first:
        # A weight set older than the lookback: read the closes again from its date (one more statement).
        [px_t] = run_parts(con, [daily_part("prices", ["close"], first.item(), date)])
        ext, px_full, px_lo = decode_daily(px_t, ["close"])
    ext_at = np.searchsorted(ext, first)
    px, rets = px_full["close"], full_ret["ret"]
    # Key-major copies of the closes from `first` and the window's returns, checked for gaps in the same pass:
    # day t of the window is column c0 + t of the closes and its next-day return column t of the returns.
    close_k, close_ok = gather_columns(px, ext_at, len(ext), keys - px_lo)
    ret_k, ret_ok = gather_columns(rets, 1, len(days), keys - ret_lo)
    c0 = len(ext) - len(days) - ext_at
    if not (close_ok and ret_ok and c0 >= 0 and (ext[ext_at + c0:] == days).all()):
        _name_missing(con, keys, ext[ext_at:], px[ext_at:], px_lo, days, rets, ret_lo)
    # Benchmark weights become index units at their date so they drift with prices like holdings do.
    b_col = key_positions(keys, b_k)
    day_pos = np.searchsorted(ext, b_d)
    if (day_pos >= len(ext)).any() or (ext[np.minimum(day_pos, len(ext) - 1)] != b_d).any():
        raise ValueError("benchmark_weights: a weight set is dated on a day without prices")
    b_units = b_w / close_k[b_col, day_pos - ext_at]
    n_sec = len(sectors)
    b_w_s, b_r_s = _sector_weights_returns(*sector_panel(b_p, b_col, sec_code[b_col], b_units,
                                                         *span_days(b_p, b_d, prev), close_k, c0, ret_k, 0,
                                                         len(bids), len(prev), n_sec))
    shared = {"sectors": sectors.astype(object), "bench_w": b_w_s, "bench_r": b_r_s, "bench_ids": bids}
    h_col = key_positions(keys, h_k)
    w_all, r_all = _sector_weights_returns(*sector_panel(h_p, h_col, sec_code[h_col], h_q, *span_days(h_p, h_d, prev),
                                                         close_k, c0, ret_k, 0, len(pids), len(prev), n_sec))
    out, lo = [], 0
    b_pos = {b: i for i, b in enumerate(bids)}
    for c in chunks:
        out.append({"pids": list(c), "wp": w_all[lo:lo + len(c)], "rp": r_all[lo:lo + len(c)],
                    "bench": np.array([b_pos[bmap[p]] for p in c])})
        lo += len(c)
    return shared, out


def _in_window(arrays, end) -> tuple:
    """Positions of snapshots dated on or before ``end`` (later ones are outside the window's period starts)."""
    p, d, k, v = arrays
    keep = d <= np.datetime64(end, "D")
    return p[keep], d[keep], k[keep], v[keep]


def _sector_codes(t, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted names of the sectors of ``keys`` and each key's position among them, from (asset_key, sector)
    rows (``Unclassified`` where the assets table has no sector or no row). Dictionary codes from Arrow, no
    per-asset Python strings (0.4 against 0.8 ms for a year's Brinson keys, measured)."""
    k = np.asarray(t.column("asset_key").to_numpy(zero_copy_only=False), dtype=np.int64)
    enc = one_chunk(pc.dictionary_encode(pc.fill_null(t.column("sector"), UNCLASSIFIED)))
    names = enc.dictionary.to_pylist()
    if UNCLASSIFIED not in names:
        names.append(UNCLASSIFIED)
    unclassified = names.index(UNCLASSIFIED)
    by_key = np.full(int(k.max(initial=-1)) + 1, unclassified, dtype=np.int64)
    by_key[k] = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    keys = np.asarray(keys, dtype=np.int64)
    inside = (keys >= 0) & (keys < len(by_key))
    raw = np.where(inside, by_key[np.where(inside, keys, 0)] if len(by_key) else unclassified, unclassified)
    used, inv = np.unique(raw, return_inverse=True)
    used_names = np.asarray(names, dtype=object)[used]
    order = np.argsort(used_names, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return used_names[order], rank[inv]


def _name_missing(con, keys, ext, close_ext, px_lo, days, rets, ret_lo) -> None:
    """Raise the ValueError naming the first missing close or return of ``keys`` (or the window's first day without
    prices): the gathered checks, run only once the compiled pre-check found a gap."""
    check_complete(con, select_keys(close_ext, keys, px_lo), keys, ext, "prices", "close")
    if len(ext) < len(days) or (ext[len(ext) - len(days):] != days).any():
        raise ValueError(f"prices: the window {days[0]}..{days[-1]} has days without prices")
    check_complete(con, select_keys(rets[1:], keys, ret_lo), keys, days[1:], "asset_returns", "ret")
    raise AssertionError("brinson: the pre-check found a gap the checks did not name")


def _sector_weights_returns(mv, pnl):
    """Beginning-of-day sector weights and sector returns (owners x days x sectors) from sector market values and
    P&L; NaN return where a sector is unheld."""
    from risk.jobs.kernels import weights_returns_kernel

    w, r, ok = weights_returns_kernel()(mv, pnl)
    if not ok:
        raise ValueError("holdings: a portfolio has a non-positive value on some day of the window")
    return w, r


def compute(shared, payload, params) -> pa.Table:
    """Linked allocation/selection/interaction per sector and in total, plus the compounded returns."""
    from risk.jobs.kernels import linked_brinson_kernel, period_returns_kernel

    wp, rp = payload["wp"], payload["rp"]
    wb, rb = shared["bench_w"][payload["bench"]], shared["bench_r"][payload["bench"]]
    # NaN sector returns mark unheld sectors; the compiled loop attributes them as brinson_arrays does
    # (docs/risk.md) and links each period's effects as it goes: no (owners x days x sectors) temporaries.
    port_t, bench_t = period_returns_kernel()(wp, rp), period_returns_kernel()(wb, rb)
    coef = link_coefficients(port_t, bench_t, params["linking"])
    eff = linked_brinson_kernel()(wp, wb, rp, rb, bench_t, np.ascontiguousarray(coef), params["model"] == "BF",
                                  params["effects"] == 3)  # P x S x 3
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
    per_sector = results_frame(coded(pids, np.repeat(np.arange(p), s * 4)),
                               coded(sectors, np.tile(np.repeat(np.arange(s), 4), p)),
                               coded(names, np.tile(np.arange(4), p * s)), full.ravel())
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
