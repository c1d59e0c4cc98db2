"""Directed risk gate cases with outcomes worked out by hand from the spec text.

Each ``case_*`` takes a factory ``make() -> Runner`` (model or CPU kernel) and
asserts decisions and state. Fees: ``fee(v) = ceil(v * fee_q16 / 65536)``;
600000 has fee_q16 = 20, so fee(100,000) = ceil(30.52) = 31, fee(1,000,000)
= ceil(305.2) = 306, fee(900,000) = ceil(274.7) = 275, fee(400,000) =
ceil(122.07) = 123, fee(600,000) = ceil(183.1) = 184, fee(200,000) =
ceil(61.04) = 62, fee(300,000) = ceil(91.55) = 92.
"""
from __future__ import annotations

from riskgate_fixtures import cancel, eod, fill, new

BUY, SELL = 1, 2


def case_malformed_new_changes_nothing(make):
    g = make()
    before = g.snapshot()
    r = g.run([
        new(10, 1, 600000, 0, 1000, 100),   # side 0
        new(11, 1, 600000, 3, 1000, 100),   # side 3
        new(12, 1, 600000, BUY, 1000, 0),   # qty 0
        new(13, 1, 600000, BUY, 1000, -100),  # negative qty
        new(14, 1, 600000, BUY, 0, 100),    # price 0
        new(15, 1, 600000, BUY, -5, 100),   # negative price
        new(16, 1, 600000, BUY, 2**31, 100),  # beyond the 31-bit price field
        new(17, 99, 600000, 0, 1000, 100),  # malformed beats unknown account (check 1 first)
        (0, 1, 600000, 1, 18, 1000, 100, 0),  # unknown type byte 0
        (9, 1, 600000, 1, 19, 1000, 100, 0),  # unknown type byte 9
    ])
    assert r == ["MALFORMED"] * 10
    after = g.snapshot()
    for t in before:
        assert before[t].equals(after[t]), t
    # nothing recorded: the same ids are still fresh
    assert g.run([new(10, 1, 600000, BUY, 1000, 100)]) == ["OK"]


def case_unknown_account_and_blocked(make):
    g = make()
    assert g.run([
        new(1, 99, 600000, BUY, 1000, 100),
        new(2, 2, 600000, BUY, 1000, 100),   # blocked: buy
        new(3, 2, 600000, SELL, 1000, 100),  # blocked: sell too
        new(4, 3, 600000, BUY, 1000, 100),   # sell-only: buy refused
        new(5, 3, 600000, SELL, 1000, 200),  # sell-only: sell allowed (2 lots of 250)
    ]) == ["UNKNOWN_ACCOUNT", "ACCOUNT_BLOCKED", "ACCOUNT_BLOCKED", "ACCOUNT_BLOCKED", "OK"]
    assert g.position(3, 600000) == {"account": 3, "code": 600000, "available": 50, "frozen": 200, "pending": 0}


def case_throttle_window(make):
    g = make()
    # account 4: at most 2 NEWs per 1000 us window; w = ts // 1000
    r = g.run([
        new(1, 4, 600000, BUY, 1000, 100, ts=0),
        new(2, 4, 600000, BUY, 1000, 100, ts=999),
        new(3, 4, 600000, BUY, 1000, 100, ts=999),    # 3rd in window 0
        new(4, 4, 600000, BUY, 1000, 100, ts=1000),   # window 1: count restarts
        new(5, 4, 999999, BUY, 1000, 100, ts=2000),   # window 2: counts (1) though unknown instrument
        new(6, 4, 600000, BUY, 1000, 100, ts=2001),   # count 2
        new(7, 4, 600000, BUY, 1000, 100, ts=2002),   # count 3 > 2
        new(8, 4, 600000, 0, 1000, 100, ts=3000),     # malformed: does not reach check 4
        new(9, 4, 600000, BUY, 1000, 100, ts=3001),   # count 1
        new(10, 4, 600000, BUY, 1000, 100, ts=3002),  # count 2
        new(11, 4, 600000, BUY, 1000, 100, ts=3003),  # count 3: throttled
    ])
    assert r == ["OK", "OK", "THROTTLED", "OK", "UNKNOWN_INSTRUMENT", "OK", "THROTTLED",
                 "MALFORMED", "OK", "OK", "THROTTLED"]
    a = g.account(4)
    assert (a["window"], a["count"]) == (3, 3)
    # 6 accepted buys of 100 @ 1000: each freezes 100,000 + 31
    assert a["cash"] == 1_000_000 - 6 * 100_031 and a["cash_frozen"] == 6 * 100_031


