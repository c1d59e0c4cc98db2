"""cocotb benches through sim.runner: a passing bench passes, a failing or missing one fails."""
import pytest

from hdl.common.example import build
from infra_fixtures import example_verilog, full_rtl, needs_verilator

pytestmark = [needs_verilator, pytest.mark.rtl]


def test_example_bench_passes():
    from sim.runner import run_cocotb

    res = run_cocotb(build(), "sim.common.example_bench")
    res.raise_for_failure()
    assert res.passed and res.tests == 2 and res.failed == 0


def test_failing_bench_fails_and_can_select_testcase():
    from sim.runner import run_cocotb

    # The bench expects a corrupted key: the RTL is right, so the stream test must fail.
    res = run_cocotb(example_verilog(), "sim.common.example_bench", extra_env={"FORELAND_EXAMPLE_BREAK": "1"})
    assert not res.passed and res.tests == 2 and res.failed == 1
    assert "stream_backpressure" in res.log and "FAIL" in res.log
    with pytest.raises(AssertionError, match="1 of 2 tests failed"):
        res.raise_for_failure()
    only_csr = run_cocotb(example_verilog(), "sim.common.example_bench", testcase="csr_registers",
                          extra_env={"FORELAND_EXAMPLE_BREAK": "1"})
    assert only_csr.passed and only_csr.tests == 1


def test_missing_bench_module_fails():
    from sim.runner import run_cocotb

    res = run_cocotb(example_verilog(), "sim.common.no_such_bench")
    assert not res.passed and res.tests == 0


def test_runner_argument_errors():
    from sim.runner import run_cocotb, waves_requested

    with pytest.raises(ValueError, match="dotted module name"):
        run_cocotb(example_verilog(), "sim/common/example_bench.py")
    with pytest.raises(ValueError, match="Verilog text"):
        run_cocotb("not verilog", "sim.common.example_bench")
    assert waves_requested(True) and not waves_requested(False)


def test_waves_env(monkeypatch):
    from sim.runner import waves_requested

    monkeypatch.setenv("FORELAND_WAVES", "1")
    assert waves_requested() and not waves_requested(False)
    monkeypatch.setenv("FORELAND_WAVES", "0")
    assert not waves_requested()


@full_rtl
def test_waves_from_env_produce_a_vcd(tmp_path, monkeypatch):
    from sim.runner import run_cocotb

    monkeypatch.setenv("FORELAND_WAVES", "1")
    out = tmp_path / "ex.vcd"
    res = run_cocotb(example_verilog(), "sim.common.example_bench", testcase="csr_registers", waves_path=out)
    res.raise_for_failure()
    assert res.waves == out
    text = out.read_text()
    assert "$enddefinitions" in text and "csr__w_data" in text
    assert "10100101101001010000111100001111" in text  # 0xA5A50F0F written to SCRATCH by the bench
