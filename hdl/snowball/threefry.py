"""Threefry-2x32-20 as a fully pipelined ARX datapath: one block per clock, 26 cycles latency.

Bit-exact with ``kernels.threefry.threefry2x32`` (Random123).  Each of the 20
rounds and each of the 5 key injections is one register stage, so the longest
path is one 32-bit add plus one XOR (no multipliers, no DSP blocks).
"""
from amaranth.hdl import Cat, Const, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from kernels.threefry import KS_PARITY, ROTATIONS, ROUNDS

from .pipe import reg

__all__ = ["Threefry2x32"]


def _rotl(v, r):
    return Cat(v[32 - r:], v[:32 - r])


class Threefry2x32(wiring.Component):
    """Counter (c0, c1) under key (k0, k1) -> (x0, x1); the key is static during a run."""

    LATENCY = 1 + ROUNDS + ROUNDS // 4

    i_valid: In(1)
    c0: In(32)
    c1: In(32)
    k0: In(32)
    k1: In(32)
    o_valid: Out(1)
    x0: Out(32)
    x1: Out(32)

    def elaborate(self, platform) -> Module:
        m = Module()
        # Key schedule registers: the key changes only between runs.
        k2 = reg(m, self.k0 ^ self.k1 ^ Const(KS_PARITY, 32), name="k2")
        ks = (self.k0, self.k1, k2)
        # ks[(s+1)%3] + s is key-only, so it is precomputed (keeps one adder per stage).
        ks_plus = [reg(m, (ks[(s + 1) % 3] + s)[:32], name=f"ksp{s}") for s in range(1, ROUNDS // 4 + 1)]
        x0 = reg(m, (self.c0 + self.k0)[:32], name="x0_in")
        x1 = reg(m, (self.c1 + self.k1)[:32], name="x1_in")
        v = reg(m, self.i_valid, name="v_in")
        for rnd in range(ROUNDS):
            a = (x0 + x1)[:32]
            b = _rotl(x1, ROTATIONS[rnd % 8]) ^ a
            x0, x1 = reg(m, a, name=f"r{rnd}_x0"), reg(m, b, name=f"r{rnd}_x1")
            v = reg(m, v, name=f"r{rnd}_v")
            if rnd % 4 == 3:
                s = rnd // 4 + 1
                x0 = reg(m, (x0 + ks[s % 3])[:32], name=f"i{s}_x0")
                x1 = reg(m, (x1 + ks_plus[s - 1])[:32], name=f"i{s}_x1")
                v = reg(m, v, name=f"i{s}_v")
        m.d.comb += [self.x0.eq(x0), self.x1.eq(x1), self.o_valid.eq(v)]
        return m
