"""Declarative register maps: the single source of truth for a kernel's CSR space.

A design defines its map once (e.g. ``hdl/snowball/regmap.py``); the HDL builds
its decode logic from it (:class:`hdl.common.csr_decoder.CSRDecoder`), the host
drives the device by register name, and tests import the same object.  This
module has no Amaranth dependency so host code can import it cheaply.

Addresses are 32-bit *word* addresses on the 16-bit CSR bus.  Access kinds:

``rw``   host writes and reads back; the design reads the value.
``ro``   the design drives the value; host writes are ignored.
``wo``   host writes, the design reads; host reads return 0.
``w1p``  write-one-pulse: the written value appears for exactly one cycle
         (the cycle after the write edge) and is 0 otherwise; reads return 0.

Values wider than 32 bits are split into 32-bit parts, lowest first:
``NAME_LO``/``NAME_HI`` for up to 64 bits, ``NAME_W0``, ``NAME_W1``... beyond.
Reading part 0 of a wide ``ro`` value snapshots the other parts, so a host
reading LO then HI sees one consistent value.

Table windows load on-chip tables like a DMA engine would: the host writes
``<W>_SEL`` (table id) and ``<W>_ADDR`` (first row) once, then streams words to
``<W>_DATA``; every ``words_per_row`` words form one row (lowest word first)
which is written at ``ADDR`` and ``ADDR`` then increments.
"""
from __future__ import annotations

import keyword
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Protocol, Sequence

import numpy as np

__all__ = [
    "ACCESS_KINDS", "MAPHASH", "Register", "Table", "TableWindow", "RegisterMap",
    "wide_registers", "part_names", "split_words", "join_words", "split64", "join64",
    "pack_rows", "unpack_rows", "header_registers", "fourcc", "CSRDevice",
]

ACCESS_KINDS = ("rw", "ro", "wo", "w1p")
ADDR_LIMIT = 1 << 16
MAPHASH = "maphash"  # `const` value resolved to RegisterMap.hash by the decoder
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CSRDevice(Protocol):
    """What regmap helpers need from a device: word reads/writes and block writes."""

    def write(self, addr: int, value: int) -> None:
        """Write one 32-bit register."""

    def read(self, addr: int) -> int:
        """Read one 32-bit register."""

    def write_block(self, addr: int, words: np.ndarray) -> None:
        """Write many words to one register address."""


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name) or keyword.iskeyword(name):
        raise ValueError(f"{kind} name {name!r} is not allowed: use a Python identifier such as 'CTRL' or 'NUM_PATHS'")


@dataclass(frozen=True)
class Register:
    """One 32-bit (or narrower) CSR word."""

    name: str
    addr: int
    access: str = "rw"
    width: int = 32
    doc: str = ""
    reset: int = 0  # value after reset for rw/wo registers
    const: int | str | None = None  # ro registers only: constant driven by the decoder (or MAPHASH)

    def __post_init__(self) -> None:
        _check_name("register", self.name)
        if not isinstance(self.addr, int) or not 0 <= self.addr < ADDR_LIMIT:
            raise ValueError(f"register {self.name}: addr must be an integer word address in 0..0xFFFF, got {self.addr!r}")
        if self.access not in ACCESS_KINDS:
            raise ValueError(f"register {self.name}: access must be one of {', '.join(ACCESS_KINDS)}, got {self.access!r}")
        if not isinstance(self.width, int) or not 1 <= self.width <= 32:
            raise ValueError(f"register {self.name}: width must be 1..32 bits (split wider values with wide_registers), got {self.width!r}")
        if not isinstance(self.reset, int) or not 0 <= self.reset < (1 << self.width):
            raise ValueError(f"register {self.name}: reset must fit in {self.width} unsigned bits, got {self.reset!r}")
        if self.const is not None:
            if self.access != "ro":
                raise ValueError(f"register {self.name}: const is only allowed on 'ro' registers (access is {self.access!r})")
            if self.const != MAPHASH and not (isinstance(self.const, int) and 0 <= self.const < (1 << self.width)):
                raise ValueError(f"register {self.name}: const must fit in {self.width} unsigned bits or be MAPHASH, got {self.const!r}")

    @property
    def readable(self) -> bool:
        """True when host reads return the register's value (rw and ro)."""
        return self.access in ("rw", "ro")

    @property
    def writable(self) -> bool:
        """True when host writes have an effect (rw, wo, w1p)."""
        return self.access != "ro"


