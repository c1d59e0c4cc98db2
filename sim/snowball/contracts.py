"""Contracts the snowball hardware is verified on: a fixed zoo and a seeded random generator."""
from __future__ import annotations

import numpy as np

from kernels.snowball_schedule import lower
from pricing.product import Market, Snowball

MKT = Market(spot=1.0, rate=0.02, dividend=0.04, vol=0.16)
STEP_DOWN = tuple(round(1.03 - 0.005 * i, 4) for i in range(10))


def contract_zoo() -> list[tuple[str, Snowball, Market, int, bool]]:
    """(name, note, market, elapsed_days, knocked_in): the fixed contracts every whole-kernel check covers."""
    return [
        ("default", Snowball(), MKT, 0, False),
        ("step_down", Snowball(ko_barrier=STEP_DOWN), MKT, 0, False),
        ("lockup_126", Snowball(lockup_days=126), MKT, 0, False),
        ("floor_20pct", Snowball(floor=0.2), MKT, 0, False),
        ("principal_protected", Snowball(floor=0.0, coupon=0.04), MKT, 0, False),
        ("ki_at_maturity", Snowball(ki_observation="maturity"), MKT, 0, False),
        ("running_ki", Snowball(), Market(spot=0.85, rate=0.02, dividend=0.04, vol=0.16), 100, True),
        ("running_not_ki", Snowball(), Market(spot=0.95, rate=0.02, dividend=0.04, vol=0.16), 100, False),
        ("step_down_running", Snowball(ko_barrier=STEP_DOWN), Market(spot=0.97, rate=0.03, dividend=0.0, vol=0.22), 70, False),
        ("no_ki_high_vol", Snowball(ki_observation="none", coupon=0.15), Market(spot=1.0, rate=0.02, dividend=0.0, vol=0.35), 0, False),
        ("strike_090_mat_coupon", Snowball(ki_strike=0.9, maturity_coupon=0.02, maturity_days=126, lockup_days=21),
         Market(spot=1.02, rate=0.01, dividend=0.03, vol=0.25), 0, False),
        ("short_odd", Snowball(maturity_days=7, lockup_days=3, ko_days=(3, 5, 7), ko_barrier=1.01, ki_barrier=0.97),
         Market(spot=1.0, rate=0.02, dividend=0.0, vol=0.30), 2, False),
    ]


def zoo_schedules() -> list[tuple[str, object]]:
    """(name, lowered Schedule) for every zoo contract."""
    return [(name, lower(note, mkt, v, ki)) for name, note, mkt, v, ki in contract_zoo()]


def random_contract(rng: np.random.Generator, max_days: int = 160):
    """A random valid (note, market, elapsed_days, knocked_in) with a short tenor (keeps RTL runs small)."""
    while True:
        try:
            T = int(rng.integers(2, max_days))
            lock = int(rng.integers(0, T))
            n_obs = len(range(lock if lock >= 1 else 21, T + 1, 21)) + 1
            ko = float(rng.uniform(0.95, 1.1)) if rng.random() < 0.6 else \
                tuple(float(b) for b in np.sort(rng.uniform(0.9, 1.1, n_obs))[::-1])
            ki_obs = str(rng.choice(["daily", "maturity", "none"]))
            note = Snowball(ko_barrier=ko, ki_barrier=float(rng.uniform(0.6, 0.89)), coupon=float(rng.uniform(0, 0.3)),
                            maturity_days=T, lockup_days=lock, ki_observation=ki_obs,
                            maturity_coupon=None if rng.random() < 0.7 else float(rng.uniform(0, 0.2)),
                            ki_strike=float(rng.uniform(0.8, 1.1)),
                            floor=None if rng.random() < 0.5 else float(rng.choice([0.0, 0.1, 0.3])))
            mkt = Market(spot=float(rng.uniform(0.75, 1.15)), rate=float(rng.uniform(-0.01, 0.06)),
                         dividend=float(rng.uniform(0, 0.06)), vol=float(rng.uniform(0.05, 0.6)))
            v = int(rng.integers(0, T))
            ki = bool(ki_obs == "daily" and rng.random() < 0.4)
            return note, mkt, v, ki
        except ValueError:
            continue
