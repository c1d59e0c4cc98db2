"""One Monte Carlo lane: a pair of antithetic paths interleaved, one path-step per clock.

Per clock the lane issues one *slot* (pair p, step j, path s).  The feed-forward
part (Threefry -> normal -> diffusion product) depends only on (p, j), so it is
a plain pipeline; the only loop is the two-stage state update (A: add and
compare, B: events and state write), which the + and - paths of the pair share
by alternating, so each path's state is read again exactly two clocks after it
was written.  Stage A0 before the loop turns the barriers into thresholds on
the old state (KO - inc, KI - inc), so the compares run beside the add.

    sequencer -> Threefry(26) -> word select -> normal(12) -> dmant*z >> dshift
              -> drift +/- dz -> [A0: KO - inc, KI - inc] -> [A: x += inc, x >= KO - inc, x < KI - inc]
              -> [B: events, state write] -> path record -> 2**(x + log2 D) (8) -> payoff
              -> exact accumulators
                 \\-> pair sum -> square -> SUM_SQ

The slot (step, path, observation index) rides beside the RNG and normal
pipelines in a RAM delay line (``pipe.ram_delay``), not in flip-flops.

When both paths of a pair have knocked out, the lane tells its sequencer to
start the next pair (early exit); slots of the finished pair still in flight
are ignored because both paths are marked done.
"""
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kernels import snowball_fixed as F

from .accum import WideAccumulator
from .exp2 import Exp2
from .normal import NormalTransform
from .pathstep import PathIncrement
from .pipe import delay, ram_delay, reg
from .threefry import Threefry2x32

__all__ = ["ParamSignature", "TableWriteSignature", "SnowballLane", "TABLES", "PIPELINE_DEPTH"]

XS = signed(F.X_WIDTH)
PS = signed(F.PAY_WIDTH)
TAG_BITS = 8
OBS_BITS = (F.MAX_OBS - 1).bit_length()

ParamSignature = wiring.Signature({
    "n_pairs": Out(32), "n_steps": Out(F.STEP_WIDTH), "n_obs": Out(OBS_BITS + 1),
    "k0": Out(32), "k1": Out(32),
    "ki_daily": Out(1), "ki_mat": Out(1), "ki0": Out(1),
    "dmant": Out(F.DMANT_BITS), "dshift": Out(F.DSHIFT_WIDTH),
    "x0": Out(XS), "drift": Out(XS), "ki_q": Out(XS), "mat_pay": Out(PS),
    "ln_disc": Out(XS), "disc_strike": Out(PS), "disc_floor": Out(PS),
})
#: on-chip tables, in table-id order (ids of the TBL window in hdl/snowball/regmap.py)
TABLES = (("OBS_STEP", F.STEP_WIDTH), ("KO_Q", F.X_WIDTH), ("KO_PAY", F.PAY_WIDTH), ("KO_ACC", F.PAY_WIDTH))
TableWriteSignature = wiring.Signature({"en": Out(len(TABLES)), "row": Out(OBS_BITS), "data": Out(F.X_WIDTH)})

Slot = data.StructLayout({
    "v": 1, "s": 1, "j": F.STEP_WIDTH, "first": 1, "last": 1, "is_obs": 1, "k": OBS_BITS + 1, "tag": TAG_BITS,
})
# A terminated path's record carries the KO row index, not the 96 bits of KO payoff and accrual:
# those are read from their tables just before the payoff stage (saves ~1k flip-flops per lane).
Rec = data.StructLayout({"v": 1, "ko": 1, "ki": 1, "life": F.STEP_WIDTH + 1, "k": OBS_BITS})

