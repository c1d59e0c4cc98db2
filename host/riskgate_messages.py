"""Risk gate messages: DataFrame <-> MESSAGE_DTYPE arrays (the codec's Python side).

Never raises on a bad row: an unknown type, or a used field that is missing
(NaN/None), not an integer, or outside its wire width, makes that row a
type-0 record, decided MALFORMED. Only a malformed *table* (not a
DataFrame, no ``type`` column) raises ValueError.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from kernels import riskgate_spec as S

CODEC_FIELDS = ("side", "code", "account", "order_id", "price", "qty", "ts_us")
_TYPE_BY_CODE = {v: k for k, v in S.MSG_TYPE_NAMES.items()}


def _codec():
    from host import riskgate_codec  # compiled by setup.py

    return riskgate_codec


def _type_bytes(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_integer_dtype(s.dtype) and not s.isna().any():
        v = s.to_numpy()
        ok = (v >= 1) & (v <= 4)
        return np.where(ok, v, 0).astype(np.uint8)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    # exact names only; anything else (other strings, numbers in a text column, NaN) -> 0
    mapped = s.map(S.MSG_TYPE_NAMES)
    return mapped.fillna(0).to_numpy(dtype=np.uint8)


def _field(s: pd.Series | None, n: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """(raw 64-bit pattern as uint64, bad mask) of one message column."""
    if s is None:
        return np.zeros(n, dtype=np.uint64), np.ones(n, dtype=np.uint8)
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        s = s.astype("Int64") if s.isna().any() else s.astype(np.int64)
        dt = s.dtype
    if pd.api.types.is_integer_dtype(dt):
        na = s.isna().to_numpy()
        if pd.api.types.is_unsigned_integer_dtype(dt):
            v = s.to_numpy(dtype=np.uint64, na_value=0)
            bad = na | (v >= np.uint64(hi) if hi < 2**64 else na)
            if lo > 0:
                bad |= v < np.uint64(lo)
            return v, bad.astype(np.uint8)
        v = s.to_numpy(dtype=np.int64, na_value=0)
        bad = na | (v < lo)
        if hi < 2**63:
            bad |= v >= hi
        return v.view(np.uint64), bad.astype(np.uint8)
    if not pd.api.types.is_float_dtype(dt):
        # object columns: exact Python ints where possible, anything else is bad
        vals = s.tolist()
        raw = np.zeros(n, dtype=np.uint64)
        bad = np.zeros(n, dtype=np.uint8)
        for i, x in enumerate(vals):
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer, float, np.floating)):
                bad[i] = 1
                continue
            if isinstance(x, (float, np.floating)):
                if not np.isfinite(x) or x != int(x):
                    bad[i] = 1
                    continue
            x = int(x)
            if not lo <= x < hi:
                bad[i] = 1
                continue
            raw[i] = x & (2**64 - 1)
        return raw, bad
    f = s.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(f) | (f != np.floor(f)) | (f < lo) | (f >= min(hi, 2**63))
    ok = ~bad
    raw = np.zeros(n, dtype=np.uint64)
    raw[ok] = f[ok].astype(np.int64).view(np.uint64)
    return raw, bad.astype(np.uint8)


def messages_from_frame(df: pd.DataFrame) -> np.ndarray:
    """MESSAGE_DTYPE array of a messages DataFrame (columns type, ts_us, order_id, account, code, side, price, qty)."""
    if isinstance(df, np.ndarray) and df.dtype == S.MESSAGE_DTYPE:
        return df
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"messages: expected a pandas DataFrame or a MESSAGE_DTYPE array, got {type(df).__name__}")
    if "type" not in df.columns:
        raise ValueError("messages: missing column 'type' (one of NEW, CANCEL, FILL, EOD)")
    n = len(df)
    types = _type_bytes(df["type"])
    values = np.zeros((7, n), dtype=np.uint64)
    bad = np.zeros((7, n), dtype=np.uint8)
    for j, f in enumerate(CODEC_FIELDS):
        lo, hi = S.MESSAGE_RANGES[f]
        values[j], bad[j] = _field(df[f] if f in df.columns else None, n, lo, hi)
    return _codec().assemble(np.ascontiguousarray(types), values, bad)


def frame_from_messages(msgs: np.ndarray) -> pd.DataFrame:
    """Messages DataFrame of a MESSAGE_DTYPE array (type as strings; type byte 0 or unknown -> 'INVALID')."""
    if msgs.dtype != S.MESSAGE_DTYPE:
        raise ValueError(f"messages: dtype must be MESSAGE_DTYPE, got {msgs.dtype}")
    names = np.array(["INVALID", "NEW", "CANCEL", "FILL", "EOD"], dtype=object)
    t = msgs["type"].astype(np.int64)
    t = np.where(t <= 4, t, 0)
    return pd.DataFrame({
        "type": names[t], "ts_us": msgs["ts_us"].astype(np.int64), "order_id": msgs["order_id"].copy(),
        "account": msgs["account"].copy(), "code": msgs["code"].astype(np.int64),
        "side": msgs["side"].astype(np.int64), "price": msgs["price"].copy(), "qty": msgs["qty"].copy(),
    })


def decisions_frame(dec: np.ndarray, msgs: np.ndarray | None = None) -> pd.DataFrame:
    """Decisions DataFrame (accepted bool, reason name) from a DECISION_DTYPE array."""
    names = np.array(S.REASON_NAMES, dtype=object)
    out = pd.DataFrame({"accepted": dec["accepted"].astype(bool),
                        "reason": pd.Categorical(names[dec["reason"]], categories=list(S.REASON_NAMES))})
    return out
