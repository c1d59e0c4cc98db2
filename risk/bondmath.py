"""Fixed-coupon bond analytics on an ACT/365 basis: dirty price, accrued, durations, convexity."""
from __future__ import annotations

import numpy as np


def coupon_schedule(maturity: np.ndarray, frequency: np.ndarray, n_coupons: int) -> np.ndarray:
    """Coupon dates (N x n_coupons, datetime64[D], latest last) stepping back from maturity by 12/frequency months.

    Maturity days of month must be 1..28 so every stepped date exists.
    """
    mat = np.asarray(maturity, dtype="datetime64[D]")
    months = mat.astype("datetime64[M]")
    day = (mat - months.astype("datetime64[D]")).astype(np.int64)
    step = (12 // np.asarray(frequency)).astype(np.int64)
    k = np.arange(n_coupons - 1, -1, -1)
    m = months[:, None] - (k[None, :] * step[:, None]).astype("timedelta64[M]")
    return m.astype("datetime64[D]") + day[:, None].astype("timedelta64[D]")


def bond_analytics(dates: np.ndarray, coupon_rate: np.ndarray, frequency: np.ndarray, maturity: np.ndarray,
                   ytm: np.ndarray, n_coupons: int = 64) -> dict[str, np.ndarray]:
    """Per (date, bond) dirty/clean price per 100, accrued, modified duration, convexity, and coupons paid.

    ``ytm`` (D x N) is compounded ``frequency`` times a year; ``coupon_paid[d]``
    is the coupon cash of dates in (dates[d-1], dates[d]] (zero on the first date).
    """
    d = np.asarray(dates, dtype="datetime64[D]")[:, None, None]
    sched = coupon_schedule(maturity, frequency, n_coupons)[None, :, :]
    f = np.asarray(frequency, dtype=float)[None, :, None]
    c = np.asarray(coupon_rate, dtype=float)[None, :, None]
    y = np.asarray(ytm, dtype=float)[:, :, None]
    cpn = 100.0 * c / f
    cf = np.broadcast_to(cpn, sched.shape).copy()
    cf[..., -1] += 100.0
    t = (sched - d).astype(np.int64) / 365.0  # D x N x K
    future = t > 0
    disc = np.where(future, (1.0 + y / f) ** (-f * np.where(future, t, 0.0)), 0.0)
    pv = cf * disc
    dirty = pv.sum(-1)
    mac = (pv * np.where(future, t, 0.0)).sum(-1) / dirty
    mod = mac / (1.0 + y[..., 0] / f[..., 0])
    conv = (pv * t * (t + 1.0 / f)).sum(-1) / dirty / (1.0 + y[..., 0] / f[..., 0]) ** 2
    # Accrual runs from the last coupon date on or before the day to the next one.
    nxt = np.argmax(future, axis=-1)  # first future coupon
    nxt_date = np.take_along_axis(np.broadcast_to(sched, future.shape), nxt[..., None], -1)[..., 0]
    step = (12 // np.asarray(frequency)).astype("timedelta64[M]")
    prev_date = (nxt_date.astype("datetime64[M]") - step[None, :]).astype("datetime64[D]") + (
        nxt_date - nxt_date.astype("datetime64[M]").astype("datetime64[D]"))
    frac = (d[..., 0] - prev_date).astype(np.int64) / (nxt_date - prev_date).astype(np.int64)
    accrued = cpn[..., 0] * frac
    # Coupons falling after the previous trading day and up to this one are paid today.
    prev_day = np.concatenate([d[:1], d[:-1]])
    paid_mask = (sched > prev_day) & (sched <= d)
    paid_mask[0] = False
    coupon_paid = (np.broadcast_to(cpn, sched.shape) * paid_mask).sum(-1)
    return {"dirty_price": dirty, "accrued": accrued, "clean_price": dirty - accrued,
            "mod_duration": mod, "convexity": conv, "coupon_paid": coupon_paid}
