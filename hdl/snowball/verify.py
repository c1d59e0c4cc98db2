"""Verification harness: unit ports plus a 1-lane and a 4-lane kernel in one Verilator build.

cocotb benches drive the kernels through their own CSR buses (``k1__*``,
``k4__*``) and the datapath blocks through the ``tf_*``/``ps_*``/``ex_*``
ports.  One build instead of three keeps the RTL part of CI short (each
Verilator build also compiles the simulator runtime).  Not a synthesis target.
"""
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from hdl.common.csr import CSRBus

from .top import build
from .units import UnitsHarness

__all__ = ["VerifyHarness", "KERNEL_LANES"]

#: CSR bus prefix -> lanes of the kernel behind it
KERNEL_LANES = {"k1": 1, "k4": 4}


class VerifyHarness(wiring.Component):
    """UnitsHarness ports + kernels k1 (1 lane) and k4 (4 lanes)."""

    def __init__(self):
        members = dict(UnitsHarness.__annotations__)
        members.update({prefix: In(CSRBus) for prefix in KERNEL_LANES})
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.units = units = UnitsHarness()
        for name, member in units.signature.members.items():
            ours, theirs = getattr(self, name), getattr(units, name)
            m.d.comb += theirs.eq(ours) if member.flow == wiring.In else ours.eq(theirs)
        for prefix, lanes in KERNEL_LANES.items():
            kern = build(lanes=lanes)
            m.submodules[prefix] = kern
            wiring.connect(m, wiring.flipped(getattr(self, prefix)), kern.csr)
        return m
