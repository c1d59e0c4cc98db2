"""Trading-day indices from calendar dates, on the Shanghai Stock Exchange calendar (XSHG).

Engines count trading days (``snowball-conventions.md``): day 0 is the strike
date, day n the n-th trading day after it. This module turns dated term
sheets into those indices with the XSHG calendar of ``exchange_calendars``
(holidays shipped with the package: no network access).

Decisions (the conventions are silent): an observation date that is not a
trading day rolls to the next trading day (following); the start (strike)
date must be a trading day. ``exchange_calendars`` records XSHG holidays only
up to a fixed year; a date past that raises ``ValueError`` unless
``extend_weekdays=True``, which counts Monday-Friday beyond the last recorded
session (an approximation: future Chinese holidays are not known).
"""
from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

CALENDAR = "XSHG"


@lru_cache(maxsize=1)
def get_calendar():
    """The XSHG exchange calendar (cached; offline)."""
    import warnings

    import exchange_calendars as xc
    with warnings.catch_warnings():  # pandas deprecation noise from inside exchange_calendars
        warnings.simplefilter("ignore")
        return xc.get_calendar(CALENDAR)


def _date(field: str, value: object) -> pd.Timestamp:
    if isinstance(value, (pd.Timestamp, _dt.date)):
        ts = pd.Timestamp(value)
    elif isinstance(value, str):
        try:
            ts = pd.Timestamp(_dt.date.fromisoformat(value.strip()))
        except ValueError:
            raise ValueError(f"{field}: must be an ISO date YYYY-MM-DD, got {value!r}") from None
    else:
        raise ValueError(f"{field}: must be a date or an ISO date string, got {value!r}")
    return ts.normalize().tz_localize(None) if ts.tzinfo else ts.normalize()


def _sessions(last: pd.Timestamp, extend_weekdays: bool, field: str) -> pd.DatetimeIndex:
    cal = get_calendar()
    sessions = cal.sessions
    if last <= cal.last_session:
        return sessions
    if not extend_weekdays:
        raise ValueError(
            f"{field}: {last.date()} is past the last {CALENDAR} session with recorded holidays "
            f"({cal.last_session.date()}); pass extend_weekdays=True to count weekdays beyond it")
    extra = pd.bdate_range(cal.last_session + pd.Timedelta(days=1), last)
    return sessions.append(extra)


def day_indices(start: object, dates: Iterable[object], extend_weekdays: bool = False,
                field: str = "dates") -> list[int]:
    """Trading-day index of each date counted from ``start`` (day 0); non-trading dates roll following."""
    s = _date("start_date", start)
    ds = [_date(f"{field}[{i}]", d) for i, d in enumerate(dates)]
    cal = get_calendar()
    if s < cal.first_session:
        raise ValueError(f"start_date: {s.date()} is before the first {CALENDAR} session {cal.first_session.date()}")
    last = max([s] + ds)
    sessions = _sessions(last + pd.Timedelta(days=10), extend_weekdays, field) if last > cal.last_session \
        else cal.sessions
    i0 = sessions.searchsorted(s)
    if i0 >= len(sessions) or sessions[i0] != s:
        raise ValueError(f"start_date: {s.date()} is not a {CALENDAR} trading day")
    out = []
    for i, d in enumerate(ds):
        if d < s:
            raise ValueError(f"{field}[{i}]: {d.date()} is before start_date {s.date()}")
        j = sessions.searchsorted(d)  # first session on or after d: 'following' roll
        if j >= len(sessions):
            raise ValueError(f"{field}[{i}]: {d.date()} is past the calendar's last session")
        out.append(int(j - i0))
    return out


def monthly_dates(start: object, months: int, first_month: int = 3) -> list[pd.Timestamp]:
    """Same day-of-month as ``start``, months first_month..months (end-of-month clipped), unrolled."""
    s = _date("start_date", start)
    if months < 1 or first_month < 1 or first_month > months:
        raise ValueError(f"months: need 1 <= first_month <= months, got first_month={first_month}, months={months}")
    return [s + pd.DateOffset(months=m) for m in range(first_month, months + 1)]


def schedule_from_dates(start_date: object, maturity_date: object, ko_dates: Sequence[object] | None = None,
                        valuation_date: object | None = None, extend_weekdays: bool = False) -> dict:
    """Day indices of a dated term sheet: maturity_days, ko_days (optional) and elapsed_days."""
    (T,) = day_indices(start_date, [maturity_date], extend_weekdays, field="maturity_date")
    if T < 1:
        raise ValueError("maturity_date: must be at least one trading day after start_date")
    out: dict = {"maturity_days": T}
    if ko_dates is not None:
        ko = day_indices(start_date, list(ko_dates), extend_weekdays, field="ko_dates")
        if any(k > T for k in ko):
            raise ValueError(f"ko_dates: an observation falls after maturity_date (day {max(ko)} > {T})")
        out["ko_days"] = ko
    if valuation_date is not None:
        (v,) = day_indices(start_date, [valuation_date], extend_weekdays, field="valuation_date")
        if v >= T:
            raise ValueError(f"valuation_date: must be before maturity_date (day {v} >= {T})")
        if not get_calendar().is_session(_date("valuation_date", valuation_date)) and \
                _date("valuation_date", valuation_date) <= get_calendar().last_session:
            # valuation uses the close of a trading day: a holiday values as of the previous close
            v -= 1
        out["elapsed_days"] = max(v, 0)
    return out


def trading_days_in_year(year: int) -> int:
    """Number of XSHG sessions in a calendar year (for checking days_per_year = 252)."""
    cal = get_calendar()
    ss = cal.sessions
    return int(np.count_nonzero((ss >= pd.Timestamp(year, 1, 1)) & (ss <= pd.Timestamp(year, 12, 31))))
