"""Expected top-level Verilog ports of a foreland kernel (the binding and port checker use this)."""
from __future__ import annotations

from .csr import CLOCK_PORT, PORT_NAMES, RESET_PORT

__all__ = ["STREAM_IN", "STREAM_OUT", "stream_ports", "kernel_ports"]

STREAM_IN = "msg_in"  # In(stream.Signature(W)): host -> kernel messages
STREAM_OUT = "dec_out"  # Out(stream.Signature(W2)): kernel -> host results


def stream_ports(name: str, width: int, direction: str) -> dict[str, tuple[str, int]]:
    """Ports of an amaranth.lib.stream interface `name` ('in' = kernel consumes) as Verilog sees them."""
    if direction not in ("in", "out"):
        raise ValueError(f"stream direction must be 'in' or 'out', got {direction!r}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"stream {name}: payload width must be a positive number of bits, got {width!r}")
    inp, outp = ("input", "output") if direction == "in" else ("output", "input")
    return {f"{name}__payload": (inp, width), f"{name}__valid": (inp, 1), f"{name}__ready": (outp, 1)}


def kernel_ports(msg_in: int | None = None, dec_out: int | None = None) -> dict[str, tuple[str, int]]:
    """All ports of a conventional kernel top: clk, rst, the CSR bus and optional streams (payload widths)."""
    ports: dict[str, tuple[str, int]] = {CLOCK_PORT: ("input", 1), RESET_PORT: ("input", 1), **PORT_NAMES}
    if msg_in is not None:
        ports.update(stream_ports(STREAM_IN, msg_in, "in"))
    if dec_out is not None:
        ports.update(stream_ports(STREAM_OUT, dec_out, "out"))
    return ports
