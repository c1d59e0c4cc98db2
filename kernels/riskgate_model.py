"""Risk gate reference model: the spec read line by line, in plain Python.

Readable and slow on purpose: Python ints (no overflow), dicts (unbounded
tables, so it never answers TABLE_FULL) and one method per message type,
each check in the spec's order. The Numba kernel and the RTL are verified
against it. Spec: /work/shared/domain/riskgate-spec.md; decisions where it is
silent: docs/riskgate-companion.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from kernels import riskgate_spec as S


def fee(v: int, fee_q16: int) -> int:
    """Fee of a traded value ``v`` fen: ``(v * fee_q16 + 65535) >> 16`` (rounded up)."""
    return (v * fee_q16 + 65535) >> 16


@dataclass
class Instrument:
    """One instruments row."""

    status: int
    ref_price: int
    limit_up: int
    limit_down: int
    lot: int
    cage_bps: int
    fee_q16: int


@dataclass
class Account:
    """One accounts row plus its throttle state (current window id and count)."""

    status: int
    cash: int
    cash_frozen: int
    max_order_qty: int
    max_order_value: int
    max_orders_per_window: int
    window_us: int
    window: int = 0
    count: int = 0


@dataclass
class Position:
    """One positions row."""

    available: int = 0
    frozen: int = 0
    pending: int = 0


@dataclass
class Order:
    """One open order."""

    account: int
    code: int
    side: int
    price: int
    open_qty: int
    frozen_cash: int


# The throttle count stops at 2**16: max_orders_per_window < 2**16, so every
# decision is unchanged and the hardware counter stays 17 bits wide.
COUNT_CAP = 2**16


@dataclass
class ReferenceGate:
    """The gate's database and the spec's message handlers."""

    instruments: dict[int, Instrument] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    positions: dict[tuple[int, int], Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)  # open orders only
    used_today: set[int] = field(default_factory=set)  # ids of today's well-formed NEWs
    day: int = 0
    # Optional bounded-table mode: (ways, position_bucket(account, code), order_bucket(order_id)).
    # Only the *number* of live keys per bucket matters for decisions, so the
    # model predicts TABLE_FULL from the bucket functions alone, without the
    # hardware's slot layout.
    capacity: tuple | None = None
    _order_load: dict[int, int] = field(default_factory=dict)
    _position_load: dict[int, int] = field(default_factory=dict)

    # ----------------------------------------------------------------- loading
    @classmethod
    def from_tables(
        cls,
        instruments: Iterable[Mapping[str, int]],
        accounts: Iterable[Mapping[str, int]],
        positions: Iterable[Mapping[str, int]] = (),
    ) -> "ReferenceGate":
        """Build a gate from row mappings (columns as the spec; unlisted optional fields 0)."""
        g = cls()
        for r in instruments:
            g.instruments[int(r["code"])] = Instrument(
                *(int(r[k]) for k in ("status", "ref_price", "limit_up", "limit_down", "lot", "cage_bps", "fee_q16"))
            )
        for r in accounts:
            g.accounts[int(r["account"])] = Account(
                status=int(r["status"]),
                cash=int(r["cash"]),
                cash_frozen=int(r.get("cash_frozen", 0)),
                max_order_qty=int(r["max_order_qty"]),
                max_order_value=int(r["max_order_value"]),
                max_orders_per_window=int(r["max_orders_per_window"]),
                window_us=int(r["window_us"]),
            )
        for r in positions:
            g.positions[(int(r["account"]), int(r["code"]))] = Position(
                int(r["available"]), int(r.get("frozen", 0)), int(r.get("pending", 0))
            )
        return g

    # ---------------------------------------------------------------- messages
    def process(self, msgs: np.ndarray) -> np.ndarray:
        """Decide a MESSAGE_DTYPE array in order; returns a DECISION_DTYPE array."""
        out = np.zeros(len(msgs), dtype=S.DECISION_DTYPE)
        for i, m in enumerate(msgs):
            reason = self.step(*(int(m[f]) for f in S.MESSAGE_FIELDS))
            out[i] = (reason == S.OK, reason)
        return out

    def step(self, type: int, side: int, code: int, account: int, order_id: int,
             price: int, qty: int, ts_us: int) -> int:
        """Apply one message; returns its reason code (OK = accepted)."""
        if type == S.MSG_NEW:
            return self.new(order_id, account, code, side, price, qty, ts_us)
        if type == S.MSG_CANCEL:
            return self.cancel(order_id)
        if type == S.MSG_FILL:
            return self.fill(order_id, qty)
        if type == S.MSG_EOD:
            return self.eod()
        return S.MALFORMED  # unknown type byte (or a row the codec could not parse)

    def new(self, order_id: int, account: int, code: int, side: int, price: int, qty: int, ts_us: int) -> int:
        """NEW: the 14 checks in spec order, then TABLE_FULL never (unbounded tables)."""
        # 1. MALFORMED (prices and quantities beyond the hardware's 31 bits too)
        if side not in (S.SIDE_BUY, S.SIDE_SELL) or not 0 < qty <= S.QTY_MAX or not 0 < price <= S.PRICE_MAX:
            return S.MALFORMED
        reason = self._new_checks(order_id, account, code, side, price, qty, ts_us)
        # Every well-formed NEW marks its id as used today, after its own decision
        # (bounded mode: only if its bucket still has a free way).
        if self._order_live(order_id) or self._order_room(order_id):
            self._mark_used(order_id)
        return reason

    # ---- live order ids (open, or used today) and bucket loads -------------
    def _order_live(self, order_id: int) -> bool:
        return order_id in self.orders or order_id in self.used_today

    def _order_room(self, order_id: int) -> bool:
        if self.capacity is None:
            return True
        ways, _, order_bucket = self.capacity
        return self._order_load.get(order_bucket(order_id), 0) < ways

    def _position_room(self, account: int, code: int) -> bool:
        if self.capacity is None:
            return True
        ways, position_bucket, _ = self.capacity
        return self._position_load.get(position_bucket(account, code), 0) < ways

    def _track(self, order_id: int, was_live: bool) -> None:
        if self.capacity is not None and was_live != self._order_live(order_id):
            b = self.capacity[2](order_id)
            self._order_load[b] = self._order_load.get(b, 0) + (1 if not was_live else -1)

    def _mark_used(self, order_id: int) -> None:
        was = self._order_live(order_id)
        self.used_today.add(order_id)
        self._track(order_id, was)

    def _close(self, order_id: int) -> None:
        was = self._order_live(order_id)
        del self.orders[order_id]
        self._track(order_id, was)

    def _add_position(self, account: int, code: int) -> Position:
        pos = self.positions[(account, code)] = Position()
        if self.capacity is not None:
            b = self.capacity[1](account, code)
            self._position_load[b] = self._position_load.get(b, 0) + 1
        return pos

    def set_capacity(self, ways: int, position_bucket, order_bucket) -> None:
        """Bound the positions and orders tables to ``ways`` keys per bucket (TABLE_FULL mode)."""
        self.capacity = (ways, position_bucket, order_bucket)
        self._position_load, self._order_load = {}, {}
        for (a, c) in self.positions:
            b = position_bucket(a, c)
            self._position_load[b] = self._position_load.get(b, 0) + 1
        for oid in set(self.orders) | self.used_today:
            b = order_bucket(oid)
            self._order_load[b] = self._order_load.get(b, 0) + 1

    def _new_checks(self, order_id: int, account: int, code: int, side: int, price: int, qty: int, ts_us: int) -> int:
        # 2. UNKNOWN_ACCOUNT
        acct = self.accounts.get(account)
        if acct is None:
            return S.UNKNOWN_ACCOUNT
        # 3. ACCOUNT_BLOCKED
        if acct.status == S.ACCOUNT_BLOCKED_STATUS or (acct.status == S.ACCOUNT_SELL_ONLY and side == S.SIDE_BUY):
            return S.ACCOUNT_BLOCKED
        # 4. THROTTLED (the count moves whatever checks 5..14 decide)
        w = ts_us // acct.window_us
        if w != acct.window:
            acct.window, acct.count = w, 0
        acct.count = min(acct.count + 1, COUNT_CAP)
        if acct.count > acct.max_orders_per_window:
            return S.THROTTLED
        # 5. UNKNOWN_INSTRUMENT, 6. INSTRUMENT_HALTED
        ins = self.instruments.get(code)
        if ins is None:
            return S.UNKNOWN_INSTRUMENT
        if ins.status == S.INSTRUMENT_HALTED_STATUS:
            return S.INSTRUMENT_HALTED
        # 7. DUPLICATE_ORDER_ID
        if order_id in self.used_today or order_id in self.orders:
            return S.DUPLICATE_ORDER_ID
        # 8. LOT_SIZE (odd-lot sell-out of the whole available position allowed)
        pos = self.positions.get((account, code))
        available = pos.available if pos is not None else 0
        if qty % ins.lot != 0 and not (side == S.SIDE_SELL and qty == available):
            return S.LOT_SIZE
        # 9. PRICE_LIMIT
        if price > ins.limit_up or price < ins.limit_down:
            return S.PRICE_LIMIT
        # 10. PRICE_CAGE
        if ins.cage_bps > 0:
            r = ins.ref_price
            if side == S.SIDE_BUY and price * 10000 > max(r * (10000 + ins.cage_bps), (r + 10) * 10000):
                return S.PRICE_CAGE
            if side == S.SIDE_SELL and price * 10000 < min(r * (10000 - ins.cage_bps), (r - 10) * 10000):
                return S.PRICE_CAGE
        # 11. MAX_QTY, 12. MAX_VALUE
        if qty > acct.max_order_qty:
            return S.MAX_QTY
        v = price * qty
        if v > acct.max_order_value:
            return S.MAX_VALUE
        if side == S.SIDE_BUY:
            # 13. INSUFFICIENT_CASH
            frozen = v + fee(v, ins.fee_q16)
            if frozen > acct.cash:
                return S.INSUFFICIENT_CASH
        elif qty > available:
            # 14. INSUFFICIENT_POSITION
            return S.INSUFFICIENT_POSITION
        # TABLE_FULL (bounded mode only): the id, and a buy's new position row, need a free way.
        if not self._order_room(order_id) or (pos is None and not self._position_room(account, code)):
            return S.TABLE_FULL
        was = self._order_live(order_id)
        if side == S.SIDE_BUY:
            acct.cash -= frozen
            acct.cash_frozen += frozen
            # A buy opens its position row now, so a later FILL never inserts.
            if pos is None:
                self._add_position(account, code)
            self.orders[order_id] = Order(account, code, side, price, qty, frozen)
        else:
            pos.available -= qty
            pos.frozen += qty
            self.orders[order_id] = Order(account, code, side, price, qty, 0)
        self._track(order_id, was)
        return S.OK

    def cancel(self, order_id: int) -> int:
        """CANCEL: close an open order and release what it froze."""
        o = self.orders.get(order_id)
        if o is None:
            return S.UNKNOWN_ORDER
        if o.side == S.SIDE_BUY:
            acct = self.accounts[o.account]
            acct.cash_frozen -= o.frozen_cash
            acct.cash += o.frozen_cash
        else:
            pos = self.positions[(o.account, o.code)]
            pos.frozen -= o.open_qty
            pos.available += o.open_qty
        self._close(order_id)
        return S.OK

    def fill(self, order_id: int, qty: int) -> int:
        """FILL: the exchange executed ``qty`` at the order's price."""
        o = self.orders.get(order_id)
        if o is None:
            return S.UNKNOWN_ORDER
        if qty <= 0 or qty > o.open_qty:
            return S.MALFORMED
        acct = self.accounts[o.account]
        pos = self.positions[(o.account, o.code)]
        f = self.instruments[o.code].fee_q16
        v = o.price * qty
        if o.side == S.SIDE_BUY:
            spent = min(v + fee(v, f), o.frozen_cash)
            acct.cash_frozen -= spent
            o.frozen_cash -= spent
            pos.pending += qty
        else:
            pos.frozen -= qty
            acct.cash += v - fee(v, f)
        o.open_qty -= qty
        if o.open_qty == 0:
            if o.side == S.SIDE_BUY:
                acct.cash_frozen -= o.frozen_cash
                acct.cash += o.frozen_cash
                o.frozen_cash = 0
            self._close(order_id)
        return S.OK

    def eod(self) -> int:
        """EOD: T+1 release of today's bought shares; closed/rejected ids forgotten."""
        for pos in self.positions.values():
            pos.available += pos.pending
            pos.pending = 0
        self.used_today.clear()
        self.day += 1
        if self.capacity is not None:
            self.set_capacity(*self.capacity)
        return S.OK

    # ---------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, "pd.DataFrame"]:  # noqa: F821
        """Tables as DataFrames sorted by key, columns as ``SNAPSHOT_COLUMNS``."""
        import pandas as pd

        acc = [(k, a.status, a.cash, a.cash_frozen, a.max_order_qty, a.max_order_value,
                a.max_orders_per_window, a.window_us, a.window, a.count) for k, a in self.accounts.items()]
        pos = [(k[0], k[1], p.available, p.frozen, p.pending) for k, p in self.positions.items()]
        ords = [(k, o.account, o.code, o.side, o.price, o.open_qty, o.frozen_cash) for k, o in self.orders.items()]
        return {
            "accounts": _frame(acc, S.SNAPSHOT_COLUMNS["accounts"], ["account"]),
            "positions": _frame(pos, S.SNAPSHOT_COLUMNS["positions"], ["account", "code"]),
            "orders": _frame(ords, S.SNAPSHOT_COLUMNS["orders"], ["order_id"]),
        }


_UNSIGNED = {"account", "order_id"}


def _frame(rows: list, columns: tuple[str, ...], key: list[str]):
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(columns))
    for c in columns:
        df[c] = df[c].astype("uint64" if c in _UNSIGNED else "int64")
    return df.sort_values(key, kind="stable").reset_index(drop=True)
