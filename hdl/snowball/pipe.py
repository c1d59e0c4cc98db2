"""Small pipelining helpers shared by the snowball datapath blocks."""
from amaranth.hdl import Module, Shape, Signal, Value, unsigned
from amaranth.lib.memory import Memory

__all__ = ["reg", "delay", "ram_delay"]


def reg(m: Module, value, name: str | None = None, shape=None) -> Signal:
    """Register `value` once (one pipeline stage); the shape is kept unless given."""
    value = Value.cast(value)
    s = Signal(Shape.cast(shape) if shape is not None else value.shape(), name=name)
    m.d.sync += s.eq(value)
    return s


def delay(m: Module, value, n: int, name: str = "d") -> Value:
    """`value` delayed by `n` clock cycles (a shift register of n stages)."""
    v = Value.cast(value)
    for i in range(n):
        v = reg(m, v, name=f"{name}_{i}")
    return v


def ram_delay(m: Module, value, n: int, name: str) -> Value:
    """`value` delayed by `n` clocks through a circular buffer in RAM plus one output register.

    Long, wide delay lines (a slot travelling beside the 40-stage RNG/normal pipeline) cost
    one flip-flop per bit per stage as a shift register; in RAM they cost a few LUT-RAM
    slices or one block RAM, whatever the depth.  Write at ``ptr``, read ``n - 2`` entries
    behind it (synchronous read, then the output register): entry written at clock t is
    read at t + n - 2, never overwritten before (depth >= n), never the address being
    written (n - 2 >= 1).  Contents start as zeros, so a delayed valid bit starts low.
    """
    value = Value.cast(value)
    if n < 4:
        return delay(m, value, n, name=name)
    depth = 1 << (n - 1).bit_length()
    mem = Memory(shape=unsigned(len(value)), depth=depth, init=[])
    m.submodules[name] = mem
    wp, rp = mem.write_port(), mem.read_port()
    ptr = Signal(range(depth), name=f"{name}_ptr")
    m.d.sync += ptr.eq(ptr + 1)
    m.d.comb += [wp.en.eq(1), wp.addr.eq(ptr), wp.data.eq(value), rp.addr.eq(ptr - (n - 2))]
    return reg(m, rp.data, name=f"{name}_q")
