"""Exact wide accumulator: 32-bit chunks with registered carries (one add per clock, no long carry chain).

Chunk i sees the input i cycles late together with chunk i-1's carry of the
previous cycle, so the sum is exact (mod 2**width) and settles ``LATENCY``
cycles after the last input.  Integer sums do not depend on order, so lanes
and the host can add in any order and still agree with the bit-true model.
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .pipe import delay

__all__ = ["WideAccumulator"]

CHUNK = 32


class WideAccumulator(wiring.Component):
    """sum += value (sign-extended) when en; clear zeroes it."""

    def __init__(self, width: int, in_width: int, signed_in: bool = True):
        if width % CHUNK:
            raise ValueError(f"width: must be a multiple of {CHUNK}, got {width}")
        self.width, self.in_width, self.signed_in = width, in_width, signed_in
        self.n = width // CHUNK
        self.LATENCY = self.n
        super().__init__({"en": In(1), "clear": In(1), "value": In(in_width), "sum": Out(width)})

    def elaborate(self, platform) -> Module:
        m = Module()
        v = self.value.as_signed() if self.signed_in else self.value
        ext = Signal(self.width)
        m.d.comb += ext.eq(Cat(v, *([v[-1]] * (self.width - self.in_width))) if self.signed_in else v)
        gated = Signal(self.width)
        m.d.comb += gated.eq(ext & self.en.replicate(self.width))
        accs, carries = [], []
        for i in range(self.n):
            acc = Signal(CHUNK, name=f"acc{i}")
            cy = Signal(name=f"cy{i}")
            part = gated[i * CHUNK:(i + 1) * CHUNK]
            d = delay(m, part, i, name=f"in{i}") if i else part
            cin = carries[i - 1] if i else 0
            tot = acc + d + cin
            with m.If(self.clear):
                m.d.sync += [acc.eq(0), cy.eq(0)]
            with m.Else():
                m.d.sync += [acc.eq(tot[:CHUNK]), cy.eq(tot[CHUNK])]
            accs.append(acc)
            carries.append(cy)
        m.d.comb += self.sum.eq(Cat(*accs))
        return m
