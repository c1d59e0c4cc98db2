"""The risk gate's check pipeline: twelve stages, one message per clock, one read-modify-write stage.

Stages (a message enters P0 on the edge it is accepted; its decision leaves P11)::

    P0  input register          malformed flags
    P1  hash, first half        xor-folds; code * CODE_MUL
    P2  hash, second half       Fibonacci multiply -> bucket of every table; read #1
    P3  read #1 data            per-way equality bits straight off the block RAM: order
                                id and OPEN state (tag copy), account key (configuration);
                                the rows registered; the in-flight NEWs of this id found
    P4  resolve                 account way; for CANCEL/FILL the order's account,
                                position and instrument rows (from the registered tags,
                                patched by EX's writes, or an in-flight NEW of the same
                                id): HOLD if ambiguous
    P5  16x16 partials          ts * win_m (16 MULT18X18D), price * qty (4); instrument read
    P6  32x32 sums              four 64-bit ts * win_m partials, v = price * qty;
                                instrument code compare (per-way bits registered)
    P7  128-bit sum             ts * win_m; instrument way and fields; lot, fee and
                                ref * cage partials; price limit
    P8  window id (shift)       lot / fee / ref * cage sums, |price - ref| * 10000 as
                                shift-adds; read #2 address
    P9  match                   read #2 data against this message: per-way key and day
                                match bits, positions after the lazy EOD, throttle window;
                                the row EX is writing is forwarded; static checks to flags
    P10 EX                      one priority encoder over the check flags (spec order),
                                the read-modify-write of all three buckets, written back
    P11 decision register       -> dec_out

Hazards: every dynamic record is read in P8 (data in P9) and written in P10. The
read ports are transparent to the write port, so the message two behind sees EX's
write; the message right behind (in P9) takes the row EX writes through a
forwarding mux into the P10 registers, with its match bits for the ways EX
changed computed from EX's write conditions and register-to-register key
compares, so back-to-back messages on one account, position or order need no
stall. The only cross-stage dependence is CANCEL/FILL finding its order's rows
in P4 (before EX); that is resolved by comparing with the in-flight NEWs in
P5..P10 and held (P0..P4 stalled, bubbles into P5) only when two NEWs of that id
are in flight or one is in flight while memory still has the id open. Read #1's
address does not depend on HOLD: it always reads P2's buckets unless P3's data
is stale (P3 waited behind a hold), in which case P3 re-reads and P4 takes one
bubble; see docs/riskgate-hardware.md, "Pipeline re-cut for timing".
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from kernels import riskgate_spec as S
from kernels import riskgate_tables as T

from .hashing import fold64, mix32, spread_code
from .records import RowLayout, RowUpdate, SubLayout
from .regmap import DEC_BITS, MSG_BITS, TABLE_IDS, Geometry

__all__ = ["GateCore", "LATENCY", "N_STAGES", "OTAG_FIELDS"]

N_STAGES = 12  # P0..P11
EX = 10  # the read-modify-write stage
DEC = 11  # the decision register
LATENCY = N_STAGES  # cycles from the accepting edge to the edge the decision can be taken

COUNT_CAP = 1 << 16

# the order fields read #1 returns (early copy of the orders table, mem_otag): identity of an open order
OTAG_FIELDS = ("state", "order_id", "account", "code", "price", "aslot", "pbkt", "ibkt")


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
        LA, LO, LI, LP, LD = L["acfg"], L["orders"], L["instruments"], L["positions"], L["adyn"]

        # ---- memories: one row = one bucket -------------------------------------------------
        mems = {t: Memory(shape=unsigned(g.row_bits(t)), depth=g.buckets(t), init=[]) for t in TABLE_IDS}
        for t, mem in mems.items():
            m.submodules[f"mem_{t}"] = mem
        # the orders table is read twice (tags in P2, the bucket in P8): a second, narrow copy
        # (OTAG_FIELDS only) written alike, so each is one write and one read port. The tag read is
        # NOT transparent: Yosys' memory_dff rejects the bypass it would build when the address
        # depends on logic fed by the port's own data, leaving an asynchronous read port that only
        # distributed RAM can hold. The bypass is explicit instead (otag_byp / otag_wq below), so
        # the port is a plain synchronous read that maps to DP16KD: see docs/riskgate-hardware.md
        TG = SubLayout("orders", W, OTAG_FIELDS)
        m.submodules.mem_otag = otag = Memory(shape=unsigned(TG.row_bits), depth=g.buckets("orders"), init=[])
        wp = {t: mems[t].write_port() for t in TABLE_IDS}
        wp_otag = otag.write_port()
        rp_otag = otag.read_port(transparent_for=())  # P2 -> P3, write forwarded explicitly
        rp_acfg = mems["acfg"].read_port(transparent_for=(wp["acfg"],))  # P2 -> P3
        rp_ins = mems["instruments"].read_port(transparent_for=(wp["instruments"],))  # P5 -> P6
        # read #2: issued in P8, data in P9 (which sees EX's write of two messages ahead through
        # the transparency); the message one ahead is forwarded into the P10 registers
        rp_adyn = mems["adyn"].read_port(transparent_for=(wp["adyn"],))
        rp_pos = mems["positions"].read_port(transparent_for=(wp["positions"],))
        rp_ord = mems["orders"].read_port(transparent_for=(wp["orders"],))

        # ---- stage registers: (name, bits, first stage holding it, last stage reading it) ---------
        A, O, PB, IB = max(la, 1), max(lo, 1), max(lp, 1), max(li, 1)
        NI = EX - 4  # in-flight stages P5..EX a P4 message compares its order id with
        fields = [
            ("valid", 1, 0, EX), ("typ", 3, 0, EX), ("bad", 1, 0, EX), ("nm", 1, 0, EX), ("side", 8, 0, EX),
            ("code", 32, 0, EX), ("account", 64, 0, EX), ("oid", 64, 0, EX), ("price", 64, 0, EX),
            ("qty", 64, 0, EX), ("ts", 63, 0, 5),
            ("afold", 32, 1, 1), ("ofold", 32, 1, 1), ("cmul", 32, 1, 1),
            ("abkt", A, 2, EX), ("obkt", O, 2, EX), ("pbkt", PB, 2, EX), ("ibkt", IB, 2, EX),
            # read #1, registered with its per-way match bits (P4 only: P4 keeps them while it holds)
            ("oeq", W, 4, 4), ("oopen", W, 4, 4), ("otag", TG.row_bits, 4, 4), ("owr", 1, 4, 4),
            ("ofresh", 1, 4, 4),
            ("aeq", W, 4, 4), ("acfg", g.row_bits("acfg"), 4, 4), ("infl", NI, 4, 4),
            ("a_hit", 1, 5, EX), ("a_way", max(lw, 1), 5, EX), ("a_status", 2, 5, 9), ("a_maxq", 31, 5, 5),
            ("a_maxv", 62, 5, 7), ("a_maxn", 16, 5, EX), ("win_m", 64, 5, 5), ("win_l", 6, 5, 8),
            ("r_ok", 1, 5, EX), ("r_arow", A, 5, EX), ("r_away", max(lw, 1), 5, EX), ("r_pbkt", PB, 5, EX),
            ("r_ibkt", IB, 5, EX), ("r_code", 20, 5, EX), ("r_codeok", 1, 5, 7), ("r_price", 31, 5, EX),
            ("r_acc", 64, 5, EX),
            *((f"tp{i}{j}", 32, 6, 6) for i in range(4) for j in range(4)),
            *((f"vp{i}{j}", 32, 6, 6) for i in range(2) for j in range(2)),
            ("maxq_bad", 1, 6, EX),
            ("pp00", 64, 7, 7), ("pp01", 64, 7, 7), ("pp10", 64, 7, 7), ("pp11", 64, 7, 7), ("v", 62, 7, 9),
            ("ieq", W, 7, 7), ("irow", g.row_bits("instruments"), 7, 7),
            ("i_hit", 1, 8, EX), ("i_status", 1, 8, EX), ("i_cage", 14, 8, 9), ("i_lotm", 32, 8, 9),
            ("i_lotl", 5, 8, 9),
            ("prod", 128, 8, 8), ("lim_bad", 1, 8, EX), ("maxv_bad", 1, 8, EX), ("adiff", 33, 8, 8),
            ("rc0", 30, 8, 8), ("rc1", 29, 8, 8),
            *((f"lp{i}{j}", 32, 8, 8) for i in range(2) for j in range(2)),
            *((f"fp{i}", 32, 8, 8) for i in range(4)),
            ("q", 63, 9, EX), ("rc", 46, 9, 9), ("sa", 48, 9, 9), ("sb", 48, 9, 9), ("agt10", 1, 9, 9),
            ("lotprod", 64, 9, 9), ("feeprod", 78, 9, 9),
            ("lot_ok", 1, 10, EX), ("cage_bad", 1, 10, EX), ("frozen", 64, 10, EX), ("vmf", 64, 10, EX),
            ("blocked", 1, 10, EX),
        ]
        born = {n: b for n, _, b, _ in fields}
        last = {n: e for n, _, _, e in fields}
        P = [{n: Signal(w, name=f"p{k}_{n}") for n, w, b, e in fields if b <= k <= e} for k in range(N_STAGES)]
        for k in (DEC,):
            P[k].update(valid=Signal(name=f"p{k}_valid"), accepted=Signal(name=f"p{k}_accepted"),
                        reason=Signal(8, name=f"p{k}_reason"), errc=Signal(name=f"p{k}_errc"))

        run = self.run
        out_busy = P[DEC]["valid"] & ~self.dec_out.ready
        adv = Signal()  # the whole pipeline moves (the decision register can hand its decision over)
        hold = Signal()  # P4 holds (order-id ambiguity): P0..P4 stay, a bubble enters P5
        go4 = Signal()  # P4 hands its message on
        sel3 = Signal()  # P3's read #1 data are stale (it waited): re-read its buckets, a bubble enters P4
        front = Signal()  # P0..P3 move
        m.d.comb += [adv.eq(~out_busy), go4.eq(adv & ~hold), front.eq(go4 & ~sel3)]
        m.d.comb += [self.msg_in.ready.eq(front & run),
                     self.dec_out.valid.eq(P[DEC]["valid"]),
                     self.dec_out.payload.eq(Cat(P[DEC]["accepted"], Const(0, 7), P[DEC]["reason"]))]
        m.d.comb += self.busy.eq(Cat(*(P[k]["valid"] for k in range(N_STAGES))).any())

        def copy(k):
            """Default: stage k takes stage k-1's fields (those still needed)."""
            return [P[k][n].eq(P[k - 1][n]) for n, _, _, _ in fields if born[n] < k <= last[n]]

        def limbs(v: Value, n: int) -> list:
            """16-bit limbs of ``v`` (lowest first; the last one may be narrower): one MULT18X18D operand each."""
            return [v[16 * i:min(16 * (i + 1), len(v))] for i in range(n)]

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
                P[2]["abkt"].eq(mix32(P[1]["afold"])[:A] if la else 0),
                P[2]["obkt"].eq(mix32(P[1]["ofold"])[:O] if lo else 0),
                P[2]["pbkt"].eq(mix32(P[1]["afold"] ^ P[1]["cmul"])[:PB] if lp else 0),
                P[2]["ibkt"].eq(P[1]["code"][:IB] if li else 0),
            ]

        # read #1: order tags and account configuration of P2; of P3 when P3's data are stale. The
        # address never depends on HOLD (a block-RAM output): P3 tracks whether the row on the port
        # is its own (p3_dv) and re-reads when it is not, which only happens after P4 held
        s3, s4 = P[3], P[4]
        idle = ~run & ~self.busy
        dv = Signal(name="p3_dv")  # the read #1 data on the ports are P3's message's
        m.d.comb += sel3.eq(s3["valid"] & ~dv)
        m.d.comb += [
            rp_otag.addr.eq(Mux(sel3, s3["obkt"], P[2]["obkt"])),
            rp_acfg.addr.eq(Mux(idle, self.rb_row, Mux(sel3, s3["abkt"], P[2]["abkt"]))),
            rp_otag.en.eq(adv), rp_acfg.en.eq(adv | idle),
        ]
        with m.If(adv):
            m.d.sync += dv.eq(front | sel3)
        # write-first forwarding of the tag copy: a row written on the edge of the read replaces the
        # (old) data read; writes only happen while adv is high, as do reads
        otag_byp = Signal(name="p3_otag_byp")
        otag_wq = Signal(TG.row_bits, name="p3_otag_wq")
        with m.If(adv):
            m.d.sync += [otag_byp.eq(wp_otag.en & (wp_otag.addr == rp_otag.addr)), otag_wq.eq(wp_otag.data)]

        # ---- P3: per-way match bits straight off read #1; in-flight NEWs of this id -------------
        with m.If(front):
            m.d.sync += copy(3)
        ac = rp_acfg.data
        orow = _w(m, Mux(otag_byp, otag_wq, rp_otag.data), "p3_orow")
        # NEWs that will be in P5..EX when this message is in P4 (they have not written their order
        # yet: EX writes on the edge it leaves); P4 keeps the vector up to date while it holds
        infl3 = [_w(m, P[k]["valid"] & P[k]["nm"] & (P[k]["oid"] == s3["oid"]), f"p3_infl{k}") for k in range(4, EX)]
        with m.If(front):
            m.d.sync += [
                s4["oeq"].eq(Cat(*(TG.f(orow, w, "order_id") == s3["oid"] for w in range(W)))),
                s4["oopen"].eq(Cat(*(TG.f(orow, w, "state") == T.ORDER_OPEN for w in range(W)))),
                s4["otag"].eq(orow),
                s4["owr"].eq(wp_otag.en & (wp_otag.addr == s3["obkt"])), s4["ofresh"].eq(1),
                s4["aeq"].eq(Cat(*(LA.f(ac, w, "valid") & (LA.f(ac, w, "account") == s3["account"]) for w in range(W)))),
                s4["acfg"].eq(ac),
                s4["infl"].eq(Cat(*infl3)),
            ]

        # ---- P4: resolve account way and the CANCEL/FILL order's rows ---------------------------
        # the tags as memory has them now: EX's write of the last edge (owr) replaces the registered row
        # (its order ids without a compare here: EX only writes ids into the ways ow_keyw, and only
        # its own message's id, whose equality with P3's and P4's ids was registered on that edge)
        owr = s4["owr"]
        ow_keyw = Signal(W, name="p4_ow_keyw")  # ways whose order id the last edge's write set
        ow_same3 = Signal(name="p4_ow_same3")  # the writer's id == the id of the message then in P3
        ow_same4 = Signal(name="p4_ow_same4")  # ... in P4
        ow_same = Mux(s4["ofresh"], ow_same3, ow_same4)
        oeq = [_w(m, Mux(owr & ow_keyw[w], ow_same, s4["oeq"][w]), f"p4_oeq{w}") for w in range(W)]
        oopen = [_w(m, Mux(owr, TG.f(otag_wq, w, "state") == T.ORDER_OPEN, s4["oopen"][w]), f"p4_oopen{w}")
                 for w in range(W)]
        orow4 = _w(m, Mux(owr, otag_wq, s4["otag"]), "p4_orow")
        ac4 = s4["acfg"]
        a_hit, a_way = _lowest(m, list(s4["aeq"]), "p4_a")
        mem_open, mem_way = _lowest(m, [oopen[w] & oeq[w] for w in range(W)], "p4_o")
        is_cf = s4["valid"] & ~s4["bad"] & ((s4["typ"] == S.MSG_CANCEL) | (s4["typ"] == S.MSG_FILL))
        infl = list(s4["infl"])
        n_infl = Signal(range(len(infl) + 1))
        m.d.comb += n_infl.eq(sum(infl))
        m.d.comb += hold.eq(is_cf & ((n_infl >= 2) | ((n_infl == 1) & mem_open)))
        m.d.comb += self.ev_hold.eq(adv & ~front)
        # P4's registers: P3's message on front (above), a bubble while P3 re-reads, else kept
        with m.If(go4 & ~front):
            m.d.sync += s4["valid"].eq(0)
        with m.Elif(adv & ~go4):
            # holding: keep the tags current, and the in-flight vector moves on (a bubble enters P5)
            m.d.sync += [s4["oeq"].eq(Cat(*oeq)), s4["oopen"].eq(Cat(*oopen)), s4["otag"].eq(orow4),
                         s4["owr"].eq(wp_otag.en & (wp_otag.addr == s4["obkt"])), s4["ofresh"].eq(0),
                         s4["infl"].eq(Cat(Const(0, 1), s4["infl"][:-1]))]
        with m.If(front):
            m.d.sync += copy(4)
        # the in-flight NEW of this id (when exactly one): its own account/position/instrument rows
        f_arow, f_away, f_pbkt, f_ibkt = Signal.like(s4["abkt"]), Signal(max(lw, 1)), Signal.like(s4["pbkt"]), Signal.like(s4["ibkt"])
        f_code, f_price, f_acc = Signal(20), Signal(31), Signal(64)
        for j, k in enumerate(range(5, EX + 1)):
            with m.If(infl[j]):
                m.d.comb += [f_arow.eq(P[k]["abkt"]), f_away.eq(P[k]["a_way"]), f_pbkt.eq(P[k]["pbkt"]),
                             f_ibkt.eq(P[k]["ibkt"]), f_code.eq(P[k]["code"][:20]), f_price.eq(P[k]["price"][:31]),
                             f_acc.eq(P[k]["account"])]
        m_aslot = _w(m, TG.f(orow4, mem_way, "aslot"), "p4_m_aslot")
        s5 = P[5]
        with m.If(adv):
            m.d.sync += copy(5)
            m.d.sync += [
                s5["valid"].eq(s4["valid"] & ~hold),
                s5["a_hit"].eq(a_hit), s5["a_way"].eq(a_way),
                s5["a_status"].eq(LA.f(ac4, a_way, "status")), s5["a_maxq"].eq(LA.f(ac4, a_way, "max_order_qty")),
                s5["a_maxv"].eq(LA.f(ac4, a_way, "max_order_value")),
                s5["a_maxn"].eq(LA.f(ac4, a_way, "max_orders_per_window")),
                s5["win_m"].eq(LA.f(ac4, a_way, "win_m")), s5["win_l"].eq(LA.f(ac4, a_way, "win_l")),
            ]
            with m.If(is_cf):
                with m.If(mem_open):
                    m.d.sync += [s5["r_ok"].eq(1), s5["r_arow"].eq(m_aslot[lw:lw + A] if la else 0),
                                 s5["r_away"].eq(m_aslot[:max(lw, 1)] if lw else 0),
                                 s5["r_pbkt"].eq(TG.f(orow4, mem_way, "pbkt")), s5["r_ibkt"].eq(TG.f(orow4, mem_way, "ibkt")),
                                 s5["r_code"].eq(TG.f(orow4, mem_way, "code")), s5["r_codeok"].eq(1),
                                 s5["r_price"].eq(TG.f(orow4, mem_way, "price")),
                                 s5["r_acc"].eq(TG.f(orow4, mem_way, "account"))]
                with m.Else():
                    m.d.sync += [s5["r_ok"].eq(n_infl == 1), s5["r_arow"].eq(f_arow), s5["r_away"].eq(f_away),
                                 s5["r_pbkt"].eq(f_pbkt), s5["r_ibkt"].eq(f_ibkt), s5["r_code"].eq(f_code),
                                 s5["r_codeok"].eq(1), s5["r_price"].eq(f_price), s5["r_acc"].eq(f_acc)]
            with m.Else():
                m.d.sync += [s5["r_ok"].eq(1), s5["r_arow"].eq(s4["abkt"]), s5["r_away"].eq(a_way),
                             s5["r_pbkt"].eq(s4["pbkt"]), s5["r_ibkt"].eq(s4["ibkt"]),
                             s5["r_code"].eq(s4["code"][:20]), s5["r_codeok"].eq(s4["code"] < (1 << 20)),
                             s5["r_price"].eq(s4["price"][:31]), s5["r_acc"].eq(s4["account"])]

        # ---- P5: 16x16 partial products (one MULT18X18D each, registered); instrument read ------
        s6 = P[6]
        m.d.comb += [rp_ins.addr.eq(Mux(idle, self.rb_row, s5["r_ibkt"])), rp_ins.en.eq(adv | idle)]
        ts_l, m_l = limbs(s5["ts"], 4), limbs(s5["win_m"], 4)
        pr_l, q_l = limbs(s5["r_price"], 2), limbs(s5["qty"][:31], 2)
        with m.If(adv):
            m.d.sync += copy(6)
            m.d.sync += [s6[f"tp{i}{j}"].eq(ts_l[i] * m_l[j]) for i in range(4) for j in range(4)]
            m.d.sync += [s6[f"vp{i}{j}"].eq(pr_l[i] * q_l[j]) for i in range(2) for j in range(2)]
            m.d.sync += s6["maxq_bad"].eq(s5["qty"][:31] > s5["a_maxq"])

        def pair(p00, p01, p10, p11, sh):
            """a*b from the four partials of two-limb operands (limb width ``sh``): the outer two do not overlap."""
            return Cat(p00, p11) + ((p01 + p10) << sh)

        # ---- P6: 32x32 sums, price*qty; instrument code compare -----------------------------------
        s7 = P[7]
        irow = rp_ins.data
        with m.If(adv):
            m.d.sync += copy(7)
            for a in range(2):
                for b in range(2):
                    t = lambda i, j: s6[f"tp{2 * a + i}{2 * b + j}"]  # noqa: E731
                    m.d.sync += s7[f"pp{a}{b}"].eq(pair(t(0, 0), t(0, 1), t(1, 0), t(1, 1), 16))
            m.d.sync += [
                s7["v"].eq(pair(s6["vp00"], s6["vp01"], s6["vp10"], s6["vp11"], 16)),
                s7["ieq"].eq(Cat(*(LI.f(irow, w, "valid") & (LI.f(irow, w, "code") == s6["r_code"]) for w in range(W)))),
                s7["irow"].eq(irow),
            ]

        # ---- P7: 128-bit product; instrument way and fields; lot / cage / fee partials; price limit
        s8 = P[8]
        i_any, i_way = _lowest(m, list(s7["ieq"]), "p7_i")
        irow7 = s7["irow"]
        i_ref, i_up, i_down = (_w(m, LI.f(irow7, i_way, f), f"p7_{f}") for f in ("ref_price", "limit_up", "limit_down"))
        i_cage, i_fee, i_lotm = (_w(m, LI.f(irow7, i_way, f), f"p7_{f}") for f in ("cage_bps", "fee_q16", "lot_m"))
        price31 = s7["price"][:31]
        ps, rs = Cat(price31, Const(0, 1)).as_signed(), Cat(i_ref, Const(0, 1)).as_signed()
        with m.If(adv):
            m.d.sync += copy(8)
            m.d.sync += [
                s8["i_hit"].eq(i_any & s7["r_codeok"]),
                s8["i_status"].eq(LI.f(irow7, i_way, "status")), s8["i_cage"].eq(i_cage),
                s8["i_lotm"].eq(i_lotm), s8["i_lotl"].eq(LI.f(irow7, i_way, "lot_l")),
                s8["prod"].eq(Cat(s7["pp00"], s7["pp11"]) + ((s7["pp01"] + s7["pp10"]) << 32)),
                s8["lim_bad"].eq((price31 > i_up) | (price31 < i_down)),
                s8["maxv_bad"].eq(s7["v"] > s7["a_maxv"]),
                # the cage, buy: price*1e4 > max(ref*(1e4+c), (ref+10)*1e4)  <=>  d*1e4 > ref*c and d > 10
                # with d = price - ref (sell: d = ref - price, same form), so one product ref*c suffices
                s8["adiff"].eq(Mux(s7["side"] == S.SIDE_BUY, ps - rs, rs - ps)),
                s8["rc0"].eq(i_ref[:16] * i_cage), s8["rc1"].eq(i_ref[16:31] * i_cage),
            ]
            ql, ll = limbs(s7["qty"][:31], 2), limbs(i_lotm, 2)
            m.d.sync += [s8[f"lp{i}{j}"].eq(ql[i] * ll[j]) for i in range(2) for j in range(2)]
            vl = limbs(s7["v"], 4)
            m.d.sync += [s8[f"fp{i}"].eq(vl[i] * i_fee) for i in range(4)]

        # ---- P8: window id (shift), product sums, x10000 as shift-adds; read #2 address ----------
        s9 = P[9]
        a31 = s8["adiff"][:31]  # only used when 10 < adiff < 2**31
        m.d.comb += [
            rp_adyn.addr.eq(Mux(idle, self.rb_row, s8["r_arow"])), rp_adyn.en.eq(adv | idle),
            rp_pos.addr.eq(Mux(idle, self.rb_row, s8["r_pbkt"])), rp_pos.en.eq(adv | idle),
            rp_ord.addr.eq(Mux(idle, self.rb_row, s8["obkt"])), rp_ord.en.eq(adv | idle),
        ]
        with m.If(adv):
            m.d.sync += copy(9)
            m.d.sync += [
                s9["q"].eq((s8["prod"] >> 63) >> s8["win_l"]),
                s9["lotprod"].eq(pair(s8["lp00"], s8["lp01"], s8["lp10"], s8["lp11"], 16)),
                s9["feeprod"].eq(Cat(s8["fp0"], s8["fp2"]) + (Cat(s8["fp1"], s8["fp3"]) << 16)),
                s9["rc"].eq(s8["rc0"] + (s8["rc1"] << 16)),
                # 10000 = 2^13 + 2^10 + 2^9 + 2^8 + 2^4, summed over two stages
                s9["sa"].eq((a31 << 13) + (a31 << 10)),
                s9["sb"].eq((a31 << 9) + (a31 << 8) + (a31 << 4)),
                s9["agt10"].eq(s8["adiff"].as_signed() > 10),
            ]

        # ---- EX (P10): checks 2..14 + TABLE_FULL from precomputed match bits, read-modify-write --
        day = Signal(T.DAY_BITS, init=1)  # day 0 is "an earlier day" for orders loaded at start
        day1 = Signal(T.DAY_BITS, init=2)  # day + 1, kept in a register so P9 needs no incrementer
        m.d.comb += self.day.eq(day)
        x = P[EX]
        orow9 = Signal(g.row_bits("orders"), name="p10_orow")
        prow9 = Signal(g.row_bits("positions"), name="p10_prow")
        arow9 = Signal(g.row_bits("adyn"), name="p10_arow")
        okey9 = Signal(W, name="p10_okey")  # way's order_id == the message's
        odayeq9 = Signal(W, name="p10_odayeq")  # way's day == today
        pkey9 = Signal(W, name="p10_pkey")  # way valid and (account, code) == the message's position key
        pav9 = [Signal(32, name=f"p10_pav{w}") for w in range(W)]  # available after the lazy EOD
        ppend9 = [Signal(32, name=f"p10_ppend{w}") for w in range(W)]  # pending after the lazy EOD
        wineq9 = Signal(name="p10_wineq")  # the account's throttle window == this message's window id

        typ = x["typ"]
        is_buy = _w(m, x["side"] == S.SIDE_BUY, "ex_is_buy")
        qty = x["qty"][:31]
        is_new = _w(m, x["valid"] & ~x["bad"] & (typ == S.MSG_NEW), "ex_is_new")
        is_cf = _w(m, x["valid"] & ~x["bad"] & ((typ == S.MSG_CANCEL) | (typ == S.MSG_FILL)), "ex_is_cf")
        is_fill = _w(m, is_cf & (typ == S.MSG_FILL), "ex_is_fill")
        o_open_w = [_w(m, LO.f(orow9, w, "state") == T.ORDER_OPEN, f"ex_oopen{w}") for w in range(W)]
        o_used_w = [_w(m, LO.f(orow9, w, "state") == T.ORDER_USED, f"ex_oused{w}") for w in range(W)]
        live = [_w(m, o_open_w[w] | (o_used_w[w] & odayeq9[w]), f"ex_live{w}") for w in range(W)]
        dup, dup_way = _lowest(m, [live[w] & okey9[w] for w in range(W)], "ex_dup")
        o_free_any, o_free = _lowest(m, [~live[w] for w in range(W)], "ex_ofree")
        o_hit, o_way = _lowest(m, [o_open_w[w] & okey9[w] for w in range(W)], "ex_ohit")
        p_hit, p_way = _lowest(m, [pkey9[w] for w in range(W)], "ex_p")
        p_free_any, p_free = _lowest(m, [~LP.f(prow9, w, "valid") for w in range(W)], "ex_pfree")
        p_avail, p_pend = Signal(32), Signal(32)
        m.d.comb += [p_avail.eq(pav9[0]), p_pend.eq(ppend9[0])]
        for w in range(1, W):
            with m.If(p_way == w):
                m.d.comb += [p_avail.eq(pav9[w]), p_pend.eq(ppend9[w])]
        p_frz = _w(m, LP.f(prow9, p_way, "frozen"), "ex_pfrz")
        avail = _w(m, Mux(p_hit, p_avail, 0), "ex_avail", 32)
        a_way = x["r_away"]
        cash, cfz = _w(m, LD.f(arow9, a_way, "cash"), "ex_cash"), _w(m, LD.f(arow9, a_way, "cash_frozen"), "ex_cfz")
        cnt = _w(m, LD.f(arow9, a_way, "count"), "ex_cnt")
        newcnt = Signal(17)
        m.d.comb += newcnt.eq(Mux(~wineq9, 1, Mux(cnt < COUNT_CAP, cnt + 1, cnt)))
        o_fc = _w(m, LO.f(orow9, o_way, "frozen_cash"), "ex_ofc")
        o_open = _w(m, LO.f(orow9, o_way, "open_qty"), "ex_oopenq")
        o_buy = _w(m, LO.f(orow9, o_way, "side") == S.SIDE_BUY, "ex_obuy")
        q64 = x["qty"].as_signed()

        # every check as one flag, in spec order; the types are exclusive, so the first set flag
        # (one priority encoder) is the reason and no flag set means accepted
        new_go = _w(m, is_new & x["nm"] & x["a_hit"] & ~x["blocked"], "ex_new_go")  # reaches the throttle
        checks = [
            (x["valid"] & x["bad"], S.MALFORMED),
            (is_new & ~x["nm"], S.MALFORMED),
            (is_new & ~x["a_hit"], S.UNKNOWN_ACCOUNT),
            (is_new & x["blocked"], S.ACCOUNT_BLOCKED),
            (new_go & (newcnt > x["a_maxn"]), S.THROTTLED),
            (new_go & ~x["i_hit"], S.UNKNOWN_INSTRUMENT),
            (new_go & (x["i_status"] == S.INSTRUMENT_HALTED_STATUS), S.INSTRUMENT_HALTED),
            (new_go & dup, S.DUPLICATE_ORDER_ID),
            (new_go & ~x["lot_ok"] & ~(~is_buy & (qty == avail)), S.LOT_SIZE),
            (new_go & x["lim_bad"], S.PRICE_LIMIT),
            (new_go & x["cage_bad"], S.PRICE_CAGE),
            (new_go & x["maxq_bad"], S.MAX_QTY),
            (new_go & x["maxv_bad"], S.MAX_VALUE),
            (new_go & is_buy & (x["frozen"] > cash), S.INSUFFICIENT_CASH),
            (new_go & ~is_buy & (qty > avail), S.INSUFFICIENT_POSITION),
            (new_go & (~o_free_any | (is_buy & ~p_hit & ~p_free_any)), S.TABLE_FULL),
            (is_cf & ~o_hit, S.UNKNOWN_ORDER),
            (is_fill & ((q64 <= 0) | (q64 > o_open)), S.MALFORMED),
        ]
        fails = Signal(len(checks), name="ex_fails")
        m.d.comb += fails.eq(Cat(*(c for c, _ in checks)))
        # the first failing check, one-hot (flag i and none before it), then each reason bit an OR
        # of the one-hot bits whose code has it: two shallow trees instead of an index and a decoder
        first = [_w(m, fails[i] & ~fails[:i].any() if i else fails[0], f"ex_first{i}") for i in range(len(checks))]
        any_fail = _w(m, fails.any(), "ex_any_fail")
        reason = Signal(8)
        accepted = Signal()
        throttle_upd = new_go
        m.d.comb += [accepted.eq(x["valid"] & ~any_fail),
                     reason.eq(Mux(any_fail, Cat(*(Cat(*(first[i] for i, (_, c) in enumerate(checks) if (c >> b) & 1)).any()
                                                     for b in range(8))), S.OK))]

        # A FILL of a buy spends min(frozen, o_fc) of the order's frozen cash: the compare and the
        # three sums that depend on it run side by side (the sum of three is one carry-save level
        # and one adder), not compare -> select -> subtract in series
        lt = _w(m, x["frozen"] < o_fc, "ex_spent_lt")  # spent = frozen (else spent = o_fc)
        nfz = ~x["frozen"][:64]
        c3s = cash[:64] ^ o_fc[:64] ^ nfz
        c3c = Cat(Const(1, 1), ((cash[:64] & o_fc[:64]) | (cash[:64] & nfz) | (o_fc[:64] & nfz))[:63])
        cash_back = _w(m, (c3s + c3c)[:64], "ex_cash_back")  # cash + o_fc - frozen
        fc_left = _w(m, (o_fc - x["frozen"])[:64], "ex_fc_left")  # o_fc - frozen
        closes = _w(m, o_open == qty, "ex_closes")
        aslot = _w(m, Cat(a_way, x["r_arow"]) if lw else x["r_arow"], "ex_aslot")

        def updates(acc):
            """The three written rows and the forwarding's changed-way bits, given the accept decision ``acc``.

            Built twice (``acc`` = 1 and 0) and selected by the real decision, so that the
            decision, the latest signal in EX, passes through one 2:1 mux per bit only.
            """
            new_ok = is_new & acc
            new_used = is_new & x["nm"] & ~acc & ~dup & o_free_any
            dup_day = is_new & x["nm"] & ~acc & dup
            cancel_ok = is_cf & acc & (typ == S.MSG_CANCEL)
            fill_ok = is_cf & acc & (typ == S.MSG_FILL)
            ua, up, uo = RowUpdate(LD, arow9), RowUpdate(LP, prow9), RowUpdate(LO, orow9)
            # accounts (balances of the message's or the order's account)
            ua.set(throttle_upd, a_way, "window", x["q"])
            ua.set(throttle_upd, a_way, "count", newcnt)
            ua.set(new_ok & is_buy, a_way, "cash", cash - x["frozen"])
            ua.set(new_ok & is_buy, a_way, "cash_frozen", cfz + x["frozen"])
            ua.set(cancel_ok & o_buy, a_way, "cash", cash + o_fc)
            ua.set(cancel_ok & o_buy, a_way, "cash_frozen", cfz - o_fc)
            ua.set(fill_ok & o_buy, a_way, "cash_frozen", Mux(~closes & lt, cfz - x["frozen"], cfz - o_fc))
            ua.set(fill_ok & o_buy & closes & lt, a_way, "cash", cash_back)
            ua.set(fill_ok & ~o_buy, a_way, "cash", cash + x["vmf"])
            # positions: a buy opens its row; every other change first applies the lazy EOD
            buy_ins = new_ok & is_buy & ~p_hit
            for f, v in (("valid", 1), ("account", x["account"]), ("code", x["code"][:20]), ("available", 0),
                         ("frozen", 0), ("pending", 0), ("pday", day)):
                up.set(buy_ins, p_free, f, v)
            touch = (new_ok & ~is_buy) | ((cancel_ok & ~o_buy) | fill_ok) & p_hit
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
            for f, v in (("state", T.ORDER_OPEN), ("day", day), ("order_id", x["oid"]), ("account", x["account"]),
                         ("code", x["code"][:20]), ("side", x["side"][:2]), ("price", x["price"][:31]), ("open_qty", qty),
                         ("frozen_cash", Mux(is_buy, x["frozen"], 0)), ("aslot", aslot), ("pbkt", x["pbkt"]),
                         ("ibkt", x["ibkt"])):
                uo.set(new_ok, o_free, f, v)
            # a rejected well-formed NEW marks its id used today: a live entry of that id (even an
            # order open since an earlier day) takes today's day, else a free way records it
            uo.set(dup_day, dup_way, "day", day)
            uo.set(new_used, o_free, "state", T.ORDER_USED)
            uo.set(new_used, o_free, "day", day)
            uo.set(new_used, o_free, "order_id", x["oid"])
            uo.set(cancel_ok | (fill_ok & closes), o_way, "state", T.ORDER_USED)
            uo.set(fill_ok, o_way, "open_qty", o_open - qty)
            uo.set(fill_ok & o_buy, o_way, "frozen_cash", Mux(closes | ~lt, 0, fc_left))
            # the ways of the written rows EX changes in a field the next message's match bits read
            return {
                "a": ua.value(), "p": up.value(), "o": uo.value(),
                "okeyw": Cat(*((new_ok | new_used) & (o_free == w) for w in range(W))),
                "odayw": Cat(*(((new_ok | new_used) & (o_free == w)) | (dup_day & (dup_way == w)) for w in range(W))),
                "pinsw": Cat(*(buy_ins & (p_free == w) for w in range(W))),
                "pdayw": Cat(*((buy_ins & (p_free == w)) | (touch & (p_way == w)) for w in range(W))),
            }

        u1, u0 = updates(Const(1, 1)), updates(Const(0, 1))
        upd = {k: _w(m, Mux(accepted, u1[k], u0[k]), f"ex_new_{k}") for k in u1}
        new_a, new_p, new_o = upd["a"], upd["p"], upd["o"]
        o_keyw, o_dayw, p_insw, p_dayw = (list(upd[k]) for k in ("okeyw", "odayw", "pinsw", "pdayw"))
        with m.If(adv):
            m.d.sync += [ow_keyw.eq(upd["okeyw"]), ow_same3.eq(x["oid"] == s3["oid"]), ow_same4.eq(x["oid"] == s4["oid"])]
        # the rows read for an accepted CANCEL/FILL must be its order's (P4's resolution); registered
        # without the accept decision (a deep signal) and qualified by it in the decision stage
        err = is_cf & (~x["r_ok"] | (LO.f(orow9, o_way, "aslot") != aslot)
                                       | (LO.f(orow9, o_way, "pbkt") != x["r_pbkt"])
                                       | (LO.f(orow9, o_way, "ibkt") != x["r_ibkt"])
                                       | (is_fill & (LO.f(orow9, o_way, "price") != x["r_price"])) | ~p_hit)

        ex = x["valid"] & adv
        ex_eod = _w(m, x["valid"] & ~x["bad"] & (typ == S.MSG_EOD), "ex_eod")  # always accepted
        with m.If(self.clear):
            m.d.sync += [day.eq(1), day1.eq(2), self.err.eq(0)]
        with m.Elif(ex & ex_eod):
            m.d.sync += [day.eq(day1), day1.eq(day1 + 1)]
        with m.If(P[DEC]["valid"] & P[DEC]["accepted"] & P[DEC]["errc"]):
            m.d.sync += self.err.eq(1)

        # write back (the rows as read when nothing changed), or the host's row while idle
        for t, ex_row, new in (("adyn", x["r_arow"], new_a), ("positions", x["r_pbkt"], new_p), ("orders", x["obkt"], new_o)):
            m.d.comb += [wp[t].en.eq(Mux(idle, getattr(self, f"ld_{t}_en"), ex)),
                         wp[t].addr.eq(Mux(idle, getattr(self, f"ld_{t}_row"), ex_row)),
                         wp[t].data.eq(Mux(idle, getattr(self, f"ld_{t}_data"), new))]
        m.d.comb += [wp_otag.en.eq(wp["orders"].en), wp_otag.addr.eq(wp["orders"].addr),
                     wp_otag.data.eq(TG.pack(LO, wp["orders"].data))]
        for t in ("acfg", "instruments"):
            m.d.comb += [wp[t].en.eq(idle & getattr(self, f"ld_{t}_en")), wp[t].addr.eq(getattr(self, f"ld_{t}_row")),
                         wp[t].data.eq(getattr(self, f"ld_{t}_data"))]
        rb = {"acfg": rp_acfg.data, "adyn": rp_adyn.data, "positions": rp_pos.data, "orders": rp_ord.data,
              "instruments": rp_ins.data}
        with m.Switch(self.rb_sel):
            for t, tid in TABLE_IDS.items():
                with m.Case(tid):
                    m.d.comb += self.rb_data.eq(rb[t])

        # ---- P9: match bits of read #2 against this message, forwarding of the message in EX ------
        rd_a, rd_p, rd_o = rp_adyn.data, rp_pos.data, rp_ord.data
        # the day this message's EX will see: one more when the message in EX now is an EOD
        day_eff = _w(m, Mux(ex_eod, day1, day), "p9_day")
        k_acc, k_code = s9["r_acc"], s9["r_code"]  # the position's key (the order's for CANCEL/FILL)
        okey_r = [LO.f(rd_o, w, "order_id") == s9["oid"] for w in range(W)]
        odayeq_r = [LO.f(rd_o, w, "day") == day_eff for w in range(W)]
        pkey_r = [LP.f(rd_p, w, "valid") & (LP.f(rd_p, w, "account") == k_acc) & (LP.f(rd_p, w, "code") == k_code)
                  for w in range(W)]
        pstale_r = [LP.f(rd_p, w, "pday") != day_eff for w in range(W)]
        wineq_r = LD.f(rd_a, s9["r_away"], "window") == s9["q"]
        fwd_o = _w(m, x["valid"] & (x["obkt"] == s9["obkt"]), "p9_fwd_o")
        fwd_p = _w(m, x["valid"] & (x["r_pbkt"] == s9["r_pbkt"]), "p9_fwd_p")
        fwd_a = _w(m, x["valid"] & (x["r_arow"] == s9["r_arow"]), "p9_fwd_a")
        same_oid = _w(m, x["oid"] == s9["oid"], "p9_same_oid")
        same_pkey = _w(m, (x["account"] == k_acc) & (x["code"][:20] == k_code), "p9_same_pkey")
        same_q = _w(m, x["q"] == s9["q"], "p9_same_q")
        lot_mask = Cat(*((s9["i_lotl"] + 31 > i) for i in range(64)))  # 2**(31 + lot_l) - 1
        fee_c = _w(m, (s9["feeprod"] >> 16) + (s9["feeprod"][:16] != 0), "p9_fee", 63)  # ceil(feeprod / 2**16)
        is_buy9 = s9["side"] == S.SIDE_BUY
        with m.If(adv):
            m.d.sync += copy(EX)
            m.d.sync += [
                x["lot_ok"].eq((s9["lotprod"] & lot_mask) < s9["i_lotm"]),
                x["cage_bad"].eq((s9["i_cage"] != 0) & s9["agt10"] & (s9["sa"] + s9["sb"] > s9["rc"])),
                x["frozen"].eq(s9["v"] + fee_c), x["vmf"].eq(s9["v"] - fee_c),
                x["blocked"].eq((s9["a_status"] == S.ACCOUNT_BLOCKED_STATUS)
                                | ((s9["a_status"] == S.ACCOUNT_SELL_ONLY) & is_buy9)),
                orow9.eq(Mux(fwd_o, new_o, rd_o)), prow9.eq(Mux(fwd_p, new_p, rd_p)), arow9.eq(Mux(fwd_a, new_a, rd_a)),
                wineq9.eq(Mux(fwd_a & throttle_upd & (x["r_away"] == s9["r_away"]), same_q, wineq_r)),
            ]
            for w in range(W):
                m.d.sync += [
                    okey9[w].eq(Mux(fwd_o & o_keyw[w], same_oid, okey_r[w])),
                    odayeq9[w].eq(Mux(fwd_o & o_dayw[w], 1, odayeq_r[w])),
                    pkey9[w].eq(Mux(fwd_p & p_insw[w], same_pkey, pkey_r[w])),
                    pav9[w].eq(Mux(fwd_p & p_dayw[w], LP.f(new_p, w, "available"),
                                   Mux(pstale_r[w], LP.f(rd_p, w, "available") + LP.f(rd_p, w, "pending"),
                                       LP.f(rd_p, w, "available")))),
                    ppend9[w].eq(Mux(fwd_p & p_dayw[w], LP.f(new_p, w, "pending"),
                                     Mux(pstale_r[w], 0, LP.f(rd_p, w, "pending")))),
                ]

        # ---- P11: decision ---------------------------------------------------------------------
        with m.If(adv):
            m.d.sync += [P[DEC]["valid"].eq(x["valid"]), P[DEC]["reason"].eq(reason), P[DEC]["accepted"].eq(accepted),
                         P[DEC]["errc"].eq(err)]
        m.d.comb += [self.ev_decided.eq(ex), self.ev_accepted.eq(ex & accepted)]
        return m
