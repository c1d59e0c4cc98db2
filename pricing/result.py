"""Results of a valuation and the raw Monte Carlo sums every MC backend returns."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class McSums:
    """Raw Monte Carlo accumulators over antithetic pairs, per unit notional.

    Every MC backend (cpu, numpy, bit-true, rtl) returns these, and
    :func:`summarize` turns them into a :class:`PriceResult` in one place.
    A pair's value is the average of its two antithetic paths' discounted payoffs.
    """

    n_pairs: int
    sum_pair: float          # sum over pairs of the pair value
    sum_pair_sq: float       # sum over pairs of the squared pair value
    n_ko: int                # paths (not pairs) that knocked out
    n_ki: int                # paths that were knocked in at termination (KO'd paths included)
    sum_life_days: float     # sum over paths of (termination day - valuation day)
    sum_ko_accrual: float    # sum over paths of disc * accrual on KO (value per unit coupon)
    sum_mat_accrual: float   # sum over paths of disc * T/dpy when neither KO nor KI (per unit maturity coupon)
    sum_loss: float          # sum over paths of the discounted KI loss (<= 0)


@dataclass
class PriceResult:
    """What ``pricing.price`` returns: value and risk of one note, in currency units of notional."""

    price: float
    stderr: float
    ko_probability: float
    ki_probability: float
    expected_life_years: float
    backend: str
    method: str
    paths: int = 0
    seed: int | None = None
    greeks: dict[str, float] = field(default_factory=dict)
    fair_coupon: float | None = None
    elapsed_s: float = 0.0
    path_steps: int = 0      # path-steps actually simulated (MC), for throughput reporting
    sums: McSums | None = None

    def to_dict(self) -> dict:
        """Plain-dict view (for JSON output)."""
        d = {k: getattr(self, k) for k in (
            "price", "stderr", "ko_probability", "ki_probability", "expected_life_years",
            "backend", "method", "paths", "seed", "greeks", "fair_coupon", "elapsed_s", "path_steps")}
        return d


def summarize(s: McSums, sched, backend: str, seed: int | None) -> PriceResult:
    """Turn raw MC sums into a PriceResult (value, stderr over pairs, probabilities)."""
    n = s.n_pairs
    paths = 2 * n
    mean = s.sum_pair / n
    var = max(s.sum_pair_sq / n - mean * mean, 0.0) * n / max(n - 1, 1)
    A_ko = s.sum_ko_accrual / paths
    A_mat = s.sum_mat_accrual / paths
    L = s.sum_loss / paths
    fc = _fair_coupon_from_parts(A_ko, A_mat, L, sched)
    return PriceResult(
        price=sched.notional * mean,
        stderr=sched.notional * math.sqrt(var / n),
        ko_probability=s.n_ko / paths,
        ki_probability=s.n_ki / paths,
        expected_life_years=s.sum_life_days / paths / sched.days_per_year,
        backend=backend,
        method="mc",
        paths=paths,
        seed=seed,
        fair_coupon=fc,
    )


def _fair_coupon_from_parts(A_ko: float, A_mat: float, L: float, sched) -> float:
    """Coupon c with c*A_ko + mc*A_mat + L = 0 (value is linear in the coupon).

    If the maturity coupon follows the coupon (the default), both legs scale;
    if it was set explicitly it stays fixed and only the KO coupon is solved.
    """
    if sched.maturity_coupon_follows:
        denom = A_ko + A_mat
        return -L / denom if denom > 0 else math.nan
    return -(sched.maturity_coupon * A_mat + L) / A_ko if A_ko > 0 else math.nan
