"""Pre-trade risk gate host API: ``RiskGate(backend="cpu"|"rtl"|"auto")``.

``load`` takes pandas DataFrames (columns as the spec), ``load_state`` a
directory of Parquet tables or a DuckDB file; ``process`` decides a
messages DataFrame (or a MESSAGE_DTYPE array) in order; ``snapshot`` reads
every table back. Backend "cpu" is the Numba kernel; "rtl" the Verilated
hdl/riskdb gate (host/riskgate_rtl.py, imported only when asked for);
"auto" picks "rtl" only when ``FORELAND_BACKEND=rtl`` is set and the RTL
backend imports, otherwise "cpu" (a CPU fallback must never surprise a
trader with a compile step or a missing toolchain).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from host import riskgate_load as L
from host.riskgate_messages import decisions_frame, messages_from_frame
from kernels import riskgate_spec as S

BACKENDS = ("cpu", "rtl", "auto")

# CPU table sizes: at least these many buckets, grown to keep loads <= 50%.
MIN_ACCOUNT_BUCKETS = 1024
MIN_POSITION_BUCKETS = 4096
DEFAULT_ORDER_BUCKETS = 1 << 16  # x 4 ways = 262,144 open orders + ids used today


def resolve_backend(backend: str) -> str:
    """The concrete backend ("cpu" or "rtl") that ``backend`` stands for."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend != "auto":
        return backend
    if os.environ.get("FORELAND_BACKEND", "").lower() == "rtl":
        try:
            import host.riskgate_rtl  # noqa: F401
        except ImportError:
            return "cpu"
        return "rtl"
    return "cpu"


class RiskGate:
    """The pre-trade risk gate: load tables, decide messages, snapshot the tables."""

    def __init__(self, backend: str = "auto", *, account_buckets: int | None = None,
                 position_buckets: int | None = None, order_buckets: int | None = None, ways: int | None = None):
        self.backend = resolve_backend(backend)
        self._sizes = dict(account_buckets=account_buckets, position_buckets=position_buckets,
                           order_buckets=order_buckets, ways=ways)
        self._impl = None
        self._single = None

    # ------------------------------------------------------------------ load
    def load(self, instruments: pd.DataFrame, accounts: pd.DataFrame, positions: pd.DataFrame | None = None,
             orders: pd.DataFrame | None = None) -> "RiskGate":
        """Replace the gate's tables (optional ``orders``: open orders carried over from an earlier day)."""
        ins = L.validate_table(instruments, "instruments")
        acc = L.validate_table(accounts, "accounts")
        pos = L.validate_table(positions, "positions")
        ords = L.validate_table(orders, "orders")
        L.check_consistency(acc, pos, ords)
        unknown = np.setdiff1d(pos["account"], acc["account"])
        if len(unknown):
            raise ValueError(f"positions.account: account {int(unknown[0])} is not in accounts")
        bad_codes = np.setdiff1d(ords["code"], ins["code"])
        if len(bad_codes):
            raise ValueError(f"orders.code: code {int(bad_codes[0]):06d} is not in instruments")
        self._impl = self._make_backend(len(acc["account"]), len(pos["account"]), len(ords["order_id"]))
        self._impl.load(ins, acc, pos, ords)
        self._single = None
        return self

    def load_state(self, path: str | Path) -> "RiskGate":
        """Load from a directory of ``<table>.parquet`` files or a DuckDB file."""
        t = L.read_state(path)
        return self.load(t["instruments"], t["accounts"], t.get("positions"), t.get("orders"))

    load_parquet = load_state
    load_duckdb = load_state

    def _make_backend(self, n_acc: int, n_pos: int, n_ord: int):
        z = self._sizes
        if self.backend == "rtl":
            from host import riskgate_rtl

            return riskgate_rtl.RtlGate(**{k: v for k, v in z.items() if v is not None})
        from kernels import riskgate_tables as T
        from kernels.riskgate_cpu import CpuGate, buckets_for

        ways = z["ways"] or T.WAYS
        return CpuGate(
            account_buckets=z["account_buckets"] or buckets_for(n_acc, ways, MIN_ACCOUNT_BUCKETS),
            position_buckets=z["position_buckets"] or buckets_for(max(n_pos, 4 * n_acc), ways, MIN_POSITION_BUCKETS),
            order_buckets=z["order_buckets"] or buckets_for(n_ord, ways, DEFAULT_ORDER_BUCKETS),
            ways=ways,
        )

    def _gate(self):
        if self._impl is None:
            raise RuntimeError("risk gate: no tables loaded; call load() or load_state() first")
        return self._impl

    # --------------------------------------------------------------- process
    def process(self, messages: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Decisions, one row per message in order: ``accepted`` (bool) and ``reason`` (code name)."""
        return decisions_frame(self.process_array(messages_from_frame(messages)))

    def process_array(self, msgs: np.ndarray) -> np.ndarray:
        """Decide a MESSAGE_DTYPE array; returns a DECISION_DTYPE array (the batch fast path)."""
        if not isinstance(msgs, np.ndarray) or msgs.dtype != S.MESSAGE_DTYPE:
            raise ValueError("messages: expected a numpy array of riskgate_spec.MESSAGE_DTYPE")
        return self._gate().process(msgs)

    def check(self, type: str | int, *, order_id: int = 0, account: int = 0, code: int = 0, side: int = 0,
              price: int = 0, qty: int = 0, ts_us: int = 0) -> tuple[bool, str]:
        """Decide one message (the single-message path); returns ``(accepted, reason name)``."""
        if self._single is None:
            from host.riskgate_codec import SingleMessage

            self._single = SingleMessage()
        t = S.MSG_TYPE_NAMES.get(type, 0) if isinstance(type, str) else int(type)
        try:
            self._single.set(t, side, code, account, order_id, price, qty, ts_us)
        except OverflowError:
            self._single.set(0, 0, 0, 0, 0, 0, 0, 0)  # a field beyond its wire width: MALFORMED
        d = self._gate().process(self._single.array)
        return bool(d["accepted"][0]), S.REASON_NAMES[d["reason"][0]]

    # -------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, pd.DataFrame]:
        """Tables as DataFrames sorted by key: accounts (with throttle state), positions, open orders."""
        return self._gate().snapshot()
