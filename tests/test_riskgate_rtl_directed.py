"""Directed RTL benches: every reason code and message type, back-to-back hazards, table-full and collisions.

Each scenario's decisions are checked three ways: against reasons worked out by
hand from the spec, against the plain-Python reference model
(kernels/riskgate_model.py) and against the Numba kernel with the RTL's table
geometry, whose final tables must also equal the RTL's slot by slot.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels import riskgate_spec as S
from kernels import riskgate_tables as T
from kernels.riskgate_model import ReferenceGate
from sim.toolchain import have_verilator
from riskgate_rtl_fixtures import GEOM, compare_tables, cpu_gate, rtl_gate, validated

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(not have_verilator(), reason="Verilator not installed")]

R = S.Reason
A1, A2, A3, A4, A5 = 11, 2**64 - 2, 33, 44, 55  # A2 exercises the top bit of the 64-bit key


def _tables():
    ins = pd.DataFrame([
        dict(code=600000, status=0, ref_price=1000, limit_up=1100, limit_down=900, lot=100, cage_bps=200, fee_q16=1000),
        dict(code=688001, status=1, ref_price=1000, limit_up=1200, limit_down=800, lot=200, cage_bps=200, fee_q16=0),
        dict(code=600036, status=0, ref_price=5, limit_up=100, limit_down=1, lot=100, cage_bps=200, fee_q16=65535),
    ])
    acc = pd.DataFrame([
        dict(account=A1, status=0, cash=1_000_000, cash_frozen=0, max_order_qty=10_000, max_order_value=5_000_000,
             max_orders_per_window=100, window_us=1_000_000),
        dict(account=A2, status=1, cash=10**9, cash_frozen=0, max_order_qty=10**6, max_order_value=10**12,
             max_orders_per_window=100, window_us=1),
        dict(account=A3, status=2, cash=10**9, cash_frozen=0, max_order_qty=10**6, max_order_value=10**12,
             max_orders_per_window=100, window_us=1),
        dict(account=A4, status=0, cash=10**9, cash_frozen=0, max_order_qty=10**6, max_order_value=10**12,
             max_orders_per_window=1, window_us=1000),
        dict(account=A5, status=0, cash=10**12, cash_frozen=0, max_order_qty=10**6, max_order_value=10**12,
             max_orders_per_window=65535, window_us=1),
    ])
    pos = pd.DataFrame([dict(account=A1, code=600000, available=550, frozen=0, pending=0),
                        dict(account=A3, code=600000, available=1000, frozen=0, pending=0)])
    return ins, acc, pos


def _msgs(rows):
    m = S.empty_messages(len(rows))
    for i, r in enumerate(rows):
        for k, v in r.items():
            m[i][k] = v
    return m


def NEW(oid, acc, code, side, price, qty, ts=0):
    return dict(type=S.MSG_NEW, order_id=oid, account=acc, code=code, side=side, price=price, qty=qty, ts_us=ts)


def CANCEL(oid, ts=0):
    return dict(type=S.MSG_CANCEL, order_id=oid, ts_us=ts)


def FILL(oid, qty, ts=0):
    return dict(type=S.MSG_FILL, order_id=oid, qty=qty, ts_us=ts)


def EOD(ts=0):
    return dict(type=S.MSG_EOD, ts_us=ts)


# (message, reason by hand from the spec). Fee 1000/65536: fee(500_000) = ceil(5e8 / 65536) = 7630.
SCENARIO = [
    (NEW(1, A1, 600000, 3, 1000, 100), R.MALFORMED),  # side 3
    (NEW(2, A1, 600000, 1, 1000, -100), R.MALFORMED),  # negative qty
    (NEW(3, A1, 600000, 1, 0, 100), R.MALFORMED),  # price 0
    (NEW(4, 999, 600000, 1, 1000, 100), R.UNKNOWN_ACCOUNT),
    (NEW(5, A2, 600000, 1, 1000, 100), R.ACCOUNT_BLOCKED),
    (NEW(6, A3, 600000, 1, 1000, 100), R.ACCOUNT_BLOCKED),  # sell-only account buying
    (NEW(7, A4, 600000, 1, 1000, 100, ts=5), R.OK),
    (NEW(8, A4, 600000, 1, 1000, 100, ts=999), R.THROTTLED),  # 999 // 1000 == 5 // 1000: second in window 0
    (NEW(9, A4, 600000, 1, 1000, 100, ts=1000), R.OK),  # window 1: count restarts
    (NEW(10, A1, 123456, 1, 1000, 100), R.UNKNOWN_INSTRUMENT),
    (NEW(11, A1, 688001, 1, 1000, 200), R.INSTRUMENT_HALTED),
    (NEW(7, A1, 600000, 1, 1000, 100), R.DUPLICATE_ORDER_ID),  # id 7 is open
    (NEW(8, A1, 600000, 1, 1000, 100), R.DUPLICATE_ORDER_ID),  # id 8 was throttled today: still used
    (NEW(12, A1, 600000, 1, 1000, 150), R.LOT_SIZE),
    (NEW(13, A1, 600000, 2, 1000, 150), R.LOT_SIZE),  # odd sell that is not the whole 550
    (NEW(14, A1, 600000, 1, 1101, 100), R.PRICE_LIMIT),
    (NEW(15, A1, 600000, 1, 899, 100), R.PRICE_LIMIT),
    (NEW(16, A1, 600000, 1, 1021, 100), R.PRICE_CAGE),  # 1021e4 > max(1000*10200, 1010e4)
    (NEW(17, A1, 600000, 2, 979, 100), R.PRICE_CAGE),  # 979e4 < min(1000*9800, 990e4)
    (NEW(18, A1, 600000, 1, 1000, 20_000), R.MAX_QTY),
    (NEW(19, A1, 600000, 1, 1000, 9_000), R.MAX_VALUE),  # 9e6 > 5e6
    (NEW(20, A1, 600000, 1, 1000, 1_000), R.INSUFFICIENT_CASH),  # 1e6 + 15259 > 1e6
    (NEW(21, A1, 600036, 2, 50, 100), R.INSUFFICIENT_POSITION),  # no row: available 0
    (NEW(22, A1, 600000, 1, 1000, 500), R.OK),  # freezes 507_630: cash 492_370
    (NEW(23, A1, 600000, 1, 1000, 500), R.INSUFFICIENT_CASH),  # back to back: sees the freeze
    (NEW(24, A1, 600000, 2, 1000, 550), R.OK),  # odd-lot sell-out of the whole 550
    (NEW(25, A1, 600000, 2, 1000, 100), R.INSUFFICIENT_POSITION),  # back to back: available now 0
    (FILL(22, 200), R.OK),
    (FILL(22, 400), R.MALFORMED),  # more than the 300 open
    (FILL(22, 0), R.MALFORMED),
    (FILL(24, 50), R.OK),
    (CANCEL(22), R.OK),
    (CANCEL(22), R.UNKNOWN_ORDER),  # already cancelled
    (FILL(22, 100), R.UNKNOWN_ORDER),
    (CANCEL(999_999), R.UNKNOWN_ORDER),
    (NEW(26, A1, 600000, 1, 1000, 100), R.OK),
    (FILL(26, 100), R.OK),  # right behind its NEW: closes it
    (CANCEL(26), R.UNKNOWN_ORDER),  # closed by the fill just before
    (NEW(22, A1, 600000, 1, 1000, 100), R.DUPLICATE_ORDER_ID),  # cancelled today: id still used today
    (dict(type=9, ts_us=0), R.MALFORMED),  # unknown type
    (EOD(), R.OK),
    (NEW(22, A1, 600000, 1, 1000, 100), R.OK),  # a new day: the cancelled id 22 is free again
    (NEW(24, A1, 600000, 1, 1000, 100), R.DUPLICATE_ORDER_ID),  # 24 is still open from yesterday
    (CANCEL(24), R.OK),  # closes yesterday's order (500 shares back: available 300 + 500)
    (NEW(24, A1, 600000, 2, 1000, 100), R.DUPLICATE_ORDER_ID),  # the duplicate NEW above used 24 today
    (CANCEL(7), R.OK),  # yesterday's order 7, untouched today: its id is free as soon as it closes
    (NEW(7, A1, 600000, 2, 1000, 50), R.LOT_SIZE),  # 50 is an odd lot and not the whole 800 available
    (NEW(7, A1, 600000, 2, 1000, 100), R.DUPLICATE_ORDER_ID),  # the LOT_SIZE reject used id 7 today
    (NEW(27, A1, 600000, 2, 1000, 100), R.OK),
]


def _run_all(rows, tables, extra_check=None):
    ins, acc, pos = tables
    msgs = _msgs(rows)
    v = validated(ins, acc, pos)
    cpu = cpu_gate()
    cpu.load(*v)
    ref = ReferenceGate.from_tables(ins.to_dict("records"), acc.to_dict("records"), pos.to_dict("records"))
    rtl = rtl_gate()
    rtl.load(*v)
    d_rtl = rtl.process(msgs)
    d_cpu = cpu.process(msgs)
    d_ref = ref.process(msgs)
    return msgs, d_rtl, d_cpu, d_ref, cpu, rtl


@pytest.fixture(scope="module")
def scenario_run():
    return _run_all([m for m, _ in SCENARIO], _tables())


def test_every_reason_code_and_message_type(scenario_run):
    msgs, d_rtl, d_cpu, d_ref, cpu, rtl = scenario_run
    want = np.array([int(r) for _, r in SCENARIO])
    got = d_rtl["reason"].astype(int)
    wrong = [(i, SCENARIO[i][0], R(got[i]).name, SCENARIO[i][1].name) for i in np.flatnonzero(got != want)]
    assert not wrong, wrong
    assert (d_rtl["accepted"] == (want == 0)).all()
    codes = set(want.tolist())
    assert codes >= set(range(0, 16)), f"scenario misses reason codes {set(range(16)) - codes}"
    assert {int(m["type"]) for m in msgs} >= {1, 2, 3, 4}


def test_scenario_matches_reference_model_and_numba(scenario_run):
    msgs, d_rtl, d_cpu, d_ref, cpu, rtl = scenario_run
    assert (d_rtl["reason"] == d_ref["reason"]).all()
    assert (d_rtl["reason"] == d_cpu["reason"]).all()
    assert compare_tables(cpu, rtl.raw()) == []


def test_scenario_final_balances(scenario_run):
    """Balances after the scenario worked out by hand (independent of every implementation)."""
    *_, cpu, rtl = scenario_run
    snap = rtl.snapshot()
    a = snap["accounts"].set_index("account")
    # A1: order 22 froze 507_630, filled 200 (v 200_000, fee ceil(2e8/65536)=3052 -> spent 203_052), cancelled:
    # cash back 304_578. Sell 24 filled 50 at 1000: +50_000 - fee ceil(5e7/65536)=763. Order 26 (100 @1000, fee
    # 1526, froze 101_526) filled completely: spent 101_526. Day 2: NEW 22 freezes 101_526; new sell 24 freezes 50 sh.
    cash = 1_000_000 - 203_052 + 50_000 - 763 - 101_526 - 101_526
    assert int(a.loc[A1, "cash"]) == cash
    assert int(a.loc[A1, "cash_frozen"]) == 101_526
    p = snap["positions"].set_index(["account", "code"])
    # 550 offered, 50 filled, 500 cancelled back; buys' pending 200 + 100 available after EOD; new sell 100 frozen.
    assert int(p.loc[(A1, 600000), "frozen"]) == 100
    assert int(p.loc[(A1, 600000), "available"]) == 500 + 300 - 100
    assert int(p.loc[(A1, 600000), "pending"]) == 0


def test_back_to_back_hazards_keep_one_message_per_clock():
    """NEW, FILL, FILL, CANCEL of one order on one account, back to back: every message sees the one before
    (all accepted: each FILL finds the order its NEW opened a cycle earlier, the CANCEL the reduced open
    quantity), no input stall, fixed latency, same decisions and tables as Numba and the model."""
    ins, acc, pos = _tables()
    rows = []
    for i in range(50):  # 50 ids: no order bucket of the test geometry overflows (no TABLE_FULL)
        oid = 1000 + i
        rows += [NEW(oid, A5, 600000, 1, 1000, 100, ts=i), FILL(oid, 50, ts=i), FILL(oid, 20, ts=i), CANCEL(oid, ts=i)]
    msgs, d_rtl, d_cpu, d_ref, cpu, rtl = _run_all(rows, (ins, acc, pos))
    assert (d_rtl["reason"] == d_cpu["reason"]).all() and (d_rtl["reason"] == d_ref["reason"]).all()
    assert (d_rtl["reason"] != S.TABLE_FULL).all()
    assert (d_rtl["accepted"] == 1).sum() == len(rows)
    res = rtl.last_stream
    assert res.in_stalls == 0
    from hdl.riskdb.gate import LATENCY

    assert res.span == len(rows) + LATENCY  # one per clock, then the pipeline's fixed latency
    assert compare_tables(cpu, rtl.raw()) == []


def test_bad_timestamp_is_malformed_and_changes_nothing():
    """ts_us >= 2**63 (beyond the hardware's 63 bits) is MALFORMED for every type; an EOD with it ends no day."""
    ins, acc, pos = _tables()
    rows = [dict(type=S.MSG_EOD, ts_us=2**63 + 1), NEW(1, A1, 600000, 1, 1000, 100, ts=2**64 - 1),
            dict(type=S.MSG_CANCEL, order_id=1, ts_us=2**63), NEW(1, A1, 600000, 1, 1000, 100, ts=3)]
    msgs, d_rtl, d_cpu, d_ref, cpu, rtl = _run_all(rows, (ins, acc, pos))
    assert [R(r).name for r in d_rtl["reason"]] == ["MALFORMED", "MALFORMED", "MALFORMED", "OK"]
    assert (d_rtl["reason"] == d_cpu["reason"]).all()
    assert rtl.day == 1  # no EOD took effect (the day counter starts at 1 after CLEAR)
    assert compare_tables(cpu, rtl.raw()) == []


def _colliding(bucket_fn, nb, count, start=1):
    """``count`` keys >= start that hash to one bucket (hash collisions on purpose)."""
    want, out, k = None, [], start
    while len(out) < count:
        b = bucket_fn(k, nb)
        if want is None:
            want = b
        if b == want:
            out.append(k)
        k += 1
    return out


def test_table_full_and_hash_collisions():
    ins, acc, pos = _tables()
    W = GEOM["ways"]
    ids = _colliding(T.py_order_bucket, GEOM["orders"], W + 2, start=10_000)
    # W buys fill the bucket; the next id finds no way (TABLE_FULL) and is not recorded, so it may come back later.
    rows = [NEW(i, A1, 600000, 1, 1000, 100) for i in ids]
    rows += [CANCEL(ids[0]), NEW(ids[W], A1, 600000, 1, 1000, 100)]  # cancelled today: still used -> still full
    rows += [EOD(), NEW(ids[W + 1], A1, 600000, 1, 1000, 100)]  # the cancelled way is free on the new day
    # positions: a buy on a new (account, code) needs a way in that position bucket
    msgs, d_rtl, d_cpu, d_ref, cpu, rtl = _run_all(rows, (ins, acc, pos))
    got = [R(r).name for r in d_rtl["reason"]]
    assert got[:W] == ["OK"] * W
    assert got[W] == "TABLE_FULL" and got[W + 1] == "TABLE_FULL"
    assert got[W + 2] == "OK" and got[W + 3] == "TABLE_FULL" and got[W + 4] == "OK" and got[W + 5] == "OK"
    assert (d_rtl["reason"] == d_cpu["reason"]).all()
    assert compare_tables(cpu, rtl.raw()) == []
    # every colliding id sits in the same bucket, in the order inserted
    recs = rtl.records("orders")[T.py_order_bucket(ids[0], GEOM["orders"])]
    assert [r["order_id"] for r in recs] == [ids[W + 1]] + ids[1:W]


def test_position_bucket_full_rejects_buy():
    ins, acc, pos = _tables()
    W = GEOM["ways"]
    # accounts whose (account, 600000) positions all land in one position bucket
    accs = _colliding(lambda a, nb: T.py_position_bucket(a, 600000, nb), GEOM["positions"], W + 1, start=5000)
    acc = pd.concat([acc, pd.DataFrame([dict(account=a, status=0, cash=10**9, cash_frozen=0, max_order_qty=10**6,
                                             max_order_value=10**12, max_orders_per_window=100, window_us=1)
                                        for a in accs]).astype({"account": np.uint64})], ignore_index=True)
    rows = [NEW(100 + i, a, 600000, 1, 1000, 100) for i, a in enumerate(accs)]
    msgs, d_rtl, d_cpu, d_ref, cpu, rtl = _run_all(rows, (ins, acc, pos))
    got = [R(r).name for r in d_rtl["reason"]]
    assert got == ["OK"] * W + ["TABLE_FULL"]
    assert (d_rtl["reason"] == d_cpu["reason"]).all()
    assert compare_tables(cpu, rtl.raw()) == []


def test_load_overflow_names_the_table():
    from host.riskgate_rtl import place_tables
    from hdl.riskdb.regmap import Geometry

    ins, acc, pos = _tables()
    accs = _colliding(T.py_account_bucket, GEOM["accounts"], GEOM["ways"] + 1, start=70_000)
    acc2 = pd.DataFrame([dict(account=a, status=0, cash=1, cash_frozen=0, max_order_qty=1, max_order_value=1,
                              max_orders_per_window=1, window_us=1) for a in accs])
    with pytest.raises(ValueError, match="accounts: table full"):
        place_tables(Geometry(**GEOM), *validated(ins, acc2, pos)[:3], None)
