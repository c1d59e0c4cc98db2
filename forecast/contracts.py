"""Contract codes: product prefix, delivery month and last trading day."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

_CODE = re.compile(r"^([A-Za-z]+)(\d{3,4})$")
LAST_TRADING_BDAY = 10  # ZCE rule: the 10th trading day of the delivery month


def product_of(contract: str) -> str:
    """Product (commodity) code: the leading letters of a contract code, upper-cased."""
    m = re.match(r"^([A-Za-z]+)", str(contract).strip())
    return m.group(1).upper() if m else str(contract).strip()


def delivery_month(contract: str, ref_date: pd.Timestamp) -> pd.Timestamp | None:
    """First day of the delivery month of ``contract`` (e.g. CF105, CF2105), or None if not a dated code.

    Three-digit codes (ZCE style, one year digit) take the decade that puts the
    delivery month closest after ``ref_date`` (within about two years).
    """
    m = _CODE.match(str(contract).strip())
    if not m:
        return None
    digits = m.group(2)
    month = int(digits[-2:])
    if not 1 <= month <= 12:
        return None
    if len(digits) == 4:
        year = 2000 + int(digits[:2])
    else:
        y1 = int(digits[0])
        ref = pd.Timestamp(ref_date)
        base = ref.year - ref.year % 10
        cands = [base - 10 + y1, base + y1, base + 10 + y1]
        # contracts trade for about a year before delivery: pick the decade nearest to ref + 6 months
        year = min(cands, key=lambda y: abs((pd.Timestamp(year=y, month=month, day=1) - ref).days - 180))
    return pd.Timestamp(year=year, month=month, day=1)


def last_trading_day(contract: str, ref_date: pd.Timestamp) -> pd.Timestamp | None:
    """Approximate last trading day: the 10th business day (Mon-Fri) of the delivery month."""
    first = delivery_month(contract, ref_date)
    if first is None:
        return None
    return first + pd.offsets.BDay(LAST_TRADING_BDAY - 1) if first.weekday() < 5 else first + pd.offsets.BDay(LAST_TRADING_BDAY)


def business_days_between(start: pd.Series | pd.DatetimeIndex, end: pd.Series) -> np.ndarray:
    """Business days from each start date to each end date (negative after the end)."""
    s = pd.to_datetime(pd.Series(start)).values.astype("datetime64[D]")
    e = pd.to_datetime(pd.Series(end)).values.astype("datetime64[D]")
    out = np.full(len(s), np.nan)
    ok = ~(np.isnat(s) | np.isnat(e))
    out[ok] = np.busday_count(s[ok], e[ok])
    return out
