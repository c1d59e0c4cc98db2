"""ARIMA on each contract's log series: statsmodels estimates, a causal ARMA recursion forecasts.

Estimating an ARIMA at every forecast origin of every contract costs tens of
milliseconds a call, which would dominate the whole evaluation. So the
parameters are estimated by statsmodels (exact likelihood) on the trailing
window at the first origin and every ``refit_every`` origins after, and the
forecasts at each origin come from the conditional ARMA recursion with those
parameters, run over data up to that origin only. tests/test_forecast_models.py
checks the recursion against statsmodels' own Kalman-filter forecasts.
"""
from __future__ import annotations

import warnings

import numpy as np

from .schema import HORIZON

DEFAULT_ORDER = (1, 1, 1)


def fit_arima(y: np.ndarray, order: tuple[int, int, int] = DEFAULT_ORDER) -> dict:
    """Estimate ARIMA(p, d, q) (d in {0, 1}; a mean when d = 0) on ``y`` with statsmodels."""
    from statsmodels.tsa.arima.model import ARIMA

    p, d, q = order
    if d not in (0, 1) or p < 0 or q < 0:
        raise ValueError(f"order: need p, q >= 0 and d in {{0, 1}}, got {order}")
    from threadpoolctl import threadpool_limits

    # one BLAS thread: the state-space matrices are tiny, and extra threads only fight on a shared machine
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # convergence chatter on short series; forecasts are sanity-checked
        res = ARIMA(np.asarray(y, dtype=float), order=order, trend="c" if d == 0 else "n").fit()
    names = list(res.model.param_names)
    par = dict(zip(names, np.asarray(res.params, dtype=float)))
    return {
        "order": order,
        "mean": par.get("const", 0.0),
        "ar": np.array([par[f"ar.L{i}"] for i in range(1, p + 1)]),
        "ma": np.array([par[f"ma.L{i}"] for i in range(1, q + 1)]),
    }


def recursion_forecast(y: np.ndarray, params: dict, origins: np.ndarray, start: int = 0) -> np.ndarray:
    """Forecasts of y at T+1..T+5 for each origin T, from the ARMA recursion over y[start: T + 1] only."""
    d = params["order"][1]
    ar, ma, mu = params["ar"], params["ma"], params["mean"]
    p, q = len(ar), len(ma)
    y = np.asarray(y, dtype=float)
    w_full = np.diff(y) if d == 1 else y - mu
    off = 1 if d == 1 else 0  # w[t - off] is the step ending at y[t]
    out = np.empty((len(origins), HORIZON))
    lo = max(0, start - off)
    last = int(np.max(origins)) - off if len(origins) else lo
    e = np.zeros(max(last + 1, 0))
    # residuals are causal: e[t] uses w up to t only, so one pass serves every origin
    for t in range(lo, last + 1):
        pred = 0.0
        for i in range(1, p + 1):
            if t - i >= lo:
                pred += ar[i - 1] * w_full[t - i]
        for j in range(1, q + 1):
            if t - j >= lo:
                pred += ma[j - 1] * e[t - j]
        e[t] = w_full[t] - pred
    for k, o in enumerate(np.asarray(origins, dtype=int)):
        t0 = o - off
        hist_w = [w_full[t0 - i] if t0 - i >= lo else 0.0 for i in range(p)]  # w_T, w_{T-1}, ...
        hist_e = [e[t0 - j] if t0 - j >= lo else 0.0 for j in range(q)]
        fw = []
        for h in range(HORIZON):
            val = sum(ar[i] * hist_w[i] for i in range(p)) + sum(ma[j] * hist_e[j] for j in range(q))
            fw.append(val)
            hist_w = [val] + hist_w[:-1] if p else hist_w
            hist_e = [0.0] + hist_e[:-1] if q else hist_e
        fw = np.asarray(fw)
        out[k] = y[o] + np.cumsum(fw) if d == 1 else mu + fw
    return out


def arima_forecast(series: np.ndarray, origins: np.ndarray, order: tuple[int, int, int] = DEFAULT_ORDER,
                   refit_every: int = 20, window: int = 250, min_obs: int = 20, on_step=None) -> np.ndarray:
    """Forecast a series (levels) for T+1..T+5 at each origin index, using only series[: origin + 1].

    The model is fitted on log1p(series). With fewer than ``min_obs``
    observations, or a diverging forecast, the forecast is the last value
    (random walk). Returns levels, shape (len(origins), 5).
    """
    if refit_every < 1 or window < 10 or min_obs < 5:
        raise ValueError("refit_every >= 1, window >= 10 and min_obs >= 5 are required")
    y = np.log1p(np.asarray(series, dtype=float))
    origins = np.asarray(origins, dtype=int)
    if len(origins) and np.any(np.diff(origins) < 0):
        raise ValueError("origins: must be sorted")
    out = np.repeat(y[origins][:, None], HORIZON, axis=1)
    k = 0
    while k < len(origins):
        o = origins[k]
        if o + 1 < min_obs:
            k += 1
            continue
        lo = max(0, o + 1 - window)
        params = fit_arima(y[lo: o + 1], order)
        seg = origins[(origins >= o) & (origins < o + refit_every)]
        f = recursion_forecast(y, params, seg, start=lo)
        ok = np.all(np.isfinite(f), axis=1) & np.all(np.abs(f - y[seg][:, None]) < 5.0, axis=1)
        out[k:k + len(seg)] = np.where(ok[:, None], f, out[k:k + len(seg)])
        k += len(seg)
        if on_step is not None:
            on_step()
    return np.expm1(out)
