"""Small pipelining helpers shared by the snowball datapath blocks."""
from amaranth.hdl import Module, Shape, Signal, Value

__all__ = ["reg", "delay"]


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
