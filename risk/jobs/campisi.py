"""Batch Campisi job: daily per-bond effects over the window, weighted into portfolios and linked."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from risk.campisi import campisi_arrays
from risk.jobs.common import (portfolio_window, coded, concat_results, benchmark_snapshots, chunk_rows, daily_matrices, daily_quantities, grid_results,
                               key_positions, results_frame)
from risk.linking import link_coefficients
from risk.schema import GOV_CURVE
from risk.store import trading_days_between

KINDS = ("bond",)
TABLES = ("holdings", "bond_analytics", "bonds", "curves", "benchmark_weights", "portfolios")
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
    ext = trading_days_between(con, first, days[-1])
    m = daily_matrices(con, keys, ext, "bond_analytics",
                       ["dirty_price", "coupon_paid", "spread", "mod_duration", "spread_duration"])
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
    shared = {"effects": e7, "bond_ids": bond_ids}
    if len(bw):
        key_pos = key_positions(keys, bw.asset_key.to_numpy())
        day_pos = np.searchsorted(ext, np.asarray(bw.date.to_numpy(), dtype="datetime64[D]"))
        bw["quantity"] = bw.weight.to_numpy() / m["dirty_price"][day_pos, key_pos]
        bench_w = _weights(daily_quantities(bw, len(bids), keys, days[:-1]), dirty_prev)
        shared["bench_linked"] = _linked(bench_w, e7, params["linking"])[1]
        shared["bench_ids"] = bids
    out, lo = [], 0
    for c in chunks:
        q = daily_quantities(chunk_rows(snap, lo, len(c)), len(c), keys, days[:-1])
        lo += len(c)
        out.append({"pids": list(c), "weights": _weights(q, dirty_prev),
                    "bench": np.array([bids.index(bmap[p]) if bmap.get(p) else -1 for p in c])})
    return shared, out


def _weights(q, dirty_prev):
    mv = q * dirty_prev[None]
    nav = mv.sum(-1, keepdims=True)
    if (nav <= 0).any():
        raise ValueError("holdings: a portfolio has a non-positive value on some day of the window")
    return mv / nav


def _linked(w, e7, linking, pairs=None):
    """Daily portfolio effects (P x T x 7), linked effects (P x 7) and, for the (portfolio, bond) index ``pairs``,
    each pair's linked contribution (K x 5)."""
    daily = np.matmul(w.transpose(1, 0, 2), e7).transpose(1, 0, 2)  # batched BLAS, not a slow einsum loop
    coef = link_coefficients(daily[..., -1], np.zeros(daily.shape[:2]), linking)
    port = np.sum(daily * coef[..., None], axis=1)
    bonds = None
    if pairs is not None:
        # Only bonds a portfolio held at some point: a (1 x T) @ (T x 5) product per pair, not the dense P x N x T.
        p_idx, n_idx = pairs
        cw = w[p_idx, :, n_idx] * coef[p_idx]  # K x T
        bonds = np.matmul(cw[:, None, :], e7[:, n_idx][..., BOND_EFFECTS].transpose(1, 0, 2))[:, 0]  # K x 5
    return daily, port, bonds


def compute(shared, payload, params) -> pa.Table:
    """Linked Campisi effects per portfolio, its benchmark and their difference, plus per-bond contributions."""
    e7, ids, pids = shared["effects"], shared["bond_ids"], payload["pids"]
    p_idx, n_idx = np.nonzero(np.abs(payload["weights"]).sum(1))
    daily, port, sel = _linked(payload["weights"], e7, params["linking"], (p_idx, n_idx))
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
