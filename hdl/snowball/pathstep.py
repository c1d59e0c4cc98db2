"""The GBM log-step increment of an antithetic pair: drift +/- (diffusion * z), one normal per two clocks.

Slot s=0 (the + path) and the following slot s=1 (the - path) share one word:
the normal is computed once and the - path reuses the held product, so
inc(-) = drift - dz exactly mirrors inc(+) = drift + dz.  diffusion / ln2 is a
floating mantissa ``dmant`` (17 bits) and a right shift ``dshift``, so one
18x18 multiplier keeps ~2**-17 relative precision for any volatility.
Bit-true reference: ``kernels.snowball_bittrue.increment_fixed``.
"""
from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from kernels import snowball_fixed as F

from .normal import NormalTransform
from .pipe import delay, reg

__all__ = ["PathIncrement"]


class PathIncrement(wiring.Component):
    """(word, s) -> (z, inc); slot s=1 must follow its s=0 slot on the next clock."""

    LATENCY = NormalTransform.LATENCY + 3

    w: In(32)
    s: In(1)
    dmant: In(F.DMANT_BITS)
    dshift: In(F.DSHIFT_WIDTH)
    drift: In(signed(F.X_WIDTH))
    z: Out(signed(F.Z_WIDTH))      # the normal of this slot's word (LATENCY - 3 after w), for unit benches
    inc: Out(signed(F.X_WIDTH))

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.normal = nt = NormalTransform()
        m.d.comb += [nt.w.eq(self.w), self.z.eq(nt.z)]
        s_n = delay(m, self.s, NormalTransform.LATENCY, name="s_n")
        prod = reg(m, nt.z * self.dmant, name="dprod", shape=signed(F.Z_WIDTH + F.DMANT_BITS + 1))
        dz = reg(m, prod >> self.dshift, name="dz", shape=signed(F.X_WIDTH))
        s_d = delay(m, s_n, 2, name="s_d")
        dz_hold = Signal(signed(F.X_WIDTH))
        with m.If(s_d == 0):
            m.d.sync += dz_hold.eq(dz)
        inc = reg(m, Mux(s_d, self.drift - dz_hold, self.drift + dz), name="inc", shape=signed(F.X_WIDTH))
        m.d.comb += self.inc.eq(inc)
        return m
