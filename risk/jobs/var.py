"""Batch VaR/ES job: current holdings revalued over the last ``window`` days of asset returns."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from risk.backtest import basel_zone, christoffersen, kupiec
from risk.jobs.common import check_complete, grid_results, key_positions, select_keys, snapshot_arrays, window_start
from risk.jobs.kernels import portfolio_returns_kernel
from risk.packed_reads import daily_part, decode_daily, decode_effective, effective_part, run_parts
from risk.var import value_at_risk

KINDS = ("equity", "bond", "mixed")
TABLES = ("holdings", "prices", "asset_returns")
PACKS = ("holdings", "prices", "asset_returns")
DEFAULTS = {"method": "historical", "confidences": [0.95, 0.99], "horizon": 1, "scaling": "sqrt",
            "window": 250, "backtest_days": 0}
ZONE_CODE = {"green": 0.0, "yellow": 1.0, "red": 2.0}
# run_job may start this job's load on a second cursor before the guard and the plan confirm its arguments
# (risk.speculation): the load reads the database only through its arguments (as-of day, chunks, load parameters).
SPECULATIVE_LOAD = True


def metric_suffix(c: float) -> str:
    """'99' for 0.99, '97.5' for 0.975: the suffix used in metric names."""
    return f"{c * 100:g}"


def window_length(params) -> int:
    """Trading days of returns the job reads up to the as-of date."""
    return params["window"] + params["backtest_days"]


def input_parts(date, pids, params) -> list:
    """The parts of the job's input statement (``packed_reads``) for the window starting on ``params['_window_start']``:
    the holdings snapshots in effect on the date (the packs' next_date range test), the window's returns and the
    as-of closes (a trading day with returns)."""
    return [effective_part("holdings", date, date, pids),
            daily_part("asset_returns", ["ret"], params["_window_start"], date),
            daily_part("prices", ["close"], date, date)]


def load(con, date, chunks, params):
    """Weights, NAVs and the shared (days x assets) return matrix for every chunk of portfolios."""
    pids = [p for c in chunks for p in c]
    n_days = window_length(params)
    first = window_start(con, date, params, n_days)
    rows, ret_t, px_t = run_parts(con, input_parts(date, pids, dict(params, _window_start=first)))
    p_idx, _, h_key, h_qty = snapshot_arrays("holdings", pids, date, decode_effective(rows, pids, date), True)
    keys = np.unique(h_key)
    days, r, lo = decode_daily(ret_t, ["ret"])
    pday, px, plo = decode_daily(px_t, ["close"])
    if len(days) < n_days:
        raise ValueError(f"--window: needs {n_days} trading days up to {date}, the database has {len(days)}")
    r = check_complete(con, select_keys(r["ret"], keys, lo), keys, days, "asset_returns", "ret")
    px = select_keys(px["close"], keys, plo) if len(pday) else np.full((1, len(keys)), np.nan)
    px = check_complete(con, px, keys, days[-1:], "prices", "close")[0]
    a_idx = key_positions(keys, h_key)
    mv = h_qty * px[a_idx]
    nav = np.bincount(p_idx, weights=mv, minlength=len(pids))
    bad = nav <= 0
    if bad.any():
        raise ValueError(f"holdings: portfolio {pids[int(np.argmax(bad))]!r} has a non-positive NAV {nav[bad][0]:.6g}")
    w = mv / nav[p_idx]
    # Chunks carry their positions sparse (a few dozen per portfolio), not dense assets x portfolios
    # matrices: ten times less to ship to Dask workers.
    out, lo = [], 0
    for c in chunks:
        m = (p_idx >= lo) & (p_idx < lo + len(c))
        out.append({"pids": list(c), "assets": a_idx[m], "cols": p_idx[m] - lo, "w": w[m], "nav": nav[lo:lo + len(c)]})
        lo += len(c)
    return {"returns": r}, out


def compute(shared, payload, params) -> pa.Table:
    """VaR/ES (as returns and amounts) per portfolio and confidence; optional rolling backtest."""
    r, nav, pids = shared["returns"], payload["nav"], payload["pids"]
    win, bt = params["window"], params["backtest_days"]
    # All portfolio return series in one compiled pass over the positions (a few dozen per portfolio): the dense
    # (days x assets) @ (assets x portfolios) product does 17 times the multiplications and, through a threaded
    # BLAS, slowed to 5-10 ms on the shared 2 cores (measured).
    x = portfolio_returns_kernel()(np.ascontiguousarray(r.T), np.asarray(payload["assets"], dtype=np.int64),
                                   np.asarray(payload["cols"], dtype=np.int64), np.asarray(payload["w"], dtype=float),
                                   len(pids)).T
    metrics, cols = ["nav", "volatility"], [nav, x[-win:].std(axis=0, ddof=1)]
    for c in params["confidences"]:
        res = value_at_risk(x[-win:], method=params["method"], confidence=c, horizon=params["horizon"],
                            scaling=params["scaling"])
        s = metric_suffix(c)
        metrics += [f"var_{s}", f"es_{s}", f"var_{s}_amount", f"es_{s}_amount"]
        cols += [res.var, res.es, res.var * nav, res.es * nav]
        if bt:
            f = np.array([value_at_risk(x[t - win:t], method=params["method"], confidence=c).var
                          for t in range(x.shape[0] - bt, x.shape[0])])  # forecast for day t from the days before
            hits = -x[-bt:] > f
            cc = [christoffersen(hits[:, j], p=1 - c) for j in range(len(pids))]
            n_exc = hits.sum(axis=0)
            metrics += [f"exceptions_{s}", f"kupiec_p_{s}", f"christoffersen_p_{s}", f"cc_p_{s}", f"basel_zone_{s}"]
            cols += [n_exc.astype(float), np.array([kupiec(int(e), bt, 1 - c).p_value for e in n_exc]),
                     np.array([v.p_value for v in cc]), np.array([v.cc_p_value for v in cc]),
                     np.array([ZONE_CODE[basel_zone(int(e), bt, 1 - c).zone] for e in n_exc])]
    return grid_results(pids, metrics, np.column_stack(cols))


def validate(params) -> None:
    """Check parameters before any work starts (errors name the CLI option)."""
    from risk._checks import check_choice, check_positive_int, check_probability
    from risk.var import ALIASES, METHODS, SCALINGS

    check_choice(ALIASES.get(params["method"], params["method"]), "--method", METHODS)
    cs = params["confidences"]
    if not isinstance(cs, (list, tuple)) or not cs:
        raise ValueError("--confidence: give at least one confidence level")
    for c in cs:
        check_probability(c, "--confidence")
    check_positive_int(params["horizon"], "--horizon")
    check_choice(params["scaling"], "--scaling", SCALINGS)
    check_positive_int(params["window"], "--window")
    if params["window"] < 2 * params["horizon"] or params["window"] < 20:
        raise ValueError(f"--window: {params['window']} days is too short (at least 20 and twice the horizon)")
    if isinstance(params["backtest_days"], bool) or not isinstance(params["backtest_days"], int) or params["backtest_days"] < 0:
        raise ValueError(f"--backtest-days: must be a non-negative integer, got {params['backtest_days']!r}")
