"""Numba kernel's software pipeline == reference model where it is easiest to get wrong.

The kernel probes a message's buckets a few messages before deciding it and
reuses those results unless a message in between may have changed them
(kernels/riskgate_numba.py, "software pipeline"). These streams reuse order
ids one to a few messages apart, put many keys in each bucket (used prefixes
past the probes' branch-free ways) and cross day boundaries often; each
geometry takes a different probe path (ways below, at and above the
branch-free widths).
"""
import numpy as np
import pandas as pd
import pytest

from kernels import riskgate_spec as S
from kernels import riskgate_tables as T
from kernels.riskgate_model import ReferenceGate
from riskgate_fixtures import assert_same_snapshot, random_database, random_stream, rows

from host.riskgate import RiskGate


def _smallest_gate(ways, pb, ob, ins, acc, pos):
    # fewest account buckets that hold the accounts: long used prefixes in every bucket
    ab = 1
    while True:
        try:
            return RiskGate("cpu", account_buckets=ab, position_buckets=pb, order_buckets=ob,
                            ways=ways).load(ins, acc, pos)
        except ValueError as exc:
            if getattr(exc, "table", None) != "accounts":
                raise
            ab *= 2


@pytest.mark.parametrize("ways,pb,ob", [(3, 16, 16), (4, 8, 8), (5, 8, 4), (8, 4, 4), (16, 2, 2), (16, 8, 4)])
def test_pipeline_equals_model_on_crowded_tables(ways, pb, ob):
    rng = np.random.default_rng(1000 * ways + 10 * pb + ob)
    ins, acc, pos = random_database(rng, n_accounts=24)
    # keep ways - 1 loaded rows per positions bucket at most, so buys still insert rows at run time
    b = pd.Series([T.py_position_bucket(int(a), int(c), pb) for a, c in zip(pos["account"], pos["code"])])
    pos = pos[(b.groupby(b).cumcount() < ways - 1).to_numpy()].reset_index(drop=True)
    gate = _smallest_gate(ways, pb, ob, ins, acc, pos)
    model = ReferenceGate.from_tables(rows(ins), rows(acc), rows(pos))
    model.set_capacity(ways, lambda a, c: T.py_position_bucket(a, c, pb), lambda i: T.py_order_bucket(i, ob))
    msgs = random_stream(rng, 6000, ins, acc, p_eod=0.02)
    # ids from a small pool, each CANCEL/FILL naming an id used 1..8 messages earlier:
    # the decision must see what the messages between its probe and itself did
    n = len(msgs)
    ids = rng.integers(1, 4 * ways * ob, n).astype(np.uint64)
    back = np.maximum(np.arange(n) - rng.integers(1, 9, n), 0)
    ids = np.where((msgs["type"] != S.MSG_NEW) & (rng.random(n) < 0.9), ids[back], ids)
    msgs["order_id"] = ids
    want = model.process(msgs)
    cuts = np.sort(rng.choice(n, 4, replace=False))  # pipelines restart at batch boundaries
    got = np.concatenate([gate.process_array(part) for part in np.split(msgs, cuts)])
    bad = np.flatnonzero(got["reason"] != want["reason"])
    assert len(bad) == 0, f"first difference at message {bad[0]}: {msgs[bad[0]]} cpu {got[bad[0]]} model {want[bad[0]]}"
    assert_same_snapshot(gate.snapshot(), model.snapshot())
    # the stream did reach the paths under test
    assert (want["reason"] == S.DUPLICATE_ORDER_ID).sum() > 20
    assert (want["reason"] == S.OK).sum() > 100
    assert (msgs["type"] == S.MSG_EOD).sum() > 50


def test_orders_with_equal_fingerprints_are_told_apart():
    # An orders bucket entry holds only a 24-bit fingerprint of the id (the id is in the
    # record). Ids high << 32 | (x ^ high) all fold to x, so for each x they share bucket
    # AND fingerprint: every probe finds several candidates and must compare the full id.
    rng = np.random.default_rng(77)
    ins, acc, pos = random_database(rng, n_accounts=24)
    ways, pb, ob = 16, 64, 8
    gate = RiskGate("cpu", position_buckets=pb, order_buckets=ob, ways=ways).load(ins, acc, pos)
    model = ReferenceGate.from_tables(rows(ins), rows(acc), rows(pos))
    model.set_capacity(ways, lambda a, c: T.py_position_bucket(a, c, pb), lambda i: T.py_order_bucket(i, ob))
    msgs = random_stream(rng, 6000, ins, acc, p_eod=0.01)
    n = len(msgs)
    x = rng.integers(0, 3, n).astype(np.uint64)
    high = rng.integers(1, 30, n).astype(np.uint64)
    ids = (high << np.uint64(32)) | (x ^ high)
    back = np.maximum(np.arange(n) - rng.integers(1, 40, n), 0)
    ids = np.where((msgs["type"] != S.MSG_NEW) & (rng.random(n) < 0.9), ids[back], ids)
    msgs["order_id"] = ids
    assert len({T.py_order_bucket(int(i), ob) for i in ids}) <= 3
    want = model.process(msgs)
    got = np.concatenate([gate.process_array(part) for part in np.split(msgs, [1000, 3500])])
    bad = np.flatnonzero(got["reason"] != want["reason"])
    assert len(bad) == 0, f"first difference at message {bad[0]}: {msgs[bad[0]]} cpu {got[bad[0]]} model {want[bad[0]]}"
    assert_same_snapshot(gate.snapshot(), model.snapshot())
    # several live orders shared a fingerprint, and CANCEL/FILL found the right one among them
    open_fp = gate._impl.o_ft[(gate._impl.o_ft & np.uint64(3)) == 1] >> np.uint64(40)
    assert np.bincount(open_fp.astype(np.int64)).max() >= 3
    ok_refs = (want["reason"] == S.OK) & np.isin(msgs["type"], [S.MSG_CANCEL, S.MSG_FILL])
    assert ok_refs.sum() > 100
    assert (want["reason"] == S.DUPLICATE_ORDER_ID).sum() > 20
