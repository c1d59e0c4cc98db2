"""A synthetic commodity-futures market that reproduces the source's stylised facts.

What it reproduces (section 3 of the source notes), and how:

* contract life cycles: each contract is listed 12 months before delivery,
  trades thinly while far, becomes the *main* contract (months 1, 5, 9) about
  four months before the previous main contract's delivery month, and fades
  into its own delivery month, when speculators must have left;
* main-contract rolls and the "double peak": a main contract's volume peaks
  when it takes over, and in about 40% of main contracts again when the
  previous main contract's remaining positions are rolled before its delivery;
* weak positive correlation between |price change| and volume / OI change:
  activity is scaled by (1 + k |z|) with z the day's standardised return;
* margin and close-today-fee rises damp activity (product-level calendar,
  announced a few days ahead, with holiday margin rises and cooling-off fee
  rises), with per-client-group sensitivities;
* four client groups (long-term, short-term, large, small) whose volume and
  open interest are reported as ``vol_<group>`` / ``oi_<group>``.

Prices are a geometric random walk per product with a cost-of-carry term
structure. Everything is driven by one seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .contracts import last_trading_day
from .schema import CLIENT_GROUPS

MAIN_MONTHS = (1, 5, 9)
LISTED_MONTHS = (1, 3, 5, 7, 9, 11)
LIST_OFFSET = 10  # business days into the listing month


@dataclass(frozen=True)
class ProductSpec:
    """Static description of one synthetic commodity."""

    code: str
    price: float
    tick: float
    multiplier: float
    activity: float  # typical daily volume of the whole product, lots
    fee: float  # exchange fee per lot, yuan


PRODUCTS = (
    ProductSpec("CF", 15000.0, 5.0, 5.0, 300_000.0, 4.3),
    ProductSpec("SR", 5500.0, 1.0, 10.0, 400_000.0, 3.0),
    ProductSpec("TA", 5500.0, 2.0, 5.0, 600_000.0, 3.0),
    ProductSpec("MA", 2500.0, 1.0, 10.0, 800_000.0, 2.0),
    ProductSpec("RM", 2400.0, 1.0, 10.0, 500_000.0, 1.5),
    ProductSpec("FG", 1500.0, 1.0, 20.0, 350_000.0, 3.0),
)

# Client groups: share of volume, share of open interest, sensitivity to the
# margin rise (relative) and to the close-today fee (relative to the base fee).
GROUP_VOL_SHARE = {"long_term": 0.12, "short_term": 0.48, "large": 0.25, "small": 0.15}
GROUP_OI_SHARE = {"long_term": 0.40, "short_term": 0.10, "large": 0.35, "small": 0.15}
GROUP_MARGIN_SENS = {"long_term": 0.5, "short_term": 2.0, "large": 1.0, "small": 4.0}
GROUP_FEE_SENS = {"long_term": 0.02, "short_term": 0.35, "large": 0.10, "small": 0.15}


def _bdays(start: str, n: int) -> pd.DatetimeIndex:
    return pd.bdate_range(start=start, periods=n)


def _margin_calendar(spec: ProductSpec, dates: pd.DatetimeIndex, rng: np.random.Generator) -> pd.DataFrame:
    """Product-level calendar rows: holiday margin rises, random risk rises, close-today fee cooling-offs."""
    base_m = 0.07
    rows = [(dates[0], dates[0], base_m, spec.fee, 0.0)]
    events = []  # (start index, end index, margin, close_today_fee)
    years = sorted(set(dates.year))
    for y in years:
        for hol in (pd.Timestamp(y, 2, 1), pd.Timestamp(y, 10, 1)):  # Spring Festival (approx.), National Day
            i = int(dates.searchsorted(hol))
            if 6 <= i < len(dates) - 6:
                events.append((i - 4, i + 3, base_m + 0.02 + 0.01 * rng.integers(0, 2), None))
        for _ in range(2):  # risk-driven margin rises
            i = int(rng.integers(10, len(dates) - 30))
            if dates[i].year == y:
                events.append((i, i + int(rng.integers(10, 30)), base_m + 0.02 * rng.integers(1, 3), None))
        i = int(rng.integers(10, len(dates) - 60))  # a cooling-off close-today fee
        if dates[i].year == y:
            events.append((i, i + int(rng.integers(20, 60)), None, spec.fee * float(rng.choice([2.0, 4.0, 6.0]))))
    margin = np.full(len(dates), base_m)
    ctf = np.zeros(len(dates))
    for s, e, m, f in sorted(events, key=lambda x: x[0]):
        e = min(e, len(dates) - 1)
        if m is not None:
            margin[s:e] = np.maximum(margin[s:e], m)
        if f is not None:
            ctf[s:e] = f
    change = np.flatnonzero((np.diff(margin) != 0) | (np.diff(ctf) != 0)) + 1
    for i in change:
        ann = dates[max(0, i - 3)]  # exchanges announce such changes a few days ahead
        rows.append((dates[i], ann, float(margin[i]), spec.fee, float(ctf[i])))
    cal = pd.DataFrame(rows, columns=["effective_date", "announce_date", "margin_rate", "fee", "close_today_fee"])
    cal.insert(0, "product", spec.code)
    return cal


def _contract_code(code: str, year: int, month: int) -> str:
    return f"{code}{year % 10}{month:02d}"


def generate_market(n_products: int = 4, n_days: int = 750, start: str = "2016-01-04", seed: int = 0,
                    double_peak_share: float = 0.4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate (panel, margin/fee calendar) for ``n_products`` commodities over ``n_days`` business days."""
    if not 1 <= n_products <= len(PRODUCTS):
        raise ValueError(f"n_products: must be between 1 and {len(PRODUCTS)}")
    if n_days < 120:
        raise ValueError("n_days: must be at least 120 business days")
    if not 0.0 <= double_peak_share <= 1.0:
        raise ValueError("double_peak_share: must be in [0, 1]")
    rng = np.random.default_rng(seed)
    dates = _bdays(start, n_days)
    nd = len(dates)
    frames, cals = [], []
    for spec in PRODUCTS[:n_products]:
        cal = _margin_calendar(spec, dates, rng)
        cals.append(cal)
        eff = cal.sort_values("effective_date")
        idx = np.searchsorted(eff["effective_date"].values, dates.values, side="right") - 1
        margin = eff["margin_rate"].values[idx]
        ctf_rel = eff["close_today_fee"].values[idx] / spec.fee

        # product-level drivers
        vol_sigma = 0.012 * np.exp(0.3 * np.cumsum(rng.normal(0, 0.08, nd)) * 0.2)
        z = rng.standard_t(5, nd) / np.sqrt(5 / 3)
        logp = np.log(spec.price) + np.cumsum(vol_sigma * z)
        x = np.zeros(nd)
        for t in range(1, nd):
            x[t] = 0.92 * x[t - 1] + rng.normal(0, 0.07)
        price_kick = 1.0 + 0.4 * np.abs(z)  # |price change| drives activity (weakly)
        group_damp = {}
        for g in CLIENT_GROUPS:
            group_damp[g] = np.exp(-GROUP_MARGIN_SENS[g] * (margin / 0.07 - 1.0) - GROUP_FEE_SENS[g] * ctf_rel)
        carry = rng.normal(0.03, 0.02)

        # contracts alive in the window: delivery months from listing before start to after end
        first = (dates[0] - pd.DateOffset(months=1)).to_period("M")
        last = (dates[-1] + pd.DateOffset(months=13)).to_period("M")
        months = [p for p in pd.period_range(first, last, freq="M") if p.month in LISTED_MONTHS]
        expiries = {}
        for p in months:
            code = _contract_code(spec.code, p.year, p.month)
            exp = last_trading_day(code, pd.Timestamp(p.year, p.month, 1) - pd.DateOffset(months=6))
            expiries[code] = (p, exp)
        mains = [c for c, (p, _) in expiries.items() if p.month in MAIN_MONTHS]
        for code, (period, expiry) in expiries.items():
            listing = pd.Timestamp(period.year - 1, period.month, 1) + pd.offsets.BDay(LIST_OFFSET)
            live = (dates >= listing) & (dates <= expiry)
            if live.sum() < 5:
                continue
            ti = np.flatnonzero(live)
            d = dates[ti]
            tau = np.busday_count(d.values.astype("datetime64[D]"), np.datetime64(expiry.date()))
            # far-contract trickle, fading into the delivery month
            w = 0.015 + 0.05 * np.exp(-np.maximum(tau - 45, 0) / 40.0)
            w = w * np.clip((tau - 2) / 12.0, 0.03, 1.0)
            if code in mains:
                k = mains.index(code)
                if k > 0:
                    prev_exp = expiries[mains[k - 1]][1]
                    t_prev = np.busday_count(d.values.astype("datetime64[D]"), np.datetime64(prev_exp.date()))
                    start_main = t_prev - 45.0  # <0 once the previous main has 45 bdays left
                    up = 1.0 / (1.0 + np.exp(start_main / 4.0))
                    down = 1.0 / (1.0 + np.exp(-(tau - 45.0) / 4.0))
                    bump1 = 0.6 * np.exp(-0.5 * (start_main / 6.0) ** 2)
                    amp2 = rng.uniform(0.6, 0.9) if rng.random() < double_peak_share else rng.uniform(0.0, 0.1)
                    bump2 = amp2 * np.exp(-0.5 * ((t_prev - 8.0) / 5.0) ** 2)  # last-minute roll of the old main
                    w = w + 0.8 * (0.55 * up * down + bump1 * down + bump2)
            noise_v = np.exp(rng.normal(0, 0.22, len(ti)))
            base_v = spec.activity * np.exp(x[ti]) * price_kick[ti] * w * noise_v
            vols = {g: np.floor(base_v * GROUP_VOL_SHARE[g] * group_damp[g][ti] * np.exp(rng.normal(0, 0.08, len(ti))))
                    for g in CLIENT_GROUPS}
            volume = sum(vols.values())
            # open interest: a slow accumulation of the activity profile, emptied at delivery
            w_oi = pd.Series(w).ewm(halflife=12).mean().values * np.clip(tau / 8.0, 0.02, 1.0)
            u = np.zeros(len(ti))
            for t in range(1, len(ti)):
                u[t] = 0.95 * u[t - 1] + rng.normal(0, 0.02)
            oi_kick = 1.0 + 0.03 * pd.Series(np.abs(z[ti])).rolling(3, min_periods=1).mean().values
            base_oi = 2.2 * spec.activity * w_oi * np.exp(u + 0.3 * x[ti]) * oi_kick
            ois = {}
            for g in CLIENT_GROUPS:
                damp = pd.Series(group_damp[g][ti]).ewm(halflife=5).mean().values ** 0.5
                ois[g] = np.floor(base_oi * GROUP_OI_SHARE[g] * damp)
            oi = sum(ois.values())
            # prices: cost of carry plus a small contract basis
            basis = np.cumsum(rng.normal(0, 0.001, len(ti)))
            settle = np.exp(logp[ti] + carry * tau / 250.0 + basis)
            settle = np.maximum(spec.tick, np.round(settle / spec.tick) * spec.tick)
            prev = np.r_[settle[0], settle[:-1]]
            s = vol_sigma[ti]
            opn = prev * np.exp(rng.normal(0, 0.4, len(ti)) * s)
            close = settle * np.exp(rng.normal(0, 0.25, len(ti)) * s)
            high = np.maximum.reduce([opn, close, settle]) * np.exp(np.abs(rng.normal(0, 0.5, len(ti))) * s)
            low = np.minimum.reduce([opn, close, settle]) * np.exp(-np.abs(rng.normal(0, 0.5, len(ti))) * s)
            rt = lambda a: np.round(a / spec.tick) * spec.tick  # noqa: E731
            f = pd.DataFrame({
                "date": d, "contract": code, "product": spec.code,
                "prev_settle": prev, "open": rt(opn), "high": rt(high), "low": rt(low), "close": rt(close),
                "settle": settle, "volume": volume, "open_interest": oi,
                "turnover": np.round(volume * settle * spec.multiplier / 1e4, 2),
                "delivery_settle": np.where(d == expiry, settle, np.nan),
            })
            for g in CLIENT_GROUPS:
                f[f"vol_{g}"] = vols[g]
                f[f"oi_{g}"] = ois[g]
            frames.append(f)
    panel = pd.concat(frames, ignore_index=True).sort_values(["contract", "date"], kind="mergesort").reset_index(drop=True)
    calendar = pd.concat(cals, ignore_index=True)
    return panel, calendar



def sp500_volume_panel() -> pd.DataFrame:
    """The daily S&P 500 index volume shipped offline by the ``arch`` package, as a one-contract panel."""
    try:
        from arch.data import sp500
    except ImportError as exc:  # pragma: no cover - arch is an install requirement
        raise ImportError("the 'arch' package is needed for the S&P 500 series") from exc
    raw = sp500.load()
    df = pd.DataFrame({
        "date": pd.to_datetime(raw.index), "contract": "SPX", "product": "SPX",
        "open": raw["Open"].values, "high": raw["High"].values, "low": raw["Low"].values,
        "close": raw["Close"].values, "volume": raw["Volume"].values.astype(float),
    })
    # an index has no settlement price: swings are taken against the previous close
    df["prev_settle"] = df["close"].shift(1)
    return df.reset_index(drop=True)
