"""The risk gate's check pipeline: ten stages, one message per clock, one read-modify-write stage.

Stages (a message enters P0 on the edge it is accepted; its decision leaves P9)::

    P0 input register          fold account / order id, spread the code
    P1 hash                    Fibonacci multiply -> bucket of every table
    P2 read #1                 order tags, account configuration (static)
    P3 resolve                 account way; for CANCEL/FILL the order's account,
                               position and instrument rows (from memory or from
                               an in-flight NEW of the same id): HOLD if ambiguous
    P4 ts * win_m partials,    price * qty; instrument read
    P5 instrument way          sum of partials
    P6 window id (shift)       lot, cage and fee products
    P7 read #2                 account balances, position and order buckets;
                               static checks reduced to flags
    P8 EX                      checks 2..14 + TABLE_FULL in spec order, the
                               read-modify-write of all three buckets, written back
    P9 decision register       -> dec_out

Hazards: every dynamic record is read in P7 and written in P8, through read
ports transparent to the write port, so the message right behind always reads
what the one in EX writes on the same edge: back-to-back messages on one
account, position or order need no stall. The only cross-stage dependence is
CANCEL/FILL finding its order's rows in P3 (before EX); that is resolved by
comparing with the in-flight NEWs in P4..P8 and held (input stalled, bubbles
into P4) only when two NEWs of that id are in flight or one is in flight while
memory still has the id open.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kernels import riskgate_spec as S
from kernels import riskgate_tables as T

from .hashing import fold64, mix32, spread_code
from .records import RowLayout, RowUpdate
from .regmap import DEC_BITS, MSG_BITS, TABLE_IDS, Geometry

__all__ = ["GateCore", "LATENCY", "N_STAGES"]

N_STAGES = 10  # P0..P9
LATENCY = N_STAGES  # cycles from the accepting edge to the edge the decision can be taken

COUNT_CAP = 1 << 16


def _lg(n: int) -> int:
    return max(n.bit_length() - 1, 0)


def _lowest(m: Module, bits: list, name: str) -> tuple:
    """(any, index) Signals of the lowest set bit of a list of 1-bit values (priority encoder)."""
    anyb = Signal(name=f"{name}_any")
    idx = Signal(range(max(len(bits), 2)), name=f"{name}_idx")
    vec = Signal(len(bits), name=f"{name}_vec")
    m.d.comb += vec.eq(Cat(*bits))
    out = Const(0, range(max(len(bits), 2)))
    for i in reversed(range(len(bits))):
        out = Mux(vec[i], i, out)
    m.d.comb += [anyb.eq(vec.any()), idx.eq(out)]
    return anyb, idx


def _w(m: Module, expr, name: str, shape=None) -> Signal:
    """A named wire holding ``expr``: later uses refer to the wire, not a copy of the expression tree."""
    sig = Signal(shape if shape is not None else Value.cast(expr).shape(), name=name)
    m.d.comb += sig.eq(expr)
    return sig


class GateCore(wiring.Component):
    """Tables plus the check pipeline; host access (load / read back) through plain ports used by the top."""

    def __init__(self, g: Geometry) -> None:
        self.g = g
        W = g.ways
        sig = {
            "msg_in": In(stream.Signature(MSG_BITS)),
            "dec_out": Out(stream.Signature(DEC_BITS)),
            "run": In(1),
            "clear": In(1),
            "busy": Out(1),
            "err": Out(1),
            "day": Out(T.DAY_BITS),
            "ev_decided": Out(1),
            "ev_accepted": Out(1),
            "ev_hold": Out(1),
            "rb_row": In(16),
            "rb_sel": In(8),
            "rb_data": Out(max(g.row_bits(t) for t in TABLE_IDS)),
        }
        for t in TABLE_IDS:
            sig[f"ld_{t}_en"] = In(1)
            sig[f"ld_{t}_row"] = In(16)
            sig[f"ld_{t}_data"] = In(g.row_bits(t))
        super().__init__(sig)
        self.L = {t: RowLayout(t, W) for t in TABLE_IDS}

    # ------------------------------------------------------------------ build
    def elaborate(self, platform):
        m = Module()
        g, L = self.g, self.L
        W = g.ways
        lw = _lg(W)
        la, lp, lo, li = _lg(g.accounts), _lg(g.positions), _lg(g.orders), _lg(g.instruments)
        wayw = range(max(W, 2))

        # ---- memories: one row = one bucket -------------------------------------------------
        mems = {t: Memory(shape=unsigned(g.row_bits(t)), depth=g.buckets(t), init=[]) for t in TABLE_IDS}
        for t, mem in mems.items():
            m.submodules[f"mem_{t}"] = mem
        wp = {t: mems[t].write_port() for t in TABLE_IDS}
        rp_otag = mems["orders"].read_port(transparent_for=(wp["orders"],))  # P2 -> P3
        rp_acfg = mems["acfg"].read_port(transparent_for=(wp["acfg"],))  # P2 -> P3
        rp_ins = mems["instruments"].read_port(transparent_for=(wp["instruments"],))  # P4 -> P5
        rp_adyn = mems["adyn"].read_port(transparent_for=(wp["adyn"],))  # P7 -> P8
        rp_pos = mems["positions"].read_port(transparent_for=(wp["positions"],))  # P7 -> P8
        rp_ord = mems["orders"].read_port(transparent_for=(wp["orders"],))  # P7 -> P8

        # ---- stage registers ------------------------------------------------------------------
        fields = [
            ("valid", 1), ("typ", 3), ("bad", 1), ("nm", 1), ("side", 8), ("code", 32), ("account", 64),
            ("oid", 64), ("price", 64), ("qty", 64), ("ts", 63),
            ("afold", 32), ("ofold", 32), ("cmul", 32),
            ("abkt", max(la, 1)), ("obkt", max(lo, 1)), ("pbkt", max(lp, 1)), ("ibkt", max(li, 1)),
            ("a_hit", 1), ("a_way", max(lw, 1)), ("a_status", 2), ("a_maxq", 31), ("a_maxv", 62), ("a_maxn", 16),
            ("win_m", 64), ("win_l", 6),
            ("r_ok", 1), ("r_arow", max(la, 1)), ("r_away", max(lw, 1)), ("r_pbkt", max(lp, 1)),
            ("r_ibkt", max(li, 1)), ("r_code", 20), ("r_codeok", 1), ("r_price", 31),
            ("pp0", 64), ("pp1", 64), ("pp2", 64), ("pp3", 64), ("v", 62),
            ("i_hit", 1), ("i_status", 1), ("i_ref", 31), ("i_up", 31), ("i_down", 31), ("i_cage", 14),
            ("i_fee", 16), ("i_lotm", 32), ("i_lotl", 5), ("prod", 128),
            ("q", 63), ("lotprod", 64), ("px1e4", 46), ("cage_hi", 48), ("cage_lo", 48), ("feeprod", 78),
            ("lim_bad", 1),
            ("lot_ok", 1), ("cage_bad", 1), ("frozen", 64), ("vmf", 64), ("maxq_bad", 1), ("maxv_bad", 1),
            ("accepted", 1), ("reason", 8),
        ]
        width = dict(fields)
        P = [{n: Signal(w, name=f"p{k}_{n}") for n, w in fields} for k in range(N_STAGES)]

        run = self.run
        out_busy = P[9]["valid"] & ~self.dec_out.ready
        adv = Signal()  # the whole pipeline moves (P9 can hand its decision over)
        hold = Signal()  # P0..P3 stay, a bubble enters P4
        front = Signal()
        m.d.comb += [adv.eq(~out_busy), front.eq(adv & ~hold)]
        m.d.comb += [self.msg_in.ready.eq(front & run),
                     self.dec_out.valid.eq(P[9]["valid"]),
                     self.dec_out.payload.eq(Cat(P[9]["accepted"], Const(0, 7), P[9]["reason"]))]
        m.d.comb += self.busy.eq(Cat(*(P[k]["valid"] for k in range(N_STAGES))).any())

        # last stage that reads each field (fields are carried only that far)
        last = {n: 8 for n, _ in fields}
        last.update(afold=1, ofold=1, cmul=1, ts=4, win_m=4, win_l=6, pp0=5, pp1=5, pp2=5, pp3=5, prod=6,
                    v=7, i_ref=7, i_up=6, i_down=6, i_cage=7, i_fee=6, i_lotm=7, i_lotl=7, lotprod=7,
                    px1e4=7, cage_hi=7, cage_lo=7, feeprod=7, a_maxq=7, a_maxv=7, accepted=9, reason=9)
        born = {n: 0 for n, _ in fields}
        born.update(afold=1, ofold=1, cmul=1, abkt=2, obkt=2, pbkt=2, ibkt=2, pp0=5, pp1=5, pp2=5, pp3=5, v=5,
                    prod=6, q=7, lotprod=7, px1e4=7, cage_hi=7, cage_lo=7, feeprod=7, lim_bad=7, lot_ok=8,
                    cage_bad=8, frozen=8, vmf=8, maxq_bad=8, maxv_bad=8)
        for n in ("a_hit", "a_way", "a_status", "a_maxq", "a_maxv", "a_maxn", "win_m", "win_l", "r_ok", "r_arow",
                  "r_away", "r_pbkt", "r_ibkt", "r_code", "r_codeok", "r_price"):
            born[n] = 4
        for n in ("i_hit", "i_status", "i_ref", "i_up", "i_down", "i_cage", "i_fee", "i_lotm", "i_lotl"):
            born[n] = 6

        def copy(k):
            """Default: stage k takes stage k-1's fields (those still needed)."""
            return [P[k][n].eq(P[k - 1][n]) for n, _ in fields if born[n] < k <= last[n]]

        # ---- P0: input register ---------------------------------------------------------------
        p = self.msg_in.payload
        typ_raw, side_raw = p[0:8], p[8:16]
        ts_raw, qty_raw, price_raw = p[320:384], p[256:320], p[192:256]
        with m.If(front):
            m.d.sync += [
                P[0]["valid"].eq(self.msg_in.valid & run),
                P[0]["typ"].eq(Mux((typ_raw >= 1) & (typ_raw <= 4), typ_raw[:3], 0)),
                P[0]["side"].eq(side_raw), P[0]["code"].eq(p[32:64]), P[0]["account"].eq(p[64:128]),
                P[0]["oid"].eq(p[128:192]), P[0]["price"].eq(price_raw), P[0]["qty"].eq(qty_raw),
                P[0]["ts"].eq(ts_raw[:63]),
                P[0]["bad"].eq(ts_raw[63] | (typ_raw < 1) | (typ_raw > 4)),
                P[0]["nm"].eq(~ts_raw[63] & (typ_raw == S.MSG_NEW) & ((side_raw == S.SIDE_BUY) | (side_raw == S.SIDE_SELL))
                              & (qty_raw.as_signed() > 0) & (qty_raw.as_signed() <= S.QTY_MAX)
                              & (price_raw.as_signed() > 0) & (price_raw.as_signed() <= S.PRICE_MAX)),
            ]

        # ---- P1: first hash half ----------------------------------------------------------------
        with m.If(front):
            m.d.sync += copy(1)
            m.d.sync += [P[1]["afold"].eq(fold64(P[0]["account"])), P[1]["ofold"].eq(fold64(P[0]["oid"])),
                         P[1]["cmul"].eq(spread_code(P[0]["code"]))]

        # ---- P2: buckets ------------------------------------------------------------------------
        with m.If(front):
            m.d.sync += copy(2)
            m.d.sync += [
                P[2]["abkt"].eq(mix32(P[1]["afold"])[:max(la, 1)] if la else 0),
                P[2]["obkt"].eq(mix32(P[1]["ofold"])[:max(lo, 1)] if lo else 0),
                P[2]["pbkt"].eq(mix32(P[1]["afold"] ^ P[1]["cmul"])[:max(lp, 1)] if lp else 0),
                P[2]["ibkt"].eq(P[1]["code"][:max(li, 1)] if li else 0),
            ]

        # read #1: order tags and account configuration of P2 (of P3 while holding, to re-read)
        idle = ~run & ~self.busy
        m.d.comb += [
            rp_otag.addr.eq(Mux(hold, P[3]["obkt"], P[2]["obkt"])),
            rp_acfg.addr.eq(Mux(idle, self.rb_row, Mux(hold, P[3]["abkt"], P[2]["abkt"]))),
            rp_otag.en.eq(adv), rp_acfg.en.eq(adv | idle),
        ]

        # ---- P3: resolve account way and the CANCEL/FILL order's rows ---------------------------
        s3 = P[3]
        with m.If(front):
            m.d.sync += copy(3)
        ac, orow = rp_acfg.data, rp_otag.data
        LA, LO = L["acfg"], L["orders"]
        a_hits = [LA.f(ac, w, "valid") & (LA.f(ac, w, "account") == s3["account"]) for w in range(W)]
        a_hit, a_way = _lowest(m, a_hits, "p3_a")
        o_open = [(LO.f(orow, w, "state") == T.ORDER_OPEN) & (LO.f(orow, w, "order_id") == s3["oid"]) for w in range(W)]
        mem_open, mem_way = _lowest(m, o_open, "p3_o")
        is_cf = s3["valid"] & ~s3["bad"] & ((s3["typ"] == S.MSG_CANCEL) | (s3["typ"] == S.MSG_FILL))
        infl = [_w(m, P[k]["valid"] & P[k]["nm"] & (P[k]["oid"] == s3["oid"]), f"p3_infl{k}") for k in range(4, 9)]
        n_infl = Signal(range(6))
        m.d.comb += n_infl.eq(sum(infl))
        m.d.comb += hold.eq(is_cf & ((n_infl >= 2) | ((n_infl == 1) & mem_open)))
        m.d.comb += self.ev_hold.eq(hold & adv)
        # the in-flight NEW of this id (when exactly one): its own account/position/instrument rows
        f_arow, f_away, f_pbkt, f_ibkt = Signal.like(s3["abkt"]), Signal.like(s3["a_way"]), Signal.like(s3["pbkt"]), Signal.like(s3["ibkt"])
        f_code, f_price = Signal(20), Signal(31)
        for k in range(4, 9):
            with m.If(infl[k - 4]):
                m.d.comb += [f_arow.eq(P[k]["abkt"]), f_away.eq(P[k]["a_way"]), f_pbkt.eq(P[k]["pbkt"]),
                             f_ibkt.eq(P[k]["ibkt"]), f_code.eq(P[k]["code"][:20]), f_price.eq(P[k]["price"][:31])]
        m_aslot = _w(m, LO.f(orow, mem_way, "aslot"), "p3_m_aslot")
        s4 = P[4]
        with m.If(adv):
            m.d.sync += copy(4)
            m.d.sync += [
                s4["valid"].eq(s3["valid"] & ~hold),
                s4["a_hit"].eq(a_hit), s4["a_way"].eq(a_way),
                s4["a_status"].eq(LA.f(ac, a_way, "status")), s4["a_maxq"].eq(LA.f(ac, a_way, "max_order_qty")),
                s4["a_maxv"].eq(LA.f(ac, a_way, "max_order_value")),
                s4["a_maxn"].eq(LA.f(ac, a_way, "max_orders_per_window")),
                s4["win_m"].eq(LA.f(ac, a_way, "win_m")), s4["win_l"].eq(LA.f(ac, a_way, "win_l")),
            ]
            with m.If(is_cf):
                with m.If(mem_open):
                    m.d.sync += [s4["r_ok"].eq(1), s4["r_arow"].eq(m_aslot[lw:lw + max(la, 1)] if la else 0),
                                 s4["r_away"].eq(m_aslot[:max(lw, 1)] if lw else 0),
                                 s4["r_pbkt"].eq(LO.f(orow, mem_way, "pbkt")), s4["r_ibkt"].eq(LO.f(orow, mem_way, "ibkt")),
                                 s4["r_code"].eq(LO.f(orow, mem_way, "code")), s4["r_codeok"].eq(1),
                                 s4["r_price"].eq(LO.f(orow, mem_way, "price"))]
                with m.Else():
                    m.d.sync += [s4["r_ok"].eq(n_infl == 1), s4["r_arow"].eq(f_arow), s4["r_away"].eq(f_away),
                                 s4["r_pbkt"].eq(f_pbkt), s4["r_ibkt"].eq(f_ibkt), s4["r_code"].eq(f_code),
                                 s4["r_codeok"].eq(1), s4["r_price"].eq(f_price)]
            with m.Else():
                m.d.sync += [s4["r_ok"].eq(1), s4["r_arow"].eq(s3["abkt"]), s4["r_away"].eq(a_way),
                             s4["r_pbkt"].eq(s3["pbkt"]), s4["r_ibkt"].eq(s3["ibkt"]),
                             s4["r_code"].eq(s3["code"][:20]), s4["r_codeok"].eq(s3["code"] < (1 << 20)),
                             s4["r_price"].eq(s3["price"][:31])]

        # ---- P4: products; instrument read ------------------------------------------------------
        s5 = P[5]
        qty31 = s4["qty"][:31]
        m.d.comb += [rp_ins.addr.eq(Mux(idle, self.rb_row, s4["r_ibkt"])), rp_ins.en.eq(adv | idle)]
        ts_lo, ts_hi = s4["ts"][:32], s4["ts"][32:63]
        m_lo, m_hi = s4["win_m"][:32], s4["win_m"][32:64]
        with m.If(adv):
            m.d.sync += copy(5)
            m.d.sync += [s5["pp0"].eq(ts_lo * m_lo), s5["pp1"].eq(ts_lo * m_hi), s5["pp2"].eq(ts_hi * m_lo),
                         s5["pp3"].eq(ts_hi * m_hi), s5["v"].eq(s4["r_price"] * qty31)]

        # ---- P5: instrument way; sum of partial products ---------------------------------------
        s6 = P[6]
        LI = L["instruments"]
        irow = rp_ins.data
        i_hits = [LI.f(irow, w, "valid") & (LI.f(irow, w, "code") == s5["r_code"]) for w in range(W)]
        i_any, i_way = _lowest(m, i_hits, "p5_i")
        with m.If(adv):
            m.d.sync += copy(6)
            m.d.sync += [
                s6["i_hit"].eq(i_any & s5["r_codeok"]),
                s6["i_status"].eq(LI.f(irow, i_way, "status")), s6["i_ref"].eq(LI.f(irow, i_way, "ref_price")),
                s6["i_up"].eq(LI.f(irow, i_way, "limit_up")), s6["i_down"].eq(LI.f(irow, i_way, "limit_down")),
                s6["i_cage"].eq(LI.f(irow, i_way, "cage_bps")), s6["i_fee"].eq(LI.f(irow, i_way, "fee_q16")),
                s6["i_lotm"].eq(LI.f(irow, i_way, "lot_m")), s6["i_lotl"].eq(LI.f(irow, i_way, "lot_l")),
                s6["prod"].eq(s5["pp0"] + (s5["pp1"] << 32) + (s5["pp2"] << 32) + (s5["pp3"] << 64)),
            ]

        # ---- P6: window id, lot / cage / fee products ------------------------------------------
        s7 = P[7]
        price31 = s6["price"][:31]
        ref = s6["i_ref"]
        with m.If(adv):
            m.d.sync += copy(7)
            m.d.sync += [
                s7["q"].eq((s6["prod"] >> 63) >> s6["win_l"]),
                s7["lotprod"].eq(s6["qty"][:31] * s6["i_lotm"]),
                s7["px1e4"].eq(price31 * 10000),
                # the cage bounds: max(ref*(1e4+bps), (ref+10)*1e4) for buys, min(ref*(1e4-bps), (ref-10)*1e4) for sells
                s7["cage_hi"].eq(Mux(s6["side"] == S.SIDE_BUY,
                                     Mux(ref * (s6["i_cage"] + 10000) > (ref + 10) * 10000, ref * (s6["i_cage"] + 10000),
                                         (ref + 10) * 10000), 0)),
                s7["cage_lo"].eq(Mux(ref * (10000 - s6["i_cage"]) < (ref - 10).as_signed() * 10000,
                                     ref * (10000 - s6["i_cage"]), ((ref - 10).as_signed() * 10000)[:48])),
                s7["feeprod"].eq(s6["v"] * s6["i_fee"]),
                s7["lim_bad"].eq((price31 > s6["i_up"]) | (price31 < s6["i_down"])),
            ]

        # ---- P7: static flags; read #2 of the dynamic buckets ------------------------------------
        s8 = P[8]
        LP, LD = L["positions"], L["adyn"]
        lot_mask = (Const(1, 64) << (31 + s7["i_lotl"])) - 1
        fee = (s7["feeprod"] + 65535) >> 16
        # (ref-10)*1e4 is negative only for ref < 10: then no positive price is below it
        lo_neg = s7["i_ref"] < 10
        m.d.comb += [
            rp_adyn.addr.eq(Mux(idle, self.rb_row, s7["r_arow"])), rp_adyn.en.eq(adv | idle),
            rp_pos.addr.eq(Mux(idle, self.rb_row, s7["r_pbkt"])), rp_pos.en.eq(adv | idle),
            rp_ord.addr.eq(Mux(idle, self.rb_row, s7["obkt"])), rp_ord.en.eq(adv | idle),
        ]
        with m.If(adv):
            m.d.sync += copy(8)
            m.d.sync += [
                s8["lot_ok"].eq((s7["lotprod"] & lot_mask) < s7["i_lotm"]),
                s8["cage_bad"].eq((s7["i_cage"] != 0) & Mux(
                    s7["side"] == S.SIDE_BUY, s7["px1e4"] > s7["cage_hi"],
                    ~lo_neg & (s7["px1e4"] < s7["cage_lo"]))),
                s8["frozen"].eq(s7["v"] + fee), s8["vmf"].eq(s7["v"] - fee),
                s8["maxq_bad"].eq(s7["qty"][:31] > s7["a_maxq"]), s8["maxv_bad"].eq(s7["v"] > s7["a_maxv"]),
            ]

        # ---- P8: EX -------------------------------------------------------------------------------
        day = Signal(T.DAY_BITS, init=1)  # day 0 is "an earlier day" for orders loaded at start
        m.d.comb += self.day.eq(day)
        arow, prow, orow2 = rp_adyn.data, rp_pos.data, rp_ord.data
        x = s8
        typ = x["typ"]
        is_new = x["valid"] & ~x["bad"] & (typ == S.MSG_NEW)
        is_buy = x["side"] == S.SIDE_BUY
        qty = x["qty"][:31]
        # orders: live (open, or used today) / free (never used, or used on an earlier day)
        is_new = _w(m, is_new, "ex_is_new")
        is_buy = _w(m, is_buy, "ex_is_buy")
        o_open_w = [_w(m, LO.f(orow2, w, "state") == T.ORDER_OPEN, f"ex_oopen{w}") for w in range(W)]
        o_used_w = [_w(m, LO.f(orow2, w, "state") == T.ORDER_USED, f"ex_oused{w}") for w in range(W)]
        o_dayeq = [_w(m, LO.f(orow2, w, "day") == day, f"ex_odayeq{w}") for w in range(W)]
        o_key = [_w(m, LO.f(orow2, w, "order_id") == x["oid"], f"ex_okey{w}") for w in range(W)]
        live = [_w(m, o_open_w[w] | (o_used_w[w] & o_dayeq[w]), f"ex_live{w}") for w in range(W)]
        dup, dup_way = _lowest(m, [live[w] & o_key[w] for w in range(W)], "ex_dup")
        o_free_any, o_free = _lowest(m, [~live[w] for w in range(W)], "ex_ofree")
        o_hit, o_way = _lowest(m, [o_open_w[w] & o_key[w] for w in range(W)], "ex_ohit")
        # positions of the message (NEW) or of the found order (CANCEL/FILL)
        k_acc = _w(m, Mux(is_new, x["account"], LO.f(orow2, o_way, "account")), "ex_kacc")
        k_code = _w(m, Mux(is_new, x["code"][:20], LO.f(orow2, o_way, "code")), "ex_kcode")
        p_hit, p_way = _lowest(m, [LP.f(prow, w, "valid") & (LP.f(prow, w, "account") == k_acc)
                                   & (LP.f(prow, w, "code") == k_code) for w in range(W)], "ex_p")
        p_free_any, p_free = _lowest(m, [~LP.f(prow, w, "valid") for w in range(W)], "ex_pfree")
        p_stale = _w(m, LP.f(prow, p_way, "pday") != day, "ex_pstale")
        p_avail = Signal(32)
        p_pend = Signal(32)
        p_frz = _w(m, LP.f(prow, p_way, "frozen"), "ex_pfrz")
        m.d.comb += [p_avail.eq(Mux(p_stale, LP.f(prow, p_way, "available") + LP.f(prow, p_way, "pending"),
                                    LP.f(prow, p_way, "available"))),
                     p_pend.eq(Mux(p_stale, 0, LP.f(prow, p_way, "pending")))]
        avail = _w(m, Mux(p_hit, p_avail, 0), "ex_avail", 32)
        a_way = x["r_away"]
        cash, cfz = _w(m, LD.f(arow, a_way, "cash"), "ex_cash"), _w(m, LD.f(arow, a_way, "cash_frozen"), "ex_cfz")
        win, cnt = _w(m, LD.f(arow, a_way, "window"), "ex_win"), _w(m, LD.f(arow, a_way, "count"), "ex_cnt")
        newcnt = Signal(17)
        m.d.comb += newcnt.eq(Mux(win != x["q"], 1, Mux(cnt < COUNT_CAP, cnt + 1, cnt)))

        reason = Signal(8)
        accepted = Signal()
        throttle_upd = Signal()
        blocked = (x["a_status"] == S.ACCOUNT_BLOCKED_STATUS) | ((x["a_status"] == S.ACCOUNT_SELL_ONLY) & is_buy)
        o_fc = _w(m, LO.f(orow2, o_way, "frozen_cash"), "ex_ofc")
        o_open = _w(m, LO.f(orow2, o_way, "open_qty"), "ex_oopenq")
        o_buy = _w(m, LO.f(orow2, o_way, "side") == S.SIDE_BUY, "ex_obuy")
        q64 = x["qty"].as_signed()
        is_cf = _w(m, x["valid"] & ~x["bad"] & ((typ == S.MSG_CANCEL) | (typ == S.MSG_FILL)), "ex_is_cf")
        with m.If(~x["valid"]):
            m.d.comb += reason.eq(S.OK)
        with m.Elif(x["bad"]):
            m.d.comb += reason.eq(S.MALFORMED)
        with m.Elif(typ == S.MSG_NEW):
            with m.If(~x["nm"]):
                m.d.comb += reason.eq(S.MALFORMED)
            with m.Elif(~x["a_hit"]):
                m.d.comb += reason.eq(S.UNKNOWN_ACCOUNT)
            with m.Elif(blocked):
                m.d.comb += reason.eq(S.ACCOUNT_BLOCKED)
            with m.Else():
                m.d.comb += throttle_upd.eq(1)
                with m.If(newcnt > x["a_maxn"]):
                    m.d.comb += reason.eq(S.THROTTLED)
                with m.Elif(~x["i_hit"]):
                    m.d.comb += reason.eq(S.UNKNOWN_INSTRUMENT)
                with m.Elif(x["i_status"] == S.INSTRUMENT_HALTED_STATUS):
                    m.d.comb += reason.eq(S.INSTRUMENT_HALTED)
                with m.Elif(dup):
                    m.d.comb += reason.eq(S.DUPLICATE_ORDER_ID)
                with m.Elif(~x["lot_ok"] & ~(~is_buy & (qty == avail))):
                    m.d.comb += reason.eq(S.LOT_SIZE)
                with m.Elif(x["lim_bad"]):
                    m.d.comb += reason.eq(S.PRICE_LIMIT)
                with m.Elif(x["cage_bad"]):
                    m.d.comb += reason.eq(S.PRICE_CAGE)
                with m.Elif(x["maxq_bad"]):
                    m.d.comb += reason.eq(S.MAX_QTY)
                with m.Elif(x["maxv_bad"]):
                    m.d.comb += reason.eq(S.MAX_VALUE)
                with m.Elif(is_buy & (x["frozen"] > cash)):
                    m.d.comb += reason.eq(S.INSUFFICIENT_CASH)
                with m.Elif(~is_buy & (qty > avail)):
                    m.d.comb += reason.eq(S.INSUFFICIENT_POSITION)
                with m.Elif(~o_free_any | (is_buy & ~p_hit & ~p_free_any)):
                    m.d.comb += reason.eq(S.TABLE_FULL)
                with m.Else():
                    m.d.comb += [reason.eq(S.OK), accepted.eq(1)]
        with m.Elif(is_cf):
            with m.If(~o_hit):
                m.d.comb += reason.eq(S.UNKNOWN_ORDER)
            with m.Elif((typ == S.MSG_FILL) & ((q64 <= 0) | (q64 > o_open))):
                m.d.comb += reason.eq(S.MALFORMED)
            with m.Else():
                m.d.comb += [reason.eq(S.OK), accepted.eq(1)]
        with m.Else():  # EOD
            m.d.comb += [reason.eq(S.OK), accepted.eq(1)]

        new_ok = Signal()
        new_used = Signal()
        cancel_ok = Signal()
        fill_ok = Signal()
        closes = Signal()
        spent = Signal(64)
        m.d.comb += [
            new_ok.eq(is_new & accepted),
            new_used.eq(is_new & x["nm"] & ~accepted & ~dup & o_free_any),
            cancel_ok.eq(is_cf & accepted & (typ == S.MSG_CANCEL)),
            fill_ok.eq(is_cf & accepted & (typ == S.MSG_FILL)),
            closes.eq(o_open == qty),
            spent.eq(Mux(x["frozen"] < o_fc, x["frozen"], o_fc)),
        ]
        ua, up, uo = RowUpdate(LD, arow), RowUpdate(LP, prow), RowUpdate(LO, orow2)
        # accounts (balances of the message's or the order's account)
        ua.set(throttle_upd, a_way, "window", x["q"])
        ua.set(throttle_upd, a_way, "count", newcnt)
        ua.set(new_ok & is_buy, a_way, "cash", cash - x["frozen"])
        ua.set(new_ok & is_buy, a_way, "cash_frozen", cfz + x["frozen"])
        ua.set(cancel_ok & o_buy, a_way, "cash", cash + o_fc)
        ua.set(cancel_ok & o_buy, a_way, "cash_frozen", cfz - o_fc)
        ua.set(fill_ok & o_buy, a_way, "cash_frozen", Mux(closes, cfz - o_fc, cfz - spent))
        ua.set(fill_ok & o_buy & closes, a_way, "cash", cash + (o_fc - spent))
        ua.set(fill_ok & ~o_buy, a_way, "cash", cash + x["vmf"])
        # positions: a buy opens its row; every other change first applies the lazy EOD
        buy_ins = _w(m, new_ok & is_buy & ~p_hit, "ex_buy_ins")
        for f, v in (("valid", 1), ("account", x["account"]), ("code", x["code"][:20]), ("available", 0),
                     ("frozen", 0), ("pending", 0), ("pday", day)):
            up.set(buy_ins, p_free, f, v)
        touch = _w(m, (new_ok & ~is_buy) | ((cancel_ok & ~o_buy) | fill_ok) & p_hit, "ex_touch")
        up.set(touch, p_way, "available", p_avail)
        up.set(touch, p_way, "pending", p_pend)
        up.set(touch, p_way, "pday", day)
        up.set(new_ok & ~is_buy, p_way, "available", p_avail - qty)
        up.set(new_ok & ~is_buy, p_way, "frozen", p_frz + qty)
        up.set(cancel_ok & ~o_buy & p_hit, p_way, "available", p_avail + o_open)
        up.set(cancel_ok & ~o_buy & p_hit, p_way, "frozen", p_frz - o_open)
        up.set(fill_ok & o_buy & p_hit, p_way, "pending", p_pend + qty)
        up.set(fill_ok & ~o_buy & p_hit, p_way, "frozen", p_frz - qty)
        # orders
        aslot = _w(m, Cat(a_way, x["r_arow"]) if lw else x["r_arow"], "ex_aslot")
        for f, v in (("state", T.ORDER_OPEN), ("day", day), ("order_id", x["oid"]), ("account", x["account"]),
                     ("code", x["code"][:20]), ("side", x["side"][:2]), ("price", x["price"][:31]), ("open_qty", qty),
                     ("frozen_cash", Mux(is_buy, x["frozen"], 0)), ("aslot", aslot), ("pbkt", x["pbkt"]),
                     ("ibkt", x["ibkt"])):
            uo.set(new_ok, o_free, f, v)
        # a rejected well-formed NEW marks its id used today: a live entry of that id (even an
        # order open since an earlier day) takes today's day, else a free way records it
        uo.set(is_new & x["nm"] & ~accepted & dup, dup_way, "day", day)
        uo.set(new_used, o_free, "state", T.ORDER_USED)
        uo.set(new_used, o_free, "day", day)
        uo.set(new_used, o_free, "order_id", x["oid"])
        uo.set(cancel_ok | (fill_ok & closes), o_way, "state", T.ORDER_USED)
        uo.set(fill_ok, o_way, "open_qty", o_open - qty)
        uo.set(fill_ok & o_buy, o_way, "frozen_cash", Mux(closes, 0, o_fc - spent))
        new_a, new_p, new_o = _w(m, ua.value(), "ex_new_a"), _w(m, up.value(), "ex_new_p"), _w(m, uo.value(), "ex_new_o")
        # the rows read for an accepted CANCEL/FILL must be its order's (P3's resolution)
        err = (cancel_ok | fill_ok) & (~x["r_ok"] | (LO.f(orow2, o_way, "aslot") != aslot)
                                       | (LO.f(orow2, o_way, "pbkt") != x["r_pbkt"])
                                       | (LO.f(orow2, o_way, "ibkt") != x["r_ibkt"])
                                       | (fill_ok & (LO.f(orow2, o_way, "price") != x["r_price"])) | ~p_hit)

        ex = x["valid"] & adv
        with m.If(self.clear):
            m.d.sync += [day.eq(1), self.err.eq(0)]
        with m.Elif(ex & accepted & (typ == S.MSG_EOD)):
            m.d.sync += day.eq(day + 1)
        with m.If(ex & err):
            m.d.sync += self.err.eq(1)

        # write back (the rows as read when nothing changed), or the host's row while idle
        for t, ex_row, new in (("adyn", x["r_arow"], new_a), ("positions", x["r_pbkt"], new_p), ("orders", x["obkt"], new_o)):
            m.d.comb += [wp[t].en.eq(Mux(idle, getattr(self, f"ld_{t}_en"), ex)),
                         wp[t].addr.eq(Mux(idle, getattr(self, f"ld_{t}_row"), ex_row)),
                         wp[t].data.eq(Mux(idle, getattr(self, f"ld_{t}_data"), new))]
        for t in ("acfg", "instruments"):
            m.d.comb += [wp[t].en.eq(idle & getattr(self, f"ld_{t}_en")), wp[t].addr.eq(getattr(self, f"ld_{t}_row")),
                         wp[t].data.eq(getattr(self, f"ld_{t}_data"))]
        rb = {"acfg": rp_acfg.data, "adyn": rp_adyn.data, "positions": rp_pos.data, "orders": rp_ord.data,
              "instruments": rp_ins.data}
        with m.Switch(self.rb_sel):
            for t, tid in TABLE_IDS.items():
                with m.Case(tid):
                    m.d.comb += self.rb_data.eq(rb[t])

        # ---- P9: decision ---------------------------------------------------------------------
        with m.If(adv):
            m.d.sync += [P[9]["valid"].eq(x["valid"]), P[9]["reason"].eq(reason), P[9]["accepted"].eq(accepted)]
        m.d.comb += [self.ev_decided.eq(ex), self.ev_accepted.eq(ex & accepted)]
        return m
