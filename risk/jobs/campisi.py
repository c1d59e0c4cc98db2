"""Batch Campisi job: daily per-bond effects over the window, weighted into portfolios and linked."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from risk.campisi import campisi_arrays
from risk.jobs.common import (portfolio_window, coded, concat_results, benchmark_snapshots, chunk_rows, daily_quantities, daily_range, grid_results,
                               key_positions, results_frame)
from risk.linking import link_coefficients
from risk.schema import GOV_CURVE

KINDS = ("bond",)
TABLES = ("holdings", "bond_analytics", "bonds", "curves", "benchmark_weights", "portfolios")
PACKS = ("holdings", "bond_analytics", "benchmark_weights", "asset_returns")
DEFAULTS = {"periods": 250, "linking": "carino"}
EFFECTS = ["income", "treasury", "spread", "selection", "total"]
PORTFOLIO_EFFECTS = ["income", "treasury", "treasury_shift", "treasury_twist", "spread", "selection", "total"]
RECONCILE_TOL = 1e-9
BOND_EFFECTS = [0, 1, 4, 5, 6]  # per-bond rows: income, treasury, spread, selection, total


def load(con, date, chunks, params):
    """Per-bond daily Campisi effects (shared) and daily bond weights of each portfolio and benchmark."""
    pids, days, snap, bmap = portfolio_window(con, date, chunks, params["periods"])
    bids = sorted({b for b in bmap.values() if b})
    bw = pd.DataFrame({"portfolio_id": [], "p_idx": np.array([], np.int64), "date": [], "asset_key": np.array([], np.int64),
                       "weight": []})
    if bids:
        bw = benchmark_snapshots(con, bids, days[0].item(), days[-2].item())
    keys = np.union1d(snap.asset_key.to_numpy(), bw.asset_key.to_numpy()).astype(np.int64)
    # Keys go as one list parameter and come back as arrays (no registration, no pandas); reordered to ``keys``.
    res = con.execute("""SELECT a.asset_key, a.asset_id, b.coupon_rate, b.maturity_date
                           FROM assets a LEFT JOIN bonds b ON b.asset_id = a.asset_id
                          WHERE a.asset_key IN (SELECT unnest($keys))""", {"keys": keys.tolist()}).fetchnumpy()
    at = key_positions(np.asarray(res["asset_key"], dtype=np.int64), keys)
    bond_ids = np.asarray(res["asset_id"], dtype=object)[at]
    coupon = res["coupon_rate"]
    missing = np.ma.getmaskarray(coupon)[at] | np.isnan(np.ma.filled(coupon.astype(float), np.nan)[at])
    if missing.any():
        raise ValueError(f"bonds: held asset {bond_ids[int(np.argmax(missing))]!r} is not a bond in the bonds table; "
                         "Campisi takes bond portfolios")
    coupon = np.ma.getdata(coupon).astype(float)[at]
    maturity = np.asarray(np.ma.getdata(res["maturity_date"]), dtype="datetime64[D]")[at]
    first = min(np.datetime64(bw.date.min(), "D"), days[0]) if len(bw) else days[0]
    ext, m = daily_range(con, keys, first, days[-1], "bond_analytics",
                         ["dirty_price", "coupon_paid", "spread", "mod_duration", "spread_duration"])
    if len(ext) < len(days) or (ext[len(ext) - len(days):] != days).any():
        raise ValueError(f"bond_analytics: the window {days[0]}..{days[-1]} has days without bond analytics")
    off = len(ext) - len(days)
    a = {k: v[off:] for k, v in m.items()}
    curve = con.sql("SELECT date, tenor_years, yield FROM curves WHERE curve_id = $c AND date BETWEEN $s AND $e ORDER BY date, tenor_years",
                    params={"c": GOV_CURVE, "s": days[0].item(), "e": days[-1].item()}).fetchnumpy()
    tenors = np.unique(curve["tenor_years"])
    cdays = np.unique(np.asarray(curve["date"], dtype="datetime64[D]"))
    if len(cdays) != len(days) or (cdays != days).any() or len(curve["yield"]) != len(days) * len(tenors):
        raise ValueError(f"curves: the {GOV_CURVE} curve must have every tenor on every trading day of the window")
    ylds = np.asarray(curve["yield"]).reshape(len(days), len(tenors))
    mat = maturity
    tau_prev = (mat[None, :] - days[:-1, None]).astype(np.int64) / 365.0  # remaining life at each period start
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
        bw["quantity"] = bw.weight.to_numpy() / m["dirty_price"][day_pos, key_pos]
        bq = daily_quantities(bw, len(bids), keys, days[:-1], time_major=True)
        shared["bench_linked"] = _linked(bq, shared, params["linking"])[1]
        shared["bench_ids"] = bids
    out, lo = [], 0
    for c in chunks:
        q = daily_quantities(chunk_rows(snap, lo, len(c)), len(c), keys, days[:-1], time_major=True)
        lo += len(c)
        out.append({"pids": list(c), "quantities": q,
                    "bench": np.array([bids.index(bmap[p]) if bmap.get(p) else -1 for p in c])})
    return shared, out


def _linked(q, shared, linking, pairs=None):
    """Daily portfolio effects (P x T x 7), linked effects (P x 7) and, for the (portfolio, bond) index ``pairs``,
    each pair's linked contribution (K x 5), from daily quantities (T x P x N, time-major so the batched
    product runs on contiguous BLAS blocks)."""
    x = np.matmul(q, shared["priced"])  # T x P x 8
    nav = x[..., 7]
    if (nav <= 0).any():
        raise ValueError("holdings: a portfolio has a non-positive value on some day of the window")
    daily = (x[..., :7] / nav[..., None]).transpose(1, 0, 2)
    coef = link_coefficients(daily[..., -1], np.zeros(daily.shape[:2]), linking)
    port = np.sum(daily * coef[..., None], axis=1)
    bonds = None
    if pairs is not None:
        # Only bonds a portfolio held at some point: a (1 x T) @ (T x 5) product per pair, not the dense P x N x T.
        p_idx, n_idx = pairs
        bonds = _pair_kernel()(q, shared["dirty_prev"], nav, np.ascontiguousarray(coef.T), shared["effects"],
                               p_idx.astype(np.int64), n_idx.astype(np.int64), np.array(BOND_EFFECTS, dtype=np.int64))
    return daily, port, bonds


def _pair_contributions(q, dirty_prev, nav, coef_t, e7, p_idx, n_idx, effects):
    """Linked contribution of each (portfolio, bond) pair: sum over days of its weight x link coefficient x
    effect (K x len(effects)); a loop over pairs and days that reads the arrays in place (no K x T x 7 gathers)."""
    out = np.zeros((len(p_idx), len(effects)))
    for k in range(len(p_idx)):
        p, n = p_idx[k], n_idx[k]
        for t in range(q.shape[0]):
            cw = q[t, p, n] * dirty_prev[t, n] / nav[t, p] * coef_t[t, p]
            for j in range(len(effects)):
                out[k, j] += cw * e7[t, n, effects[j]]
    return out


_JIT: dict = {}


def _pair_kernel():
    # Compiled on first use (cached on disk), so importing the job costs nothing.
    if "pairs" not in _JIT:
        from numba import njit

        _JIT["pairs"] = njit(cache=True)(_pair_contributions)
    return _JIT["pairs"]


def compute(shared, payload, params) -> pa.Table:
    """Linked Campisi effects per portfolio, its benchmark and their difference, plus per-bond contributions."""
    ids, pids, q = shared["bond_ids"], payload["pids"], payload["quantities"]
    p_idx, n_idx = np.nonzero(np.abs(q).sum(0))
    daily, port, sel = _linked(q, shared, params["linking"], (p_idx, n_idx))
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
