"""Risk gate CPU backend: the Numba kernel's tables, their loading and their snapshot.

Inputs here are already validated integer columns (host/riskgate_load.py
checks ranges and names the bad field); this module only places rows into
the hash tables exactly as the hardware does and reads them back.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from kernels import riskgate_numba as K
from kernels import riskgate_spec as S
from kernels import riskgate_tables as T

N_CODES = 1_000_000  # 6-digit codes: the CPU's direct-address index covers them all


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


def buckets_for(rows: int, ways: int, minimum: int) -> int:
    """Bucket count (a power of two) keeping ``rows`` at <= 50% load, at least ``minimum``."""
    return max(_pow2_at_least(minimum), _pow2_at_least(-(-2 * rows // ways)))


class CpuGate:
    """Tables of the Numba kernel plus the day counter; ``process`` runs the kernel."""

    def __init__(self, account_buckets: int, position_buckets: int, order_buckets: int, ways: int = T.WAYS):
        for name, nb in (("account_buckets", account_buckets), ("position_buckets", position_buckets),
                         ("order_buckets", order_buckets)):
            if nb < 1 or nb & (nb - 1):
                raise ValueError(f"{name}: must be a power of two >= 1, got {nb}")
        if ways < 1:
            raise ValueError(f"ways: must be >= 1, got {ways}")
        self.ways = ways
        self.i_index = np.full(N_CODES, -1, dtype=np.int64)
        self.i_data = np.zeros((0, K.I_FIELDS), dtype=np.int64)
        self.i_code = np.zeros(0, dtype=np.int64)
        na, npn, no = account_buckets * ways, position_buckets * ways, order_buckets * ways
        self.a_key = np.zeros(na, dtype=np.uint64)
        self.a_used = np.zeros(na, dtype=np.uint8)
        self.a_data = np.zeros((na, K.A_FIELDS), dtype=np.int64)
        self.p_acct = np.zeros(npn, dtype=np.uint64)
        self.p_code = np.zeros(npn, dtype=np.int64)
        self.p_used = np.zeros(npn, dtype=np.uint8)
        self.p_data = np.zeros((npn, K.P_FIELDS), dtype=np.int64)
        self.o_key = np.zeros(no, dtype=np.uint64)
        self.o_state = np.zeros(no, dtype=np.uint8)
        self.o_day = np.zeros(no, dtype=np.int64)
        self.o_data = np.zeros((no, K.O_FIELDS), dtype=np.int64)
        self.day = np.zeros(1, dtype=np.int64)

    # ------------------------------------------------------------------ load
    def load(self, instruments: Mapping[str, np.ndarray], accounts: Mapping[str, np.ndarray],
             positions: Mapping[str, np.ndarray], orders: Mapping[str, np.ndarray] | None = None) -> None:
        """Place validated columns into the tables (ValueError naming the table when a bucket is full)."""
        codes = np.asarray(instruments["code"], dtype=np.int64)
        self.i_index[:] = -1
        self.i_index[codes] = np.arange(len(codes))
        self.i_code = codes.copy()
        cols = ("status", "ref_price", "limit_up", "limit_down", "lot", "cage_bps", "fee_q16")
        self.i_data = np.ascontiguousarray(np.stack([np.asarray(instruments[c], dtype=np.int64) for c in cols], axis=1)
                                           if len(codes) else np.zeros((0, K.I_FIELDS), dtype=np.int64))
        a_ids = np.asarray(accounts["account"], dtype=np.uint64)
        a_cols = ("status", "cash", "cash_frozen", "max_order_qty", "max_order_value", "max_orders_per_window",
                  "window_us")
        a_rows = np.zeros((len(a_ids), K.A_FIELDS), dtype=np.int64)
        for j, c in enumerate(a_cols):
            a_rows[:, j] = np.asarray(accounts[c], dtype=np.int64)
        bad = _insert_accounts(self.a_key, self.a_used, self.a_data, self.ways, a_ids, a_rows)
        if bad >= 0:
            raise ValueError(f"accounts: table full: account {int(a_ids[bad])} finds no free way "
                             f"in its bucket ({len(self.a_key) // self.ways} buckets x {self.ways} ways)")
        p_acc = np.asarray(positions["account"], dtype=np.uint64)
        p_code = np.asarray(positions["code"], dtype=np.int64)
        p_rows = np.stack([np.asarray(positions[c], dtype=np.int64) for c in ("available", "frozen", "pending")],
                          axis=1) if len(p_acc) else np.zeros((0, 3), dtype=np.int64)
        bad = _insert_positions(self.p_acct, self.p_code, self.p_used, self.p_data, self.ways, p_acc, p_code, p_rows)
        if bad >= 0:
            raise ValueError(f"positions: table full: position ({int(p_acc[bad])}, {int(p_code[bad]):06d}) finds "
                             f"no free way in its bucket ({len(self.p_acct) // self.ways} buckets x {self.ways} ways)")
        if orders is not None and len(orders["order_id"]):
            self._load_orders(orders)

    def _load_orders(self, orders: Mapping[str, np.ndarray]) -> None:
        ids = np.asarray(orders["order_id"], dtype=np.uint64)
        for i in range(len(ids)):
            acc, code = np.uint64(orders["account"][i]), int(orders["code"][i])
            a = K.account_find(self.a_key, self.a_used, self.ways, len(self.a_key) // self.ways, acc)
            if a < 0:
                raise ValueError(f"orders: order {int(ids[i])} refers to account {int(acc)} not in accounts")
            if self.i_index[code] < 0:
                raise ValueError(f"orders: order {int(ids[i])} refers to code {code:06d} not in instruments")
            p = K.position_find(self.p_acct, self.p_code, self.p_used, self.ways, len(self.p_acct) // self.ways,
                                acc, code)
            if p < 0:
                raise ValueError(f"orders: order {int(ids[i])} needs a positions row ({int(acc)}, {code:06d})")
            nb = len(self.o_key) // self.ways
            if K._order_find(self.o_key, self.o_state, self.o_day, self.ways, nb, ids[i], 0) >= 0:
                raise ValueError(f"orders: order_id {int(ids[i])} appears twice")
            s = K._order_free_slot(self.o_state, self.o_day, self.ways, nb, ids[i], 0)
            if s < 0:
                raise ValueError(f"orders: table full: order_id {int(ids[i])} finds no free way in its bucket")
            self.o_key[s] = ids[i]
            self.o_state[s] = K.O_OPEN_STATE
            self.o_day[s] = -1  # opened on an earlier day: its id is not "used today"
            self.o_data[s] = (int(orders["side"][i]), int(orders["price"][i]), int(orders["open_qty"][i]),
                              int(orders["frozen_cash"][i]), a, p, self.i_index[code])

    # --------------------------------------------------------------- process
    def process(self, msgs: np.ndarray) -> np.ndarray:
        """Run the kernel over a MESSAGE_DTYPE array; returns a DECISION_DTYPE array."""
        if msgs.dtype != S.MESSAGE_DTYPE:
            raise ValueError(f"messages: dtype must be riskgate_spec.MESSAGE_DTYPE, got {msgs.dtype}")
        out = np.zeros(len(msgs), dtype=S.DECISION_DTYPE)
        K.process_batch(
            msgs["type"], msgs["side"], msgs["code"], msgs["account"], msgs["order_id"], msgs["price"],
            msgs["qty"], msgs["ts_us"], out["accepted"], out["reason"],
            self.i_index, self.i_data,
            self.a_key, self.a_used, self.a_data, self.ways,
            self.p_acct, self.p_code, self.p_used, self.p_data, self.ways,
            self.o_key, self.o_state, self.o_day, self.o_data, self.ways,
            self.day,
        )
        return out

    # -------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, pd.DataFrame]:
        """Tables as DataFrames sorted by key, columns as ``SNAPSHOT_COLUMNS`` (position pending normalised)."""
        ua = np.flatnonzero(self.a_used)
        acc = pd.DataFrame({"account": self.a_key[ua]})
        names = ("status", "cash", "cash_frozen", "max_order_qty", "max_order_value", "max_orders_per_window",
                 "window_us", "window", "count")
        for j, c in enumerate(names):
            acc[c] = self.a_data[ua, j]
        up = np.flatnonzero(self.p_used)
        pos = pd.DataFrame({"account": self.p_acct[up], "code": self.p_code[up],
                            "available": self.p_data[up, K.P_AVAIL], "frozen": self.p_data[up, K.P_FROZEN],
                            "pending": self.p_data[up, K.P_PENDING]})
        uo = np.flatnonzero(self.o_state == K.O_OPEN_STATE)
        od = self.o_data[uo]
        ords = pd.DataFrame({
            "order_id": self.o_key[uo], "account": self.a_key[od[:, K.O_ASLOT]],
            "code": self.p_code[od[:, K.O_PSLOT]], "side": od[:, K.O_SIDE], "price": od[:, K.O_PRICE],
            "open_qty": od[:, K.O_OPEN], "frozen_cash": od[:, K.O_FCASH],
        })
        return {
            "accounts": acc.sort_values("account", kind="stable").reset_index(drop=True),
            "positions": pos.sort_values(["account", "code"], kind="stable").reset_index(drop=True),
            "orders": ords.sort_values("order_id", kind="stable").reset_index(drop=True),
        }

    def used_order_ids(self) -> np.ndarray:
        """Ids marked used today (open orders of today included), sorted."""
        d = self.day[0]
        m = (self.o_day == d) & (self.o_state != K.O_FREE)
        return np.sort(self.o_key[m])


from numba import njit  # noqa: E402


@njit(cache=True)
def _insert_accounts(a_key, a_used, a_data, ways, ids, rows):
    nb = a_key.shape[0] // ways
    for i in range(ids.shape[0]):
        if K.account_find(a_key, a_used, ways, nb, ids[i]) >= 0:
            return i  # duplicate key: reported by the caller like a full bucket (validated earlier)
        base = T.account_bucket(ids[i], nb) * ways
        s = -1
        for w in range(ways):
            if not a_used[base + w]:
                s = base + w
                break
        if s < 0:
            return i
        a_used[s] = 1
        a_key[s] = ids[i]
        a_data[s, :] = rows[i, :]
    return -1


@njit(cache=True)
def _insert_positions(p_acct, p_code, p_used, p_data, ways, accs, codes, rows):
    nb = p_acct.shape[0] // ways
    for i in range(accs.shape[0]):
        s = K.position_free_slot(p_used, ways, nb, accs[i], codes[i])
        if s < 0:
            return i
        p_used[s] = 1
        p_acct[s] = accs[i]
        p_code[s] = codes[i]
        p_data[s, :] = rows[i, :]
    return -1
