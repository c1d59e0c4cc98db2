"""Numba kernel's orders layout: places differ from the RTL's slot numbers, slot views do not.

The kernel stores each orders bucket's first min(ways, 8) ways densely and the
rest apart (kernels/riskgate_numba.order_place). Readers see slots
``bucket * ways + way`` as the RTL numbers them; here the slot view is checked
against the placement rule itself (each id in its own bucket, used ways a
prefix) on a table crowded past the dense ways. tests/test_riskgate_rtl_* compare
the same view slot by slot with the RTL.
"""
import numpy as np
import pytest

from kernels import riskgate_numba as K
from kernels import riskgate_spec as S
from kernels import riskgate_tables as T
from kernels.riskgate_cpu import order_places
from riskgate_fixtures import random_database, random_stream

from host.riskgate import RiskGate


@pytest.mark.parametrize("buckets,ways", [(1, 1), (4, 3), (8, 8), (4, 16), (2, 12)])
def test_order_places_are_a_permutation_with_dense_primary_ways(buckets, ways):
    pl = order_places(buckets, ways)
    assert sorted(pl.tolist()) == list(range(buckets * ways))
    op = min(ways, K.O_SCAN)
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
