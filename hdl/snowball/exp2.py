"""2**y in fixed point for the KI loss at maturity: table of 2**(i/1024) times a quadratic in the remainder.

y (log2 units, 32 fraction bits) = n + i/1024 + r with r < 2**-10:
2**y = 2**n * T[i] * (1 + r ln2 + (r ln2)**2 / 2), the final 2**n a barrel
shift into payoff units (2**-40), saturating above 2**5 (above every strike).
Three 18x18 multipliers.  Bit-true reference: ``kernels.snowball_bittrue.exp2_fixed``.
"""
from amaranth.hdl import Const, Module, Mux, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kernels import snowball_fixed as F

from .pipe import reg

__all__ = ["Exp2"]


class Exp2(wiring.Component):
    """y * 2**-32 -> 2**y * 2**40 (saturating at PAY_SAT), fixed latency."""

    LATENCY = 8

    y: In(signed(F.X_WIDTH))
    e: Out(signed(F.PAY_WIDTH))

    def elaborate(self, platform) -> Module:
        m = Module()
        y = self.y
        m.submodules.rom = rom = Memory(shape=unsigned(F.EXP_T_FRAC + 1), depth=1 << F.EXP_TABLE_BITS,
                                        init=[int(v) for v in F.EXP_TABLE])
        rp = rom.read_port()
        m.d.comb += rp.addr.eq(y[22:32])
        # 1: r * ln2 (table read in parallel)
        s1 = reg(m, y[F.EXP_R_SHIFT:22] * Const(F.LN2_Q, 17), name="x1_s1", shape=unsigned(34))
        n1 = reg(m, y[32:].as_signed(), name="x1_n")
        # 2: to 2**-32 units; table value arrives
        s1b = reg(m, s1[12:], name="x2_s1", shape=unsigned(22))
        t2 = reg(m, rp.data, name="x2_t")
        n2 = reg(m, n1, name="x2_n")
        # 3: (r ln2)**2 / 2
        s1h = s1b[8:]
        s2 = reg(m, (s1h * s1h)[17:], name="x3_s2", shape=unsigned(12))
        s1c, t3, n3 = reg(m, s1b, "x3_s1"), reg(m, t2, "x3_t"), reg(m, n2, "x3_n")
        # 4: polynomial
        poly = reg(m, s1c + s2, name="x4_poly", shape=unsigned(23))
        t4, n4 = reg(m, t3, "x4_t"), reg(m, n3, "x4_n")
        # 5: T * poly
        prod = reg(m, t4[17:] * poly[4:22], name="x5_prod", shape=unsigned(36))
        t5, n5 = reg(m, t4, "x5_t"), reg(m, n4, "x5_n")
        # 6: mantissa in [2**34, 2**35]; shift amount sh = n + 6
        mant = reg(m, t5 + prod[11:], name="x6_mant", shape=unsigned(36))
        sh = reg(m, n5 + 6, name="x6_sh", shape=signed(17))
        nsh = reg(m, -(n5 + 6), name="x6_nsh", shape=signed(17))  # so stage 7 is a bare shifter
        # 7: barrel shifts both ways
        left = reg(m, (mant << sh[:4])[:F.PAY_WIDTH], name="x7_left", shape=unsigned(F.PAY_WIDTH))
        right = reg(m, mant >> nsh[:6], name="x7_right", shape=unsigned(36))
        sat = reg(m, sh > F.EXP_MAX_SHIFT, name="x7_sat")
        pos = reg(m, sh >= 0, name="x7_pos")
        zero = reg(m, sh <= -36, name="x7_zero")
        # 8: select
        out = Mux(sat, F.PAY_SAT, Mux(pos, left, Mux(zero, 0, right)))
        e8 = reg(m, out, name="x8_e", shape=signed(F.PAY_WIDTH))
        m.d.comb += self.e.eq(e8)
        return m
