"""Risk gate CPU backend: the Numba kernel's tables, their loading and their snapshot.

Inputs here are already validated integer columns (host/riskgate_load.py
checks ranges and names the bad field); this module only places rows into
the hash tables exactly as the hardware does and reads them back.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from kernels import riskgate_arena as A
from kernels import riskgate_numba as K
from kernels import riskgate_spec as S
from kernels import riskgate_tables as T

LOADED_ORDER_DAY = (1 << (K.TAG_BITS - 2)) - 1  # day tag of orders carried over by load(): never today
N_CODES = 1_000_000  # 6-digit codes: the CPU's direct-address index covers them all


class TableFullError(ValueError):
    """Loading found a bucket with no free way; ``table`` names the table."""

    def __init__(self, table: str, message: str):
        super().__init__(message)
        self.table = table


def _pow2_at_least(n: int) -> int:
    return 1 << max(0, int(n - 1).bit_length())


# Auto-sizing never gives a table more than this many slots per expected row (a load factor of 1/16). Below
# about 8 ways the overflow target alone would (Poisson tails: 2 ways at 100k accounts ask for 2^27 buckets,
# 230 GiB of tables); there the loader's doubling on an actual overflow (host.riskgate) sizes the table from
# the keys it holds instead, and run-time inserts that find no free way get the spec's table-full reason.
MAX_SLOTS_PER_ROW = 16


def buckets_for(rows: int, ways: int, minimum: int = 1, overflow: float = 0.01) -> int:
    """Smallest power-of-two bucket count at least ``minimum`` where ``rows`` random keys overflow some
    ``ways``-way bucket with probability below ``overflow`` (Poisson bucket loads), or, if smaller, the first
    that gives ``MAX_SLOTS_PER_ROW`` slots per row."""
    from scipy.stats import poisson

    b = _pow2_at_least(max(minimum, 1))
    while rows > 0 and b * poisson.sf(ways, rows / b) >= overflow and b * ways < MAX_SLOTS_PER_ROW * rows:
        b *= 2
    return b


def table_specs(account_buckets: int, position_buckets: int, order_buckets: int,
                ways: int) -> dict[str, tuple[tuple[int, ...], type]]:
    """The gate's hash tables and direct index as ``{name: (shape, dtype)}`` for a geometry."""
    na, npn, no = account_buckets * ways, position_buckets * ways, order_buckets * ways
    return {
        "i_index": ((N_CODES,), np.int32),
        "a_kt": ((na, 2), np.uint64),
        "a_rec": ((na, K.AR_FIELDS), np.int64),  # kernel layout; ``a_data`` is canonical
        # positions and orders by place, not slot (riskgate_numba.way_place): ``p_kc``,
        # ``p_data``, ``o_kt`` and ``o_data`` are the slot-ordered views
        "p_kp": ((npn, 2), np.uint64),  # (account, code + 1) pairs
        "p_rec": ((npn, K.P_FIELDS), np.int64),
        "o_ft": ((no,), np.uint64),  # fingerprint | day | state (riskgate_numba)
        "o_rec": ((no, K.O_FIELDS), np.int64),
    }


def tables_bytes(account_buckets: int, position_buckets: int, order_buckets: int, ways: int) -> int:
    """Bytes of the tables a gate of this geometry allocates."""
    return _specs_bytes(table_specs(account_buckets, position_buckets, order_buckets, ways))