#: cycles from a slot's issue to its last accumulator update having settled (drain time, with margin)
PIPELINE_DEPTH = (Threefry2x32.LATENCY + 1 + NormalTransform.LATENCY + 3 + 3 + 1 + 1 + Exp2.LATENCY + 3 + 2
                  + max(F.ACC_WIDTHS.values()) // 32 + 8)


def _delay_view(m, layout, view, n, name):
    return layout(delay(m, view.as_value(), n, name=name))


class SnowballLane(wiring.Component):
    """Lane `index` of `n_lanes`: simulates pairs index, index + n_lanes, ... < n_pairs."""

    def __init__(self, index: int, n_lanes: int):
        self.index, self.n_lanes = index, n_lanes
        members = {"params": In(ParamSignature), "tbl": In(TableWriteSignature), "start": In(1), "active": Out(1)}
        members.update({name: Out(width) for name, width in F.ACC_WIDTHS.items()})
        super().__init__(members)

    def elaborate(self, platform) -> Module:
        m = Module()
        P = self.params
        # ---- tables (host-loaded, one copy per lane) ----
        mems = {}
        for i, (name, width) in enumerate(TABLES):
            # OBS_STEP stays in LUT RAM: the sequencer reads it asynchronously and registers the word
            # itself (a block RAM's 5.8 ns clock-to-output would sit in front of the step compare).
            attrs = {"ram_style": "distributed"} if name == "OBS_STEP" else None
            mem = Memory(shape=unsigned(width), depth=F.MAX_OBS, init=[], attrs=attrs)
            m.submodules[f"tbl_{name.lower()}"] = mem
            wp = mem.write_port()
            m.d.comb += [wp.en.eq(self.tbl.en[i]), wp.addr.eq(self.tbl.row), wp.data.eq(self.tbl.data[:width])]
            mems[name] = mem

        # ---- sequencer ----
        active = Signal()
        p = Signal(32)
        j = Signal(F.STEP_WIDTH)
        s = Signal()
        k = Signal(OBS_BITS + 1)
        tag = Signal(TAG_BITS)
        kill_hit = Signal()  # stage B, registered: both paths of the pair with the current tag are done
        started = Signal()   # a new pair (or run) started on the last edge: kill_hit is stale
        # A step (j, k) lasts two clocks (slots s=0, s=1).  `last` and `is_obs` of the current step
        # are registers; those of the *next* step are prepared during this one, so every decision
        # starts from flip-flops:
        #   s=0 clock: read OBS_STEP[k + 1] (LUT RAM) into a register;
        #   s=1 clock: next is_obs = OBS_STEP[k'] == j + 2 with k' = k or k + 1 (both operands are
        #              registers: obs_k holds OBS_STEP[k]), next last = (j + 1 == n_steps - 1).
        # A new pair starts at (0, 0) whose flags are run constants (OBS_STEP[0] is captured from
        # the table write).
        kp1 = Signal(OBS_BITS + 1)
        jp1 = Signal(F.STEP_WIDTH + 1)
        jp2 = Signal(F.STEP_WIDTH + 1)
        obs_k = Signal(F.STEP_WIDTH)
        obs0 = Signal(F.STEP_WIDTH)
        last_r = Signal()
        is_obs_r = Signal()
        obs_rp = mems["OBS_STEP"].read_port(domain="comb")
        m.d.comb += obs_rp.addr.eq(kp1[:OBS_BITS])
        obs_k1 = reg(m, obs_rp.data, name="obs_k1")
        with m.If(self.tbl.en[0] & (self.tbl.row == 0)):
            m.d.sync += obs0.eq(self.tbl.data[:F.STEP_WIDTH])
        n_steps_m1 = reg(m, P.n_steps - 1, name="n_steps_m1", shape=F.STEP_WIDTH)
        last0 = reg(m, n_steps_m1 == 0, name="last0")
        obs0_hit = reg(m, (P.n_obs != 0) & (obs0 == 1), name="obs0_hit")
        next_last = jp1 == n_steps_m1
        next_obs_same = (k < P.n_obs) & (obs_k == jp2)
        next_obs_inc = (kp1 < P.n_obs) & (obs_k1 == jp2)
        # p + n_lanes and "is there a next pair" (p + n_lanes < n_pairs <=> p < n_pairs - n_lanes),
        # registered: valid one clock after p changes; p changes at most every second clock.
        p_adv = reg(m, p + self.n_lanes, name="p_adv", shape=33)
        lim = reg(m, P.n_pairs - self.n_lanes, name="pairs_lim", shape=signed(34))
        more_r = reg(m, p < lim, name="more_r")

        # The sequencer's whole decision is this one bit, from flip-flops only.
        adv = Signal()
        m.d.comb += adv.eq(active & ((kill_hit & ~started) | (s & last_r)))
        m.d.sync += started.eq(adv | self.start)

        def pair_start():
            m.d.sync += [j.eq(0), jp1.eq(1), jp2.eq(2), s.eq(0), k.eq(0), kp1.eq(1), obs_k.eq(obs0),
                         last_r.eq(last0), is_obs_r.eq(obs0_hit)]

        with m.If(self.start):
            m.d.sync += [active.eq(P.n_pairs > self.index), p.eq(self.index), tag.eq(0)]
            pair_start()
        with m.Elif(adv):
            m.d.sync += [p.eq(p_adv), tag.eq(tag + 1), active.eq(more_r)]
            pair_start()
        with m.Elif(active):
            m.d.sync += s.eq(~s)
            with m.If(s):
                m.d.sync += [j.eq(jp1), jp1.eq(jp2), jp2.eq(jp2 + 1), last_r.eq(next_last)]
                with m.If(is_obs_r):
                    m.d.sync += [k.eq(kp1), kp1.eq(kp1 + 1), obs_k.eq(obs_k1), is_obs_r.eq(next_obs_inc)]
                with m.Else():
                    m.d.sync += is_obs_r.eq(next_obs_same)
        m.d.comb += self.active.eq(active)

        slot0 = Signal(Slot)
        m.d.comb += [slot0.v.eq(active & ~self.start), slot0.s.eq(s), slot0.j.eq(j), slot0.first.eq(j == 0),
                     slot0.last.eq(last_r), slot0.is_obs.eq(is_obs_r), slot0.k.eq(k), slot0.tag.eq(tag)]
        slot1 = Signal(Slot)
        m.d.sync += slot1.eq(slot0)

        # ---- random words: one Threefry block per two steps ----
        m.submodules.tf = tf = Threefry2x32()
        m.d.comb += [tf.i_valid.eq(slot0.v & (s == 0) & ~j[0]), tf.c0.eq(p), tf.c1.eq(j[1:]),
                     tf.k0.eq(P.k0), tf.k1.eq(P.k1)]
        # The slot rides beside the RNG and normal pipelines in a RAM delay line (FFs only for the
        # two bits the word select and the path increment need on the way).
        slot_t = Slot(Signal(Slot.size))
        m.d.comb += [slot_t.j.eq(delay(m, slot1.j[0], Threefry2x32.LATENCY - 1, name="sl_tf_j0")),
                     slot_t.s.eq(delay(m, slot1.s, Threefry2x32.LATENCY - 1, name="sl_tf_s"))]
        hold = Signal(32)
        with m.If(tf.o_valid):
            m.d.sync += hold.eq(tf.x1)
        word = reg(m, Mux(slot_t.j[0], hold, tf.x0), name="word")
        slot_w = _delay_view(m, Slot, slot_t, 1, "sl_w")

        # ---- normal and the log-step increment ----
        m.submodules.step = st = PathIncrement()
        m.d.comb += [st.w.eq(word), st.s.eq(slot_w.s), st.dmant.eq(P.dmant), st.dshift.eq(P.dshift),
                     st.drift.eq(P.drift)]
        inc = st.inc
        # Slot at the KO_Q read (sa_pp), at the registered read (sa_pre), at stage A0 (sa0, `inc` valid).
        sa_pp = Slot(ram_delay(m, slot1.as_value(), Threefry2x32.LATENCY + PathIncrement.LATENCY - 2, "sl_ram"))
        sa_pre = _delay_view(m, Slot, sa_pp, 1, "sl_pre")
        sa0 = _delay_view(m, Slot, sa_pre, 1, "sl_a0")
        sa = _delay_view(m, Slot, sa0, 1, "sl_a")

        xs = [Signal(XS, name=f"x{i}") for i in range(2)]
        dn = [Signal(name=f"done{i}") for i in range(2)]
        kis = [Signal(name=f"ki{i}") for i in range(2)]
        rps = {n: mems[n].read_port() for n in ("KO_Q", "KO_PAY", "KO_ACC")}
        m.d.comb += rps["KO_Q"].addr.eq(sa_pp.k[:OBS_BITS])
        ko_q0 = reg(m, rps["KO_Q"].data, name="ko_q0")

        # ---- stage A0: barriers moved to the step's frame, so the loop compares without adding ----
        # x + inc >= KO  <=>  x >= KO - inc (and likewise for KI), exact in 49 bits: the compares
        # then run beside the add in stage A instead of after it in stage B.
        TS = signed(F.X_WIDTH + 1)
        inc_a = reg(m, inc, name="inc_a")
        thr_ko = reg(m, ko_q0.as_signed() - inc, name="thr_ko", shape=TS)
        thr_ki = reg(m, P.ki_q - inc, name="thr_ki", shape=TS)

        # ---- loop stage A: x += inc, and the KI/KO tests of the new x ----
        x_base = Mux(sa.first, P.x0, Mux(sa.s, xs[1], xs[0]))
        xb = reg(m, x_base + inc_a, name="xb", shape=XS)
        ko_f = reg(m, x_base >= thr_ko, name="ko_f")
        ki_f = reg(m, x_base < thr_ki, name="ki_f")
        done_b = reg(m, Mux(sa.first, 0, Mux(sa.s, dn[1], dn[0])), name="done_b")
        ki_b = reg(m, Mux(sa.first, P.ki0, Mux(sa.s, kis[1], kis[0])), name="ki_b")
        sb = _delay_view(m, Slot, sa, 1, "sl_b")

        # ---- loop stage B: events (flags from stage A), state write ----
        alive = sb.v & ~done_b
        ki_new = ki_b | ((P.ki_daily | (P.ki_mat & sb.last)) & ki_f)
        ko = sb.is_obs & ko_f
        term = alive & (ko | sb.last)
        with m.If(sb.v):
            for i in range(2):
                with m.If(sb.s == i):
                    m.d.sync += [xs[i].eq(xb), kis[i].eq(ki_new), dn[i].eq(done_b | term)]
        # Early exit: the - path's slot finds both paths done; compared with the sequencer's tag
        # here, so a kill of a pair that already ended is dropped before it reaches the sequencer
        # (and `started` drops one whose pair ends on this very edge).
        m.d.sync += kill_hit.eq(sb.v & sb.s & ~sb.last & dn[0] & (done_b | term) & (sb.tag == tag))
        rec = Signal(Rec)
        m.d.sync += [rec.v.eq(term), rec.ko.eq(ko), rec.ki.eq(ki_new), rec.life.eq(sb.j + 1),
                     rec.k.eq(sb.k[:OBS_BITS])]
        x_rec = reg(m, xb, name="x_rec")

        # ---- path payoff ----
        m.submodules.exp2 = ex = Exp2()
        m.d.comb += ex.y.eq(reg(m, x_rec + P.ln_disc, name="y_exp", shape=XS))
        rq = Rec(ram_delay(m, rec.as_value(), 1 + Exp2.LATENCY, "rec_ram"))
        # KO payoff and accrual of row rq.k: block-RAM read now, output registered (valid with r2).
        for n in ("KO_PAY", "KO_ACC"):
            m.d.comb += rps[n].addr.eq(rq.k)
        ko_pay2 = reg(m, rps["KO_PAY"].data, name="ko_pay2")
        ko_acc2 = reg(m, rps["KO_ACC"].data, name="ko_acc2")
        diff = reg(m, ex.e - P.disc_strike, name="ldiff", shape=signed(F.PAY_WIDTH + 1))
        r1 = _delay_view(m, Rec, rq, 1, "rec_1")
        capped = Mux(diff > 0, 0, diff)
        loss = reg(m, Mux(capped < -P.disc_floor, -P.disc_floor, capped), name="loss", shape=PS)
        r2 = _delay_view(m, Rec, r1, 1, "rec_2")
        pay = reg(m, Mux(r2.ko, ko_pay2.as_signed(), Mux(r2.ki, loss, P.mat_pay)), name="pay", shape=PS)
        loss3 = reg(m, loss, name="loss3")
        ko_acc3 = reg(m, ko_acc2, name="ko_acc3")
        r3 = _delay_view(m, Rec, r2, 1, "rec_3")

        # ---- exact accumulators ----
        def acc(name, en, value, in_width, signed_in=True):
            a = WideAccumulator(F.ACC_WIDTHS[name], in_width, signed_in)
            m.submodules[f"acc_{name.lower()}"] = a
            m.d.comb += [a.en.eq(en), a.value.eq(value), a.clear.eq(self.start), getattr(self, name).eq(a.sum)]

        acc("SUM_PAY", r3.v, pay, F.PAY_WIDTH)
        acc("SUM_ACC", r3.v & r3.ko, ko_acc3, F.PAY_WIDTH)
        acc("SUM_LOSS", r3.v & ~r3.ko & r3.ki, loss3, F.PAY_WIDTH)
        acc("N_KO", r3.v & r3.ko, 1, 1, False)
        acc("N_KI", r3.v & r3.ki, 1, 1, False)
        acc("N_MAT", r3.v & ~r3.ko & ~r3.ki, 1, 1, False)
        acc("SUM_LIFE", r3.v, r3.life, F.STEP_WIDTH + 1, False)

        # ---- pair value square (for the antithetic standard error) ----
        half = Signal()
        first_pay = Signal(PS)
        pair_v = Signal()
        pair_sum = Signal(signed(F.PAY_WIDTH + 1))
        m.d.sync += pair_v.eq(0)
        with m.If(self.start):
            m.d.sync += half.eq(0)
        with m.Elif(r3.v):
            m.d.sync += half.eq(~half)
            with m.If(half):
                m.d.sync += [pair_v.eq(1), pair_sum.eq(first_pay + pay)]
            with m.Else():
                m.d.sync += first_pay.eq(pay)
        q = reg(m, (pair_sum + (1 << (F.SQ_SHIFT - 1))) >> F.SQ_SHIFT, name="sq_q", shape=signed(F.SQ_WIDTH))
        q_v = reg(m, pair_v, name="sq_qv")
        sq = reg(m, q * q, name="sq", shape=unsigned(2 * F.SQ_WIDTH))
        sq_v = reg(m, q_v, name="sq_v")
        acc("SUM_SQ", sq_v, sq, 2 * F.SQ_WIDTH, False)
        return m
