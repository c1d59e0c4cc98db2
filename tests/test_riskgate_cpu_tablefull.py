"""TABLE_FULL and hash collisions on the Numba kernel, with outcomes worked out by hand.

order_buckets=1 puts every order id into the same bucket, position_buckets=1
every position: the ways of that one bucket are the whole table.
"""
import numpy as np
import pytest

from kernels import riskgate_tables as T
from riskgate_fixtures import ACCOUNTS, INSTRUMENTS, POSITIONS, Runner, cancel, eod, new

from host.riskgate import RiskGate

BUY, SELL = 1, 2


def test_orders_bucket_full():
    g = Runner("cpu", order_buckets=1, ways=2)
    r = g.run([
        new(1, 6, 600000, BUY, 1000, 100),   # way 0
        new(2, 6, 600000, BUY, 1000, 100),   # way 1: bucket full
        new(3, 6, 600000, BUY, 1000, 100),   # would pass all 14 checks: TABLE_FULL, id not recorded
        new(4, 6, 999999, BUY, 1000, 100),   # rejected, bucket full: id not recorded
        cancel(1),                           # closed today: still occupies its way
        new(5, 6, 600000, BUY, 1000, 100),
        eod(),                               # id 1 (closed, earlier day) frees its way; 2 stays open
        new(3, 6, 600000, BUY, 1000, 100),   # never recorded, so not a duplicate: OK
        new(4, 6, 600000, BUY, 1000, 100),   # bucket full again (2 open, 3 open)
        cancel(2),
        new(6, 6, 600000, BUY, 1000, 100),   # 2 was opened yesterday, closed today: its way is free
    ])
    assert r == ["OK", "OK", "TABLE_FULL", "UNKNOWN_INSTRUMENT", "OK", "TABLE_FULL", "OK", "OK", "TABLE_FULL", "OK",
                 "OK"]
    # money: open orders 3 and 6, 100,031 each
    a = g.account(6)
    assert a["cash_frozen"] == 2 * 100_031 and a["cash"] == 10_000_000 - 2 * 100_031
    assert list(g.orders()["order_id"]) == [3, 6]


def test_positions_bucket_full():
    pos2 = POSITIONS.iloc[:2]  # (1, 600000) and (3, 600000) fill the single 2-way bucket
    from riskgate_fixtures import cpu_gate, to_array
    from kernels import riskgate_spec as S

    # order_buckets given: the default sizing for 2 ways (overflow below 1% at 100k orders) is ~17 GB
    gate = cpu_gate(positions=pos2, position_buckets=1, order_buckets=64, ways=2)
    msgs = to_array([
        new(1, 6, 600000, BUY, 1000, 100),   # no row for (6, 600000), bucket full: TABLE_FULL
        new(1, 6, 600000, BUY, 1000, 100),   # the id was recorded (orders had room): duplicate
        new(2, 1, 600000, BUY, 1000, 100),   # row exists: OK
        new(3, 1, 600000, SELL, 1000, 100),  # OK
    ])
    d = gate.process_array(msgs)
    assert [S.REASON_NAMES[x] for x in d["reason"]] == ["TABLE_FULL", "DUPLICATE_ORDER_ID", "OK", "OK"]
    snap = gate.snapshot()
    assert len(snap["positions"]) == 2 and int(snap["accounts"].set_index("account").loc[6, "cash"]) == 10_000_000


def test_loading_more_rows_than_fit_names_the_table():
    with pytest.raises(ValueError, match="positions"):
        RiskGate("cpu", position_buckets=1, order_buckets=64, ways=2).load(INSTRUMENTS, ACCOUNTS, POSITIONS)
    with pytest.raises(ValueError, match="accounts"):
        RiskGate("cpu", account_buckets=1, ways=4).load(INSTRUMENTS, ACCOUNTS, POSITIONS)


def test_colliding_keys_are_told_apart():
    # Pick account ids that share a bucket in a 4-bucket table, and check each finds its own row.
    nb, ways = 4, 4
    ids = [a for a in range(1, 200) if T.py_account_bucket(a, nb) == 0][:ways]
    assert len(ids) == ways
    acc = ACCOUNTS.iloc[[0] * ways].copy()
    acc["account"] = np.array(ids, dtype=np.uint64)
    acc["cash"] = [1000 * (i + 1) * 100_031 for i in range(ways)]  # account k affords exactly 1000*(k+1) orders
    gate = RiskGate("cpu", account_buckets=nb, ways=ways).load(INSTRUMENTS, acc, POSITIONS.iloc[:0])
    from riskgate_fixtures import to_array

    for k, a in enumerate(ids):
        d = gate.process_array(to_array([new(10 + k, a, 600000, BUY, 1000, 100)]))
        assert d["reason"][0] == 0
    snap = gate.snapshot()["accounts"].set_index("account")
    for k, a in enumerate(ids):
        assert int(snap.loc[a, "cash"]) == 1000 * (k + 1) * 100_031 - 100_031