def _specs_bytes(specs: dict[str, tuple[tuple[int, ...], type]]) -> int:
    return sum(A.table_bytes(*v) for v in specs.values())


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
        self.i_data = K.aligned_zeros((0, K.I_FIELDS), np.int64)
        specs = table_specs(account_buckets, position_buckets, order_buckets, ways)
        # Every table at least cache-line aligned, so a bucket's first 4 (key, tag) ways and
        # each record sit in the fewest lines (see riskgate_numba's record layouts); large
        # gates take one pre-faulted huge-page mapping (riskgate_arena: the same placement
        # for every gate, no page fault inside process()).
        total = _specs_bytes(specs)
        self.prefaulted = A.ARENA_MIN <= total <= A.PREFAULT_MAX
        if total >= A.ARENA_MIN:
            tables = A.huge_page_tables(specs, prefault=self.prefaulted)
        else:
            tables = {name: K.aligned_zeros(*v) for name, v in specs.items()}
        for name, arr in tables.items():
            setattr(self, name, arr)
        self.i_index[:] = -1
        self._o_places = order_places(order_buckets, ways)
        self._p_places = position_places(position_buckets, ways)
        self._p_slot_of = np.empty_like(self._p_places)  # place -> slot, for the orders' position column
        self._p_slot_of[self._p_places] = np.arange(len(self._p_places))
        self.day = np.zeros(1, dtype=np.int64)
        self.hints = np.zeros(K.HINT_SIZE, dtype=np.int64)  # kernel scratch: pipeline ring and filters

    # ------------------------------------------------------------------ load
    def load(self, instruments: Mapping[str, np.ndarray], accounts: Mapping[str, np.ndarray],
             positions: Mapping[str, np.ndarray], orders: Mapping[str, np.ndarray] | None = None) -> None:
        """Place validated columns into the tables (TableFullError, a ValueError naming the table, on overflow)."""
        codes = np.asarray(instruments["code"], dtype=np.int64)
        self.i_index[:] = -1
        self.i_index[codes] = np.arange(len(codes), dtype=np.int32)
        cols = ("status", "ref_price", "limit_up", "limit_down", "lot", "cage_bps", "fee_q16")
        self.i_data = K.aligned_zeros((len(codes), K.I_FIELDS), np.int64)
        for j, c in enumerate(cols):
            self.i_data[:, j] = np.asarray(instruments[c], dtype=np.int64)
        self.i_data[:, K.I_LOT_M] = [K.lot_reciprocal(x) for x in self.i_data[:, K.I_LOT]]
        a_ids = np.asarray(accounts["account"], dtype=np.uint64)
        a_cols = ("status", "cash", "cash_frozen", "max_order_qty", "max_order_value", "max_orders_per_window",
                  "window_us")
        a_rows = np.zeros((len(a_ids), K.A_FIELDS), dtype=np.int64)
        for j, c in enumerate(a_cols):
            a_rows[:, j] = np.asarray(accounts[c], dtype=np.int64)
        bad = _insert_accounts(self.a_kt.reshape(-1), self.a_rec, self.ways, a_ids, _account_rec(a_rows))
        if bad >= 0:
            raise TableFullError("accounts", f"accounts: table full: account {int(a_ids[bad])} finds no free way "
                                 f"in its bucket ({len(self.a_kt) // self.ways} buckets x {self.ways} ways)")
        p_acc = np.asarray(positions["account"], dtype=np.uint64)
        p_code = np.asarray(positions["code"], dtype=np.int64)
        p_rows = np.zeros((len(p_acc), K.P_FIELDS), dtype=np.int64)
        for j, c in enumerate(("available", "frozen", "pending")):
            p_rows[:, j] = np.asarray(positions[c], dtype=np.int64)
        p_rows[:, K.P_DAY] = self.day[0]
        bad = _insert_positions(self.p_kp.reshape(-1), self.p_rec, self.ways, p_acc, p_code, p_rows)
        if bad >= 0:
            raise TableFullError("positions", f"positions: table full: position ({int(p_acc[bad])}, "
                                 f"{int(p_code[bad]):06d}) finds no free way in its bucket "
                                 f"({len(self.p_kp) // self.ways} buckets x {self.ways} ways)")
        if orders is not None and len(orders["order_id"]):
            self._load_orders(orders)

    def _load_orders(self, orders: Mapping[str, np.ndarray]) -> None:
        ids = np.asarray(orders["order_id"], dtype=np.uint64)
        a_nb, p_nb, o_nb = len(self.a_kt) // self.ways, len(self.p_kp) // self.ways, len(self.o_ft) // self.ways
        for i in range(len(ids)):
            acc, code = np.uint64(orders["account"][i]), int(orders["code"][i])
            a = _account_find(self.a_kt.reshape(-1), self.ways, a_nb, acc)
            if a < 0:
                raise ValueError(f"orders: order {int(ids[i])} refers to account {int(acc)} not in accounts")
            if self.i_index[code] < 0:
                raise ValueError(f"orders: order {int(ids[i])} refers to code {code:06d} not in instruments")
            p, _ = _position_scan(self.p_kp.reshape(-1), self.ways, p_nb, acc, code)
            if p < 0:
                raise ValueError(f"orders: order {int(ids[i])} needs a positions row ({int(acc)}, {code:06d})")
            s, free = _order_scan(self.o_ft, self.o_rec.reshape(-1), self.ways, o_nb, ids[i], int(self.day[0]))
            if s >= 0:
                raise ValueError(f"orders.order_id: {int(ids[i])} appears twice")
            if free < 0:
                raise TableFullError("orders", f"orders: table full: order_id {int(ids[i])} finds no free way "
                                     f"in its bucket ({o_nb} buckets x {self.ways} ways)")
            # opened before the gate started: a day number that is never today
            self.o_ft[free] = ((np.uint64(_order_fp(ids[i])) << np.uint64(K.TAG_BITS))
                               | (np.uint64(LOADED_ORDER_DAY) << np.uint64(2)) | np.uint64(K.O_OPEN_STATE))
            self.o_rec[free, K.O_KEY] = ids[i].astype(np.int64)
            self.o_rec[free, :K.O_ISLOT + 1] = (int(orders["side"][i]), int(orders["price"][i]),
                                                 int(orders["open_qty"][i]), int(orders["frozen_cash"][i]),
                                                 a, p, self.i_index[code])

    # --------------------------------------------------------------- process
    def process(self, msgs: np.ndarray) -> np.ndarray:
        """Run the kernel over a MESSAGE_DTYPE array; returns a DECISION_DTYPE array."""
        if msgs.dtype != S.MESSAGE_DTYPE:
            raise ValueError(f"messages: dtype must be riskgate_spec.MESSAGE_DTYPE, got {msgs.dtype}")
        out = np.zeros(len(msgs), dtype=S.DECISION_DTYPE)
        words = np.ascontiguousarray(msgs).view(np.uint64)  # six words a message (riskgate_numba "messages")
        K.process_batch(
            words, out.view(np.uint8),
            self.i_index, self.i_data.reshape(-1),
            self.a_kt.reshape(-1), self.a_rec.reshape(-1), self.ways,
            self.p_kp.reshape(-1), self.p_rec.reshape(-1), self.ways,
            self.o_ft, self.o_rec.reshape(-1), self.ways,
            self.day, self.hints,
        )
        return out

    # -------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, pd.DataFrame]:
        """Tables as DataFrames sorted by key, columns as ``SNAPSHOT_COLUMNS`` (positions normalised)."""
        K.normalise_all(self.p_kp.reshape(-1), self.p_rec.reshape(-1), self.day[0])
        ua = np.flatnonzero(self.a_kt[:, 1])
        acc = pd.DataFrame({"account": self.a_kt[ua, 0]})
        names = ("status", "cash", "cash_frozen", "max_order_qty", "max_order_value", "max_orders_per_window",
                 "window_us", "window", "count")
        a_data = self.a_data[ua]
        for j, c in enumerate(names):
            acc[c] = a_data[:, j]
        # (by place: rows are sorted by key below, and order records hold position places)
        p_kp, p_rec = self.p_kp, self.p_rec
        up = np.flatnonzero(p_kp[:, 1])
        pos = pd.DataFrame({"account": p_kp[up, 0], "code": (p_kp[up, 1] - np.uint64(1)).astype(np.int64),
                            "available": p_rec[up, K.P_AVAIL], "frozen": p_rec[up, K.P_FROZEN],
                            "pending": p_rec[up, K.P_PENDING]})
        o_kt = self.o_kt
        uo = np.flatnonzero((o_kt[:, 1] & np.uint64(3)) == K.O_OPEN_STATE)
        od = self.o_rec[self._o_places[uo]]
        ords = pd.DataFrame({
            "order_id": o_kt[uo, 0], "account": self.a_kt[od[:, K.O_ASLOT], 0],
            "code": (p_kp[od[:, K.O_PSLOT], 1] - np.uint64(1)).astype(np.int64), "side": od[:, K.O_SIDE],
            "price": od[:, K.O_PRICE], "open_qty": od[:, K.O_OPEN], "frozen_cash": od[:, K.O_FCASH],
        })
        return {
            "accounts": acc.sort_values("account", kind="stable").reset_index(drop=True),
            "positions": pos.sort_values(["account", "code"], kind="stable").reset_index(drop=True),
            "orders": ords.sort_values("order_id", kind="stable").reset_index(drop=True),
        }

    def used_order_ids(self) -> np.ndarray:
        """Ids marked used today (today's open orders included), sorted."""
        o_kt = self.o_kt
        tag = o_kt[:, 1]
        today = (tag >> np.uint64(2)) == np.uint64(self.day[0])
        return np.sort(o_kt[today & ((tag & np.uint64(3)) != K.O_FREE), 0])

    @property
    def a_data(self) -> np.ndarray:
        """Account records per slot in the canonical columns ``A_STATUS .. A_COUNT`` (a copy: readers' view)."""
        r = self.a_rec
        out = np.empty((len(r), K.A_FIELDS), dtype=np.int64)
        out[:, K.A_STATUS] = r[:, K.AR_SN] & ((1 << K.SN_SHIFT) - 1)
        out[:, K.A_MAXN] = r[:, K.AR_SN] >> K.SN_SHIFT
        for a_col, r_col in K.A_TO_AR:
            out[:, a_col] = r[:, r_col]
        return out

    @property
    def o_kt(self) -> np.ndarray:
        """Orders as (id, tag) pairs per slot, tag = day << 2 | state (a copy: readers' canonical view)."""
        ft = self.o_ft[self._o_places]
        used = ft != 0
        out = np.zeros((len(ft), 2), dtype=np.uint64)
        out[used, 0] = self.o_rec[self._o_places[used], K.O_KEY].view(np.uint64)
        out[:, 1] = ft & np.uint64(K.TAG_MASK)
        return out

    @property
    def o_data(self) -> np.ndarray:
        """Order records per slot (``O_*`` columns, ``O_PSLOT`` a position slot; a copy in the RTL's slot order)."""
        out = self.o_rec[self._o_places]
        out[:, K.O_PSLOT] = self._p_slot_of[out[:, K.O_PSLOT]]  # unused rows hold 0: place 0 is slot 0
        return out

    @property
    def p_kc(self) -> np.ndarray:
        """Positions as (account, code + 1) pairs per slot (a copy in the RTL's slot order)."""
        return self.p_kp[self._p_places]

    @property
    def p_data(self) -> np.ndarray:
        """Position records per slot (``P_*`` columns, not normalised; a copy in the RTL's slot order)."""
        return self.p_rec[self._p_places]

    def fast_path_arrays(self):
        """The arrays the Cython single-message path passes to the kernel's C entry (orders: the entries)."""
        from types import SimpleNamespace

        # Every well-formed NEW writes an orders entry and its record, in a slot no one may
        # have touched yet: fault those pages in now (rewrite one value per 4 KiB page) so
        # that no single decision pays a (huge) page fault. A large gate's tables were
        # faulted in when allocated (riskgate_arena) unless they were too large for it.
        if not self.prefaulted:
            for arr in (self.o_ft, self.o_rec.reshape(-1)):
                step = max(4096 // arr.itemsize, 1)
                arr[::step] = arr[::step].copy()
        return SimpleNamespace(i_index=self.i_index, i_data=self.i_data, a_kt=self.a_kt, a_data=self.a_rec,
                               p_kc=self.p_kp, p_data=self.p_rec, o_kt=self.o_ft, o_data=self.o_rec,
                               day=self.day, ways=self.ways)


from numba import njit  # noqa: E402


def way_places(buckets: int, ways: int, dense: int) -> np.ndarray:
    """Place of every slot (``bucket * ways + way``, the RTL's numbering) when ``min(ways, dense)`` ways are dense.

    See riskgate_numba.way_place: the first ``min(ways, dense)`` ways of all buckets
    densely, the remaining ways after them.
    """
    slot = np.arange(buckets * ways, dtype=np.int64)
    b, w = slot // ways, slot % ways
    d = min(ways, dense)
    return np.where(w < d, b * d + w, buckets * d + b * (ways - d) + (w - d))


def order_places(buckets: int, ways: int) -> np.ndarray:
    """Place of every orders slot in ``o_ft`` / ``o_rec`` (riskgate_numba.order_place)."""
    return way_places(buckets, ways, K.O_SCAN)


def position_places(buckets: int, ways: int) -> np.ndarray:
    """Place of every positions slot in ``p_kp`` / ``p_rec`` (riskgate_numba.position_place)."""
    return way_places(buckets, ways, K.SCAN)


def _account_rec(rows: np.ndarray) -> np.ndarray:
    """Canonical account rows (``A_STATUS .. A_COUNT``) in the kernel's one-line layout (``AR_*``)."""
    out = np.zeros((len(rows), K.AR_FIELDS), dtype=np.int64)
    out[:, K.AR_SN] = rows[:, K.A_STATUS] | (rows[:, K.A_MAXN] << K.SN_SHIFT)
    for a_col, r_col in K.A_TO_AR:
        out[:, r_col] = rows[:, a_col]
    return out


@njit(cache=True)
def _account_find(a_kt, ways, nb, account):
    return K.account_find(a_kt, ways, nb, account)


@njit(cache=True)
def _position_scan(p_kc, ways, nb, account, code):
    return K.position_scan(p_kc, ways, nb, account, code)


@njit(cache=True)
def _order_scan(o_ft, o_data, ways, nb, order_id, day):
    return K.order_scan(o_ft, o_data, ways, nb, order_id, day)


@njit(cache=True)
def _order_fp(order_id):
    return K.order_fp(order_id)


@njit(cache=True)
def _insert_accounts(a_kt, a_rec, ways, ids, rows):
    # a_kt: the flat (key, tag) view; a_rec: the record matrix (kernel layout)
    nb = a_kt.shape[0] // (2 * ways)
    for i in range(ids.shape[0]):
        if K.account_find(a_kt, ways, nb, ids[i]) >= 0:
            return i  # duplicate key (validated earlier; reported like a full bucket)
        base = T.account_bucket(ids[i], nb) * ways
        s = -1
        for w in range(ways):
            if a_kt[2 * (base + w) + 1] == 0:
                s = base + w
                break
        if s < 0:
            return i
        a_kt[2 * s] = ids[i]
        a_kt[2 * s + 1] = 1
        a_rec[s, :] = rows[i, :]
    return -1


@njit(cache=True)
def _insert_positions(p_kc, p_data, ways, accs, codes, rows):
    # p_kc: the flat (key, tag) view by place; p_data: the record matrix by place
    nb = p_kc.shape[0] // (2 * ways)
    for i in range(accs.shape[0]):
        p, free = K.position_scan(p_kc, ways, nb, accs[i], codes[i])
        if p >= 0 or free < 0:
            return i
        p_kc[2 * free] = accs[i]
        p_kc[2 * free + 1] = np.uint64(codes[i]) + np.uint64(1)
        p_data[free, :] = rows[i, :]
    return -1
