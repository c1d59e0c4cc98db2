"""Batch Campisi job: daily per-bond effects over the window, weighted into portfolios and linked."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from risk.campisi import campisi_arrays
from risk.jobs.common import (asset_name, check_complete, chunk_rows, coded, concat_results, grid_results, key_positions,
                              results_frame, scatter_add, select_keys, snapshot_arrays, window_start,
                              benchmark_map, benchmark_parts)
from risk.packed import packed_name
from risk.packed_reads import daily_part, decode_daily, decode_effective, effective_part, run_parts
from risk.linking import link_coefficients
from risk.schema import GOV_CURVE

KINDS = ("bond",)
TABLES = ("holdings", "bond_analytics", "bonds", "curves", "benchmark_weights", "portfolios")
PACKS = ("holdings", "bond_analytics", "benchmark_weights", "asset_returns")
DEFAULTS = {"periods": 250, "linking": "carino"}
EFFECTS = ["income", "treasury", "spread", "selection", "total"]
PORTFOLIO_EFFECTS = ["income", "treasury", "treasury_shift", "treasury_twist", "spread", "selection", "total"]
RECONCILE_TOL = 1e-9
USES_BENCHMARKS = True  # run_job passes each portfolio's benchmark id from its plan statement
BOND_EFFECTS = [0, 1, 4, 5, 6]  # per-bond rows: income, treasury, spread, selection, total


# Bond analytics are read from this many calendar days before the window in the same statement as everything else,
# to price benchmark weight sets set before the window; an older set costs one more statement.
ANALYTICS_LOOKBACK_DAYS = 45
ANALYTICS = ["dirty_price", "coupon_paid", "spread", "mod_duration", "spread_duration"]


def window_length(params) -> int:
    """Trading days the job reads up to the as-of date (the periods and the day before the first)."""
    return params["periods"] + 1


def load(con, date, chunks, params):
    """Per-bond daily Campisi effects (shared) and daily bond weights of each portfolio and benchmark."""
    pids = [p for c in chunks for p in c]
    n_days = window_length(params)
    first_day = window_start(con, date, params, n_days)
    # One statement for every input (packed_reads): the window's trading days, benchmark ids, holdings and benchmark
    # snapshots in effect over the window, every bond's terms, the bond analytics (from a little before the window,
    # for benchmark sets set before it) and the government curve.
    an_from = first_day - dt.timedelta(days=ANALYTICS_LOOKBACK_DAYS)
    day_t, *bm, h_rows, b_rows, bond_t, an_t, curve = run_parts(con, [
        (f"SELECT date FROM {packed_name('asset_returns')} WHERE date BETWEEN $s AND $e", {"s": first_day, "e": date}),
        *benchmark_parts(params, pids),
        effective_part("holdings", first_day, date, pids),
        effective_part("benchmark_weights", first_day, date),
        ("SELECT a.asset_key, a.asset_id, b.coupon_rate, b.maturity_date FROM bonds b JOIN assets a USING (asset_id)", {}),
        daily_part("bond_analytics", ANALYTICS, an_from, date),
        ("SELECT date AS curve_date, tenor_years, yield FROM curves WHERE curve_id = $c AND date BETWEEN $s AND $e",
         {"c": GOV_CURVE, "s": first_day, "e": date})])
    days = np.sort(day_t.column("date").to_numpy().astype("datetime64[D]"))
    if len(days) < n_days:
        raise ValueError(f"--window: needs {n_days} trading days up to {date}, the database has {len(days)}")
    start, end = days[0].item(), days[-2].item()
    bmap = benchmark_map(params, pids, bm)
    bids = sorted({b for b in bmap.values() if b})
    snap = _frame(snapshot_arrays("holdings", pids, start, decode_effective(h_rows, pids, start), False), end)
    if bids:
        bw = _frame(snapshot_arrays("benchmark_weights", bids, start, decode_effective(b_rows, bids, start), False), end,
                    "weight")
        bw.insert(0, "portfolio_id", np.asarray(bids, dtype=object)[bw.p_idx.to_numpy()])
    else:
        bw = pd.DataFrame({"portfolio_id": [], "p_idx": np.array([], np.int64), "date": [],
                           "asset_key": np.array([], np.int64), "weight": []})
    keys = np.union1d(snap.asset_key.to_numpy(), bw.asset_key.to_numpy()).astype(np.int64)
    b_keys = np.asarray(bond_t.column("asset_key").to_numpy(), dtype=np.int64)
    found = np.isin(keys, b_keys)
    if not found.all():
        raise ValueError(f"bonds: held asset {asset_name(con, keys[int(np.argmin(found))])!r} is not a bond in the bonds "
                         "table; Campisi takes bond portfolios")
    at = key_positions(b_keys, keys)
    bond_ids = np.asarray(bond_t.column("asset_id").to_pylist(), dtype=object)[at]
    coupon = np.asarray(bond_t.column("coupon_rate").to_numpy(zero_copy_only=False), dtype=float)[at]
    maturity = bond_t.column("maturity_date").to_numpy().astype("datetime64[D]")[at]
    first = min(np.datetime64(bw.date.min(), "D"), days[0]) if len(bw) else days[0]
    ext, full, an_lo = decode_daily(an_t, ANALYTICS)
    if len(ext) == 0 or ext[0] > first:
        # A weight set older than the lookback: read the analytics again from its date (one more statement).
        [an_t] = run_parts(con, [daily_part("bond_analytics", ANALYTICS, first.item(), date)])
        ext, full, an_lo = decode_daily(an_t, ANALYTICS)
    cut = np.searchsorted(ext, first)
    ext = ext[cut:]
    m = {c: check_complete(con, select_keys(full[c][cut:], keys, an_lo), keys, ext, "bond_analytics", c)
         for c in ANALYTICS}
    if len(ext) < len(days) or (ext[len(ext) - len(days):] != days).any():
        raise ValueError(f"bond_analytics: the window {days[0]}..{days[-1]} has days without bond analytics")
    off = len(ext) - len(days)
    a = {k: v[off:] for k, v in m.items()}
    curve = {"date": curve.column("curve_date").to_numpy(), "tenor_years": curve.column("tenor_years").to_numpy(),
             "yield": curve.column("yield").to_numpy()}
    order = np.lexsort((curve["tenor_years"], curve["date"]))
    curve = {k: v[order] for k, v in curve.items()}
    tenors = np.unique(curve["tenor_years"])
    cdays = np.unique(np.asarray(curve["date"], dtype="datetime64[D]"))
    if len(cdays) != len(days) or (cdays != days).any() or len(curve["yield"]) != len(days) * len(tenors):
        raise ValueError(f"curves: the {GOV_CURVE} curve must have every tenor on every trading day of the window")
    ylds = np.asarray(curve["yield"]).reshape(len(days), len(tenors))
    mat = maturity
    tau_prev = (mat[None, :] - days[:-1, None]).astype(np.int64) / 365.0  # remaining life at each period start
    # np.interp per day: a vectorised bracket search over all days measured twice as slow (temporaries).
    gov_start = np.stack([np.interp(tau_prev[t], tenors, ylds[t]) for t in range(len(days) - 1)])
    gov_end = np.stack([np.interp(tau_prev[t], tenors, ylds[t + 1]) for t in range(len(days) - 1)])
    shift = (ylds[1:] - ylds[:-1]).mean(axis=1)  # parallel component: average move across the curve's tenors
    dt_years = (np.diff(days).astype(np.int64) / 365.0)[:, None]
    e = campisi_arrays(a["dirty_price"][:-1], a["dirty_price"][1:], a["coupon_paid"][1:],
                       coupon[None, :], dt_years, gov_start, gov_end,
                       a["spread"][:-1], a["spread"][1:], a["mod_duration"][:-1], a["spread_duration"][:-1])
    tshift = -a["mod_duration"][:-1] * shift[:, None]
    # Effects per (day, bond): income, treasury, shift, twist, spread, selection, total.
    e7 = np.stack([e[..., 0], e[..., 1], tshift, e[..., 1] - tshift, e[..., 2], e[..., 3], e[..., 4]], -1)
    dirty_prev = a["dirty_price"][:-1]
    # Effects times the start price, plus the price itself: one batched product of quantities with this gives
    # each portfolio's value-weighted effects and its value, without a P x T x N weight array.
    e8 = np.concatenate([e7 * dirty_prev[..., None], dirty_prev[..., None]], -1)
    shared = {"effects": e7, "priced": e8, "dirty_prev": dirty_prev, "bond_ids": bond_ids}
    if len(bw):
        key_pos = key_positions(keys, bw.asset_key.to_numpy())
        bdays = np.asarray(bw.date.to_numpy(), dtype="datetime64[D]")
        day_pos = np.searchsorted(ext, bdays)
        if (day_pos >= len(ext)).any() or (ext[np.minimum(day_pos, len(ext) - 1)] != bdays).any():
            raise ValueError("benchmark_weights: a weight set is dated on a day without bond analytics")
        b_q = bw.weight.to_numpy() / m["dirty_price"][day_pos, key_pos]
        bp = _pair_quantities(bw.p_idx.to_numpy(), bdays, key_pos, b_q, days[:-1], len(keys))
        shared["bench_linked"] = _linked(bp, len(bids), shared, params["linking"])[1]
        shared["bench_ids"] = bids
    out, lo = [], 0
    for c in chunks:
        rows = chunk_rows(snap, lo, len(c))
        lo += len(c)
        pq = _pair_quantities(rows.p_idx.to_numpy(), np.asarray(rows.date.to_numpy(), dtype="datetime64[D]"),
                              key_positions(keys, rows.asset_key.to_numpy()), rows.quantity.to_numpy(dtype=float),
                              days[:-1], len(keys))
        out.append({"pids": list(c), "pairs": pq,
                    "bench": np.array([bids.index(bmap[p]) if bmap.get(p) else -1 for p in c])})
    return shared, out


def _pair_quantities(owner, dates, cols, qty, days, n_bonds: int):
    """Sparse daily quantities: the (owner, bond) pairs the snapshots hold, sorted, and their quantity at each
    day's close (T x K, forward-filled between snapshots); pairs never non-zero in the window are dropped.

    Snapshot rows are summed into one (snapshots x bonds) matrix, each (owner, day) finds its snapshot by one
    searchsorted, and the T x K quantities are one flat gather: no dense T x P x N array (52 x 250 x 240 here).
    """
    owner = np.asarray(owner, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    d = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    day_num = np.asarray(days, dtype="datetime64[D]").astype(np.int64)
    base = int(min(d.min(initial=0), day_num.min(initial=0)))
    span = int(max(d.max(initial=0), day_num.max(initial=0))) - base + 1
    snaps, inv = np.unique(owner * span + (d - base), return_inverse=True)
    q_snap = scatter_add((len(snaps), n_bonds), inv, cols, qty)
    pairs = np.unique(owner * n_bonds + cols)
    p_idx, n_idx = pairs // n_bonds, pairs % n_bonds
    owners = np.unique(p_idx)
    which = np.searchsorted(snaps, owners[:, None] * span + (day_num - base)[None, :], side="right") - 1
    ok = (which >= 0) & (snaps[np.maximum(which, 0)] // span == owners[:, None])
    if not ok.all():
        raise ValueError(f"holdings: portfolio number {int(owners[np.argwhere(~ok)[0][0]])} has no holdings on or "
                         f"before {days[0]}")
    qp = _kernels()["fill"](q_snap, which, np.searchsorted(owners, p_idx), n_idx)  # T x K
    held = (qp != 0).any(axis=0)
    if not held.all():
        qp, p_idx, n_idx = np.ascontiguousarray(qp[:, held]), p_idx[held], n_idx[held]
    return p_idx, n_idx, qp


def _frame(arrays, end, value: str = "quantity") -> pd.DataFrame:
    """Snapshot positions dated on or before ``end`` (later ones start after the window's last period start) as a
    frame (p_idx, date, asset_key, ``value``)."""
    p, d, k, v = arrays
    keep = d <= np.datetime64(end, "D")
    return pd.DataFrame({"p_idx": p[keep], "date": d[keep], "asset_key": k[keep], value: v[keep]})


def _linked(pair_q, n_owners: int, shared, linking, contributions: bool = False):
    """Daily effects (owners x T x 7), linked effects (owners x 7) and, with ``contributions``, each held
    (owner, bond) pair's linked contribution (K x 5), from sparse daily quantities (``_pair_quantities``)."""
    p_idx, n_idx, qp = pair_q
    p_idx, n_idx = p_idx.astype(np.int64), n_idx.astype(np.int64)
    kernels = _kernels()
    x = kernels["values"](qp, shared["priced"], p_idx, n_idx, n_owners)  # T x P x 8
    nav = x[..., 7]
    if (nav <= 0).any():
        raise ValueError("holdings: a portfolio has a non-positive value on some day of the window")
    daily = (x[..., :7] / nav[..., None]).transpose(1, 0, 2)
    coef = link_coefficients(daily[..., -1], np.zeros(daily.shape[:2]), linking)
    port = np.sum(daily * coef[..., None], axis=1)
    bonds = None
    if contributions:
        bonds = kernels["pairs"](qp, shared["dirty_prev"], nav, np.ascontiguousarray(coef.T), shared["effects"],
                                 p_idx, n_idx, np.array(BOND_EFFECTS, dtype=np.int64))
    return daily, port, bonds


def _fill_pairs(q_snap, which, owner_row, n_idx):
    """Quantity of each pair k on each day t: its owner's snapshot in effect that day, at the pair's bond
    (T x K, filled in place of two index temporaries of T x K int64)."""
    out = np.empty((which.shape[1], len(n_idx)))
    for t in range(which.shape[1]):
        for k in range(len(n_idx)):
            out[t, k] = q_snap[which[owner_row[k], t], n_idx[k]]
    return out


def _pair_values(qp, priced, p_idx, n_idx, n_owners):
    """Each owner's value-weighted effects and value per day (T x P x 8): the sum over its held pairs of quantity
    x price-weighted effects; a loop over days and pairs instead of a batched dense product."""
    out = np.zeros((qp.shape[0], n_owners, priced.shape[2]))
    for t in range(qp.shape[0]):
        for k in range(len(p_idx)):
            w = qp[t, k]
            if w != 0.0:
                p, n = p_idx[k], n_idx[k]
                for c in range(priced.shape[2]):
                    out[t, p, c] += w * priced[t, n, c]
    return out


def _pair_contributions(qp, dirty_prev, nav, coef_t, e7, p_idx, n_idx, effects):
    """Linked contribution of each (portfolio, bond) pair: sum over days of its weight x link coefficient x
    effect (K x len(effects)); a loop over days and pairs that reads the arrays in place (no K x T x 7 gathers)."""
    out = np.zeros((len(p_idx), len(effects)))
    # Days outer, pairs inner: each day's rows stay in cache; every sum still runs over days in order.
    for t in range(qp.shape[0]):
        for k in range(len(p_idx)):
            p, n = p_idx[k], n_idx[k]
            cw = qp[t, k] * dirty_prev[t, n] / nav[t, p] * coef_t[t, p]
            for j in range(len(effects)):
                out[k, j] += cw * e7[t, n, effects[j]]
    return out


_JIT: dict = {}


def _kernels() -> dict:
    """The compiled pair loops (compiled on first use, cached on disk, so importing the job costs nothing)."""
    if "pairs" not in _JIT:
        from numba import njit

        _JIT["pairs"] = njit(cache=True)(_pair_contributions)
        _JIT["values"] = njit(cache=True)(_pair_values)
        _JIT["fill"] = njit(cache=True)(_fill_pairs)
    return _JIT


def _pair_kernel():
    """The compiled per-pair contribution loop (``_pair_contributions``)."""
    return _kernels()["pairs"]


def compute(shared, payload, params) -> pa.Table:
    """Linked Campisi effects per portfolio, its benchmark and their difference, plus per-bond contributions."""
    ids, pids = shared["bond_ids"], payload["pids"]
    p_idx, n_idx, _ = payload["pairs"]
    daily, port, sel = _linked(payload["pairs"], len(pids), shared, params["linking"], contributions=True)
    total = np.prod(1 + daily[..., -1], axis=1) - 1
    parts = [0, 1, 4, 5]  # income + treasury + spread + selection = total
    gap = np.abs(port[:, parts].sum(1) - total)
    if (gap > RECONCILE_TOL).any():
        raise RuntimeError(f"campisi: linked effects miss the compounded return by {gap.max():.3g}")
    names = PORTFOLIO_EFFECTS
    frames = [grid_results(pids, names, port)]
    bench = payload["bench"]
    if (bench >= 0).any():
        b = shared["bench_linked"][np.maximum(bench, 0)]
        b[bench < 0] = np.nan
        frames.append(grid_results(pids, [f"benchmark_{n}" for n in names], b))
        frames.append(grid_results(pids, [f"active_{n}" for n in names], port - b))
    frames.append(results_frame(coded(pids, np.repeat(p_idx, 5)), coded(ids, np.repeat(n_idx, 5)),
                                coded(EFFECTS, np.tile(np.arange(5), len(p_idx))), sel.ravel()))
    return concat_results(frames)


def validate(params) -> None:
    """Check parameters before any work starts (errors name the CLI option)."""
    from risk._checks import check_choice, check_positive_int
    from risk.linking import LINKINGS

    check_positive_int(params["periods"], "--periods")
    check_choice(params["linking"], "--linking", LINKINGS)
