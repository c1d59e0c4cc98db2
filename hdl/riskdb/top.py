"""Risk gate top: the CSR register file (hdl/riskdb/regmap.py) around the check pipeline (hdl/riskdb/gate.py)."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hdl.common.csr import CSRBus
from hdl.common.csr_decoder import CSRDecoder

from .gate import GateCore
from .regmap import DEC_BITS, MSG_BITS, TABLE_IDS, CTRL_CLEAR, Geometry, make_regmap

__all__ = ["RiskDB", "build"]


class RiskDB(wiring.Component):
    """The risk gate: ``csr`` for tables, mode and counters; ``msg_in`` wire records in, ``dec_out`` decisions out."""

    csr: In(CSRBus)
    msg_in: In(stream.Signature(MSG_BITS))
    dec_out: Out(stream.Signature(DEC_BITS))

    def __init__(self, geometry: Geometry) -> None:
        super().__init__()
        self.geometry = geometry
        self.regmap = make_regmap(geometry)

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.regs = regs = CSRDecoder(self.regmap)
        wiring.connect(m, wiring.flipped(self.csr), regs.bus)
        m.submodules.core = core = GateCore(self.geometry)
        wiring.connect(m, wiring.flipped(self.msg_in), core.msg_in)
        wiring.connect(m, wiring.flipped(self.dec_out), core.dec_out)

        clear = regs["CTRL"][0] & CTRL_CLEAR
        m.d.comb += [core.run.eq(regs["MODE"][0]), core.clear.eq(clear),
                     regs["STATUS"].eq(core.busy | (core.err << 1)), regs["DAY"].eq(core.day)]
        for name, ev in (("MSGS", core.ev_decided), ("ACCEPTS", core.ev_accepted), ("HOLDS", core.ev_hold),
                         ("CYCLES", 1)):
            cnt = Signal(64, name=f"cnt_{name.lower()}")
            with m.If(clear):
                m.d.sync += cnt.eq(0)
            with m.Elif(ev):
                m.d.sync += cnt.eq(cnt + 1)
            m.d.comb += regs.value(name).eq(cnt)

        for t in TABLE_IDS:
            port = regs.table_port(t.upper())
            m.d.comb += [getattr(core, f"ld_{t}_en").eq(port.en), getattr(core, f"ld_{t}_row").eq(port.row),
                         getattr(core, f"ld_{t}_data").eq(port.data)]

        # read-back: RB_ROW selects the bucket (the core's read ports follow it while idle);
        # each RB_DATA read returns the next 32-bit word of that row
        word = Signal(8)
        # the row being written is presented to the memories in the write cycle itself, so the
        # first RB_DATA read (the next bus cycle) already returns the new row
        m.d.comb += [core.rb_row.eq(Mux(regs.wstrobe["RB_ROW"], self.csr.w_data[:16], regs["RB_ROW"])),
                     core.rb_sel.eq(regs["RB_SEL"]),
                     regs["RB_DATA"].eq(core.rb_data.word_select(word, 32))]
        with m.If(regs.wstrobe["RB_ROW"] | regs.wstrobe["RB_SEL"]):
            m.d.sync += word.eq(0)
        with m.Elif(self.csr.r_stb & regs.rstrobe["RB_DATA"]):
            m.d.sync += word.eq(word + 1)
        return m


def build(accounts: int | None = None, positions: int | None = None, orders: int | None = None,
          instruments: int | None = None, ways: int | None = None) -> RiskDB:
    """The risk gate for a table geometry (bucket counts, powers of two; ways per bucket); ValueError names a bad option."""
    kw = {k: v for k, v in dict(accounts=accounts, positions=positions, orders=orders, instruments=instruments,
                                 ways=ways).items() if v is not None}
    for k, v in kw.items():
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"{k}: must be an integer, got {v!r}")
    return RiskDB(Geometry(**kw))
