"""Shared pieces of the RTL risk-gate tests: one small geometry (one Verilator build), tables, streams, comparators."""
from __future__ import annotations

import numpy as np
import pandas as pd

from host.riskgate_load import validate_table
from kernels import riskgate_spec as S
from kernels import riskgate_tables as T

# One geometry for every RTL test, so the session builds the model once: small
# enough that buckets fill and collide in a 100k-message stream.
GEOM = dict(accounts=16, positions=64, orders=128, instruments=256, ways=4)
CPU_GEOM = dict(account_buckets=16, position_buckets=64, order_buckets=128, ways=4)

CODES = [600000, 600036, 601318, 688981, 1, 2594, 300750, 600519, 2, 600004, 300059, 688111]


def rtl_gate():
    """A fresh RtlGate of the shared geometry (the model is built once per process)."""
    from host.riskgate_rtl import RtlGate

    return RtlGate(account_buckets=GEOM["accounts"], position_buckets=GEOM["positions"], order_buckets=GEOM["orders"],
                   instrument_buckets=GEOM["instruments"], ways=GEOM["ways"])


def cpu_gate():
    """The Numba kernel with the RTL's geometry (hardware-faithful storage)."""
    from kernels.riskgate_cpu import CpuGate

    return CpuGate(**CPU_GEOM)


def validated(ins: pd.DataFrame, acc: pd.DataFrame, pos: pd.DataFrame, ords: pd.DataFrame | None = None):
    """The column dicts both backends load (host.riskgate_load's validation)."""
    return (validate_table(ins, "instruments"), validate_table(acc, "accounts"), validate_table(pos, "positions"),
            validate_table(ords, "orders"))


def instruments_frame(codes=CODES, halted=(688111,)) -> pd.DataFrame:
    """Instruments with realistic bands: lot 100 (STAR 688xxx: lot 200), 2% cage, 10% limits."""
    rows = []
    for i, c in enumerate(codes):
        ref = 500 + 137 * i
        rows.append(dict(code=c, status=1 if c in halted else 0, ref_price=ref, limit_up=ref * 11 // 10,
                         limit_down=ref * 9 // 10, lot=200 if c // 1000 == 688 else 100,
                         cage_bps=200 if i % 3 else 0, fee_q16=(i * 977) % 65536))
    return pd.DataFrame(rows)


def accounts_frame(ids, rng: np.random.Generator) -> pd.DataFrame:
    """Accounts: mostly active, a few blocked / sell-only; small throttle windows so THROTTLED happens."""
    rows = []
    for i, a in enumerate(ids):
        rows.append(dict(account=int(a), status=(1 if i % 13 == 7 else 2 if i % 11 == 5 else 0),
                         cash=(int(rng.integers(0, 3_000_000_000)) * 1000 if i < 2 else
                               int(rng.integers(0, 300_000)) if i % 3 == 2 else int(rng.integers(0, 3_000_000_000))),
                         cash_frozen=0,
                         max_order_qty=int(rng.choice([5_000, 100_000, 2**31 - 1])),
                         max_order_value=int(rng.choice([2_000_000, 50_000_000, 2**62 - 1])),
                         # the two hottest accounts are market makers: no throttle, deep pockets
                         max_orders_per_window=65535 if i < 2 else int(rng.choice([2, 5, 50, 65535])),
                         window_us=int(rng.choice([1, 7, 1000, 1_000_000, 86_400_000_000, 2**63 - 1]))))
    return pd.DataFrame(rows)


def fitting_accounts(rng: np.random.Generator, n: int) -> list[int]:
    """``n`` random 64-bit account ids that fit the test geometry's account buckets (the rest are drawn again)."""
    per: dict[int, int] = {}
    out: list[int] = []
    while len(out) < n:
        a = int(rng.integers(1, 2**64 - 1, dtype=np.uint64))
        b = T.py_account_bucket(a, GEOM["accounts"])
        if per.get(b, 0) < GEOM["ways"] - 1:  # leave a way free in every bucket
            per[b] = per.get(b, 0) + 1
            out.append(a)
    return out


def fitting_positions(rows: list[dict], per_bucket: int = 2) -> list[dict]:
    """The position rows that keep at most ``per_bucket`` rows in each position bucket (room for buys)."""
    per: dict[int, int] = {}
    out = []
    for r in rows:
        b = T.py_position_bucket(r["account"], r["code"], GEOM["positions"])
        if per.get(b, 0) < per_bucket:
            per[b] = per.get(b, 0) + 1
            out.append(r)
    return out


def zipf_index(rng: np.random.Generator, n: int, size: int, a: float = 1.3) -> np.ndarray:
    """Zipf-distributed indices in 0..n-1 (index 0 hottest)."""
    return (rng.zipf(a, size) - 1) % n


