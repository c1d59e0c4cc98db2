"""A small reference kernel that exercises every infrastructure convention.

It is what the binding, port checker, runner and synthesis flow are tested on,
and a template for real kernels:

* CSR registers of every access kind, a 64-bit rw key and 64-bit ro counters;
* a START/CLEAR w1p control, a countdown job and a STATUS register to poll;
* a table window with a 48-bit table (2 words per row) and a 16-bit table,
  read back through LOOKUP registers so tests can check loads;
* a 96-bit ``msg_in`` -> 64-bit ``dec_out`` stream through a two-stage
  valid/ready pipeline: ``out = ((p & M64) ^ KEY) + (p >> 64)  mod 2**64``,
  with an optional input stall every ``STALL_EVERY`` cycles.

:func:`model_stream` is the Python reference for the stream transform.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .csr import CSRBus
from .csr_decoder import CSRDecoder
from .regmap import Register, RegisterMap, Table, TableWindow, header_registers, wide_registers

__all__ = ["REGMAP", "MSG_WIDTH", "OUT_WIDTH", "ExampleKernel", "build", "model_stream",
           "STATUS_BUSY", "STATUS_DONE", "CTRL_START", "CTRL_CLEAR"]

MSG_WIDTH = 96
OUT_WIDTH = 64
COEF_DEPTH = 16
SMALL_DEPTH = 8

CTRL_START = 1 << 0
CTRL_CLEAR = 1 << 1
STATUS_BUSY = 1 << 0
STATUS_DONE = 1 << 1

REGMAP = RegisterMap(
    "example",
    [
        *header_registers("EXMP"),
        Register("SCRATCH", 0x02, "rw", doc="free scratch register (bus sanity checks)"),
        Register("CTRL", 0x03, "w1p", 2, "bit0 START the countdown job, bit1 CLEAR done"),
        Register("COUNT", 0x04, "rw", 32, "countdown length in cycles for the job"),
        Register("STATUS", 0x05, "ro", 2, "bit0 busy, bit1 done"),
        *wide_registers("CYCLES", 0x06, 64, "ro", "free-running cycle counter since reset"),
        *wide_registers("KEY", 0x08, 64, "rw", "XOR key of the stream transform"),
        Register("STALL_EVERY", 0x0A, "rw", 8, "if N > 0, msg_in.ready is low one cycle in every N"),
        Register("PUSHES", 0x0B, "wo", 16, "write-only register; its value is mirrored in PUSH_SEEN"),
        Register("PUSH_SEEN", 0x0C, "ro", 16, "last value written to PUSHES"),
        Register("WRITES", 0x0D, "ro", 16, "number of bus writes to PUSHES since reset (wstrobe count)"),
        Register("LOOKUP_IDX", 0x20, "rw", 4, "row of COEF (and SMALL) shown in LOOKUP_*"),
        *wide_registers("LOOKUP", 0x21, 48, "ro", "COEF[LOOKUP_IDX]"),
        Register("LOOKUP_SMALL", 0x23, "ro", 16, "SMALL[LOOKUP_IDX % 8]"),
        *wide_registers("DONE_AT", 0x24, 64, "ro", "CYCLES value when the last job finished"),
    ],
    tables=[TableWindow("TBL", 0x10, (Table("COEF", 0, COEF_DEPTH, 48, "48-bit coefficients"),
                                      Table("SMALL", 3, SMALL_DEPTH, 16, "16-bit entries")))],
)


def model_stream(payloads: list[int], key: int) -> list[int]:
    """Reference output of the example's stream transform for 96-bit payload integers."""
    m64 = (1 << 64) - 1
    return [(((p & m64) ^ key) + (p >> 64)) & m64 for p in payloads]


