"""Register map of the risk gate, built once per table geometry and shared by HDL, host and tests.

The map depends on the geometry (table rows are buckets of ``ways`` records), so
it is made by :func:`make_regmap`; :class:`Geometry` carries the sizes and is what
``hdl.riskdb.top.build``, ``host.riskgate_rtl`` and the benches pass around.
"""
from __future__ import annotations

from dataclasses import dataclass

from hdl.common.regmap import Register, RegisterMap, Table, TableWindow, header_registers, wide_registers
from kernels import riskgate_tables as T

__all__ = ["Geometry", "make_regmap", "REGMAP", "TABLE_IDS", "MSG_BITS", "DEC_BITS",
           "MODE_RUN", "CTRL_CLEAR", "STATUS_BUSY", "STATUS_ERR"]

MSG_BITS = 32 * 12  # the wire record of kernels/riskgate_spec.py, one message per stream beat
DEC_BITS = 16  # bits 0..7 accepted, 8..15 reason: the DECISION_DTYPE bytes

# Table ids in the TBL window; the memory row of every table is one bucket.
TABLE_IDS: dict[str, int] = {"acfg": 0, "adyn": 1, "positions": 2, "orders": 3, "instruments": 4}

MODE_RUN = 1  # MODE bit0: the gate takes messages; clear it (and wait for STATUS busy = 0) before table access
CTRL_CLEAR = 1  # CTRL bit0: clear the counters and the error flag, day counter back to 1
STATUS_BUSY = 1  # STATUS bit0: messages in flight
STATUS_ERR = 2  # STATUS bit1: internal consistency check failed (sticky; never set in a correct design)


@dataclass(frozen=True)
class Geometry:
    """Table sizes of one build: buckets per table (powers of two) and ways per bucket."""

    accounts: int = T.DEFAULT_BUCKETS["accounts"]
    positions: int = T.DEFAULT_BUCKETS["positions"]
    orders: int = T.DEFAULT_BUCKETS["orders"]
    instruments: int = T.DEFAULT_BUCKETS["instruments"]
    ways: int = T.WAYS

    def __post_init__(self) -> None:
        for name in ("accounts", "positions", "orders", "instruments"):
            T.check_geometry(name, getattr(self, name), self.ways)
            if getattr(self, name) * self.ways > 1 << T.SLOT_BITS:
                raise ValueError(f"{name}: buckets * ways must be <= {1 << T.SLOT_BITS}, "
                                 f"got {getattr(self, name)} * {self.ways}")

    def buckets(self, table: str) -> int:
        """Bucket count (memory rows) of a hardware table (acfg/adyn count as accounts)."""
        return {"acfg": self.accounts, "adyn": self.accounts}.get(table) or getattr(self, table)

    def row_bits(self, table: str) -> int:
        """Bits of one memory row (bucket) of a hardware table."""
        return self.ways * T.record_bits(table)


def make_regmap(g: Geometry) -> RegisterMap:
    """The risk gate's register map for geometry ``g``."""
    tables = tuple(Table(name.upper(), tid, g.buckets(name), g.row_bits(name), f"{name}: one bucket of {g.ways} ways per row")
                   for name, tid in TABLE_IDS.items())
    return RegisterMap("riskdb", [
        *header_registers("RGDB"),
        Register("CTRL", 0x02, "w1p", 1, "bit0 CLEAR counters, error flag and day counter"),
        Register("MODE", 0x03, "rw", 1, "bit0 RUN: accept messages (clear for table access)"),
        Register("STATUS", 0x04, "ro", 2, "bit0 busy (messages in flight), bit1 error (sticky)"),
        Register("DAY", 0x05, "ro", 32, "day counter: 1 after CLEAR, +1 per EOD (loaded orders belong to day 0)"),
        Register("GEOM", 0x06, "ro", 32, "bits 0..4 ways, 5..9 log2 account, 10..14 position, 15..19 order, "
                 "20..24 instrument buckets", const=_geom_word(g)),
        *wide_registers("MSGS", 0x08, 64, "ro", "messages decided"),
        *wide_registers("ACCEPTS", 0x0A, 64, "ro", "messages accepted"),
        *wide_registers("HOLDS", 0x0C, 64, "ro", "cycles the input was held for an order-id hazard"),
        *wide_registers("CYCLES", 0x0E, 64, "ro", "cycles since reset"),
        Register("RB_SEL", 0x20, "rw", 8, "read-back: table id (TABLE_IDS)"),
        Register("RB_ROW", 0x21, "rw", 16, "read-back: row (bucket); writing it restarts RB_DATA at word 0"),
        Register("RB_DATA", 0x22, "ro", 32, "read-back: next 32-bit word of the row (each read advances)"),
    ], tables=[TableWindow("TBL", 0x10, tables)])


def _geom_word(g: Geometry) -> int:
    lg = lambda n: n.bit_length() - 1  # noqa: E731
    return (g.ways | lg(g.accounts) << 5 | lg(g.positions) << 10 | lg(g.orders) << 15 | lg(g.instruments) << 20)


REGMAP = make_regmap(Geometry())  # the map of the default build (registry, docs); other geometries: make_regmap(g)
