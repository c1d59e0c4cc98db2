"""A timing probe for the risk gate's table reads: one W-way bucket read, key compare and way select.

Not part of the gate. ``docs/riskgate-hardware.md`` argues that a 100 MHz gate on
the ECP5 needs each table read cut into address register, block RAM, compare and
select stages; this component is that read path alone, so its Fmax can be
measured with the project's flow (``bench/bench_riskgate_rtl.py::test_read_probe_fmax``)
before the gate is rebuilt around it. The row layout is the orders table's
lookup part (per way: the 64-bit id, the 2-bit state and the 32-bit day, as in
``kernels/riskgate_tables.LAYOUTS["orders"]``) and a live-entry test like the
gate's (OPEN, or USED today).

Stages: address register | block RAM (registered read) | [``outreg``: the block
RAM's data registered once more before any logic, what ``REGMODE = OUTREG``
provides] | per-way match bits registered with the row [``split``; else the
compare and the select share a stage] | way select registered: 3 to 5 stages
(``stages``). The result (hit, way, the selected way's state and day) comes
``stages`` cycles after ``key``/``bucket`` are presented, one lookup per clock.
``payload_bits`` widens each way by other fields that the select carries to
``payload`` (a whole gate record: the orders' is 358 bits, 260 of them beyond
the lookup fields), to see what row width costs.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kernels.riskgate_tables import LAYOUTS, ORDER_OPEN, ORDER_USED, WAYS

# Widths of the orders record's lookup fields, from the one layout the gate, host and kernel share.
KEY_BITS, STATE_BITS, DAY_BITS = (dict(LAYOUTS["orders"])[f] for f in ("order_id", "state", "day"))


def way_bits(payload_bits: int = 0) -> int:
    """Bits of one way's record: id, state and day, then ``payload_bits`` of other fields."""
    return KEY_BITS + STATE_BITS + DAY_BITS + payload_bits


class ReadProbe(wiring.Component):
    """One bucket read of a ``ways``-way table of ``buckets`` rows, compared with ``key`` and resolved to a way."""

    def __init__(self, buckets: int = 256, ways: int = WAYS, outreg: bool = True, split: bool = True,
                 payload_bits: int = 0):
        self._MustUse__silence = True  # a rejected probe is not an unused one (cleared below once built)
        if buckets < 2 or buckets & (buckets - 1):
            raise ValueError(f"buckets: must be a power of two >= 2, got {buckets}")
        if ways < 1:
            raise ValueError(f"ways: must be >= 1, got {ways}")
        if payload_bits < 0:
            raise ValueError(f"payload_bits: must be >= 0, got {payload_bits}")
        self._MustUse__silence = False
        self.buckets, self.ways, self.outreg, self.split = buckets, ways, bool(outreg), bool(split)
        self.stages = 3 + self.outreg + self.split
        self.payload_bits = int(payload_bits)
        abits = (buckets - 1).bit_length()
        super().__init__({
            "valid": In(1), "bucket": In(abits), "key": In(KEY_BITS), "today": In(DAY_BITS),
            # host-side write port, so the memory is not constant (a real table is written by EX)
            "w_en": In(1), "w_bucket": In(abits), "w_row": In(way_bits(payload_bits) * ways),
            "out_valid": Out(1), "hit": Out(1), "way": Out(max(1, (ways - 1).bit_length())),
            "state": Out(STATE_BITS), "day": Out(DAY_BITS),
            # the selected way's other fields (the rest of a gate record: what the checks read)
            "payload": Out(max(1, payload_bits)),
        })

    def elaborate(self, platform):
        """Address register, registered block-RAM read, compare, select."""
        m = Module()
        wb = way_bits(self.payload_bits)
        m.submodules.mem = mem = Memory(shape=unsigned(wb * self.ways), depth=self.buckets, init=[])
        wr = mem.write_port()
        rd = mem.read_port(domain="sync")
        m.d.comb += [wr.en.eq(self.w_en), wr.addr.eq(self.w_bucket), wr.data.eq(self.w_row)]

        # stage 1: address, key and day registered (the gate's hash stage ends in registers)
        a_v, a_key, a_today = Signal(), Signal(KEY_BITS), Signal(DAY_BITS)
        a_bkt = Signal.like(self.bucket)
        m.d.sync += [a_v.eq(self.valid), a_bkt.eq(self.bucket), a_key.eq(self.key), a_today.eq(self.today)]
        m.d.comb += [rd.addr.eq(a_bkt), rd.en.eq(1)]
        # stage 2: the block RAM's registered output; key and day follow in registers
        b_v, b_key, b_today = Signal(), Signal(KEY_BITS), Signal(DAY_BITS)
        m.d.sync += [b_v.eq(a_v), b_key.eq(a_key), b_today.eq(a_today)]
        row = rd.data
        if self.outreg:
            # the block RAM's data registered once more before any logic (its output register)
            o_v, o_key, o_today, o_row = Signal(), Signal(KEY_BITS), Signal(DAY_BITS), Signal.like(rd.data)
            m.d.sync += [o_v.eq(b_v), o_key.eq(b_key), o_today.eq(b_today), o_row.eq(rd.data)]
            b_v, b_key, b_today, row = o_v, o_key, o_today, o_row
        fields = [row[i * wb:(i + 1) * wb] for i in range(self.ways)]
        ids = [f[:KEY_BITS] for f in fields]
        states = [f[KEY_BITS:KEY_BITS + STATE_BITS] for f in fields]
        days = [f[KEY_BITS + STATE_BITS:KEY_BITS + STATE_BITS + DAY_BITS] for f in fields]
        pays = [f[KEY_BITS + STATE_BITS + DAY_BITS:] if self.payload_bits else f[:1] for f in fields]
        match = Cat(*[(ids[i] == b_key)
                      & ((states[i] == ORDER_OPEN) | ((states[i] == ORDER_USED) & (days[i] == b_today)))
                      for i in range(self.ways)])
        if self.split:
            # the compare's stage: match bits and the row's lookup fields registered
            c_v, c_match = Signal(), Signal(self.ways)
            c_states = [Signal(STATE_BITS) for _ in range(self.ways)]
            c_days = [Signal(DAY_BITS) for _ in range(self.ways)]
            m.d.sync += [c_v.eq(b_v), c_match.eq(match)]
            m.d.sync += [c.eq(s) for c, s in zip(c_states, states)]
            m.d.sync += [c.eq(d) for c, d in zip(c_days, days)]
            c_pays = [Signal(len(p)) for p in pays]
            m.d.sync += [c.eq(p) for c, p in zip(c_pays, pays)]
            v, mt, st, dy, py = c_v, c_match, c_states, c_days, c_pays
        else:
            v, mt, st, dy, py = b_v, match, states, days, pays
        # last stage: the lowest matching way (ids are unique per bucket), its fields registered
        with m.If(v):
            m.d.sync += self.hit.eq(mt.any())
            for i in reversed(range(self.ways)):
                with m.If(mt[i]):
                    m.d.sync += [self.way.eq(i), self.state.eq(st[i]), self.day.eq(dy[i]), self.payload.eq(py[i])]
        m.d.sync += self.out_valid.eq(v)
        return m
