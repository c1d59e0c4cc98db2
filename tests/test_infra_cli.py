"""`foreland rtl` command line: outputs checked against the library, errors as one line with exit 2."""
import pytest

from foreland.cli import main
from hdl.common.example import REGMAP
from infra_fixtures import example_verilog, needs_verilator


def test_list_and_regmap(capsys):
    assert main(["rtl", "list"]) == 0
    out = capsys.readouterr().out
    assert "example" in out and "snowball" in out and "--lanes N" in out and "--accounts N" in out
    assert main(["rtl", "regmap", "example"]) == 0
    assert capsys.readouterr().out == REGMAP.markdown()


def test_verilog_to_file_matches_library(tmp_path, capsys):
    out = tmp_path / "ex.v"
    assert main(["rtl", "verilog", "example", "-o", str(out)]) == 0
    assert out.read_text() == example_verilog()
    assert main(["rtl", "ports", "example"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "input      96  msg_in__payload" in lines and "output     32  csr__r_data" in lines


@pytest.mark.parametrize("argv, message", [
    (["rtl", "verilog", "nope"], "unknown design 'nope'; choose from: example, snowball, riskdb"),
    (["rtl", "verilog", "example", "--lanes", "4"], "option --lanes does not apply to design 'example'"),
    (["rtl", "verilog", "example", "--set", "x=1"], "design 'example' accepts no extra option 'x'"),
    (["rtl", "verilog", "snowball", "--set", "=1"], "--set expects KEY=VALUE"),
    (["rtl", "synth", "example", "--freq", "0"], "target_mhz must be between 1 and 1000"),
    (["rtl", "sim", "example", "--timeout", "0"], "--timeout must be positive"),
])
def test_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("foreland rtl: error: ") and message in err
    assert "Traceback" not in err


def test_design_option_validation(capsys):
    from hdl.designs import check_options

    with pytest.raises(ValueError, match="option lanes must be >= 1"):
        check_options("snowball", {"lanes": 0})
    with pytest.raises(ValueError, match="unknown option 'lanes'"):
        check_options("example", {"lanes": 2})


def test_missing_design_module_is_reported_cleanly(monkeypatch, capsys):
    from hdl import designs

    monkeypatch.setitem(designs.DESIGNS, "ghost", designs.DesignSpec("ghost", "hdl.ghost.top:build"))
    assert main(["rtl", "verilog", "ghost"]) == 2
    assert "design 'ghost' is registered but its factory module hdl.ghost.top does not exist yet" in capsys.readouterr().err


@needs_verilator
@pytest.mark.rtl
def test_sim_runs_registered_bench(capsys):
    assert main(["rtl", "sim", "example", "--testcase", "csr_registers"]) == 0
    assert "PASS sim.common.example_bench: 1/1 tests passed" in capsys.readouterr().out
