"""Numba kernel == reference model on random adversarial streams (hot keys, bad rows, tiny tables)."""
import numpy as np
import pandas as pd
import pytest

from kernels import riskgate_tables as T
from kernels.riskgate_model import ReferenceGate
from riskgate_fixtures import assert_same_snapshot, random_database, random_stream, rows

from host.riskgate import RiskGate


def _model(ins, acc, pos):
    return ReferenceGate.from_tables(rows(ins), rows(acc), rows(pos))


@pytest.mark.parametrize("seed", range(6))
def test_kernel_equals_model(seed):
    rng = np.random.default_rng(seed)
    ins, acc, pos = random_database(rng)
    msgs = random_stream(rng, 6000, ins, acc, hot=1.0 + 0.2 * seed)
    model = _model(ins, acc, pos)
    want = model.process(msgs)
    gate = RiskGate("cpu").load(ins, acc, pos)
    # uneven batch boundaries must not matter
    cuts = np.sort(rng.choice(len(msgs), 5, replace=False))
    got = np.concatenate([gate.process_array(part) for part in np.split(msgs, cuts)])
    bad = np.flatnonzero(got["reason"] != want["reason"])
    assert len(bad) == 0, f"first difference at message {bad[0]}: {msgs[bad[0]]} cpu {got[bad[0]]} model {want[bad[0]]}"
    assert (got["accepted"] == want["accepted"]).all()
    assert_same_snapshot(gate.snapshot(), model.snapshot())
    # riskgate_numba.FRESH_POSITIONS: a run-time insert writes key and tag only, which is
    # right only while no unused slot's record is ever written
    impl = gate._impl
    assert not impl.p_data[impl.p_kc[:, 1] == 0].any()
    assert (impl.p_kc[:, 1] != 0).sum() > len(pos)  # buys did insert rows
    # the stream really exercises the gate: most reason codes occur
    assert len(np.unique(want["reason"])) >= 12


@pytest.mark.parametrize("seed", range(4))
def test_kernel_equals_bounded_model_with_table_full(seed):
    # Tiny positions/orders tables: collisions in every bucket, TABLE_FULL often.
    rng = np.random.default_rng(100 + seed)
    ins, acc, pos = random_database(rng, n_accounts=20)
    ways, pb, ob = 2, 64, 16
    # keep at most one loaded row per bucket, so buys still find (and then exhaust) free ways
    b = [T.py_position_bucket(int(a), int(c), pb) for a, c in zip(pos["account"], pos["code"])]
    pos = pos[~pd.Series(b).duplicated().to_numpy()].reset_index(drop=True)
    gate = RiskGate("cpu", position_buckets=pb, order_buckets=ob, ways=ways).load(ins, acc, pos)
    model = _model(ins, acc, pos)
    model.set_capacity(ways, lambda a, c: T.py_position_bucket(a, c, pb), lambda i: T.py_order_bucket(i, ob))
    msgs = random_stream(rng, 5000, ins, acc, p_eod=0.01)
    want = model.process(msgs)
    got = gate.process_array(msgs)
    bad = np.flatnonzero(got["reason"] != want["reason"])
    assert len(bad) == 0, f"first difference at message {bad[0]}: {msgs[bad[0]]} cpu {got[bad[0]]} model {want[bad[0]]}"
    assert_same_snapshot(gate.snapshot(), model.snapshot())
    assert (want["reason"] == 16).sum() > 10  # TABLE_FULL really happened


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from riskgate_fixtures import cpu_gate, message_strategy, model_gate, stream_from, to_array  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(message_strategy(), min_size=1, max_size=60).map(stream_from))
def test_kernel_equals_model_on_hypothesis_streams(msgs):
    arr = to_array(msgs)
    model, gate = model_gate(), cpu_gate()
    want = model.process(arr)
    got = gate.process_array(arr)
    assert (got["reason"] == want["reason"]).all(), (got["reason"].tolist(), want["reason"].tolist())
    assert_same_snapshot(gate.snapshot(), model.snapshot())