def random_stream(n: int, seed: int, account_ids, codes=CODES, eod_every: int = 400, model=None):
    """A hazard-dense message stream: Zipf-hot accounts and codes, cancels/fills of the most recent orders,
    reused ids, bad messages, day boundaries. Returns a MESSAGE_DTYPE array.

    With ``model`` (a kernels.riskgate_model.ReferenceGate of the same tables) the generator follows
    which orders are open, so that part of the cancels close old orders and the book does not only grow."""
    rng = np.random.default_rng(seed)
    msgs = S.empty_messages(n)
    kind = rng.random(n)
    acc_i = zipf_index(rng, len(account_ids), n)
    code_i = zipf_index(rng, len(codes), n)
    ts = np.cumsum(rng.choice([0, 0, 1, 3, 250, 1_000_000], n, p=[.3, .2, .2, .15, .1, .05])).astype(np.uint64)
    next_id = 1
    hot_last = None
    recent: list[int] = []
    ins = instruments_frame(codes)
    refs = dict(zip(ins["code"], ins["ref_price"]))
    for i in range(n):
        if model is not None and i:
            model.step(*(int(msgs[i - 1][f]) for f in S.MESSAGE_FIELDS))
        k = kind[i]
        m = msgs[i]
        m["ts_us"] = ts[i]
        if i % eod_every == eod_every - 1:
            m["type"] = S.MSG_EOD
            continue
        if k < 0.45:  # NEW
            m["type"] = S.MSG_NEW
            code = codes[code_i[i]]
            m["account"] = account_ids[acc_i[i]]
            m["code"] = code
            m["side"] = 1 + (rng.random() < 0.45)
            ref = refs[code]
            m["price"] = max(1, int(ref * rng.choice([1.0, 1.0, 0.99, 1.015, 1.03, 0.95, 1.2])))
            lot = 200 if code // 1000 == 688 else 100
            m["qty"] = int(rng.choice([lot, 2 * lot, 10 * lot, 37, 1000 * lot]))
            r = rng.random()
            if r < 0.04 and recent:
                oid = recent[-1 - int(rng.integers(0, min(8, len(recent))))]  # duplicate id, often in flight
            elif r < 0.06:
                oid = int(rng.integers(1, max(2, next_id)))  # an old id: used today, or free after EOD
            else:
                oid = next_id
                next_id += 1
            m["order_id"] = oid
            recent.append(oid)
            r = rng.random()
            if r < 0.01:
                m["account"] = int(rng.integers(1, 2**63))  # unknown account
            elif r < 0.02:
                m["code"] = int(rng.choice([999999, 600001, 2**20 + 600000, 2**32 - 1]))  # unknown instrument
        elif k < 0.62:  # FILL of a recent order (often the one just sent)
            m["type"] = S.MSG_FILL
            m["order_id"] = recent[-1 - min(int(rng.zipf(1.5)) - 1, len(recent) - 1)] if recent else 7
            m["qty"] = int(rng.choice([100, 200, 37, 1000, 0, -5, 10**6]))
        elif k < 0.82:  # CANCEL: of an order just sent, or of any earlier one (so old orders close too)
            m["type"] = S.MSG_CANCEL
            if model is not None and model.orders and rng.random() < 0.8:  # any open order: old ones close too
                book = list(model.orders)
                m["order_id"] = book[int(rng.integers(0, len(book)))]
            elif recent:
                m["order_id"] = recent[-1 - min(int(rng.zipf(1.5)) - 1, len(recent) - 1)]
            else:
                m["order_id"] = 9
        elif k < 0.85:  # bad messages: unknown type, NEW with a negative qty, a timestamp beyond 2**63
            r = rng.random()
            if r < 0.4:
                m["type"] = int(rng.choice([0, 5, 255]))
            elif r < 0.8:
                m["type"] = S.MSG_NEW
                m["account"], m["code"], m["side"] = account_ids[0], codes[0], 1
                m["price"], m["qty"], m["order_id"] = 500, -100, next_id
            else:
                m["type"] = S.MSG_NEW
                m["ts_us"] = np.uint64(2**63 + 5)
        elif hot_last is not None and rng.random() < 0.6:  # close the hot order just sent: an order hazard
            m["type"], m["order_id"] = (S.MSG_CANCEL, hot_last) if rng.random() < 0.5 else (S.MSG_FILL, hot_last)
            m["qty"] = 100
            hot_last = None
        else:  # a buy of the hottest account on the hottest code: read-modify-write hazards back to back
            m["type"] = S.MSG_NEW
            hot_last = next_id
            m["account"], m["code"], m["side"] = account_ids[0], codes[0], 1 + (rng.random() < 0.3)
            m["price"], m["qty"], m["order_id"] = refs[codes[0]], 100, next_id
            recent.append(next_id)
            next_id += 1
    return msgs


