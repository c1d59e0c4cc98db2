"""Volatility filters for filtered historical simulation: EWMA (RiskMetrics) and GARCH(1,1)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk._checks import as_float_array, check_probability

# Seed window for the recursions: the first variance is the mean square of
# the first observations (RiskMetrics practice), not a look-ahead full-sample variance.
SEED_OBSERVATIONS = 30


def _seed_variance(r: np.ndarray) -> np.ndarray:
    k = min(SEED_OBSERVATIONS, r.shape[0])
    return np.mean(r[:k] ** 2, axis=0)


def ewma_variance(returns: np.ndarray, lam: float = 0.94) -> tuple[np.ndarray, np.ndarray]:
    """EWMA variances of zero-mean returns (T x P or T): in-sample ``sigma2[t]`` and the one-step forecast."""
    r = as_float_array(returns, "returns", ndim=(1, 2))
    lam = check_probability(lam, "lam")
    sigma2 = np.empty_like(r)
    s = _seed_variance(r)
    for t in range(r.shape[0]):  # T steps, each vectorised over all portfolios
        sigma2[t] = s
        s = lam * s + (1.0 - lam) * r[t] ** 2
    return sigma2, s


def _garch_filter_py(r, omega, alpha, beta, s0):
    n = r.shape[0]
    sigma2 = np.empty(n + 1)
    sigma2[0] = s0
    for t in range(n):
        sigma2[t + 1] = omega + alpha * r[t] * r[t] + beta * sigma2[t]
    return sigma2


def _garch_nll_py(r, omega, alpha, beta, s0):
    s2 = s0
    ll = 0.0
    for t in range(r.shape[0]):
        ll += np.log(s2) + r[t] * r[t] / s2
        s2 = omega + alpha * r[t] * r[t] + beta * s2
    return 0.5 * ll


_JIT: dict = {}


def _kernels():
    """Numba-compiled GARCH recursions, compiled on first use so importing risk stays light."""
    if not _JIT:
        from numba import njit

        _JIT["filter"] = njit(cache=True)(_garch_filter_py)
        _JIT["nll"] = njit(cache=True)(_garch_nll_py)
    return _JIT["filter"], _JIT["nll"]


@dataclass(frozen=True)
class Garch11:
    """A fitted zero-mean GARCH(1,1): sigma2[t+1] = omega + alpha r[t]^2 + beta sigma2[t]."""

    omega: float
    alpha: float
    beta: float
    sigma2: np.ndarray  # in-sample conditional variances, one per observation
    forecast: float  # next-day variance


def garch11_fit(returns: np.ndarray) -> Garch11:
    """Fit a zero-mean Gaussian GARCH(1,1) by maximum likelihood (SLSQP, alpha + beta < 1)."""
    from scipy.optimize import minimize

    r = as_float_array(returns, "returns", ndim=(1,))
    if r.size < 20:
        raise ValueError(f"returns: GARCH(1,1) needs at least 20 observations, got {r.size}")
    scale = float(np.std(r)) or 1.0
    z = r / scale  # fit on unit-scale data so the optimiser's tolerances mean the same for any units
    s0 = float(_seed_variance(z))
    var = float(np.mean(z ** 2))

    garch_filter, garch_nll = _kernels()

    def nll(p):
        return garch_nll(z, p[0], p[1], p[2], s0)

    x0 = np.array([var * 0.05, 0.08, 0.87])
    res = minimize(
        nll, x0, method="SLSQP",
        bounds=[(1e-8 * var, 10 * var), (0.0, 1.0), (0.0, 1.0)],
        constraints=[{"type": "ineq", "fun": lambda p: 0.9999 - p[1] - p[2]}],
        options={"ftol": 1e-10, "maxiter": 500},
    )
    omega, alpha, beta = (float(v) for v in res.x)
    sig = garch_filter(z, omega, alpha, beta, s0)
    s2 = scale ** 2
    return Garch11(omega * s2, alpha, beta, sig[:-1] * s2, float(sig[-1] * s2))