def case_unknown_and_halted_instrument(make):
    g = make()
    assert g.run([
        new(1, 1, 999999, BUY, 1000, 100),
        new(2, 1, 1234567, BUY, 1000, 100),  # beyond 6 digits: still a code, unknown
        new(3, 1, 600001, BUY, 1000, 100),
    ]) == ["UNKNOWN_INSTRUMENT", "UNKNOWN_INSTRUMENT", "INSTRUMENT_HALTED"]


def case_duplicate_ids_and_day_rule(make):
    g = make()
    r = g.run([
        new(1, 1, 600000, BUY, 1000, 100),        # OK, open
        new(1, 1, 600000, BUY, 1000, 100),        # duplicate of an open order
        new(2, 1, 999999, BUY, 1000, 100),        # rejected, but id 2 is used today
        new(2, 1, 600000, BUY, 1000, 100),        # duplicate (used by a rejected NEW)
        new(3, 99, 600000, BUY, 1000, 100),       # unknown account: id 3 used too
        new(3, 1, 600000, BUY, 1000, 100),
        new(4, 1, 600000, BUY, 1000, 100),        # OK
        cancel(4),                                # closed today: id stays used
        new(4, 1, 600000, BUY, 1000, 100),
        new(5, 1, 600000, BUY, 1000, -1),         # malformed: id 5 not recorded
        new(5, 1, 600000, BUY, 1000, 100),        # so this one is fine
        eod(),
        new(1, 1, 600000, BUY, 1000, 100),        # order 1 still open: duplicate
        new(2, 1, 600000, BUY, 1000, 100),        # yesterday's rejected id: free again
        new(4, 1, 600000, BUY, 1000, 100),        # yesterday's cancelled id: free again
    ])
    assert r == ["OK", "DUPLICATE_ORDER_ID", "UNKNOWN_INSTRUMENT", "DUPLICATE_ORDER_ID", "UNKNOWN_ACCOUNT",
                 "DUPLICATE_ORDER_ID", "OK", "OK", "DUPLICATE_ORDER_ID", "MALFORMED", "OK", "OK",
                 "DUPLICATE_ORDER_ID", "OK", "OK"]


def case_open_order_from_earlier_day(make):
    g = make()
    r = g.run([
        new(7, 1, 600000, BUY, 1000, 100),
        eod(),
        cancel(7),                          # closed on day 1; its id was not used in a NEW today
        new(7, 1, 600000, BUY, 1000, 100),  # so it may be used again at once
        new(8, 1, 600000, BUY, 1000, 100),
        eod(),
        new(8, 1, 600000, BUY, 1000, 100),  # open since yesterday: duplicate, and now "used today"
        cancel(8),
        new(8, 1, 600000, BUY, 1000, 100),  # appeared in an earlier NEW today: duplicate
    ])
    assert r == ["OK", "OK", "OK", "OK", "OK", "OK", "DUPLICATE_ORDER_ID", "OK", "DUPLICATE_ORDER_ID"]


def case_lot_size(make):
    g = make()
    r = g.run([
        new(1, 1, 600000, BUY, 1000, 150),   # buy not a multiple of 100
        new(2, 1, 600000, SELL, 1000, 150),  # sell 150 of 1000: not the whole position
        new(3, 3, 600000, SELL, 1000, 50),   # odd lot that is not the whole 250
        new(4, 3, 600000, SELL, 1000, 250),  # odd-lot sell-out of the whole position
        new(5, 6, 600000, SELL, 1000, 150),  # no position row: available 0, not a sell-out
    ])
    assert r == ["LOT_SIZE", "LOT_SIZE", "LOT_SIZE", "OK", "LOT_SIZE"]
    assert g.position(3, 600000)["available"] == 0 and g.position(3, 600000)["frozen"] == 250


