"""Numba kernel's orders and positions layout: places differ from the RTL's slot numbers, slot views do not.

The kernel stores each orders bucket's first min(ways, 8) ways and each
positions bucket's first min(ways, 4) ways densely and the rest apart
(kernels/riskgate_numba.way_place). Readers see slots ``bucket * ways + way``
as the RTL numbers them; here the slot views are checked against the placement
rule itself (each key in its own bucket, used ways a prefix) on tables crowded
past the dense ways. tests/test_riskgate_rtl_* compare the same views slot by
slot with the RTL.
"""
import numpy as np
import pytest

from kernels import riskgate_numba as K
from kernels import riskgate_spec as S
from kernels import riskgate_tables as T
from kernels.riskgate_cpu import order_places, position_places
from riskgate_fixtures import random_database, random_stream

from host.riskgate import RiskGate


@pytest.mark.parametrize("buckets,ways", [(1, 1), (4, 3), (8, 8), (4, 16), (2, 12)])
@pytest.mark.parametrize("places,dense", [(order_places, K.O_SCAN), (position_places, K.SCAN)])
def test_places_are_a_permutation_with_dense_primary_ways(buckets, ways, places, dense):
    pl = places(buckets, ways)
    assert sorted(pl.tolist()) == list(range(buckets * ways))
    op = min(ways, dense)
    slot = np.arange(buckets * ways)
    # the primary ways of consecutive buckets are consecutive places, overflow ways after them all
    prim = slot % ways < op
    assert np.array_equal(pl[prim], np.arange(buckets * op))
    assert (pl[~prim] >= buckets * op).all()


def test_slot_view_follows_the_placement_rule_past_the_dense_ways():
    rng = np.random.default_rng(5)
    ins, acc, pos = random_database(rng, n_accounts=24)
    ways, ob = 16, 2
    gate = RiskGate("cpu", position_buckets=64, order_buckets=ob, ways=ways).load(ins, acc, pos)
    msgs = random_stream(rng, 3000, ins, acc, p_eod=0.002)
    msgs["order_id"] = rng.integers(1, 10**9, len(msgs)).astype(np.uint64)  # distinct: buckets fill up
    dec = gate.process_array(msgs)
    o_kt = gate._impl.o_kt
    ids, tags = o_kt[:, 0], o_kt[:, 1]
    used = tags != 0
    slots = np.flatnonzero(used)
    want_bucket = np.array([T.py_order_bucket(int(i), ob) for i in ids[slots]])
    assert np.array_equal(slots // ways, want_bucket)
    by_way = used.reshape(ob, ways)
    assert (by_way[:, 1:] <= by_way[:, :-1]).all(), "used ways are not a prefix of their bucket"
    assert by_way[:, K.O_SCAN:].any(), "no bucket reached its overflow ways"
    # the records moved with their entries: an open order's record holds its id
    open_ = (tags & np.uint64(3)) == K.O_OPEN_STATE
    assert np.array_equal(gate._impl.o_data[open_, K.O_KEY].view(np.uint64), ids[open_])
    assert (dec["reason"] == S.TABLE_FULL).sum() > 0


def test_position_slot_view_follows_the_placement_rule_past_the_dense_ways():
    rng = np.random.default_rng(6)
    ins, acc, pos = random_database(rng, n_accounts=24)
    ways, pb = 16, 8  # 128 position slots: loaded rows and buys' new rows crowd past way 4
    gate = RiskGate("cpu", position_buckets=pb, order_buckets=256, ways=ways).load(ins, acc, pos)
    msgs = random_stream(rng, 3000, ins, acc, p_eod=0.002)
    gate.process_array(msgs)
    impl = gate._impl
    p_kc = impl.p_kc
    used = p_kc[:, 1] != 0
    slots = np.flatnonzero(used)
    want_bucket = np.array([T.py_position_bucket(int(a), int(c) - 1, pb) for a, c in p_kc[slots]])
    assert np.array_equal(slots // ways, want_bucket)
    by_way = used.reshape(pb, ways)
    assert (by_way[:, 1:] <= by_way[:, :-1]).all(), "used ways are not a prefix of their bucket"
    assert by_way[:, K.SCAN:].any(), "no bucket reached its overflow ways"
    assert not impl.p_data[~used].any()  # records moved with their keys; unused slots untouched
    # an open order's position slot (slot view) holds the order's (account, code)
    o_kt, od = impl.o_kt, impl.o_data
    open_ = np.flatnonzero((o_kt[:, 1] & np.uint64(3)) == K.O_OPEN_STATE)
    assert len(open_) > 10
    snap = gate.snapshot()["orders"].set_index("order_id")
    for s in open_:
        p = od[s, K.O_PSLOT]
        oid = int(o_kt[s, 0])
        assert (int(p_kc[p, 0]), int(p_kc[p, 1]) - 1) == (int(snap.at[oid, "account"]), int(snap.at[oid, "code"]))
