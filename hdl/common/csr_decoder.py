"""Register file, read mux and write strobes built from a RegisterMap, so no design hand-decodes the CSR bus.

Usage inside a kernel top (``csr: In(CSRBus)``)::

    m.submodules.csr = regs = CSRDecoder(REGMAP)
    wiring.connect(m, wiring.flipped(self.csr), regs.bus)
    m.d.comb += regs["STATUS"].eq(busy)          # ro: the design drives it
    with m.If(regs["CTRL"][0]): ...              # w1p: one-cycle pulse
    n = regs.value("NUM_PATHS")                  # rw/wo wide value (Cat of parts)
    port = regs.table_port("ACCOUNTS")           # en / row / data, one row per en

Timing (all relative to the rising edge E where the bus write happens):
rw/wo values change at E.  ``w1p`` pulses, ``wstrobe`` and a table port's
``en`` are combinational in the bus cycle ending at E (high exactly while
``w_stb`` addresses them), so logic clocked by them also acts at E: a write,
a START pulse and a table row all take effect on the same edge, and a read
issued in the next cycle sees the result.  ``rstrobe`` is high
combinationally in the cycle ``r_stb`` addresses the register (read-to-pop).
"""

from dataclasses import dataclass

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from .csr import CSRBus
from .regmap import Register, RegisterMap, Table, TableWindow

__all__ = ["CSRDecoder", "TablePort"]


@dataclass
class TablePort:
    """Write side of one table: `en` for one cycle per completed row, with `row` and `data`."""

    table: Table
    en: Signal
    row: Value
    data: Value