def part_names(name: str, width: int) -> list[str]:
    """Names of the 32-bit parts of a value `width` bits wide (lowest first)."""
    if width <= 32:
        return [name]
    n = -(-width // 32)
    return [f"{name}_LO", f"{name}_HI"] if n == 2 else [f"{name}_W{i}" for i in range(n)]


def wide_registers(name: str, addr: int, width: int = 64, access: str = "rw", doc: str = "", reset: int = 0) -> list[Register]:
    """Registers holding one value of `width` bits at consecutive addresses from `addr`, lowest word first."""
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"register {name}: width must be a positive number of bits, got {width!r}")
    names = part_names(name, width)
    regs = []
    for i, part in enumerate(names):
        w = min(32, width - 32 * i)
        regs.append(Register(part, addr + i, access, w, doc if i == 0 else f"{doc} (bits {32 * i}..{32 * i + w - 1})".strip(),
                             (reset >> (32 * i)) & ((1 << w) - 1)))
    return regs


def split_words(value: int, width: int) -> list[int]:
    """Split a non-negative integer of `width` bits into 32-bit words, lowest first."""
    if not isinstance(value, (int, np.integer)) or value < 0 or int(value) >> width:
        raise ValueError(f"value must be an unsigned integer of at most {width} bits, got {value!r}")
    value = int(value)
    return [(value >> (32 * i)) & 0xFFFFFFFF for i in range(-(-width // 32))]


def join_words(words: Iterable[int]) -> int:
    """Join 32-bit words (lowest first) into one integer."""
    out = 0
    for i, w in enumerate(words):
        out |= (int(w) & 0xFFFFFFFF) << (32 * i)
    return out


def split64(value: int) -> tuple[int, int]:
    """(lo, hi) 32-bit halves of a 64-bit unsigned value."""
    lo, hi = split_words(value, 64)
    return lo, hi


def join64(lo: int, hi: int) -> int:
    """The 64-bit value whose halves are `lo` and `hi`."""
    return join_words([lo, hi])


def fourcc(text: str) -> int:
    """A 4-character ASCII tag as a 32-bit integer (first character in the low byte)."""
    if not isinstance(text, str) or len(text) != 4 or not text.isascii():
        raise ValueError(f"fourcc must be exactly 4 ASCII characters, got {text!r}")
    return int.from_bytes(text.encode("ascii"), "little")


def header_registers(ident: str, base: int = 0) -> list[Register]:
    """The recommended first two registers: ID (FourCC of the design) and MAPHASH (hash of the map)."""
    return [
        Register("ID", base, "ro", 32, f"design identifier, FourCC {ident!r}", const=fourcc(ident)),
        Register("MAPHASH", base + 1, "ro", 32, "CRC-32 of the register map; the host checks it on open", const=MAPHASH),
    ]


@dataclass(frozen=True)
class Table:
    """An on-chip table loaded through a window: `depth` rows of `width` bits."""

    name: str
    id: int
    depth: int
    width: int
    doc: str = ""

    def __post_init__(self) -> None:
        _check_name("table", self.name)
        if not isinstance(self.id, int) or not 0 <= self.id < 256:
            raise ValueError(f"table {self.name}: id must be 0..255, got {self.id!r}")
        if not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"table {self.name}: depth must be a positive number of rows, got {self.depth!r}")
        if not isinstance(self.width, int) or not 1 <= self.width <= 32 * 64:
            raise ValueError(f"table {self.name}: width must be 1..2048 bits per row, got {self.width!r}")

    @property
    def words_per_row(self) -> int:
        """32-bit words the host writes per row."""
        return -(-self.width // 32)


@dataclass(frozen=True)
class TableWindow:
    """Three registers at `base`: <name>_SEL, <name>_ADDR (row, auto-increments), <name>_DATA."""

    name: str
    base: int
    tables: tuple[Table, ...]
    doc: str = ""

    def __post_init__(self) -> None:
        _check_name("table window", self.name)
        object.__setattr__(self, "tables", tuple(self.tables))
        if not self.tables:
            raise ValueError(f"table window {self.name}: tables must list at least one Table")
        ids = [t.id for t in self.tables]
        if len(set(ids)) != len(ids):
            raise ValueError(f"table window {self.name}: table ids must be unique, got {ids}")

    @property
    def registers(self) -> list[Register]:
        """The window's three CSR registers."""
        max_depth = max(t.depth for t in self.tables)
        return [
            Register(f"{self.name}_SEL", self.base, "rw", 8, f"table window {self.name}: table id to load"),
            Register(f"{self.name}_ADDR", self.base + 1, "rw", max(1, (max_depth).bit_length()),
                     f"table window {self.name}: next row to write (auto-increments per row)"),
            Register(f"{self.name}_DATA", self.base + 2, "wo", 32,
                     f"table window {self.name}: row data, words_per_row words per row, lowest word first"),
        ]


def pack_rows(values: Any, width: int) -> np.ndarray:
    """Pack unsigned row values (ints, or a 1-D uint64 array) into a (N, words_per_row) uint32 array."""
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive number of bits, got {width!r}")
    wpr = -(-width // 32)
    arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if arr.dtype.kind in "ui" and width <= 64:
        if arr.dtype.kind == "i" and (arr < 0).any():
            raise ValueError("row values must be unsigned (no negative entries)")
        u = arr.astype(np.uint64).ravel()
        if width < 64 and (u >> np.uint64(width)).any():
            raise ValueError(f"row values must fit in {width} bits")
        out = np.empty((u.size, wpr), dtype=np.uint32)
        out[:, 0] = (u & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        if wpr > 1:
            out[:, 1] = (u >> np.uint64(32)).astype(np.uint32)
        return out
    rows = list(values)
    # Python ints of any width: little-endian bytes viewed as uint32 words (one C-level pass).
    try:
        buf = b"".join(int(v).to_bytes(4 * wpr, "little") for v in rows)
    except OverflowError:
        raise ValueError(f"row values must be unsigned integers of at most {width} bits") from None
    out = np.frombuffer(buf, dtype="<u4").astype(np.uint32).reshape(len(rows), wpr)
    if width % 32 and rows and (out[:, -1] >> np.uint32(width % 32)).any():
        raise ValueError(f"row values must fit in {width} bits")
    return out


def unpack_rows(words: np.ndarray) -> list[int]:
    """Inverse of pack_rows: python ints from a (N, words_per_row) uint32 array."""
    words = np.asarray(words, dtype=np.uint32)
    if words.ndim != 2:
        raise ValueError(f"words must be a 2-D (rows, words_per_row) array, got shape {words.shape}")
    return [join_words(row) for row in words.tolist()]


@dataclass
class RegisterMap:
    """A design's complete CSR map: registers plus table windows, validated on construction."""

    name: str
    registers: Sequence[Register]
    tables: Sequence[TableWindow] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check_name("register map", self.name)
        self.registers = tuple(self.registers)
        self.tables = tuple(self.tables)
        for r in self.registers:
            if not isinstance(r, Register):
                raise ValueError(f"register map {self.name}: registers must be Register objects, got {r!r}")
        for w in self.tables:
            if not isinstance(w, TableWindow):
                raise ValueError(f"register map {self.name}: tables must be TableWindow objects, got {w!r}")
        by_name: dict[str, Register] = {}
        by_addr: dict[int, Register] = {}
        for r in self.all_registers:
            if r.name in by_name:
                raise ValueError(f"register map {self.name}: duplicate register name {r.name!r}")
            if r.addr in by_addr:
                raise ValueError(f"register map {self.name}: registers {by_addr[r.addr].name} and {r.name} "
                                 f"overlap at address 0x{r.addr:04X}")
            by_name[r.name] = r
            by_addr[r.addr] = r
        tnames = [t.name for w in self.tables for t in w.tables]
        dup = sorted({n for n in tnames if tnames.count(n) > 1})
        if dup:
            raise ValueError(f"register map {self.name}: duplicate table names {dup}")
        if sum(1 for r in self.all_registers if r.const == MAPHASH) > 1:
            raise ValueError(f"register map {self.name}: at most one MAPHASH register")
        self._by_name = by_name
        self._by_addr = by_addr

    @property
    def all_registers(self) -> list[Register]:
        """Plain registers followed by every table window's registers."""
        return [*self.registers, *(r for w in self.tables for r in w.registers)]

    def __getitem__(self, name: str) -> Register:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"register map {self.name} has no register {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Register]:
        return iter(self.all_registers)

    def __len__(self) -> int:
        return len(self._by_name)

    def addr(self, name: str) -> int:
        """Word address of register `name`."""
        return self[name].addr

    def at(self, addr: int) -> Register | None:
        """The register at word address `addr`, or None."""
        return self._by_addr.get(addr)

    def parts(self, name: str) -> list[Register]:
        """The 32-bit parts of a (possibly wide) value called `name`, lowest first."""
        if name in self._by_name:
            return [self._by_name[name]]
        if f"{name}_LO" in self._by_name and f"{name}_HI" in self._by_name:
            return [self._by_name[f"{name}_LO"], self._by_name[f"{name}_HI"]]
        parts = []
        while f"{name}_W{len(parts)}" in self._by_name:
            parts.append(self._by_name[f"{name}_W{len(parts)}"])
        if not parts:
            raise KeyError(f"register map {self.name} has no register or wide value {name!r}")
        return parts

    def table(self, name: str) -> tuple[TableWindow, Table]:
        """The window holding table `name`, and the table."""
        for w in self.tables:
            for t in w.tables:
                if t.name == name:
                    return w, t
        raise KeyError(f"register map {self.name} has no table {name!r}; tables: "
                       f"{', '.join(t.name for w in self.tables for t in w.tables) or 'none'}")

    @property
    def hash(self) -> int:
        """CRC-32 of the map's layout (names, addresses, kinds, widths, tables); 32-bit."""
        desc = [self.name]
        desc += [f"{r.name}:{r.addr}:{r.access}:{r.width}:{r.reset}" for r in self.registers]
        desc += [f"{w.name}:{w.base}:" + ",".join(f"{t.name}/{t.id}/{t.depth}/{t.width}" for t in w.tables) for w in self.tables]
        return zlib.crc32(";".join(desc).encode())

    def const_value(self, reg: Register) -> int | None:
        """The constant an ro register carries (MAPHASH resolved), or None."""
        if reg.const == MAPHASH:
            return self.hash & ((1 << reg.width) - 1)
        return reg.const  # type: ignore[return-value]

    def markdown(self) -> str:
        """A Markdown table documenting every register and table of the map."""
        lines = [f"### Register map `{self.name}` (hash 0x{self.hash:08X})", "",
                 "| Address | Name | Access | Width | Reset | Description |",
                 "|---|---|---|---|---|---|"]
        for r in sorted(self.all_registers, key=lambda r: r.addr):
            reset = f"0x{self.const_value(r):X} (const)" if r.const is not None else (f"0x{r.reset:X}" if r.access in ("rw", "wo") else "-")
            lines.append(f"| 0x{r.addr:04X} | {r.name} | {r.access} | {r.width} | {reset} | {r.doc.replace('|', '/')} |")
        if self.tables:
            lines += ["", "| Window | Table | Id | Rows | Bits/row | Words/row | Description |", "|---|---|---|---|---|---|---|"]
            for w in self.tables:
                for t in w.tables:
                    lines.append(f"| {w.name} | {t.name} | {t.id} | {t.depth} | {t.width} | {t.words_per_row} | {t.doc.replace('|', '/')} |")
        return "\n".join(lines) + "\n"

    # ---- host-side helpers (duck-typed on CSRDevice) ----
    def write_value(self, dev: CSRDevice, name: str, value: int) -> None:
        """Write a (possibly wide) value by name, lowest part first."""
        parts = self.parts(name)
        width = sum(p.width for p in parts)
        for reg, word in zip(parts, split_words(value, width)):
            if not reg.writable:
                raise ValueError(f"register {reg.name} is read-only")
            dev.write(reg.addr, word)

    def read_value(self, dev: CSRDevice, name: str) -> int:
        """Read a (possibly wide) value by name, lowest part first (part 0 snapshots the rest)."""
        return join_words(dev.read(r.addr) for r in self.parts(name))

    def load_table(self, dev: CSRDevice, table: str, rows: np.ndarray, start_row: int = 0) -> None:
        """Load rows (a (N, words_per_row) uint32 array, see pack_rows) into `table` from `start_row`."""
        win, t = self.table(table)
        rows = np.ascontiguousarray(rows, dtype=np.uint32)
        if rows.ndim == 1 and t.words_per_row == 1:
            rows = rows.reshape(-1, 1)
        if rows.ndim != 2 or rows.shape[1] != t.words_per_row:
            raise ValueError(f"rows for table {table} must have shape (N, {t.words_per_row}), got {rows.shape}")
        if not 0 <= start_row or start_row + rows.shape[0] > t.depth:
            raise ValueError(f"table {table} holds {t.depth} rows; cannot load {rows.shape[0]} rows from row {start_row}")
        dev.write(self.addr(f"{win.name}_SEL"), t.id)
        dev.write(self.addr(f"{win.name}_ADDR"), start_row)
        dev.write_block(self.addr(f"{win.name}_DATA"), rows.ravel())

    def check_device(self, dev: CSRDevice) -> None:
        """Raise RuntimeError if the device's MAPHASH register disagrees with this map."""
        for r in self.registers:
            if r.const == MAPHASH:
                got = dev.read(r.addr)
                if got != self.const_value(r):
                    raise RuntimeError(f"device register map hash 0x{got:08X} != host map {self.name} hash "
                                       f"0x{self.const_value(r):08X}: RTL and host were built from different maps")
                return
