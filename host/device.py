"""The abstract accelerator driver: what a board driver (PCIe BAR + DMA) or a simulated model implements.

Kernels are driven only through this interface (see docs/hardware-interface.md),
so pricing and risk code runs unchanged on a Verilated model, a future PCIe
board, or anything else that honours the CSR/stream conventions.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

__all__ = ["Device", "StreamResult", "as_words"]


@dataclass(frozen=True)
class StreamResult:
    """Outputs of Device.stream plus the cycle statistics of the run."""

    words: np.ndarray  # (n_out, out_words_per_msg) uint32, lowest word first
    cycles: int  # cycles the whole call took
    first_in: int  # cycle (relative to the call) of the first accepted input
    last_out: int  # cycle (relative to the call) of the last collected output
    in_stalls: int  # cycles with msg_in valid but not ready
    out_stalls: int  # cycles with dec_out valid but the host not ready (back-pressure)

    @property
    def span(self) -> int:
        """Cycles from the first input accepted to the last output collected, inclusive."""
        return self.last_out - self.first_in + 1

    def as_ints(self) -> list[int]:
        """Outputs as python ints (words joined lowest first)."""
        from hdl.common.regmap import unpack_rows

        return unpack_rows(self.words)


def as_words(addr: int, words) -> np.ndarray:
    """Validate a block of 32-bit words for write_block; returns a contiguous uint32 array."""
    arr = np.asarray(words)
    if arr.dtype.kind not in "ui":
        raise ValueError(f"words for address 0x{addr:04X} must be integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 0xFFFFFFFF):
        raise ValueError(f"words for address 0x{addr:04X} must be 32-bit unsigned values")
    return np.ascontiguousarray(arr.ravel(), dtype=np.uint32)


def _check_addr(addr: int) -> int:
    if not isinstance(addr, (int, np.integer)) or not 0 <= int(addr) <= 0xFFFF:
        raise ValueError(f"addr must be a CSR word address 0..0xFFFF, got {addr!r}")
    return int(addr)


def _check_value(value: int) -> int:
    if not isinstance(value, (int, np.integer)) or not 0 <= int(value) <= 0xFFFFFFFF:
        raise ValueError(f"value must be a 32-bit unsigned integer, got {value!r}")
    return int(value)


class Device(abc.ABC):
    """A kernel behind a CSR bus (BAR0 MMIO on a board) and optional msg_in/dec_out streams."""

    #: bits per msg_in / dec_out payload, or None when the kernel has no streams
    msg_width: int | None = None
    out_width: int | None = None

    @abc.abstractmethod
    def reset(self) -> None:
        """Put the kernel in its reset state (all registers at their reset values)."""

    @abc.abstractmethod
    def write(self, addr: int, value: int) -> None:
        """Write one 32-bit register (board: MMIO store at BAR0 + 4*addr)."""

    @abc.abstractmethod
    def read(self, addr: int) -> int:
        """Read one 32-bit register (board: MMIO load at BAR0 + 4*addr)."""

    @abc.abstractmethod
    def write_block(self, addr: int, words: np.ndarray) -> None:
        """Write many words to one register address in order (board: DMA into a table window)."""

    @abc.abstractmethod
    def run_until(self, addr: int, mask: int, value: int, max_cycles: int) -> int:
        """Wait until ``read(addr) & mask == value``; return cycles waited, TimeoutError past max_cycles."""

    def stream(self, in_words: np.ndarray, n_out: int | None = None, **kw) -> StreamResult:
        """Push messages (N, words_per_msg) through msg_in and collect n_out (default N) dec_out results."""
        raise NotImplementedError(f"{type(self).__name__} has no streaming interface")

    @property
    @abc.abstractmethod
    def cycles(self) -> int:
        """Kernel clock cycles elapsed (board: a free-running counter; may be 0 if unsupported)."""

    def close(self) -> None:
        """Release the device (board: unmap BARs, free DMA buffers)."""

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
