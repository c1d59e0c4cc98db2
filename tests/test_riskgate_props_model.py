"""Properties of the reference model (hypothesis): invariants after every message, no negative
balances, cash moves only by fills, replay determinism, bad input rejected with the right code
and changing nothing."""
import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernels import riskgate_spec as S
from kernels.riskgate_model import fee
from riskgate_fixtures import check_invariants, message_strategy, model_gate, stream_from, to_array

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
streams = st.lists(message_strategy(), min_size=1, max_size=80).map(stream_from)


def _totals(g):
    return {k: a.cash + a.cash_frozen for k, a in g.accounts.items()}


@SETTINGS
@given(streams)
def test_invariants_hold_after_every_message(msgs):
    g = model_gate()
    check_invariants(g)
    for m in msgs:
        before = _totals(g)
        order = copy.copy(g.orders.get(m[4]))
        reason = g.step(*m)
        check_invariants(g)
        after = _totals(g)
        # cash + cash_frozen changes only by accepted fills: buy -spent, sell +v - fee(v)
        expect = dict(before)
        if m[0] == S.MSG_FILL and reason == S.OK:
            v = order.price * m[6]
            f = g.instruments[order.code].fee_q16
            if order.side == S.SIDE_BUY:
                expect[order.account] -= min(v + fee(v, f), order.frozen_cash)
            else:
                expect[order.account] += v - fee(v, f)
        assert after == expect, (m, reason)


@SETTINGS
@given(streams)
def test_accepted_orders_never_drive_balances_negative(msgs):
    g = model_gate()
    for m in msgs:
        reason = g.step(*m)
        if m[0] == S.MSG_NEW and reason == S.OK:
            a = g.accounts[m[3]]
            assert a.cash >= 0
            if m[1] == S.SIDE_SELL:
                assert g.positions[(m[3], m[2])].available >= 0
        for p in g.positions.values():
            assert min(p.available, p.frozen, p.pending) >= 0


@SETTINGS
@given(streams)
def test_replay_is_deterministic(msgs):
    arr = to_array(msgs)
    g1, g2 = model_gate(), model_gate()
    d1, d2 = g1.process(arr), g2.process(arr)
    assert (d1 == d2).all()
    assert _state(g1) == _state(g2)


def _state(g):
    return (copy.deepcopy(g.accounts), copy.deepcopy(g.positions), copy.deepcopy(g.orders), set(g.used_today), g.day)


@SETTINGS
@given(streams, message_strategy())
def test_bad_input_rejected_with_right_code_and_changes_nothing(prefix, m):
    g = model_gate()
    for x in prefix:
        g.step(*x)
    ts = prefix[-1][7] if prefix else 0
    m = m[:7] + (ts,)
    typ, side, code, account, oid, price, qty, _ = m
    if typ not in (S.MSG_NEW, S.MSG_CANCEL, S.MSG_FILL, S.MSG_EOD):
        want = S.MALFORMED
    elif typ == S.MSG_NEW and (side not in (1, 2) or qty <= 0 or price <= 0 or price >= 2**31):
        want = S.MALFORMED
    elif typ == S.MSG_NEW and account not in g.accounts:
        want = S.UNKNOWN_ACCOUNT
    elif typ in (S.MSG_CANCEL, S.MSG_FILL) and oid not in g.orders:
        want = S.UNKNOWN_ORDER
    elif typ == S.MSG_FILL and not 0 < qty <= g.orders[oid].open_qty:
        want = S.MALFORMED
    else:
        return  # a well-formed message with known references: other tests cover it
    before = _state(g)
    assert g.step(*m) == want
    after = _state(g)
    if want == S.UNKNOWN_ACCOUNT:
        # a well-formed NEW marks its id used today (spec: "whatever that message's decision")
        assert after[:3] == before[:3] and after[3] == before[3] | {oid}
    else:
        assert after == before
