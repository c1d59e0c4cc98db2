"""The abstract accelerator driver: what a board driver (PCIe BAR + DMA) or a simulated model implements.

Kernels are driven only through this interface (see docs/hardware-interface.md),
so pricing and risk code runs unchanged on a Verilated model, a future PCIe
board, or anything else that honours the CSR/stream conventions.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

__all__ = ["Device", "RegisterFileDevice", "StreamResult", "as_words"]


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


class RegisterFileDevice(Device):
    """Pure-Python model of a RegisterMap's bus semantics, with no design behind it.

    rw/wo registers store (masked to their width), w1p writes are recorded in
    ``pulses``, ro registers return their constant or a value set with
    :meth:`set_ro`, table windows assemble rows into ``tables[name][row]``,
    unmapped and write-only addresses read 0; one cycle per bus access.  It lets
    host drivers be unit-tested without Verilator, and is the reference model
    the register-file RTL is checked against.
    """

    def __init__(self, regmap) -> None:
        """Model the bus of `regmap` (a hdl.common.regmap.RegisterMap)."""
        from hdl.common.regmap import RegisterMap

        if not isinstance(regmap, RegisterMap):
            raise ValueError(f"regmap must be a RegisterMap, got {type(regmap).__name__}")
        self.regmap = regmap
        self._cycles = 0
        self.reset()

    def reset(self) -> None:
        """Reset values, empty tables, no pulses (2 cycles, like the Verilated model)."""
        rm = self.regmap
        self.values = {r.addr: r.reset for r in rm.registers if r.access in ("rw", "wo")}
        self.ro: dict[str, int] = {}
        self.pulses: list[tuple[str, int]] = []
        self.tables: dict[str, dict[int, int]] = {t.name: {} for w in rm.tables for t in w.tables}
        self._win = {w.name: {"sel": 0, "addr": 0, "buf": []} for w in rm.tables}
        self._cycles += 2

    def set_ro(self, name: str, value: int) -> None:
        """Value the (imaginary) design drives on ro register `name`."""
        reg = self.regmap[name]
        if reg.access != "ro":
            raise ValueError(f"register {name} is {reg.access}, not ro")
        self.ro[name] = int(value) & ((1 << reg.width) - 1)

    def _window_of(self, addr: int):
        for w in self.regmap.tables:
            if w.base <= addr < w.base + 3:
                return w, addr - w.base
        return None, None

    def write(self, addr: int, value: int) -> None:
        """One bus write cycle."""
        addr, value = _check_addr(addr), _check_value(value)
        self._cycles += 1
        w, off = self._window_of(addr)
        if w is not None:
            st = self._win[w.name]
            sel_r, addr_r, _ = w.registers
            if off == 0:
                st.update(sel=value & 0xFF, buf=[])
            elif off == 1:
                st.update(addr=value & ((1 << addr_r.width) - 1), buf=[])
            else:
                table = next((t for t in w.tables if t.id == st["sel"]), None)
                st["buf"].append(value)
                if len(st["buf"]) == (table.words_per_row if table else 1):
                    if table is not None and st["addr"] < table.depth:  # rows past the end are dropped
                        from hdl.common.regmap import join_words

                        self.tables[table.name][st["addr"]] = join_words(st["buf"]) & ((1 << table.width) - 1)
                    st["addr"] = (st["addr"] + 1) & ((1 << addr_r.width) - 1)
                    st["buf"] = []
            return
        reg = self.regmap.at(addr)
        if reg is None or reg.access == "ro":
            return
        v = value & ((1 << reg.width) - 1)
        if reg.access == "w1p":
            self.pulses.append((reg.name, v))
        else:
            self.values[addr] = v

    def read(self, addr: int) -> int:
        """One bus read cycle."""
        addr = _check_addr(addr)
        self._cycles += 1
        w, off = self._window_of(addr)
        if w is not None:
            return {0: self._win[w.name]["sel"], 1: self._win[w.name]["addr"]}.get(off, 0)
        reg = self.regmap.at(addr)
        if reg is None or reg.access in ("wo", "w1p"):
            return 0
        if reg.access == "rw":
            return self.values[addr]
        const = self.regmap.const_value(reg)
        return const if const is not None else self.ro.get(reg.name, 0)

    def write_block(self, addr: int, words: np.ndarray) -> None:
        """Writes of every word to one address, in order."""
        for w in as_words(addr, words).tolist():
            self.write(addr, w)

    def run_until(self, addr: int, mask: int, value: int, max_cycles: int) -> int:
        """Poll like the hardware would; nothing changes by itself here, so it matches at once or times out."""
        for n in range(1, int(max_cycles) + 1):
            if self.read(addr) & mask == value:
                return n
        raise TimeoutError(f"register 0x{addr:04X} did not reach (value & 0x{mask:X}) == 0x{value:X} "
                           f"within {max_cycles} cycles")

    @property
    def cycles(self) -> int:
        """Bus cycles since construction (two per reset)."""
        return self._cycles
