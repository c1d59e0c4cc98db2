"""Value at risk and expected shortfall: historical, delta-normal, Monte Carlo and filtered HS.

All methods work on a matrix of portfolio series at once (T observations x P
portfolios), so a batch of thousands of portfolios costs one matrix product and
one sort along the time axis rather than a Python loop per portfolio.
Losses are reported as positive numbers; a VaR below zero means even the tail
quantile is a gain.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri

from risk._checks import (
    as_float_array, check_choice, check_positive_int, check_probability, check_weights_sum,
)
from risk.volatility import ewma_variance, garch11_fit

METHODS = ("historical", "parametric", "mc-normal", "mc-t", "fhs-ewma", "fhs-garch")
ALIASES = {"hs": "historical", "delta-normal": "parametric", "normal": "parametric",
           "mc": "mc-normal", "fhs": "fhs-ewma"}
SCALINGS = ("sqrt", "overlapping")


@dataclass(frozen=True)
class VaRResult:
    """VaR and ES as positive losses: floats for one series, arrays (one per portfolio) for many."""

    var: Any
    es: Any
    method: str
    confidence: float
    horizon: int
    scaling: str


def rolling_horizon(x: np.ndarray, horizon: int, returns: bool = True) -> np.ndarray:
    """Overlapping ``horizon``-day aggregates along axis 0: compounded returns, or summed P&L."""
    if horizon == 1:
        return x
    if x.shape[0] < horizon:
        raise ValueError(f"horizon: {horizon} days exceeds the {x.shape[0]} observations available")
    y = np.log1p(x) if returns else x
    c = np.cumsum(np.concatenate([np.zeros((1,) + y.shape[1:]), y]), axis=0)
    s = c[horizon:] - c[:-horizon]
    return np.expm1(s) if returns else s


def empirical_var_es(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """VaR and ES along axis 0 from an empirical distribution of returns or P&L.

    VaR is minus numpy's linearly interpolated quantile at ``1 - confidence``;
    ES is minus the mean of the ``floor((n - 1) * (1 - confidence)) + 1``
    lowest observations, i.e. every observation at or below that quantile.
    """
    n = x.shape[0]
    a = 1.0 - confidence
    xs = np.sort(x, axis=0)
    var = -np.quantile(xs, a, axis=0)
    k = int(np.floor((n - 1) * a)) + 1
    es = -np.mean(xs[:k], axis=0)
    return var, es


def _factor_from_data(r: np.ndarray) -> np.ndarray:
    """A matrix F with F.T @ F equal to the sample covariance (ddof=1) of ``r``, valid even when singular."""
    return (r - r.mean(axis=0)) / np.sqrt(r.shape[0] - 1)


def _factor_from_cov(cov: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    if vals.min() < -1e-10 * max(1.0, abs(vals.max())):
        raise ValueError(f"cov: must be positive semi-definite, smallest eigenvalue {vals.min():.3g}")
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))).T


def _simulate(mu: np.ndarray, fw: np.ndarray, method: str, n_sims: int, seed: int, df: float) -> np.ndarray:
    """Simulated portfolio outcomes (n_sims x P) given means and a covariance factor times weights."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_sims, fw.shape[0]))
    sims = z @ fw
    if method == "mc-t":
        # Multivariate t with the sample covariance: scale matrix = cov * (df - 2) / df.
        w = rng.chisquare(df, size=(n_sims, 1))
        sims *= np.sqrt((df - 2.0) / w)
    return mu + sims


