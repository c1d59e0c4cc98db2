"""The ``rtl`` backend of RiskGate: the Verilated hdl/riskdb gate behind the Device interface.

Tables are placed here exactly as the Numba kernel places them (same hash, same
lowest-free-way rule, rows in load order), packed into bucket rows
(kernels/riskgate_tables.LAYOUTS) and loaded through the register map's table
window; messages go through ``Device.stream`` (the C++ loop of the pybind11
binding); tables come back through the RB_* read-back registers.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from hdl.riskdb.regmap import CTRL_CLEAR, MODE_RUN, STATUS_BUSY, STATUS_ERR, TABLE_IDS, Geometry, make_regmap
from kernels import riskgate_spec as S
from kernels import riskgate_tables as T

__all__ = ["RtlGate", "place_tables", "open_device"]

_DESIGNS: dict[Geometry, object] = {}  # one elaboration (and Verilator build) per geometry per process


def open_device(g: Geometry):
    """A fresh Verilated instance of the gate for geometry ``g`` (the C++ model is built once and cached)."""
    from hdl.riskdb.top import RiskDB
    from host.verilated import VerilatedDevice

    design = _DESIGNS.get(g)
    if design is None:
        design = _DESIGNS[g] = _verilog_of(RiskDB(g))
    dev = VerilatedDevice(design, regmap=make_regmap(g), msg_width=S.WIRE_WORDS * 32, out_width=16)
    dev.reset()
    return dev


def _verilog_of(design) -> str:
    from hdl.emit import emit_verilog

    return emit_verilog(design)


class _Placer:
    """Bucket rows of one table being filled the kernel's way (lowest free way of the key's bucket)."""

    def __init__(self, table: str, buckets: int, ways: int) -> None:
        self.table, self.nb, self.ways = table, buckets, ways
        self.rows: list[list[dict | None]] = [[None] * ways for _ in range(buckets)]

    def put(self, bucket: int, rec: dict, what: str) -> int:
        ways = self.rows[bucket]
        for w in range(self.ways):
            if ways[w] is None:
                ways[w] = rec
                return bucket * self.ways + w
        raise ValueError(f"{self.table}: table full: {what} finds no free way in bucket {bucket} "
                         f"({self.nb} buckets x {self.ways} ways); build the gate with more buckets")

    def words(self, hw_table: str, fields=None) -> np.ndarray:
        """(buckets, words_per_row) uint32 of the packed rows."""
        rb = T.record_bits(hw_table)
        wpr = -(-rb * self.ways // 32)
        out = np.zeros((self.nb, wpr), dtype=np.uint32)
        for b, ways in enumerate(self.rows):
            if all(r is None for r in ways):
                continue
            row = 0
            for w, r in enumerate(ways):
                if r is not None:
                    row |= T.pack_record(hw_table, fields(r) if fields else r) << (w * rb)
            for i in range(wpr):
                out[b, i] = (row >> (32 * i)) & 0xFFFFFFFF
        return out


def place_tables(g: Geometry, ins: Mapping, acc: Mapping, pos: Mapping, ords: Mapping | None) -> dict[str, np.ndarray]:
    """Packed bucket rows of every hardware table for validated columns; ValueError naming a full table."""
    W = g.ways
    pi = _Placer("instruments", g.instruments, W)
    for i in range(len(ins["code"])):
        code = int(ins["code"][i])
        r = {k: int(ins[k][i]) for k in ("status", "ref_price", "limit_up", "limit_down", "lot", "cage_bps", "fee_q16")}
        r["lot_m"], r["lot_l"] = T.reciprocal(r["lot"], 31)
        pi.put(T.py_instrument_slot(code, g.instruments), {**r, "valid": 1, "code": code}, f"code {code:06d}")
    pa = _Placer("accounts", g.accounts, W)
    aslot: dict[int, int] = {}
    for i in range(len(acc["account"])):
        a = int(acc["account"][i])
        r = {k: int(acc[k][i]) for k in ("status", "cash", "cash_frozen", "max_order_qty", "max_order_value",
                                         "max_orders_per_window", "window_us")}
        r["win_m"], r["win_l"] = T.reciprocal(r["window_us"], 63)
        aslot[a] = pa.put(T.py_account_bucket(a, g.accounts), {**r, "valid": 1, "account": a, "window": 0, "count": 0},
                          f"account {a}")
    pp = _Placer("positions", g.positions, W)
    for i in range(len(pos["account"])):
        a, c = int(pos["account"][i]), int(pos["code"][i])
        pp.put(T.py_position_bucket(a, c, g.positions),
               {"valid": 1, "account": a, "code": c, "available": int(pos["available"][i]),
                "frozen": int(pos["frozen"][i]), "pending": int(pos["pending"][i]), "pday": 1},
               f"position ({a}, {c:06d})")
    po = _Placer("orders", g.orders, W)
    if ords is not None:
        for i in range(len(ords["order_id"])):
            oid, a, c = int(ords["order_id"][i]), int(ords["account"][i]), int(ords["code"][i])
            if a not in aslot:
                raise ValueError(f"orders: order {oid} refers to account {a} not in accounts")
            po.put(T.py_order_bucket(oid, g.orders), {
                "state": T.ORDER_OPEN, "day": 0,  # opened on an earlier day (the gate starts on day 1)
                "order_id": oid, "account": a, "code": c, "side": int(ords["side"][i]), "price": int(ords["price"][i]),
                "open_qty": int(ords["open_qty"][i]), "frozen_cash": int(ords["frozen_cash"][i]),
                "aslot": aslot[a], "pbkt": T.py_position_bucket(a, c, g.positions),
                "ibkt": T.py_instrument_slot(c, g.instruments)}, f"order_id {oid}")
    return {
        "instruments": pi.words("instruments"),
        "acfg": pa.words("acfg"),
        "adyn": pa.words("adyn"),
        "positions": pp.words("positions"),
        "orders": po.words("orders"),
    }


class RtlGate:
    """Same surface as kernels.riskgate_cpu.CpuGate (load / process / snapshot), on the Verilated gate."""

    def __init__(self, account_buckets: int | None = None, position_buckets: int | None = None,
                 order_buckets: int | None = None, ways: int | None = None, instrument_buckets: int | None = None):
        kw = dict(accounts=account_buckets, positions=position_buckets, orders=order_buckets,
                  instruments=instrument_buckets, ways=ways)
        self.geometry = Geometry(**{k: v for k, v in kw.items() if v is not None})
        self.regmap = make_regmap(self.geometry)
        self.dev = open_device(self.geometry)
        self.last_stream = None

    # ------------------------------------------------------------------ load
    def load(self, instruments: Mapping, accounts: Mapping, positions: Mapping, orders: Mapping | None = None) -> None:
        """Place validated columns (as host.riskgate_load.validate_table returns them) and write every table."""
        rows = place_tables(self.geometry, instruments, accounts, positions, orders)
        self._idle()
        self.dev.write(self.regmap.addr("CTRL"), CTRL_CLEAR)
        for t, words in rows.items():
            self.regmap.load_table(self.dev, t.upper(), words)

    def _idle(self) -> None:
        self.dev.write(self.regmap.addr("MODE"), 0)
        self.dev.run_until(self.regmap.addr("STATUS"), STATUS_BUSY, 0, 1000)

    # --------------------------------------------------------------- process
    def process(self, msgs: np.ndarray) -> np.ndarray:
        """Stream a MESSAGE_DTYPE array through the gate; returns a DECISION_DTYPE array."""
        if msgs.dtype != S.MESSAGE_DTYPE:
            raise ValueError(f"messages: dtype must be riskgate_spec.MESSAGE_DTYPE, got {msgs.dtype}")
        out = np.zeros(len(msgs), dtype=S.DECISION_DTYPE)
        if len(msgs) == 0:
            return out
        self.dev.write(self.regmap.addr("MODE"), MODE_RUN)
        try:
            res = self.dev.stream(S.messages_to_words(msgs))
        finally:
            self._idle()
        self.last_stream = res
        w = res.words[:, 0]
        out["accepted"] = (w & 0xFF).astype(np.uint8)
        out["reason"] = ((w >> 8) & 0xFF).astype(np.uint8)
        if self.dev.read(self.regmap.addr("STATUS")) & STATUS_ERR:
            raise RuntimeError("riskdb: internal consistency flag set (CANCEL/FILL read rows other than its order's)")
        return out

    # ------------------------------------------------------------- read back
    def read_rows(self, table: str) -> list[int]:
        """Every bucket row of hardware table ``table`` as integers (the gate must be idle)."""
        rm, dev = self.regmap, self.dev
        _, t = rm.table(table.upper())
        dev.write(rm.addr("RB_SEL"), TABLE_IDS[table])
        out = []
        a_row, a_data = rm.addr("RB_ROW"), rm.addr("RB_DATA")
        for r in range(t.depth):
            dev.write(a_row, r)
            out.append(sum(dev.read(a_data) << (32 * i) for i in range(t.words_per_row)))
        return out

    def records(self, table: str) -> list[list[dict]]:
        """Records per bucket and way of hardware table ``table``."""
        rb, W = T.record_bits(table), self.geometry.ways
        return [[T.unpack_record(table, (row >> (w * rb)) & ((1 << rb) - 1)) for w in range(W)]
                for row in self.read_rows(table)]

    @property
    def day(self) -> int:
        """The gate's day counter (EOD messages since load)."""
        return self.dev.read(self.regmap.addr("DAY"))

    def raw(self) -> dict[str, np.ndarray]:
        """Slot arrays (slot = bucket * ways + way) in the Numba kernel's layout, positions normalised."""
        day = self.day
        acfg = [r for b in self.records("acfg") for r in b]
        adyn = [r for b in self.records("adyn") for r in b]
        pos = [r for b in self.records("positions") for r in b]
        ords = [r for b in self.records("orders") for r in b]
        u64 = lambda v: np.array(v, dtype=np.uint64)  # noqa: E731
        i64 = lambda v: np.array(v, dtype=np.int64) if len(v) else np.zeros((0,), np.int64)  # noqa: E731
        sgn = lambda v: v - (1 << 64) if v >> 63 else v  # noqa: E731
        p_av = [p["available"] + (p["pending"] if p["pday"] != day else 0) for p in pos]
        p_pe = [0 if p["pday"] != day else p["pending"] for p in pos]
        dmask = (1 << T.DAY_BITS) - 1
        return {
            "a_key": u64([r["account"] for r in acfg]), "a_used": np.array([r["valid"] for r in acfg], np.uint8),
            "a_data": np.array([[r["status"], sgn(d["cash"]), sgn(d["cash_frozen"]), r["max_order_qty"],
                                 r["max_order_value"], r["max_orders_per_window"], r["window_us"], d["window"],
                                 d["count"]] for r, d in zip(acfg, adyn)], dtype=np.int64).reshape(len(acfg), 9),
            "p_acct": u64([p["account"] for p in pos]), "p_code": i64([p["code"] for p in pos]),
            "p_used": np.array([p["valid"] for p in pos], np.uint8),
            "p_data": np.array([[a, p["frozen"], e] for a, p, e in zip(p_av, pos, p_pe)], dtype=np.int64).reshape(-1, 3),
            "o_key": u64([o["order_id"] for o in ords]), "o_state": np.array([o["state"] for o in ords], np.uint8),
            "o_day": np.array([o["day"] & dmask for o in ords], dtype=np.int64),
            "o_data": np.array([[o["side"], o["price"], o["open_qty"], sgn(o["frozen_cash"])] for o in ords],
                               dtype=np.int64).reshape(-1, 4),
            "o_account": u64([o["account"] for o in ords]), "o_code": i64([o["code"] for o in ords]),
            "day": np.array([day], dtype=np.int64),
        }

    def snapshot(self) -> dict[str, pd.DataFrame]:
        """Tables as DataFrames sorted by key (columns as riskgate_spec.SNAPSHOT_COLUMNS), positions normalised."""
        r = self.raw()
        ua = np.flatnonzero(r["a_used"])
        acc = pd.DataFrame({"account": r["a_key"][ua]})
        names = S.SNAPSHOT_COLUMNS["accounts"][1:]
        data = r["a_data"][ua]
        for j, c in enumerate(names):
            acc[c] = data[:, j]
        up = np.flatnonzero(r["p_used"])
        pos = pd.DataFrame({"account": r["p_acct"][up], "code": r["p_code"][up], "available": r["p_data"][up, 0],
                            "frozen": r["p_data"][up, 1], "pending": r["p_data"][up, 2]})
        uo = np.flatnonzero(r["o_state"] == T.ORDER_OPEN)
        od = r["o_data"][uo]
        ords = pd.DataFrame({"order_id": r["o_key"][uo], "account": r["o_account"][uo], "code": r["o_code"][uo],
                             "side": od[:, 0], "price": od[:, 1], "open_qty": od[:, 2], "frozen_cash": od[:, 3]})
        return {
            "accounts": acc.sort_values("account", kind="stable").reset_index(drop=True),
            "positions": pos.sort_values(["account", "code"], kind="stable").reset_index(drop=True),
            "orders": ords.sort_values("order_id", kind="stable").reset_index(drop=True),
        }
