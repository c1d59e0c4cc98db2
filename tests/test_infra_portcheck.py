"""Port checker (pyverilog) and the binding's refusal to build for mismatched RTL."""
import pytest

from hdl.common.example import MSG_WIDTH, OUT_WIDTH, build
from hdl.common.ports import kernel_ports, stream_ports
from hdl.emit import emit_verilog
from host.portcheck import Port, PortMismatch, check_ports, expected_from_component, parse_ports
from infra_fixtures import example_verilog

HAND_WRITTEN = """
// comment mentioning module fake(a);
(* top = 1 *)
module top(clk, rst, a, \\weird$name , y, z);
  input clk;
  input rst;
  input [7:0] a;
  (* keep = 1 *)
  input [0:3] \\weird$name ;
  output [15:0] y;
  output z;
  reg [15:0] y;
  assign z = ^a;
endmodule

module sub(q);
  output [2:0] q;
endmodule
"""


def test_parse_hand_written_module():
    ports = parse_ports(HAND_WRITTEN)
    assert ports == {
        "clk": Port("clk", "input", 1), "rst": Port("rst", "input", 1), "a": Port("a", "input", 8),
        "esc_weird_name": Port("esc_weird_name", "input", 4), "y": Port("y", "output", 16),
        "z": Port("z", "output", 1)}
    assert parse_ports(HAND_WRITTEN, top="sub") == {"q": Port("q", "output", 3)}
    with pytest.raises(PortMismatch, match="top module 'nope' not found"):
        parse_ports(HAND_WRITTEN, top="nope")


def test_example_ports_match_signature_and_conventions():
    text = example_verilog()
    ports = parse_ports(text)
    # Two independent descriptions: the Amaranth signature and the convention table.
    top = build()
    from_sig = expected_from_component(top)
    assert parse_ports(emit_verilog(top)) == ports  # emission is deterministic across instances
    assert {n: (p.direction, p.width) for n, p in ports.items()} == from_sig == kernel_ports(MSG_WIDTH, OUT_WIDTH)
    # The fast header-only parse and a full parse of the module body agree.
    assert parse_ports(text, full=True) == ports
    check_ports(text, from_sig)


def test_mismatch_reports_a_readable_diff():
    wrong = kernel_ports(64, OUT_WIDTH)  # a map that believes msg_in is 64 bits
    del wrong["dec_out__valid"]
    wrong.update(stream_ports("extra", 8, "in"))
    with pytest.raises(PortMismatch) as info:
        check_ports(example_verilog(), wrong)
    msg = str(info.value)
    assert "msg_in__payload: RTL has input [96], expected input [64]" in msg
    assert "unexpected in RTL: output [1] dec_out__valid" in msg
    assert "missing in RTL: input [8] extra__payload" in msg
    assert "csr__addr" not in msg  # matching ports are not listed


def test_binding_refuses_mismatched_rtl_before_compiling(tmp_path, monkeypatch):
    from host.verilated import build_model

    monkeypatch.setenv("FORELAND_CACHE", str(tmp_path))
    with pytest.raises(PortMismatch, match="msg_in__payload: RTL has input \\[96\\], expected input \\[128\\]"):
        build_model(example_verilog(), msg_width=128, out_width=OUT_WIDTH)
    # Nothing was compiled for the refused design.
    assert not [p for p in (tmp_path / "verilated").iterdir() if p.is_dir()]


def test_parse_errors_are_reported():
    with pytest.raises(ValueError, match="non-empty Verilog"):
        parse_ports("  ")
    with pytest.raises(PortMismatch, match="no module found"):
        parse_ports("wire x;")
    with pytest.raises(PortMismatch, match="pyverilog could not parse"):
        parse_ports("module top(a); input [3:0 a; endmodule")
