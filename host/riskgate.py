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

# CPU default geometry. The RTL's W = 4 ways (kernels/riskgate_tables.py) is what
# an FPGA affords; in DRAM the CPU takes 16 ways by default, because a W-way
# table overflows a bucket long before it fills (Poisson tails): for under 1%
# overflow risk 100k accounts need 8M slots at W = 4 but 512k at W = 16 (auto
# sizing stops at 16 slots per row, kernels/riskgate_cpu.MAX_SLOTS_PER_ROW, and
# doubles on an actual overflow). Pass ways=/..._buckets= (e.g. the RTL's
# geometry) to reproduce another table layout exactly.
CPU_WAYS = 16
MIN_ACCOUNT_BUCKETS = 64
MIN_POSITION_BUCKETS = 256
DEFAULT_ORDER_ROWS = 100_000  # live order ids (open + used today) sized for when not told
# Tables sized automatically (no ..._buckets= given) may take at most this much memory: the default geometry
# for 100k accounts, 300k positions and 1M order rows takes 0.8 GiB, the RTL's 4 ways 0.7 GiB at 100k order rows.
MAX_AUTO_TABLE_BYTES = 8 << 30
BUCKET_FIELDS = ("account_buckets", "position_buckets", "order_buckets")


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
                 position_buckets: int | None = None, order_buckets: int | None = None, ways: int | None = None,
                 order_rows: int = DEFAULT_ORDER_ROWS):
        self.backend = resolve_backend(backend)
        if order_rows < 0:
            raise ValueError(f"order_rows: must be >= 0, got {order_rows}")
        self._order_rows = int(order_rows)
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
        auto = self._auto_sizes(len(acc["account"]), len(pos["account"]), len(ords["order_id"]))
        for _ in range(12):
            self._check_budget(auto)
            impl = self._make_backend(auto)
            try:
                impl.load(ins, acc, pos, ords)
                break
            except ValueError as exc:
                # A set-associative table overflows a bucket long before it is full;
                # sizes we chose ourselves double and retry, sizes the caller gave are final.
                table = getattr(exc, "table", None)
                key = {"accounts": "account_buckets", "positions": "position_buckets",
                       "orders": "order_buckets"}.get(table)
                if key is None or self._sizes[key] is not None:
                    raise
                auto[key] *= 2
        self._impl = impl
        self._single = None
        return self

    def load_state(self, path: str | Path) -> "RiskGate":
        """Load from a directory of ``<table>.parquet`` files or a DuckDB file."""
        t = L.read_state(path)
        return self.load(t["instruments"], t["accounts"], t.get("positions"), t.get("orders"))

    load_parquet = load_state
    load_duckdb = load_state

    def _auto_sizes(self, n_acc: int, n_pos: int, n_ord: int) -> dict[str, int]:
        from kernels.riskgate_cpu import buckets_for

        z = self._sizes
        ways = z["ways"] or CPU_WAYS
        # buys add position rows at run time: room for two more per account
        return {
            "account_buckets": z["account_buckets"] or buckets_for(n_acc, ways, MIN_ACCOUNT_BUCKETS),
            "position_buckets": z["position_buckets"] or buckets_for(n_pos + 2 * n_acc, ways, MIN_POSITION_BUCKETS),
            "order_buckets": z["order_buckets"] or buckets_for(max(n_ord, self._order_rows), ways),
            "ways": ways,
        }

    def _check_budget(self, sizes: dict[str, int]) -> None:
        """Refuse sizes chosen here whose tables would exceed ``MAX_AUTO_TABLE_BYTES`` (a clear error instead of
        an allocation the machine cannot make); sizes the caller gave are taken as they are."""
        from kernels.riskgate_cpu import tables_bytes

        if self.backend != "cpu" or all(self._sizes[k] is not None for k in BUCKET_FIELDS):
            return
        need = tables_bytes(sizes["account_buckets"], sizes["position_buckets"], sizes["order_buckets"], sizes["ways"])
        if need > MAX_AUTO_TABLE_BYTES:
            auto = [k for k in BUCKET_FIELDS if self._sizes[k] is None]
            raise ValueError(
                f"ways: {sizes['ways']} ways need {need / 2**30:.1f} GiB of tables for these rows "
                f"({', '.join(f'{k}={sizes[k]}' for k in auto)}), over the {MAX_AUTO_TABLE_BYTES / 2**30:g} GiB "
                f"allowed for sizes chosen automatically; use more ways ({CPU_WAYS} is the CPU default) or give "
                f"{' / '.join(auto)} explicitly")

    def _make_backend(self, sizes: dict[str, int]):
        if self.backend == "rtl":
            from host import riskgate_rtl

            return riskgate_rtl.RtlGate(**{k: v for k, v in self._sizes.items() if v is not None})
        from kernels.riskgate_cpu import CpuGate

        return CpuGate(**sizes)

    def _gate(self):
        if self._impl is None:
            raise RuntimeError("risk gate: no tables loaded; call load() or load_state() first")
        return self._impl

    # --------------------------------------------------------------- process
    def process(self, messages: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Decisions, one row per message in order: ``accepted`` (bool) and ``reason`` (code name)."""
        out = decisions_frame(self.process_array(messages_from_frame(messages)))
        if isinstance(messages, pd.DataFrame):
            out.index = messages.index  # decisions line up with the caller's rows
        return out

    def process_array(self, msgs: np.ndarray) -> np.ndarray:
        """Decide a MESSAGE_DTYPE array; returns a DECISION_DTYPE array (the batch fast path)."""
        if not isinstance(msgs, np.ndarray) or msgs.dtype != S.MESSAGE_DTYPE:
            raise ValueError("messages: expected a numpy array of riskgate_spec.MESSAGE_DTYPE")
        return self._gate().process(msgs)

    def check(self, type: str | int, *, order_id: int = 0, account: int = 0, code: int = 0, side: int = 0,
              price: int = 0, qty: int = 0, ts_us: int = 0) -> tuple[bool, str]:
        """Decide one message (the single-message path); returns ``(accepted, reason name)``."""
        gate = self._gate()
        if self._single is None:
            if self.backend == "cpu":
                from host.riskgate_codec import FastPath

                self._single = FastPath(gate.fast_path_arrays())  # C call into the kernel, no Numba dispatch
            else:
                from host.riskgate_codec import SingleMessage

                self._single = SingleMessage()
        t = S.MSG_TYPE_NAMES.get(type, 0) if isinstance(type, str) else int(type)
        if self.backend == "cpu":
            try:
                r = self._single.check(t, side, code, account, order_id, price, qty, ts_us)
            except OverflowError:  # a field beyond its wire width: MALFORMED, nothing changes
                r = self._single.check(0, 0, 0, 0, 0, 0, 0, 0)
            return r == S.OK, S.REASON_NAMES[r]
        try:
            self._single.set(t, side, code, account, order_id, price, qty, ts_us)
        except OverflowError:
            self._single.set(0, 0, 0, 0, 0, 0, 0, 0)
        d = gate.process(self._single.array)
        return bool(d["accepted"][0]), S.REASON_NAMES[d["reason"][0]]

    # -------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, pd.DataFrame]:
        """Tables as DataFrames sorted by key: accounts (with throttle state), positions, open orders."""
        return self._gate().snapshot()
