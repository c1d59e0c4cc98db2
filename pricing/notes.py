"""Loading a note, its market and its trade state from TOML or JSON; the built-in default note.

File layout (every table optional; missing fields take the defaults)::

    [note]                      # fields of pricing.Snowball
    ko_barrier = 1.03           # or a list (step-down), one per KO observation
    ki_barrier = 0.80
    coupon = 0.085
    maturity_days = 252
    [market]                    # fields of pricing.Market
    spot = 1.0
    rate = 0.02
    dividend = 0.04
    vol = 0.16
    [trade]
    elapsed_days = 0
    knocked_in = false
    [dates]                     # optional: a dated term sheet (XSHG calendar)
    start = "2025-01-06"        # strike date, day 0
    maturity = "2026-01-06"
    ko = "monthly"              # or a list of ISO dates
    ko_first_month = 3          # first monthly observation (lock-up in months)
    valuation = "2025-06-30"    # sets trade.elapsed_days
    extend_weekdays = false
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pricing.product import Market, Snowball

#: The standard note of the README and the benchmarks: 1 year, KO 103% monthly after 3 months, KI 80% daily.
DEFAULT_NOTE = {"ko_barrier": 1.03, "ki_barrier": 0.80, "coupon": 0.085, "maturity_days": 252,
                "lockup_days": 63, "ki_observation": "daily"}
DEFAULT_MARKET = {"spot": 1.0, "rate": 0.02, "dividend": 0.04, "vol": 0.16}
SECTIONS = ("note", "market", "trade", "dates")


@dataclass(frozen=True)
class Trade:
    """A note, its market and the trade's state."""

    note: Snowball
    market: Market
    elapsed_days: int = 0
    knocked_in: bool = False


def default_trade() -> Trade:
    """The built-in default note in its default market, at inception."""
    return Trade(Snowball(**DEFAULT_NOTE), Market(**DEFAULT_MARKET))


def _read(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"note file: {path} does not exist")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"note file: {path} is not valid JSON ({exc})") from None
    elif suffix == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"note file: {path} is not valid TOML ({exc})") from None
    else:
        raise ValueError(f"note file: must end in .toml or .json, got {path.name!r}")
    if not isinstance(data, dict):
        raise ValueError(f"note file: top level must be a table/object, got {type(data).__name__}")
    return data


def trade_from_dict(data: dict) -> Trade:
    """Build a :class:`Trade` from the file layout above (validating every field)."""
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown section; allowed: {', '.join(SECTIONS)}")
    for sec in SECTIONS:
        if sec in data and not isinstance(data[sec], dict):
            raise ValueError(f"{sec}: must be a table/object")
    note_d = dict(data.get("note", {}))
    trade_d = dict(data.get("trade", {}))
    allowed_trade = {"elapsed_days", "knocked_in"}
    bad = sorted(set(trade_d) - allowed_trade)
    if bad:
        raise ValueError(f"{bad[0]}: unknown trade field; allowed: {', '.join(sorted(allowed_trade))}")
    if "dates" in data:
        note_d, trade_d = _apply_dates(data["dates"], note_d, trade_d)
    if not note_d:
        note_d = dict(DEFAULT_NOTE)
    note = Snowball.from_dict(note_d)
    market = Market.from_dict({**DEFAULT_MARKET, **data.get("market", {})})
    ki = trade_d.get("knocked_in", False)
    if not isinstance(ki, bool):
        raise ValueError(f"knocked_in: must be true or false, got {ki!r}")
    return Trade(note, market, trade_d.get("elapsed_days", 0), ki)


def _apply_dates(dates: dict, note_d: dict, trade_d: dict) -> tuple[dict, dict]:
    from pricing.calendar import monthly_dates, schedule_from_dates
    allowed = {"start", "maturity", "ko", "ko_first_month", "valuation", "extend_weekdays"}
    bad = sorted(set(dates) - allowed)
    if bad:
        raise ValueError(f"dates.{bad[0]}: unknown field; allowed: {', '.join(sorted(allowed))}")
    for req in ("start", "maturity"):
        if req not in dates:
            raise ValueError(f"dates.{req}: required when [dates] is given")
    ext = dates.get("extend_weekdays", False)
    if not isinstance(ext, bool):
        raise ValueError(f"dates.extend_weekdays: must be true or false, got {ext!r}")
    ko = dates.get("ko", "monthly")
    if ko == "monthly":
        import pandas as pd
        start = pd.Timestamp(str(dates["start"]))
        mat = pd.Timestamp(str(dates["maturity"]))
        months = (mat.year - start.year) * 12 + mat.month - start.month
        first = dates.get("ko_first_month", 3)
        ko_dates = [d for d in monthly_dates(dates["start"], max(months, 1), min(first, max(months, 1))) if d <= mat]
        if not ko_dates or ko_dates[-1] != mat:
            ko_dates.append(mat)
    elif isinstance(ko, list):
        ko_dates = ko
    else:
        raise ValueError(f"dates.ko: must be \"monthly\" or a list of dates, got {ko!r}")
    sched = schedule_from_dates(dates["start"], dates["maturity"], ko_dates, dates.get("valuation"), ext)
    for key in ("maturity_days", "ko_days"):
        if key in note_d:
            raise ValueError(f"{key}: give it either in [note] or through [dates], not both")
    note_d = {**DEFAULT_NOTE, **note_d, "maturity_days": sched["maturity_days"],
              "ko_days": sorted(set(sched["ko_days"]))}
    note_d["lockup_days"] = min(note_d["ko_days"][0], sched["maturity_days"])  # informational once ko_days is explicit
    if "elapsed_days" in sched:
        if "elapsed_days" in trade_d:
            raise ValueError("elapsed_days: give it either in [trade] or as dates.valuation, not both")
        trade_d = {**trade_d, "elapsed_days": sched["elapsed_days"]}
    return note_d, trade_d


def load_trade(path: str | Path | None) -> Trade:
    """Load a trade from a .toml/.json file; ``None`` gives the built-in default note."""
    if path is None:
        return default_trade()
    return trade_from_dict(_read(Path(path)))