def cpu_slots(cpu) -> dict[str, np.ndarray]:
    """The Numba kernel's tables as canonical slot arrays (positions normalised to its current day).

    The one place that knows kernels/riskgate_cpu.CpuGate's internal layout.
    """
    from kernels import riskgate_numba as K

    day = int(cpu.day[0])
    pd_ = cpu.p_data
    stale = pd_[:, K.P_DAY] != day
    avail = np.where(stale, pd_[:, K.P_AVAIL] + pd_[:, K.P_PENDING], pd_[:, K.P_AVAIL])
    pend = np.where(stale, 0, pd_[:, K.P_PENDING])
    tag = cpu.o_kt[:, 1]
    od = cpu.o_data
    return {
        "a_used": (cpu.a_kt[:, 1] != 0).astype(np.uint8), "a_key": cpu.a_kt[:, 0], "a_data": cpu.a_data[:, :9],
        "p_used": (cpu.p_kc[:, 1] != 0).astype(np.uint8), "p_acct": cpu.p_kc[:, 0],
        "p_code": cpu.p_kc[:, 1].astype(np.int64) - 1,
        "p_data": np.stack([avail, pd_[:, K.P_FROZEN], pend], 1),
        "o_state": (tag & np.uint64(3)).astype(np.uint8), "o_key": cpu.o_kt[:, 0],
        "o_day": (tag >> np.uint64(2)).astype(np.int64),
        "o_data": np.stack([od[:, K.O_SIDE], od[:, K.O_PRICE], od[:, K.O_OPEN], od[:, K.O_FCASH]], 1),
        "o_account": cpu.a_kt[od[:, K.O_ASLOT], 0], "o_code": cpu.p_kc[od[:, K.O_PSLOT], 1].astype(np.int64) - 1,
        "day": np.array([day], dtype=np.int64),
    }


def reference_of(tables):
    """A kernels.riskgate_model.ReferenceGate loaded with validated column dicts (for random_stream's model)."""
    from kernels.riskgate_model import ReferenceGate

    rows = [pd.DataFrame(t).to_dict("records") for t in tables[:3]]
    return ReferenceGate.from_tables(*rows)


def compare_tables(cpu, rtl_raw: dict) -> list[str]:
    """Differences between the Numba kernel's tables and the RTL's read-back, slot by slot (empty = equal)."""
    out = []
    c, r = cpu_slots(cpu), rtl_raw

    def diff(name, a, b):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            out.append(f"{name}: shapes {a.shape} vs {b.shape}")
        elif not np.array_equal(a, b):
            bad = np.flatnonzero(np.any((a != b).reshape(len(a), -1), axis=1))
            out.append(f"{name}: {len(bad)} differ, first slots {bad[:4].tolist()}: cpu {a[bad[:2]].tolist()} "
                       f"rtl {b[bad[:2]].tolist()}")

    # Day numbers differ by design (the kernel counts from 0 and tags loaded orders with a far
    # marker; the RTL counts from 1 after CLEAR and tags them 0): compare EODs since load and,
    # per order entry, whether it is of today and how many days old it is.
    dmask = (1 << T.DAY_BITS) - 1
    from kernels.riskgate_cpu import CpuGate, LOADED_ORDER_DAY

    cpu_day0 = int(CpuGate(1, 1, 1, 1).day[0])
    diff("eods", c["day"] - cpu_day0, r["day"] - 1)
    cday, rday = int(c["day"][0]), int(r["day"][0])
    diff("accounts.used", c["a_used"], r["a_used"])
    ua = c["a_used"].astype(bool)
    diff("accounts.key", c["a_key"][ua], r["a_key"][ua])
    diff("accounts.data", c["a_data"][ua], r["a_data"][ua])
    diff("positions.used", c["p_used"], r["p_used"])
    up = c["p_used"].astype(bool)
    diff("positions.account", c["p_acct"][up], r["p_acct"][up])
    diff("positions.code", c["p_code"][up], r["p_code"][up])
    diff("positions.data", c["p_data"][up], r["p_data"][up])
    diff("orders.state", c["o_state"], r["o_state"])
    uo = c["o_state"] != 0
    diff("orders.key", c["o_key"][uo], r["o_key"][uo])
    loaded = c["o_day"] == LOADED_ORDER_DAY
    diff("orders.today", (c["o_day"] == cday)[uo], (r["o_day"] == rday)[uo])
    diff("orders.age", (cday - c["o_day"])[uo & ~loaded], (rday - r["o_day"])[uo & ~loaded] & dmask)
    diff("orders.loaded", loaded[uo], (r["o_day"] == 0)[uo])
    op = c["o_state"] == T.ORDER_OPEN
    diff("orders.data", c["o_data"][op], r["o_data"][op])
    diff("orders.account", c["o_account"][op], r["o_account"][op])
    diff("orders.code", c["o_code"][op], r["o_code"][op])
    return out
