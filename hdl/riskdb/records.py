"""Field access into memory rows (one bucket of ``ways`` records), laid out by kernels/riskgate_tables.LAYOUTS."""
from __future__ import annotations

from amaranth.hdl import Value

from kernels import riskgate_tables as T

__all__ = ["RowLayout"]


class RowLayout:
    """Slices of one table's bucket row: ``f(row, way, field)`` with a constant or signal way index."""

    def __init__(self, table: str, ways: int) -> None:
        self.table = table
        self.ways = ways
        self.rec_bits = T.record_bits(table)
        self.row_bits = ways * self.rec_bits
        self._off = T.field_offsets(table)

    def width(self, field: str) -> int:
        """Bits of ``field``."""
        return self._off[field][1]

    def f(self, row: Value, way, field: str) -> Value:
        """Field ``field`` of way ``way`` (an int or a Value) of ``row``; assignable when ``row`` is a Signal."""
        lsb, bits = self._off[field]
        rec = row[way * self.rec_bits:(way + 1) * self.rec_bits] if isinstance(way, int) \
            else row.word_select(way, self.rec_bits)
        return rec[lsb:lsb + bits]
