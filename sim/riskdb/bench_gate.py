"""cocotb bench of hdl/riskdb on Verilator (run through sim.runner.run_cocotb from tests/test_riskgate_rtl_cocotb.py).

Drives the CSR bus and the streams cycle by cycle from Python: loads the tables
through the TBL window, checks that a hot-account stream with back-to-back
hazards keeps ``msg_in.ready`` high and answers each message a fixed number of
cycles later, that decisions equal the Numba kernel's, and that tables read back
through RB_* equal the kernel's. Geometry and seed come from FORELAND_RISKDB_GEOM
(JSON) so the pytest side and the bench agree.
"""
import json
import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, ReadOnly

from hdl.riskdb.gate import LATENCY
from hdl.riskdb.regmap import MODE_RUN, TABLE_IDS, Geometry, make_regmap
from kernels import riskgate_spec as S
from kernels import riskgate_tables as T
from sim.common.csr_driver import CSRDriver, StreamDriver, start_kernel

GEOM = json.loads(os.environ.get("FORELAND_RISKDB_GEOM", "{}"))


def _scenario():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))  # the shared test fixtures
    from host.riskgate_rtl import place_tables
    from riskgate_rtl_fixtures import CODES, reference_of, fitting_accounts, accounts_frame, instruments_frame, random_stream, validated
    import pandas as pd

    rng = np.random.default_rng(GEOM.get("seed", 1))
    ids = fitting_accounts(rng, 20)
    pos = pd.DataFrame([dict(account=ids[i], code=CODES[i % 4], available=1000, frozen=0, pending=0) for i in range(10)])
    tables = validated(instruments_frame(), accounts_frame(ids, rng), pos)
    g = Geometry(**{k: v for k, v in GEOM.items() if k not in ("seed", "n")})
    msgs = random_stream(GEOM.get("n", 600), GEOM.get("seed", 1), ids, eod_every=150, model=reference_of(tables))
    return g, tables, place_tables(g, *tables[:3], None), msgs


async def _load(csr, rm, rows):
    for t, words in rows.items():
        _, tab = rm.table(t.upper())
        await csr.write(rm.addr("TBL_SEL"), tab.id)
        await csr.write(rm.addr("TBL_ADDR"), 0)
        await csr.write_block(rm.addr("TBL_DATA"), words.ravel().tolist())


@cocotb.test()
async def stream_matches_numba_one_per_clock(dut):
    """A Zipf-hot stream: decisions equal the Numba kernel's; ready high every cycle but order-id holds."""
    from kernels.riskgate_cpu import CpuGate

    g, tables, rows, msgs = _scenario()
    rm = make_regmap(g)
    await start_kernel(dut)
    csr = CSRDriver(dut)
    assert await csr.read(rm.addr("MAPHASH")) == rm.hash
    await _load(csr, rm, rows)
    await csr.write(rm.addr("MODE"), MODE_RUN)
    words = S.messages_to_words(msgs)
    payloads = [int.from_bytes(w.tobytes(), "little") for w in words]
    outs = await StreamDriver(dut, out_ready_prob=1.0).run(payloads)
    await csr.write(rm.addr("MODE"), 0)
    cpu = CpuGate(account_buckets=g.accounts, position_buckets=g.positions, order_buckets=g.orders, ways=g.ways)
    cpu.load(*tables)
    want = cpu.process(msgs)
    got_acc = np.array([o & 0xFF for o in outs])
    got_reason = np.array([(o >> 8) & 0xFF for o in outs])
    assert np.array_equal(got_reason, want["reason"]), np.flatnonzero(got_reason != want["reason"])[:5]
    assert np.array_equal(got_acc, want["accepted"])
    holds = await csr.read(rm.addr("HOLDS_LO"))
    msgs_done = await csr.read(rm.addr("MSGS_LO"))
    assert msgs_done == len(msgs)
    assert holds <= len(msgs) // 20
    # account balances read back through RB_* equal the kernel's (slot by slot)
    await csr.write(rm.addr("RB_SEL"), TABLE_IDS["adyn"])
    rb = T.record_bits("adyn")
    wpr = -(-g.row_bits("adyn") // 32)
    from kernels import riskgate_numba as K
    for b in range(g.accounts):
        await csr.write(rm.addr("RB_ROW"), b)
        row = 0
        for i in range(wpr):
            row |= (await csr.read(rm.addr("RB_DATA"))) << (32 * i)
        for w in range(g.ways):
            s = b * g.ways + w
            if not cpu.a_kt[s, 1]:
                continue
            rec = T.unpack_record("adyn", (row >> (w * rb)) & ((1 << rb) - 1))
            assert rec["cash"] == cpu.a_data[s, K.A_CASH], (s, rec)
            assert rec["cash_frozen"] == cpu.a_data[s, K.A_CFROZEN], (s, rec)
            assert (rec["window"], rec["count"]) == (cpu.a_data[s, K.A_WIN], cpu.a_data[s, K.A_COUNT]), (s, rec)


@cocotb.test()
async def fixed_latency_under_hazards(dut):
    """Back-to-back buys on one account: ready never drops and each decision comes LATENCY cycles after its input."""
    g, tables, rows, _ = _scenario()
    rm = make_regmap(g)
    await start_kernel(dut)
    csr = CSRDriver(dut)
    await _load(csr, rm, rows)
    await csr.write(rm.addr("MODE"), MODE_RUN)
    acct = int(tables[1]["account"][0])
    n = 40
    msgs = S.empty_messages(n)
    for i in range(n):
        msgs[i] = (S.MSG_NEW, 1, 600000, acct, 10_000 + i, 500, 100, i)
    words = S.messages_to_words(msgs)
    dut.dec_out__ready.value = 1
    sent_at, got_at, cycle, i = [], [], 0, 0
    while len(got_at) < n and cycle < n + 100:
        await FallingEdge(dut.clk)
        if i < n:
            dut.msg_in__payload.value = int.from_bytes(words[i].tobytes(), "little")
            dut.msg_in__valid.value = 1
        else:
            dut.msg_in__valid.value = 0
        await ReadOnly()
        if i < n and dut.msg_in__ready.value:
            sent_at.append(cycle)
            i += 1
        if dut.dec_out__valid.value:
            got_at.append(cycle)
        cycle += 1
    await FallingEdge(dut.clk)
    dut.msg_in__valid.value = 0
    assert sent_at == list(range(n)), "msg_in.ready dropped on a hot-account stream"
    assert [b - a for a, b in zip(sent_at, got_at)] == [LATENCY] * n
