"""Unit-bench harness: the generator, the path increment (normal inside) and exp2 side by side.

Only for verification (``sim/snowball/units_bench.py``): one small Verilator
build exercises the three datapath blocks the lane is made of.
"""
from amaranth.hdl import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from kernels import snowball_fixed as F

from .exp2 import Exp2
from .pathstep import PathIncrement
from .threefry import Threefry2x32

__all__ = ["UnitsHarness"]


class UnitsHarness(wiring.Component):
    """Ports of Threefry2x32 (tf_*), PathIncrement (ps_*) and Exp2 (ex_*)."""

    tf_i_valid: In(1)
    tf_c0: In(32)
    tf_c1: In(32)
    tf_k0: In(32)
    tf_k1: In(32)
    tf_o_valid: Out(1)
    tf_x0: Out(32)
    tf_x1: Out(32)
    ps_w: In(32)
    ps_s: In(1)
    ps_dmant: In(F.DMANT_BITS)
    ps_dshift: In(F.DSHIFT_WIDTH)
    ps_drift: In(signed(F.X_WIDTH))
    ps_z: Out(signed(F.Z_WIDTH))
    ps_inc: Out(signed(F.X_WIDTH))
    ex_y: In(signed(F.X_WIDTH))
    ex_e: Out(signed(F.PAY_WIDTH))

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.tf = tf = Threefry2x32()
        m.submodules.ps = ps = PathIncrement()
        m.submodules.ex = ex = Exp2()
        for unit, prefix in ((tf, "tf_"), (ps, "ps_"), (ex, "ex_")):
            for name, member in unit.signature.members.items():
                ours = getattr(self, prefix + name)
                theirs = getattr(unit, name)
                m.d.comb += (theirs.eq(ours) if member.flow == wiring.In else ours.eq(theirs))
        return m
