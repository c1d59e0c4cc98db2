"""The ``rtl`` backend through the public host API: RiskGate(backend="rtl") against RiskGate(backend="cpu")."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels import riskgate_spec as S
from riskgate_rtl_fixtures import CPU_GEOM, CODES, accounts_frame, fitting_accounts, instruments_frame
from sim.toolchain import have_verilator

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(not have_verilator(), reason="Verilator not installed")]


def _state():
    rng = np.random.default_rng(8)
    ids = fitting_accounts(rng, 12)
    acc = accounts_frame(ids, rng)
    acc.loc[0, "cash_frozen"] = 101_526  # backed by the loaded open buy order below
    pos = pd.DataFrame([dict(account=ids[0], code=600000, available=700, frozen=200, pending=0),
                        dict(account=ids[1], code=600036, available=300, frozen=0, pending=100)])
    orders = pd.DataFrame([
        dict(order_id=7, account=ids[0], code=600000, side=1, price=1000, open_qty=100, frozen_cash=101_526),
        dict(order_id=8, account=ids[0], code=600000, side=2, price=1000, open_qty=200, frozen_cash=0),
    ]).astype({"account": np.uint64})
    return ids, instruments_frame(), acc, pos, orders


def _messages(ids) -> pd.DataFrame:
    rows = [
        dict(type="NEW", ts_us=1, order_id=100, account=ids[0], code=600000, side=1, price=500, qty=100),
        dict(type="FILL", ts_us=2, order_id=7, account=0, qty=40),  # a loaded open buy order
        dict(type="CANCEL", ts_us=3, order_id=8, account=0),  # a loaded open sell order
        dict(type="NEW", ts_us=4, order_id=7, account=ids[0], code=600000, side=1, price=500, qty=100),  # open: dup
        dict(type="EOD", ts_us=5, account=0),
        dict(type="NEW", ts_us=6, order_id=101, account=ids[1], code=600036, side=2, price=637, qty=400),
        dict(type="BOGUS", ts_us=7, account=0),
        dict(type="NEW", ts_us=8, order_id=102, account=ids[0], code=600000, side=1, price=None, qty=100),
    ]
    # every row carries an account, so the 64-bit ids stay integers (a missing value would make the column float)
    return pd.DataFrame(rows).astype({"account": np.uint64})


def test_rtl_backend_matches_cpu_backend():
    from host.riskgate import RiskGate

    ids, ins, acc, pos, orders = _state()
    msgs = _messages(ids)
    out = {}
    for backend in ("cpu", "rtl"):
        gate = RiskGate(backend, account_buckets=CPU_GEOM["account_buckets"], position_buckets=CPU_GEOM["position_buckets"],
                        order_buckets=CPU_GEOM["order_buckets"], ways=CPU_GEOM["ways"])
        gate.load(ins, acc, pos, orders)
        out[backend] = (gate.process(msgs), gate.snapshot())
    d_cpu, s_cpu = out["cpu"]
    d_rtl, s_rtl = out["rtl"]
    pd.testing.assert_frame_equal(d_cpu, d_rtl)
    for t in ("accounts", "positions", "orders"):
        pd.testing.assert_frame_equal(s_cpu[t], s_rtl[t])
    # worked by hand: the loaded buy 7 filled 40 of 100, the loaded sell 8 cancelled, EOD released pending
    reasons = d_rtl["reason"].tolist()
    assert reasons[:4] == ["OK", "OK", "OK", "DUPLICATE_ORDER_ID"]
    assert reasons[6:] == ["MALFORMED", "MALFORMED"]
    p = s_rtl["positions"].set_index(["account", "code"])
    assert int(p.loc[(ids[0], 600000), "frozen"]) == 0 and int(p.loc[(ids[0], 600000), "available"]) == 900 + 40
    assert int(p.loc[(ids[1], 600036), "available"]) == 400 - 400


def test_rtl_load_rejects_bad_rows_and_full_buckets():
    from host.riskgate import RiskGate
    from kernels import riskgate_tables as T

    ids, ins, acc, pos, orders = _state()
    gate = RiskGate("rtl", account_buckets=16, position_buckets=64, order_buckets=128, ways=4)
    bad = ins.copy()
    bad.loc[0, "lot"] = 0
    with pytest.raises(ValueError, match="instruments.lot"):
        gate.load(bad, acc, pos)
    same = [c for c in range(600000, 700000) if T.py_instrument_slot(c, 256) == T.py_instrument_slot(600000, 256)][:5]
    many = pd.concat([ins, instruments_frame(codes=same[1:], halted=())], ignore_index=True)
    with pytest.raises(ValueError, match="instruments: table full"):
        gate.load(many, acc, pos, orders)


def test_register_map_and_counters():
    from riskgate_rtl_fixtures import rtl_gate, validated

    ids, ins, acc, pos, orders = _state()
    g = rtl_gate()
    rm, dev = g.regmap, g.dev
    assert dev.read(rm.addr("ID")) == rm.const_value(rm["ID"])
    assert dev.read(rm.addr("MAPHASH")) == rm.hash
    geom = dev.read(rm.addr("GEOM"))
    assert geom & 31 == g.geometry.ways and 1 << ((geom >> 5) & 31) == g.geometry.accounts
    g.load(*validated(ins, acc, pos))
    d = g.process(S.empty_messages(5))  # five type-0 messages: MALFORMED
    assert (d["reason"] == S.MALFORMED).all()
    assert rm.read_value(dev, "MSGS") == 5 and rm.read_value(dev, "ACCEPTS") == 0
    assert dev.read(rm.addr("STATUS")) == 0