class CSRDecoder(wiring.Component):
    """CSR register file for one RegisterMap; exposes per-register signals to the design."""

    bus: In(CSRBus)

    def __init__(self, regmap: RegisterMap) -> None:
        if not isinstance(regmap, RegisterMap):
            self._MustUse__silence = True  # a rejected decoder is not an unused one
            raise ValueError(f"regmap must be a RegisterMap, got {type(regmap).__name__}")
        super().__init__()
        self.regmap = regmap
        self._sig: dict[str, Signal] = {}
        self.wstrobe: dict[str, Signal] = {}
        self.rstrobe: dict[str, Signal] = {}
        for r in regmap.registers:
            init = r.reset if r.access in ("rw", "wo") else 0
            self._sig[r.name] = Signal(r.width, name=f"reg_{r.name}", init=init)
            self.wstrobe[r.name] = Signal(name=f"wstb_{r.name}")
            self.rstrobe[r.name] = Signal(name=f"rstb_{r.name}")
        self._win: dict[str, dict[str, Signal]] = {}
        self._ports: dict[str, TablePort] = {}
        for w in regmap.tables:
            max_wpr = max(t.words_per_row for t in w.tables)
            max_depth = max(t.depth for t in w.tables)
            regs = w.registers
            s = {
                "sel": Signal(8, name=f"{w.name}_sel"),
                "addr": Signal(regs[1].width, name=f"{w.name}_addr"),
                "word": Signal(range(max(2, max_wpr)), name=f"{w.name}_word"),
                "buf": Signal(32 * max_wpr, name=f"{w.name}_buf"),
                "wr_en": Signal(name=f"{w.name}_wr_en"),
                "wr_sel": Signal(8, name=f"{w.name}_wr_sel"),
                "wr_row": Signal(range(max(2, max_depth + 1)), name=f"{w.name}_wr_row"),
                "wr_data": Signal(32 * max_wpr, name=f"{w.name}_wr_data"),
                "wpr": Signal(range(max_wpr + 1), name=f"{w.name}_wpr"),
                "last": Signal(name=f"{w.name}_last"),
            }
            self._win[w.name] = s
            for t in w.tables:
                en = Signal(name=f"{t.name}_wr_en")
                self._ports[t.name] = TablePort(t, en, s["wr_row"][:max(1, (t.depth - 1).bit_length())], s["wr_data"][:t.width])

    def __getitem__(self, name: str) -> Signal:
        """The signal of register `name` (value for rw/wo, pulse for w1p, design-driven for ro)."""
        if name not in self._sig:
            raise KeyError(f"register map {self.regmap.name} has no plain register {name!r}")
        return self._sig[name]

    def value(self, name: str) -> Value:
        """A (possibly wide) value by name: Cat of its 32-bit parts."""
        return Cat(*(self._sig[r.name] for r in self.regmap.parts(name)))

    def table_port(self, name: str) -> TablePort:
        """Row-write port of table `name` (en, row, data)."""
        if name not in self._ports:
            raise KeyError(f"register map {self.regmap.name} has no table {name!r}")
        return self._ports[name]

    def _wide_groups(self) -> dict[str, list[Register]]:
        """ro values split over several registers, keyed by part-0 name."""
        groups: dict[str, list[Register]] = {}
        names = {r.name for r in self.regmap.registers}
        for r in self.regmap.registers:
            if r.access != "ro":
                continue
            for suffix in ("_LO", "_W0"):
                if r.name.endswith(suffix):
                    base = r.name[: -len(suffix)]
                    try:
                        parts = self.regmap.parts(base)
                    except KeyError:
                        continue
                    if len(parts) > 1 and all(p.access == "ro" and p.name in names for p in parts):
                        groups[r.name] = parts
        return groups

    def elaborate(self, platform) -> Module:
        """Register file, write decode, read mux and table windows."""
        m = Module()
        bus = self.bus
        rm = self.regmap

        # ro constants (ID, MAPHASH) are driven here so designs need not.
        for r in rm.registers:
            c = rm.const_value(r)
            if c is not None:
                m.d.comb += self._sig[r.name].eq(c)

        # w1p pulses and write strobes are combinational in the bus cycle itself, so the
        # design acts on the same edge E as rw registers take their value: a status read
        # issued right after a START write already sees the job running.
        for r in rm.registers:
            if r.writable:
                m.d.comb += self.wstrobe[r.name].eq(bus.w_stb & (bus.addr == r.addr))
            if r.access == "w1p":
                m.d.comb += self._sig[r.name].eq(Mux(self.wstrobe[r.name], bus.w_data[:r.width], 0))

        # Wide ro values: reading part 0 snapshots the higher parts so LO-then-HI reads agree.
        shadows: dict[str, Signal] = {}
        groups = self._wide_groups()
        for parts in groups.values():
            for p in parts[1:]:
                shadows[p.name] = Signal(p.width, name=f"shadow_{p.name}")

        for w in rm.tables:
            s = self._win[w.name]
            # Rows of the selected table take words_per_row words; an unknown id takes 1 (and is dropped).
            with m.Switch(s["sel"]):
                for t in w.tables:
                    with m.Case(t.id):
                        m.d.comb += s["wpr"].eq(t.words_per_row)
                with m.Default():
                    m.d.comb += s["wpr"].eq(1)
            m.d.comb += s["last"].eq(s["word"] == s["wpr"] - 1)
            # The row write port is combinational in the bus cycle of the row's last word,
            # so the table holds the row from edge E on, like any other CSR write.
            data_addr = w.registers[2].addr
            m.d.comb += [s["wr_en"].eq(bus.w_stb & (bus.addr == data_addr) & s["last"]),
                         s["wr_sel"].eq(s["sel"]), s["wr_row"].eq(s["addr"])]
            max_wpr = len(s["buf"]) // 32
            with m.Switch(s["word"]):
                for i in range(max_wpr):
                    with m.Case(i):
                        pad = 32 * (max_wpr - 1 - i)
                        m.d.comb += s["wr_data"].eq(Cat(s["buf"][: 32 * i], bus.w_data, Const(0, pad)) if pad
                                                    else Cat(s["buf"][: 32 * i], bus.w_data))
            for t in w.tables:
                # Rows past a table's end are dropped rather than aliased onto low rows.
                m.d.comb += self._ports[t.name].en.eq(s["wr_en"] & (s["wr_sel"] == t.id) & (s["wr_row"] < t.depth))

        with m.If(bus.w_stb):
            with m.Switch(bus.addr):
                for r in rm.registers:
                    if r.access in ("rw", "wo"):
                        with m.Case(r.addr):
                            m.d.sync += self._sig[r.name].eq(bus.w_data[:r.width])
                for w in rm.tables:
                    self._elab_window_write(m, w)

        # Read mux as an array indexed by the low address bits (a balanced mux tree of
        # log2(entries) levels) rather than a case chain of 16-bit address compares: the
        # CSR read path was the kernel's slowest path on the ECP5 once the datapath was
        # pipelined.  Unmapped addresses (and any address with high bits set) read 0.
        sources: dict[int, Value] = {}
        for r in rm.registers:
            if r.readable:
                sources[r.addr] = shadows.get(r.name, self._sig[r.name])
        for w in rm.tables:
            s = self._win[w.name]
            sources[w.registers[0].addr] = s["sel"]
            sources[w.registers[1].addr] = s["addr"]
        idx_bits = max(1, max(sources).bit_length())
        entries = [Value.cast(sources.get(a, Const(0, 32))) for a in range(1 << idx_bits)]
        in_range = (bus.addr[idx_bits:] == 0) if len(bus.addr) > idx_bits else Const(1, 1)
        r_mux = Signal(32)
        m.d.comb += r_mux.eq(Mux(in_range, Array(entries)[bus.addr[:idx_bits]], 0))
        with m.If(bus.r_stb):
            m.d.sync += bus.r_data.eq(r_mux)
            with m.Switch(bus.addr):
                for r in rm.registers:
                    if r.readable and r.name in groups:
                        with m.Case(r.addr):
                            m.d.sync += [shadows[p.name].eq(self._sig[p.name]) for p in groups[r.name][1:]]
            for r in rm.registers:
                m.d.comb += self.rstrobe[r.name].eq(bus.addr == r.addr)
        return m

    def _elab_window_write(self, m: Module, w: TableWindow) -> None:
        s = self._win[w.name]
        wdata = self.bus.w_data
        sel_r, addr_r, data_r = w.registers
        with m.Case(sel_r.addr):
            m.d.sync += [s["sel"].eq(wdata[:8]), s["word"].eq(0)]
        with m.Case(addr_r.addr):
            m.d.sync += [s["addr"].eq(wdata[:len(s["addr"])]), s["word"].eq(0)]
        with m.Case(data_r.addr):
            # Words of a row collect in buf; the row's last word goes straight to wr_data.
            m.d.sync += s["buf"].word_select(s["word"], 32).eq(wdata)
            with m.If(s["last"]):
                m.d.sync += [s["addr"].eq(s["addr"] + 1), s["word"].eq(0)]
            with m.Else():
                m.d.sync += s["word"].eq(s["word"] + 1)