class ExampleKernel(wiring.Component):
    """Reference kernel: CSR registers, a countdown job, two tables and a 2-stage stream pipeline."""

    csr: In(CSRBus)
    msg_in: In(stream.Signature(MSG_WIDTH))
    dec_out: Out(stream.Signature(OUT_WIDTH))

    regmap = REGMAP  # tops carry their map: the host binding checks MAPHASH against it

    def elaborate(self, platform) -> Module:
        """Counter, countdown job, tables and the two-stage stream pipeline."""
        m = Module()
        m.submodules.regs = regs = CSRDecoder(REGMAP)
        wiring.connect(m, wiring.flipped(self.csr), regs.bus)

        # Cycle counter and countdown job.
        cycles = Signal(64)
        m.d.sync += cycles.eq(cycles + 1)
        m.d.comb += regs.value("CYCLES").eq(cycles)
        remaining = Signal(32)
        busy = Signal()
        done = Signal()
        done_at = Signal(64)
        with m.If(regs["CTRL"] & CTRL_CLEAR):
            m.d.sync += done.eq(0)
        with m.If((regs["CTRL"] & CTRL_START) & ~busy):
            m.d.sync += [busy.eq(1), done.eq(0), remaining.eq(regs["COUNT"])]
        with m.Elif(busy):
            with m.If(remaining <= 1):
                m.d.sync += [busy.eq(0), done.eq(1), done_at.eq(cycles)]
            with m.Else():
                m.d.sync += remaining.eq(remaining - 1)
        m.d.comb += [regs["STATUS"].eq(busy | (done << 1)), regs.value("DONE_AT").eq(done_at)]

        # Write-only register mirror and write-strobe counter.
        writes = Signal(16)
        with m.If(regs.wstrobe["PUSHES"]):
            m.d.sync += writes.eq(writes + 1)
        m.d.comb += [regs["PUSH_SEEN"].eq(regs["PUSHES"]), regs["WRITES"].eq(writes)]

        # Tables: write ports from the window, async read ports for the LOOKUP registers.
        m.submodules.coef = coef = Memory(shape=48, depth=COEF_DEPTH, init=[])
        m.submodules.small = small = Memory(shape=16, depth=SMALL_DEPTH, init=[])
        for mem, name in ((coef, "COEF"), (small, "SMALL")):
            port = regs.table_port(name)
            wp = mem.write_port()
            m.d.comb += [wp.en.eq(port.en), wp.addr.eq(port.row), wp.data.eq(port.data)]
        rc = coef.read_port(domain="comb")
        rs = small.read_port(domain="comb")
        m.d.comb += [rc.addr.eq(regs["LOOKUP_IDX"]), rs.addr.eq(regs["LOOKUP_IDX"][:3]),
                     regs.value("LOOKUP").eq(rc.data), regs["LOOKUP_SMALL"].eq(rs.data)]

        # Stream: stage 1 computes the XOR, stage 2 the add; each stage is a valid/ready register.
        stall_cnt = Signal(8)
        stall = Signal()
        with m.If(regs["STALL_EVERY"] != 0):
            with m.If(stall_cnt + 1 >= regs["STALL_EVERY"]):
                m.d.sync += stall_cnt.eq(0)
            with m.Else():
                m.d.sync += stall_cnt.eq(stall_cnt + 1)
            m.d.comb += stall.eq(stall_cnt + 1 >= regs["STALL_EVERY"])

        s1_valid, s1_x, s1_hi = Signal(), Signal(64), Signal(32)
        s2_valid, s2_out = Signal(), Signal(64)
        s2_ready = ~s2_valid | self.dec_out.ready
        s1_ready = ~s1_valid | s2_ready
        m.d.comb += self.msg_in.ready.eq(s1_ready & ~stall)
        with m.If(s2_ready):
            m.d.sync += [s2_valid.eq(s1_valid), s2_out.eq(s1_x + s1_hi)]
        with m.If(s1_ready):
            m.d.sync += s1_valid.eq(self.msg_in.valid & ~stall)
            m.d.sync += [s1_x.eq(self.msg_in.payload[:64] ^ regs.value("KEY")), s1_hi.eq(self.msg_in.payload[64:])]
        m.d.comb += [self.dec_out.valid.eq(s2_valid), self.dec_out.payload.eq(s2_out)]
        return m


def build(**options) -> ExampleKernel:
    """Factory used by the design registry (`foreland rtl ... example`); takes no options."""
    if options:
        raise ValueError(f"design 'example' takes no options, got {', '.join(sorted(options))}")
    return ExampleKernel()