def case_price_limit_and_cage(make):
    g = make()
    # 600000: ref 1000, cage 200 bps, limits 900..1100.
    # buy cap:  max(1000 * 10200, 1010 * 10000) = 10,200,000 -> price <= 1020
    # sell floor: min(1000 * 9800, 990 * 10000) = 9,800,000 -> price >= 980
    # 000001: ref 300 -> buy cap max(3,060,000, 3,100,000): price <= 310 (the +10 ticks rule wins);
    #         sell floor min(2,940,000, 2,900,000): price >= 290.
    r = g.run([
        new(1, 1, 600000, BUY, 1101, 100),   # above limit_up
        new(2, 1, 600000, SELL, 899, 100),   # below limit_down
        new(3, 1, 600000, BUY, 1021, 100),   # cage
        new(4, 1, 600000, BUY, 1020, 100),   # at the cage edge
        new(5, 1, 600000, SELL, 979, 100),   # cage
        new(6, 1, 600000, SELL, 980, 100),   # at the edge
        new(7, 1, 1, BUY, 311, 100),         # cage (+10 ticks rule)
        new(8, 1, 1, BUY, 310, 100),
        new(9, 1, 1, SELL, 289, 100),        # no position anyway, but cage comes first
        new(10, 1, 1, SELL, 290, 100),       # passes the cage, then no position
        new(11, 1, 300001, BUY, 1200, 100),  # no cage: limit_up is the only bound (20% above ref)
        new(12, 1, 600000, BUY, 1100, 100),  # within limits, outside the cage
    ])
    assert r == ["PRICE_LIMIT", "PRICE_LIMIT", "PRICE_CAGE", "OK", "PRICE_CAGE", "OK", "PRICE_CAGE", "OK",
                 "PRICE_CAGE", "INSUFFICIENT_POSITION", "OK", "PRICE_CAGE"]


def case_max_qty_and_value(make):
    g = make()
    # account 5: max_order_qty 500, max_order_value 200,000
    r = g.run([
        new(1, 5, 600000, BUY, 1000, 600),   # qty 600 > 500
        new(2, 5, 600000, BUY, 1000, 300),   # 300,000 > 200,000
        new(3, 5, 600000, BUY, 1000, 200),   # 200,000 == max: OK (frozen 200,062)
        new(4, 5, 1, BUY, 300, 500),         # qty == max, value 150,000, no fee: OK
    ])
    assert r == ["MAX_QTY", "MAX_VALUE", "OK", "OK"]
    a = g.account(5)
    assert a["cash"] == 1_000_000 - 200_062 - 150_000 and a["cash_frozen"] == 350_062


def case_cash_and_fee_rounding(make):
    g = make()
    r = g.run([
        new(1, 1, 600000, BUY, 1000, 1000),  # 1,000,000 + 306 > 1,000,000
        new(2, 1, 600000, BUY, 1000, 900),   # 900,000 + 275: OK, cash 99,725
        new(3, 1, 600000, BUY, 1000, 100),   # 100,031 > 99,725
        new(4, 6, 300001, BUY, 1000, 500),   # fee_q16 65535: 500,000 + ceil(499,992.4) = 999,993
    ])
    assert r == ["INSUFFICIENT_CASH", "OK", "INSUFFICIENT_CASH", "OK"]
    assert g.account(1)["cash"] == 99_725 and g.account(1)["cash_frozen"] == 900_275
    assert g.account(6)["cash"] == 10_000_000 - 999_993
    o = g.orders()
    assert list(o["order_id"]) == [2, 4] and list(o["frozen_cash"]) == [900_275, 999_993]
    # accepted buys open a zero position row
    assert g.position(6, 300001) == {"account": 6, "code": 300001, "available": 0, "frozen": 0, "pending": 0}


def case_cancel(make):
    g = make()
    r = g.run([
        new(1, 1, 600000, BUY, 1000, 100),
        new(2, 1, 600000, SELL, 1000, 300),
        cancel(1), cancel(2), cancel(1), cancel(42),
    ])
    assert r == ["OK", "OK", "OK", "OK", "UNKNOWN_ORDER", "UNKNOWN_ORDER"]
    assert g.account(1)["cash"] == 1_000_000 and g.account(1)["cash_frozen"] == 0
    assert g.position(1, 600000)["available"] == 1000 and g.position(1, 600000)["frozen"] == 0
    assert g.orders().empty


