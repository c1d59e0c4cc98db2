"""VaR backtests: Kupiec proportion of failures, Christoffersen independence and conditional coverage, Basel zones."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import bdtr, chdtrc

from risk._checks import check_positive_int, check_probability

# Basel Committee (1996) "Supervisory framework for the use of backtesting":
# plus factor added to the multiplier of 3 by number of exceptions in 250 days at 99%.
BASEL_PLUS_FACTOR = {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0,
                     5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}
BASEL_YELLOW_CUMPROB = 0.95
BASEL_RED_CUMPROB = 0.9999


@dataclass(frozen=True)
class TestResult:
    """A likelihood-ratio statistic, its chi-squared p-value and degrees of freedom."""

    statistic: float
    p_value: float
    dof: int


@dataclass(frozen=True)
class ChristoffersenResult:
    """Independence test (``statistic``, ``p_value``) and, when ``p`` was given, conditional coverage."""

    statistic: float
    p_value: float
    cc_statistic: float | None
    cc_p_value: float | None
    transitions: dict[str, int]


@dataclass(frozen=True)
class BaselZone:
    """Basel traffic-light zone of an exception count and its multiplier plus factor (None off the table)."""

    zone: str
    exceptions: int
    cumulative_probability: float
    plus_factor: float | None


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * np.log(y)


def kupiec(exceptions: int, n: int, p: float) -> TestResult:
    """Kupiec proportion-of-failures LR test of ``exceptions`` VaR breaches in ``n`` days at rate ``p``."""
    n = check_positive_int(n, "n")
    p = check_probability(p, "p")
    if isinstance(exceptions, bool) or not isinstance(exceptions, (int, np.integer)) or not 0 <= exceptions <= n:
        raise ValueError(f"exceptions: must be an integer between 0 and n={n}, got {exceptions!r}")
    x = int(exceptions)
    phat = x / n
    ll0 = _xlogy(n - x, 1 - p) + _xlogy(x, p)
    ll1 = _xlogy(n - x, 1 - phat) + _xlogy(x, phat)
    lr = max(-2.0 * (ll0 - ll1), 0.0)
    return TestResult(float(lr), float(chdtrc(1, lr)), 1)


def _hits(hits: Any) -> np.ndarray:
    h = np.asarray(hits)
    if h.ndim != 1 or h.size < 2:
        raise ValueError(f"hits: must be a 1-D sequence of at least 2 indicators, got shape {h.shape}")
    if h.dtype != bool:
        if not np.isin(h, (0, 1)).all():
            raise ValueError("hits: entries must be 0/1 or booleans (1 = the loss exceeded VaR)")
        h = h.astype(bool)
    return h


def christoffersen(hits: Any, p: float | None = None) -> ChristoffersenResult:
    """Christoffersen (1998) Markov independence LR test; with ``p``, also the conditional-coverage test."""
    h = _hits(hits)
    prev, cur = h[:-1], h[1:]
    n00 = int(np.sum(~prev & ~cur)); n01 = int(np.sum(~prev & cur))
    n10 = int(np.sum(prev & ~cur)); n11 = int(np.sum(prev & cur))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    ll_ind0 = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    ll_ind1 = _xlogy(n00, 1 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1 - pi11) + _xlogy(n11, pi11)
    lr_ind = max(-2.0 * (ll_ind0 - ll_ind1), 0.0)
    cc = cc_p = None
    if p is not None:
        p = check_probability(p, "p")
        # Conditional coverage uses the same T-1 transitions so LR_cc = LR_pof + LR_ind exactly.
        x, n = n01 + n11, n00 + n01 + n10 + n11
        cc = float(kupiec(x, n, p).statistic + lr_ind)
        cc_p = float(chdtrc(2, cc))
    return ChristoffersenResult(float(lr_ind), float(chdtrc(1, lr_ind)), cc, cc_p,
                                {"n00": n00, "n01": n01, "n10": n10, "n11": n11})


def basel_zone(exceptions: int, n: int = 250, p: float = 0.01) -> BaselZone:
    """Basel traffic-light zone: green below 95% cumulative binomial probability, red from 99.99%."""
    n = check_positive_int(n, "n")
    p = check_probability(p, "p")
    if isinstance(exceptions, bool) or not isinstance(exceptions, (int, np.integer)) or not 0 <= exceptions <= n:
        raise ValueError(f"exceptions: must be an integer between 0 and n={n}, got {exceptions!r}")
    cum = float(bdtr(int(exceptions), n, p))
    zone = "green" if cum < BASEL_YELLOW_CUMPROB else ("yellow" if cum < BASEL_RED_CUMPROB else "red")
    plus = None
    if n == 250 and p == 0.01:
        plus = BASEL_PLUS_FACTOR.get(int(exceptions), 1.0)
    return BaselZone(zone, int(exceptions), cum, plus)


def exceptions(realised: Any, var: Any) -> np.ndarray:
    """Boolean hit series: True where the realised loss exceeds the (positive) VaR forecast."""
    r = np.asarray(realised, dtype=float)
    v = np.broadcast_to(np.asarray(var, dtype=float), r.shape)
    if np.isnan(r).any() or np.isnan(v).any():
        raise ValueError("realised/var: contain NaN; align the series before backtesting")
    return -r > v
