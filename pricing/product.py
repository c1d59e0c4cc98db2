"""The snowball (autocallable) contract and the market it is priced in.

The product knows nothing about how it is priced (QuantLib's split): engines
read it through :func:`kernels.snowball_schedule.lower`. Conventions are those
of ``shared/domain/snowball-conventions.md`` and ``docs/pricing.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

KI_OBSERVATIONS = ("daily", "maturity", "none")
#: Trading days between monthly KO observations in the default schedule.
DAYS_PER_MONTH = 21


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(value, complex):
        try:
            value = float(value)  # numpy scalars
        except (TypeError, ValueError):
            raise ValueError(f"{name}: must be a real number, got {value!r}") from None
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    return v


def _positive(name: str, value: object) -> float:
    v = _finite(name, value)
    if v <= 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")
    return v


def _int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name}: must be an integer, got {value!r}")
    try:
        iv = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name}: must be an integer, got {value!r}") from None
    if iv != value:
        raise ValueError(f"{name}: must be an integer, got {value!r}")
    if iv < lo or (hi is not None and iv > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name}: must be {rng}, got {value!r}")
    return iv


def _from_mapping(cls, data: dict, what: str):
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown {what} field; allowed: {', '.join(sorted(allowed))}")
    return cls(**data)


@dataclass(frozen=True)
class Snowball:
    """A snowball note: daily KI, KO on observation days, coupons per unit notional."""

    ko_barrier: float | Sequence[float] = 1.03
    ki_barrier: float = 0.80
    coupon: float = 0.085
    maturity_days: int = 252
    lockup_days: int = 63
    ko_days: Sequence[int] | None = None
    ki_observation: str = "daily"
    maturity_coupon: float | None = None
    ki_strike: float = 1.0
    floor: float | None = None
    initial_price: float = 1.0
    notional: float = 1.0
    days_per_year: float = 252

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass)
        set_("maturity_days", _int("maturity_days", self.maturity_days, 1, 100_000))
        set_("days_per_year", _positive("days_per_year", self.days_per_year))
        set_("lockup_days", _int("lockup_days", self.lockup_days, 0, self.maturity_days))
        if self.ki_observation not in KI_OBSERVATIONS:
            raise ValueError(f"ki_observation: must be one of {KI_OBSERVATIONS}, got {self.ki_observation!r}")
        set_("coupon", _finite("coupon", self.coupon))
        if self.coupon < 0:
            raise ValueError(f"coupon: must be >= 0, got {self.coupon!r}")
        if self.maturity_coupon is not None:
            set_("maturity_coupon", _finite("maturity_coupon", self.maturity_coupon))
            if self.maturity_coupon < 0:
                raise ValueError(f"maturity_coupon: must be >= 0 or None, got {self.maturity_coupon!r}")
        set_("ki_strike", _positive("ki_strike", self.ki_strike))
        if self.floor is not None:
            set_("floor", _finite("floor", self.floor))
            if self.floor < 0:
                raise ValueError(f"floor: must be >= 0 (0 = principal protected) or None, got {self.floor!r}")
        set_("initial_price", _positive("initial_price", self.initial_price))
        set_("notional", _positive("notional", self.notional))
        set_("ko_days", tuple(self._ko_schedule()))
        set_("ko_barrier", self._ko_barriers())
        set_("ki_barrier", _positive("ki_barrier", self.ki_barrier))
        if self.ki_observation != "none" and self.ki_barrier >= min(self.ko_barrier):
            raise ValueError(
                f"ki_barrier: must be below every KO barrier (min {min(self.ko_barrier)}), got {self.ki_barrier}")

    def _ko_schedule(self) -> list[int]:
        if self.ko_days is None:
            first = self.lockup_days if self.lockup_days >= 1 else DAYS_PER_MONTH
            days = list(range(first, self.maturity_days + 1, DAYS_PER_MONTH))
            if not days or days[-1] != self.maturity_days:
                days.append(self.maturity_days)
            return days
        if isinstance(self.ko_days, (str, bytes)):
            raise ValueError(f"ko_days: must be a sequence of day indices, got {self.ko_days!r}")
        try:
            raw = list(self.ko_days)
        except TypeError:
            raise ValueError(f"ko_days: must be a sequence of day indices, got {self.ko_days!r}") from None
        if not raw:
            raise ValueError("ko_days: must hold at least one observation day")
        days = [_int(f"ko_days[{i}]", d, 1) for i, d in enumerate(raw)]
        for i, d in enumerate(days):
            if d > self.maturity_days:
                raise ValueError(f"ko_days[{i}]: day {d} is past maturity_days={self.maturity_days}")
            if i and d <= days[i - 1]:
                raise ValueError(f"ko_days: must be strictly increasing, day {d} follows {days[i - 1]}")
        return days

    def _ko_barriers(self) -> tuple[float, ...]:
        n = len(self.ko_days)
        if isinstance(self.ko_barrier, (int, float)) and not isinstance(self.ko_barrier, bool):
            return (_positive("ko_barrier", self.ko_barrier),) * n
        try:
            raw = list(self.ko_barrier)  # type: ignore[arg-type]
        except TypeError:
            return (_positive("ko_barrier", self.ko_barrier),) * n
        if len(raw) != n:
            raise ValueError(f"ko_barrier: a step-down schedule needs one barrier per KO observation ({n}), got {len(raw)}")
        return tuple(_positive(f"ko_barrier[{i}]", b) for i, b in enumerate(raw))

    @property
    def effective_maturity_coupon(self) -> float:
        """The coupon paid at maturity when neither KO nor KI happened."""
        return self.coupon if self.maturity_coupon is None else self.maturity_coupon

    def with_coupon(self, coupon: float) -> "Snowball":
        """A copy with another coupon (the maturity coupon follows unless set explicitly)."""
        from dataclasses import replace
        return replace(self, coupon=coupon)

    @classmethod
    def from_dict(cls, data: dict) -> "Snowball":
        """Build a note from a mapping (TOML/JSON); unknown keys are an error."""
        return _from_mapping(cls, data, "note")


@dataclass(frozen=True)
class Market:
    """Flat market data: spot, continuously compounded rate and dividend yield, flat vol."""

    spot: float = 1.0
    rate: float = 0.02
    dividend: float = 0.04
    vol: float = 0.16

    def __post_init__(self) -> None:
        object.__setattr__(self, "spot", _positive("spot", self.spot))
        for name in ("rate", "dividend"):
            v = _finite(name, getattr(self, name))
            if not -1.0 < v < 1.0:
                raise ValueError(f"{name}: must be a continuously compounded annual rate in (-1, 1), got {v!r}")
            object.__setattr__(self, name, v)
        v = _positive("vol", self.vol)
        if v > 5.0:
            raise ValueError(f"vol: must be in (0, 5] (annualised), got {v!r}")
        object.__setattr__(self, "vol", v)

    @classmethod
    def from_dict(cls, data: dict) -> "Market":
        """Build market data from a mapping; unknown keys are an error."""
        return _from_mapping(cls, data, "market")
