"""The one host bus every foreland kernel exposes: a 32-bit word-addressed CSR port.

Member directions are from the host's side, so a kernel's top declares
``csr: In(CSRBus)``.  Timing (see docs/hardware-interface.md):

* write: the register at ``addr`` takes ``w_data`` on the rising clock edge
  where ``w_stb`` is high (one cycle per write, no wait states);
* read: on the edge where ``r_stb`` is high the value at ``addr`` is
  registered into ``r_data``; ``r_data`` shows it from the next cycle and holds
  it until the next ``r_stb`` (fixed latency 1, no wait states).

``w_stb`` and ``r_stb`` are never high in the same cycle.
"""
from __future__ import annotations

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ADDR_WIDTH", "DATA_WIDTH", "CSRBus", "PORT_NAMES", "CLOCK_PORT", "RESET_PORT"]

ADDR_WIDTH = 16  # word address: 64 Ki 32-bit registers
DATA_WIDTH = 32

CSRBus = wiring.Signature({
    "addr": Out(ADDR_WIDTH),
    "w_data": Out(DATA_WIDTH),
    "w_stb": Out(1),
    "r_stb": Out(1),
    "r_data": In(DATA_WIDTH),
})

# Verilog port names Amaranth 0.5 emits for a top component with `csr: In(CSRBus)`
# (member path joined with "__"), with direction and width as seen by the RTL.
PORT_NAMES: dict[str, tuple[str, int]] = {
    "csr__addr": ("input", ADDR_WIDTH),
    "csr__w_data": ("input", DATA_WIDTH),
    "csr__w_stb": ("input", 1),
    "csr__r_stb": ("input", 1),
    "csr__r_data": ("output", DATA_WIDTH),
}
CLOCK_PORT = "clk"  # the `sync` domain clock, rising edge
RESET_PORT = "rst"  # synchronous, active high
