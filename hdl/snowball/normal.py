"""Fixed-point inverse normal CDF: octave (leading zeros) + 16 uniform sub-segments, quadratic per segment.

Formats and coefficients come from ``kernels.snowball_fixed``; the bit-true
reference is ``kernels.snowball_bittrue.normal_fixed``.  The word is folded to
the lower half (u < 1/2) by complementing it, so N(~w) = -N(w) exactly and the
antithetic partner costs one negation.  Segments reach u = 2**-33 (|z| = 6.23).
"""
from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kernels import snowball_fixed as F

from .pipe import reg

__all__ = ["NormalTransform", "normal_rom_init"]

_W0, _W1, _W2 = F.NORM_C0_WIDTH, F.NORM_C1_WIDTH, F.NORM_C2_WIDTH
#: low bits of b taken by the unsigned partial product of stage 8 (the rest is signed)
_SPLIT = 12


def _leading_zeros(v):
    """Leading zero bits of `v` (width a power of two >= 2; `v` must be non-zero)."""
    n = len(v)
    if n == 2:
        return ~v[1]
    hi, lo = v[n // 2:], v[:n // 2]
    hi_zero = hi == 0
    sub = Mux(hi_zero, _leading_zeros(lo), _leading_zeros(hi))
    return Cat(sub, hi_zero)


def normal_rom_init() -> list[int]:
    """ROM words: c0 | c1 << 28 | c2 << 50 (two's complement fields), indexed by (octave << 4) | sub-segment."""
    out = []
    for c0, c1, c2 in zip(F.NORM_C0, F.NORM_C1, F.NORM_C2):
        out.append((int(c0) & ((1 << _W0) - 1)) | ((int(c1) & ((1 << _W1) - 1)) << _W0)
                   | ((int(c2) & ((1 << _W2) - 1)) << (_W0 + _W1)))
    return out


class NormalTransform(wiring.Component):
    """32-bit uniform word -> z * 2**14 (signed 18 bits), one per clock, fixed latency."""

    LATENCY = 12

    w: In(32)
    z: Out(signed(F.Z_WIDTH))

    def elaborate(self, platform) -> Module:
        m = Module()
        tb = F.NORM_T_BITS
        sb = F.NORM_SEG_BITS
        # 1: fold to the lower half and append the +0.5 bit: u = g / 2**33.
        upper = reg(m, self.w[31], name="n1_upper")
        g = reg(m, Cat(1, Mux(self.w[31], ~self.w, self.w)[:31]), name="n1_g")
        # 2: leading zeros (the octave), as a balanced tree: log2(32) mux levels, not a 32-deep priority chain.
        e = reg(m, _leading_zeros(g), name="n2_e", shape=unsigned(5))
        g2 = reg(m, g, name="n2_g")
        up2 = reg(m, upper, name="n2_up")
        # 3-4: normalise (two-level barrel shift).
        g3 = reg(m, (g2 << Cat(Signal(3), e[3:]))[:32], name="n3_g")
        e3 = reg(m, e, name="n3_e")
        up3 = reg(m, up2, name="n3_up")
        mm = reg(m, (g3 << e3[:3])[:32], name="n4_m")
        e4 = reg(m, e3, name="n4_e")
        up4 = reg(m, up3, name="n4_up")
        # 5: coefficient ROM (synchronous read), offset t in the segment.
        m.submodules.rom = rom = Memory(shape=unsigned(_W0 + _W1 + _W2), depth=F.NORM_SEGMENTS, init=normal_rom_init())
        rp = rom.read_port()
        m.d.comb += rp.addr.eq(Cat(mm[31 - sb:31], e4))
        t4b = reg(m, mm[31 - sb - tb:31 - sb], name="n5_t")
        up4b = reg(m, up4, name="n5_up")
        # 5b: register the ROM output (a DP16KD's clock-to-output is ~5.6 ns on the ECP5).
        rom_q = reg(m, rp.data, name="n5b_rom")
        t5, up5 = reg(m, t4b, "n5b_t"), reg(m, up4b, "n5b_up")
        c0 = rom_q[:_W0].as_signed()
        c1 = rom_q[_W0:_W0 + _W1].as_signed()
        c2 = rom_q[_W0 + _W1:].as_signed()
        # 6: c2 * t
        a6 = reg(m, c2 * t5, name="n6_a", shape=signed(_W2 + tb + 1))
        c1_6, c0_6, t6, up6 = reg(m, c1, "n6_c1"), reg(m, c0, "n6_c0"), reg(m, t5, "n6_t"), reg(m, up5, "n6_up")
        # 7: b = c1 + (c2 t >> 17)
        b7 = reg(m, c1_6 + (a6 >> tb), name="n7_b", shape=signed(_W1 + 1))
        c0_7, t7, up7 = reg(m, c0_6, "n7_c0"), reg(m, t6, "n7_t"), reg(m, up6, "n7_up")
        # 8: b * t as two registered 18x18 partial products (b is 23 bits: one multiplier block
        # cannot take it, and a two-block product plus its adder in one clock is the slowest path).
        ph8 = reg(m, b7[_SPLIT:].as_signed() * t7, name="n8_ph", shape=signed(_W1 + 1 - _SPLIT + tb + 1))
        pl8 = reg(m, b7[:_SPLIT] * t7, name="n8_pl", shape=unsigned(_SPLIT + tb))
        c0_8a, up8a = reg(m, c0_7, "n8a_c0"), reg(m, up7, "n8a_up")
        p8 = reg(m, (ph8 << _SPLIT) + pl8, name="n8_p", shape=signed(_W1 + 1 + tb + 1))
        c0_8, up8 = reg(m, c0_8a, "n8_c0"), reg(m, up8a, "n8_up")
        # 9: z (lower half) with C_FRAC bits
        zf9 = reg(m, c0_8 + (p8 >> tb), name="n9_zf", shape=signed(_W0 + 1))
        up9 = reg(m, up8, "n9_up")
        # 10: round to Z_FRAC bits, unfold.
        zr = (zf9 + (1 << (F.NORM_ROUND_SHIFT - 1))) >> F.NORM_ROUND_SHIFT
        z10 = reg(m, Mux(up9, -zr, zr), name="n10_z", shape=signed(F.Z_WIDTH))
        m.d.comb += self.z.eq(z10)
        return m
