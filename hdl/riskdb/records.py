"""Field access into memory rows (one bucket of ``ways`` records), laid out by kernels/riskgate_tables.LAYOUTS."""
from __future__ import annotations

from amaranth.hdl import Value

from kernels import riskgate_tables as T

__all__ = ["RowLayout", "SubLayout"]


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
        if isinstance(way, int):
            base = way * self.rec_bits
            return row[base + lsb:base + lsb + bits]
        # a mux over the ways of this field only: a variable word_select of the whole row would
        # make every field bit depend on every row bit (slow to elaborate, wide in gates)
        from amaranth.hdl import Mux

        out = row[lsb:lsb + bits]
        for w in range(1, self.ways):
            base = w * self.rec_bits
            out = Mux(way == w, row[base + lsb:base + lsb + bits], out)
        return out


class SubLayout(RowLayout):
    """A narrow copy of a table's rows holding only some fields of every way (packed in ``fields`` order)."""

    def __init__(self, table: str, ways: int, fields: tuple[str, ...]) -> None:
        full = T.field_offsets(table)
        for f in fields:
            if f not in full:
                raise KeyError(f"{table} has no field {f}")
        self.table = table
        self.ways = ways
        self._off = {}
        lsb = 0
        for f in fields:
            self._off[f] = (lsb, full[f][1])
            lsb += full[f][1]
        self.rec_bits = lsb
        self.row_bits = ways * lsb

    def pack(self, full: RowLayout, row: Value) -> Value:
        """The narrow row of the full bucket row ``row`` (laid out by ``full``)."""
        from amaranth.hdl import Cat

        return Cat(*(full.f(row, w, f) for w in range(self.ways) for f in self._off))


class RowUpdate:
    """Next value of a bucket row built from guarded field updates (later updates win), without LHS muxing.

    Each way's record is rebuilt as a ``Cat`` of fields, each field a chain of
    ``Mux(cond & (way == w), value, previous)``; this keeps the netlist (and the
    Verilog) small compared with variable-index slice assignments.
    """

    def __init__(self, layout: RowLayout, row: Value) -> None:
        self.L = layout
        self.row = row
        self._upd: list[tuple[Value, object, str, Value]] = []

    def set(self, cond: Value, way, field: str, value) -> None:
        """Where ``cond``: field ``field`` of way ``way`` becomes ``value``."""
        if field not in self.L._off:
            raise KeyError(f"{self.L.table} has no field {field}")
        self._upd.append((cond, way, field, value))

    def value(self) -> Value:
        """The updated row."""
        from amaranth.hdl import Cat, Mux

        recs = []
        for w in range(self.L.ways):
            parts = []
            for name, (lsb, bits) in self.L._off.items():
                v = self.L.f(self.row, w, name)
                for cond, way, f, val in self._upd:
                    if f != name:
                        continue
                    hit = cond if (isinstance(way, int) and way == w) else (cond & (way == w)) if not isinstance(way, int) else None
                    if hit is None:
                        continue
                    v = Mux(hit, val, v)[:bits]
                parts.append(v)
            recs.append(Cat(*parts))
        return Cat(*recs)
