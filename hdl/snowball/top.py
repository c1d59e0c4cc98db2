"""Top of the snowball Monte Carlo kernel: CSR decoder, N lanes, run control and the result window.

The host loads the parameters and the KO tables (``hdl/snowball/regmap.py``),
pulses START and waits for STATUS.done; the kernel runs every pair by itself.
Lane ``l`` simulates pairs ``l, l + N, l + 2N, ...``; each lane keeps its own
exact accumulators and the host adds them (integer sums: order independent).
"""
from types import SimpleNamespace

from amaranth.hdl import Array, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from hdl.common.csr import CSRBus
from hdl.common.csr_decoder import CSRDecoder
from kernels import snowball_fixed as F

from .lane import PIPELINE_DEPTH, TABLES, SnowballLane
from .pipe import delay, reg
from .regmap import CTRL_START, KI_FLAG_DAILY, KI_FLAG_KNOCKED_IN, KI_FLAG_MATURITY, REGMAP

__all__ = ["SnowballKernel", "build", "MAX_LANES", "START_DELAY"]

#: clocks from the START write to the lanes starting (see SnowballKernel.elaborate)
START_DELAY = 3

MAX_LANES = 64


class SnowballKernel(wiring.Component):
    """The whole kernel: `lanes` Monte Carlo lanes behind one CSR bus."""

    csr: In(CSRBus)

    def __init__(self, lanes: int = 1):
        self.lanes = lanes
        super().__init__()

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.regs = regs = CSRDecoder(REGMAP)
        wiring.connect(m, wiring.flipped(self.csr), regs.bus)
        start = (regs["CTRL"] & CTRL_START) != 0
        flags = regs["KI_FLAGS"]
        # Table writes reach the lanes one clock after the bus write, and START reaches them
        # START_DELAY clocks after it (busy rises at once): the bus decode stays out of the
        # lanes' LUT-RAM write-enable paths, and every parameter or table write the host made
        # before START (and the lanes' registered copies of them) has settled when they start.
        lane_start = delay(m, start, START_DELAY, name="lane_start")
        ports = []
        for name, _ in TABLES:
            port = regs.table_port(name)
            ports.append(SimpleNamespace(en=reg(m, port.en, name=f"tbl_{name.lower()}_en"),
                                         row=reg(m, port.row, name=f"tbl_{name.lower()}_row"),
                                         data=reg(m, port.data, name=f"tbl_{name.lower()}_data")))

        lanes = []
        for i in range(self.lanes):
            lane = SnowballLane(i, self.lanes)
            m.submodules[f"lane{i}"] = lane
            P = lane.params
            m.d.comb += [
                P.n_pairs.eq(regs["N_PAIRS"]), P.n_steps.eq(regs["N_STEPS"]), P.n_obs.eq(regs["N_OBS"]),
                P.k0.eq(regs["SEED_LO"]), P.k1.eq(regs["SEED_HI"]),
                P.ki_daily.eq((flags & KI_FLAG_DAILY) != 0), P.ki_mat.eq((flags & KI_FLAG_MATURITY) != 0),
                P.ki0.eq((flags & KI_FLAG_KNOCKED_IN) != 0),
                P.dmant.eq(regs["DMANT"]), P.dshift.eq(regs["DSHIFT"]),
                P.x0.eq(regs.value("X0")), P.drift.eq(regs.value("DRIFT")), P.ki_q.eq(regs.value("KI_Q")),
                P.mat_pay.eq(regs.value("MAT_PAY")), P.ln_disc.eq(regs.value("LN_DISC")),
                P.disc_strike.eq(regs.value("DISC_STRIKE")), P.disc_floor.eq(regs.value("DISC_FLOOR")),
                lane.start.eq(lane_start),
                lane.tbl.row.eq(ports[0].row), lane.tbl.data.eq(ports[1].data),
            ]
            for t, port in enumerate(ports):
                m.d.comb += lane.tbl.en[t].eq(port.en)
            lanes.append(lane)

        # ---- run control: busy from START until every lane is idle and the pipelines drained ----
        busy = Signal()
        done = Signal()
        drain = Signal(range(PIPELINE_DEPTH + START_DELAY + 1))
        cycles = Signal(64)
        acts = [lane.active for lane in lanes]
        any_c = acts[0]
        for a in acts[1:]:
            any_c = any_c | a
        with m.If(start):
            m.d.sync += [busy.eq(1), done.eq(0), drain.eq(PIPELINE_DEPTH + START_DELAY), cycles.eq(0)]
        with m.Elif(busy):
            m.d.sync += cycles.eq(cycles + 1)
            with m.If(~any_c):
                with m.If(drain == 0):
                    m.d.sync += [busy.eq(0), done.eq(1)]
                with m.Else():
                    m.d.sync += drain.eq(drain - 1)
        m.d.comb += [regs["STATUS"].eq(busy | (done << 1)), regs["LANES"].eq(self.lanes)]
        for part, idx in zip(REGMAP.parts("CYCLES"), range(2)):
            m.d.comb += regs[part.name].eq(cycles[32 * idx:32 * (idx + 1)])

        # ---- result window: accumulators of lane LANE_SEL ----
        sel = regs["LANE_SEL"]
        for name, width in F.ACC_WIDTHS.items():
            arr = Array(getattr(lane, name) for lane in lanes)
            val = Signal(width, name=f"res_{name.lower()}")
            m.d.comb += val.eq(arr[sel])
            for idx, part in enumerate(REGMAP.parts(name)):
                m.d.comb += regs[part.name].eq(val[32 * idx:32 * (idx + 1)])
        return m


def build(lanes: int = 1, **options) -> SnowballKernel:
    """Design factory used by ``foreland rtl ... snowball --lanes N``."""
    if options:
        raise ValueError(f"{sorted(options)[0]}: unknown option of the snowball kernel; allowed: lanes")
    if isinstance(lanes, bool) or not isinstance(lanes, int) or not 1 <= lanes <= MAX_LANES:
        raise ValueError(f"lanes: must be an integer in [1, {MAX_LANES}], got {lanes!r}")
    return SnowballKernel(lanes)