def case_buy_partial_fills_and_t_plus_1(make):
    g = make()
    # account 6 buys 1000 @ 1000: frozen 1,000,306, cash 8,999,694.
    # fill 400: spent 400,000 + 123 = 400,123 -> order frozen 600,183.
    # fill 600: 600,000 + 184 = 600,184 > 600,183 -> spent capped at 600,183; order closes.
    r = g.run([
        new(1, 6, 600000, BUY, 1000, 1000),
        fill(1, 400),
        fill(1, 0),      # qty 0: malformed
        fill(1, 601),    # more than open: malformed
        fill(1, -5),     # negative: malformed
    ])
    assert r == ["OK", "OK", "MALFORMED", "MALFORMED", "MALFORMED"]
    assert g.account(6)["cash_frozen"] == 600_183
    o = g.orders()
    assert int(o["open_qty"].iloc[0]) == 600 and int(o["frozen_cash"].iloc[0]) == 600_183
    assert g.position(6, 600000) == {"account": 6, "code": 600000, "available": 0, "frozen": 0, "pending": 400}
    r = g.run([
        new(2, 6, 600000, SELL, 1000, 400),  # bought today: not sellable before EOD (T+1)
        fill(1, 600),
        fill(1, 100),                         # closed: unknown
        cancel(1),
    ])
    assert r == ["INSUFFICIENT_POSITION", "OK", "UNKNOWN_ORDER", "UNKNOWN_ORDER"]
    a = g.account(6)
    assert a["cash"] == 8_999_694 and a["cash_frozen"] == 0
    assert g.position(6, 600000)["pending"] == 1000 and g.orders().empty
    assert g.run([eod(), new(3, 6, 600000, SELL, 1000, 1000)]) == ["OK", "OK"]
    assert g.position(6, 600000) == {"account": 6, "code": 600000, "available": 0, "frozen": 1000, "pending": 0}


def case_sell_fills(make):
    g = make()
    # account 1 sells 500 @ 1000 of its 1000; fills 200 (+200,000 - 62) and 300 (+300,000 - 92).
    r = g.run([new(1, 1, 600000, SELL, 1000, 500), fill(1, 200)])
    assert r == ["OK", "OK"]
    assert g.position(1, 600000) == {"account": 1, "code": 600000, "available": 500, "frozen": 300, "pending": 0}
    assert g.account(1)["cash"] == 1_000_000 + 199_938
    assert g.run([fill(1, 300), cancel(1)]) == ["OK", "UNKNOWN_ORDER"]
    assert g.account(1)["cash"] == 1_000_000 + 199_938 + 299_908
    assert g.position(1, 600000) == {"account": 1, "code": 600000, "available": 500, "frozen": 0, "pending": 0}
    # proceeds are usable at once: 1,499,846 buys 1400 @ 1000 + fee 428 (ceil(427.2))
    assert g.run([new(2, 1, 600000, BUY, 1000, 1400)]) == ["OK"]
    assert g.account(1)["cash"] == 1_499_846 - 1_400_428


def case_insufficient_position(make):
    g = make()
    r = g.run([
        new(1, 1, 600000, SELL, 1000, 1100),  # holds 1000
        new(2, 1, 1, SELL, 300, 100),         # no row
        new(3, 1, 600000, SELL, 1000, 600),
        new(4, 1, 600000, SELL, 1000, 500),   # only 400 left available
    ])
    assert r == ["INSUFFICIENT_POSITION", "INSUFFICIENT_POSITION", "OK", "INSUFFICIENT_POSITION"]


def case_fill_unknown_before_malformed(make):
    g = make()
    # FILL checks UNKNOWN_ORDER before its quantity
    assert g.run([fill(77, -1), fill(77, 100), cancel(77)]) == ["UNKNOWN_ORDER"] * 3


def case_eod_releases_pending_everywhere(make):
    g = make()
    r = g.run([new(1, 6, 600000, BUY, 1000, 100), new(2, 5, 1, BUY, 300, 200), fill(1, 100), fill(2, 100), eod()])
    assert r == ["OK"] * 5
    assert g.position(6, 600000)["available"] == 100 and g.position(6, 600000)["pending"] == 0
    assert g.position(5, 1)["available"] == 100
    # open order 2 keeps its id and stays open over EOD
    assert g.run([fill(2, 100)]) == ["OK"]
    assert g.position(5, 1)["pending"] == 100




def case_throttle_timestamp_backwards(make):
    # decision 4 of the companion doc: a different window id restarts the count, whichever way time went
    g = make()
    r = g.run([
        new(1, 4, 600000, BUY, 1000, 100, ts=5000),
        new(2, 4, 600000, BUY, 1000, 100, ts=5001),
        new(3, 4, 600000, BUY, 1000, 100, ts=4999),  # window 4 != 5: count restarts at 1
        new(4, 4, 600000, BUY, 1000, 100, ts=4999),  # count 2
        new(5, 4, 600000, BUY, 1000, 100, ts=4999),  # count 3: throttled
    ])
    assert r == ["OK", "OK", "OK", "OK", "THROTTLED"]
    assert (g.account(4)["window"], g.account(4)["count"]) == (4, 3)


CASES = [v for k, v in sorted(globals().items()) if k.startswith("case_")]