def value_at_risk(
    data: Any,
    weights: Any = None,
    method: str = "historical",
    confidence: float = 0.99,
    horizon: int = 1,
    scaling: str = "sqrt",
    *,
    returns: bool = True,
    cov: Any = None,
    mean: Any = None,
    zero_mean: bool = False,
    df: float = 5.0,
    n_sims: int = 50_000,
    seed: int = 0,
    lam: float = 0.94,
    check_weights: bool = True,
) -> VaRResult:
    """VaR and ES of one or many portfolios (see docs/risk.md for every method's definition).

    ``data`` is a 1-D series of portfolio returns (or P&L with ``returns=False``),
    a T x P matrix of P portfolio series, or a T x N matrix of asset returns
    with ``weights`` of shape (N,) or (N, P). ``cov``/``mean`` may replace the
    data for the parametric and Monte Carlo methods.
    """
    method = ALIASES.get(method, method)
    check_choice(method, "method", METHODS)
    confidence = check_probability(confidence, "confidence")
    horizon = check_positive_int(horizon, "horizon")
    check_choice(scaling, "scaling", SCALINGS)
    if method.startswith("fhs") and scaling == "overlapping":
        raise ValueError("scaling: 'overlapping' is not available with filtered historical simulation; use 'sqrt'")
    if cov is not None and method in ("historical", "fhs-ewma", "fhs-garch"):
        raise ValueError(f"cov: only used by the parametric and Monte Carlo methods, not {method!r}")

    scalar, w = False, None
    if weights is not None:
        w = as_float_array(weights, "weights", ndim=(1, 2))
        scalar = w.ndim == 1
        w = w.reshape(w.shape[0], -1)
        if check_weights:
            check_weights_sum(w, "weights", axis=0)

    if cov is not None:
        return _from_covariance(cov, mean, w, scalar, method, confidence, horizon, scaling,
                                zero_mean, df, n_sims, seed)

    r = as_float_array(data, "data", ndim=(1, 2))
    if r.ndim == 1:
        if w is not None:
            raise ValueError("weights: only allowed with a 2-D matrix of asset returns (T x N)")
        scalar, r = True, r[:, None]
    if w is not None and w.shape[0] != r.shape[1]:
        raise ValueError(f"weights: {w.shape[0]} rows but data has {r.shape[1]} asset columns")
    if r.shape[0] < 2:
        raise ValueError(f"data: need at least 2 observations, got {r.shape[0]}")

    h_data = horizon if scaling == "overlapping" else 1
    factor = np.sqrt(horizon) if scaling == "sqrt" else 1.0

    if method in ("historical", "fhs-ewma", "fhs-garch"):
        x = r if w is None else r @ w
        if method == "fhs-ewma":
            s2, f = ewma_variance(x, lam)
            x = x / np.sqrt(s2) * np.sqrt(f)
        elif method == "fhs-garch":
            cols = []
            for j in range(x.shape[1]):  # one likelihood fit per portfolio: inherently sequential
                g = garch11_fit(x[:, j])
                cols.append(x[:, j] / np.sqrt(g.sigma2) * np.sqrt(g.forecast))
            x = np.column_stack(cols)
        x = rolling_horizon(x, h_data, returns)
        var, es = empirical_var_es(x, confidence)
        var, es = var * factor, es * factor
    else:
        a = rolling_horizon(r, h_data, returns)
        if a.shape[0] < 2:
            raise ValueError(f"horizon: too few {h_data}-day windows to estimate a covariance")
        ww = np.eye(a.shape[1]) if w is None else w
        mu = np.zeros(ww.shape[1]) if zero_mean else a.mean(axis=0) @ ww
        # The smaller factor (assets when N <= T, else the demeaned observations) keeps simulation cheap.
        fw = (_factor_from_cov(np.cov(a, rowvar=False).reshape(a.shape[1], a.shape[1]))
              if a.shape[1] <= a.shape[0] else _factor_from_data(a)) @ ww
        var, es = _moments_var(mu, fw, method, confidence, horizon, scaling, df, n_sims, seed)

    if scalar:
        return VaRResult(float(var[0]), float(es[0]), method, confidence, horizon, scaling)
    return VaRResult(var, es, method, confidence, horizon, scaling)


def _moments_var(mu, fw, method, confidence, horizon, scaling, df, n_sims, seed):
    if method == "parametric":
        sigma = np.sqrt(np.sum(fw * fw, axis=0))
        z = ndtri(confidence)
        if scaling == "sqrt":  # exact for i.i.d. normal days: mean grows with h, sigma with sqrt(h)
            mu, sigma = mu * horizon, sigma * np.sqrt(horizon)
        var = -mu + z * sigma
        es = -mu + sigma * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi) / (1.0 - confidence)
        return var, es
    if method == "mc-t" and not df > 2:
        raise ValueError(f"df: Student-t degrees of freedom must exceed 2, got {df}")
    n_sims = check_positive_int(n_sims, "n_sims")
    sims = _simulate(mu, fw, method, n_sims, seed, df)
    var, es = empirical_var_es(sims, confidence)
    f = np.sqrt(horizon) if scaling == "sqrt" else 1.0
    return var * f, es * f


def _from_covariance(cov, mean, w, scalar, method, confidence, horizon, scaling, zero_mean, df, n_sims, seed):
    if method not in ("parametric", "mc-normal", "mc-t"):
        raise ValueError(f"cov: not used by method {method!r}")
    if scaling == "overlapping":
        raise ValueError("scaling: 'overlapping' needs return data; a covariance matrix is one-horizon")
    c = as_float_array(cov, "cov", ndim=(2,))
    n = c.shape[0]
    if c.shape != (n, n) or not np.allclose(c, c.T, rtol=1e-10, atol=1e-14):
        raise ValueError(f"cov: must be a symmetric square matrix, got shape {c.shape}")
    if w is None:
        if n != 1:
            raise ValueError("weights: required with an N x N covariance matrix")
        w, scalar = np.ones((1, 1)), True
    if w.shape[0] != n:
        raise ValueError(f"weights: {w.shape[0]} rows but cov is {n} x {n}")
    m = np.zeros(n) if (mean is None or zero_mean) else as_float_array(mean, "mean", ndim=(1,))
    if m.shape[0] != n:
        raise ValueError(f"mean: {m.shape[0]} entries but cov is {n} x {n}")
    var, es = _moments_var(m @ w, _factor_from_cov(c) @ w, method, confidence, horizon, scaling, df, n_sims, seed)
    if scalar:
        return VaRResult(float(var[0]), float(es[0]), method, confidence, horizon, scaling)
    return VaRResult(var, es, method, confidence, horizon, scaling)
