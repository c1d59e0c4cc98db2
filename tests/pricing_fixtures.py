"""Shared cases and helpers of the pricing tests (imported by tests/test_pricing_*.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pricing import Market, Snowball

ROOT = Path(__file__).resolve().parents[1]
M = 21  # trading days per month

# (id, note kwargs, market kwargs, elapsed_days, knocked_in): the MC-vs-PDE agreement matrix.
AGREEMENT_CASES = [
    ("standard", {}, {}, 0, False),
    ("cpn5_vol10", dict(coupon=0.05), dict(vol=0.10), 0, False),
    ("cpn30_vol40", dict(coupon=0.30, ki_barrier=0.70), dict(vol=0.40), 0, False),
    ("r0_q0", dict(coupon=0.12), dict(rate=0.0, dividend=0.0, vol=0.22), 0, False),
    ("r5_q5", dict(coupon=0.10), dict(rate=0.05, dividend=0.05, vol=0.25), 0, False),
    ("r5_q0", dict(coupon=0.07), dict(rate=0.05, dividend=0.0), 0, False),
    ("ki65", dict(ki_barrier=0.65, coupon=0.15), dict(vol=0.30), 0, False),
    ("ki85_ko95", dict(ki_barrier=0.85, ko_barrier=0.95, coupon=0.10), dict(vol=0.20), 0, False),
    ("ko105", dict(ko_barrier=1.05, coupon=0.20), dict(vol=0.28), 0, False),
    ("stepdown", dict(ko_barrier=[1.03 - 0.005 * i for i in range(10)], coupon=0.10), dict(vol=0.20), 0, False),
    ("lockup0", dict(lockup_days=0), {}, 0, False),
    ("lockup6m", dict(lockup_days=6 * M, coupon=0.12), dict(vol=0.20), 0, False),
    ("floor10", dict(floor=0.10, coupon=0.06), dict(vol=0.25), 0, False),
    ("protected", dict(floor=0.0, coupon=0.04), dict(vol=0.20), 0, False),
    ("ki_maturity", dict(ki_observation="maturity", coupon=0.06), dict(vol=0.22), 0, False),
    ("tenor6m", dict(maturity_days=6 * M, lockup_days=M, coupon=0.10), dict(vol=0.25), 0, False),
    ("tenor24m", dict(maturity_days=24 * M, lockup_days=3 * M, coupon=0.18, ki_barrier=0.75), dict(vol=0.30), 0,
     False),
    ("running_day40", {}, dict(spot=0.93), 40, False),
    ("running_day100_ki", {}, dict(spot=0.78), 100, True),
    ("running_day200_ki", dict(coupon=0.15), dict(spot=0.95, vol=0.30), 200, True),
    ("running_day150", dict(maturity_days=24 * M, coupon=0.20, ki_barrier=0.70), dict(spot=1.01, vol=0.35), 150,
     False),
    ("maturity_coupon", dict(coupon=0.10, maturity_coupon=0.03, ki_strike=0.95), dict(vol=0.2), 0, False),
]


def case_objects(case):
    """(note, market, elapsed_days, knocked_in) of an AGREEMENT_CASES row."""
    _, nk, mk, v, ki = case
    return Snowball(**nk), Market(**mk), v, ki


def run_py(code: str, env_extra: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter at the repository root."""
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``foreland`` (through foreland.cli.main) in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "foreland.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
