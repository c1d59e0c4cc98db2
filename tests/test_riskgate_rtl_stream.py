"""Randomised RTL benches: 100k-message hazard-dense streams through the C++ stream binding vs the Numba kernel.

Zipf-hot accounts and codes, cancels and fills aimed at the orders just sent
(so read-modify-write hazards on one account, position and order happen every
few cycles), duplicate and reused ids, bad messages and day boundaries, on
tables small enough to fill and collide. The RTL's decisions and its final
tables (read back through the register map, slot by slot) must equal the
Numba kernel's exactly.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels import riskgate_spec as S
from sim.toolchain import have_verilator
from riskgate_rtl_fixtures import (CODES, fitting_accounts, fitting_positions, reference_of, accounts_frame, compare_tables, cpu_gate, instruments_frame,
                                         random_stream, rtl_gate, validated)

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(not have_verilator(), reason="Verilator not installed")]


def _setup(seed: int, n_accounts: int = 40):
    rng = np.random.default_rng(seed)
    ids = fitting_accounts(rng, n_accounts)
    acc = accounts_frame(ids, rng)
    pos_rows = [dict(account=ids[i], code=CODES[j], available=int(rng.choice([0, 37, 100, 5000, 10**6])),
                     frozen=0, pending=int(rng.choice([0, 0, 300])))
                for i in range(0, n_accounts, 2) for j in range(0, len(CODES), 4)]
    return ids, validated(instruments_frame(), acc, pd.DataFrame(fitting_positions(pos_rows)))


@pytest.mark.parametrize("seed", [11])
def test_100k_random_stream_equals_numba(seed):
    ids, tables = _setup(seed)
    msgs = random_stream(100_000, seed, ids, eod_every=250, model=reference_of(tables))
    cpu = cpu_gate()
    cpu.load(*tables)
    rtl = rtl_gate()
    rtl.load(*tables)
    d_cpu = cpu.process(msgs)
    d_rtl = rtl.process(msgs)
    bad = np.flatnonzero((d_cpu["reason"] != d_rtl["reason"]) | (d_cpu["accepted"] != d_rtl["accepted"]))
    assert len(bad) == 0, [(int(i), msgs[i].tolist(), d_cpu[i].tolist(), d_rtl[i].tolist()) for i in bad[:5]]
    assert compare_tables(cpu, rtl.raw()) == []
    # the stream exercised every reason code, and accepted plenty
    counts = np.bincount(d_rtl["reason"], minlength=len(S.Reason))
    assert (counts > 0).all(), dict(zip(S.REASON_NAMES, counts.tolist()))
    assert d_rtl["accepted"].mean() > 0.25
    # one message per clock except the rare order-id holds: cycles = messages + holds + latency
    res = rtl.last_stream
    holds = rtl.regmap.read_value(rtl.dev, "HOLDS")
    assert res.in_stalls == holds
    assert holds < len(msgs) // 50
    from hdl.riskdb.gate import LATENCY

    assert res.span == len(msgs) + holds + LATENCY


def test_back_pressure_changes_nothing():
    """dec_out.ready dropped at random freezes the pipeline; decisions and tables stay the Numba kernel's."""
    ids, tables = _setup(5)
    msgs = random_stream(3000, 5, ids, eod_every=300, model=reference_of(tables))
    cpu = cpu_gate()
    cpu.load(*tables)
    rtl = rtl_gate()
    rtl.load(*tables)
    d_cpu = cpu.process(msgs)
    rtl.dev.write(rtl.regmap.addr("MODE"), 1)
    res = rtl.dev.stream(S.messages_to_words(msgs), out_ready_prob=0.6, seed=3)
    rtl._idle()
    w = res.words[:, 0]
    assert res.out_stalls > 0
    assert np.array_equal(w & 0xFF, d_cpu["accepted"]) and np.array_equal((w >> 8) & 0xFF, d_cpu["reason"])
    assert compare_tables(cpu, rtl.raw()) == []
