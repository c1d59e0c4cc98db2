"""Risk gate: message/decision records, wire format, reason codes and field ranges.

The single source of truth shared by the reference model, the Numba kernel,
the Cython codec, the host API, the RTL (hdl/riskdb) and every test. The
functional rules themselves are /work/shared/domain/riskgate-spec.md; the
decisions taken where that text is silent are in docs/riskgate-companion.md.

Wire record (what the codec produces and the RTL stream port consumes): one
message = ``WIRE_WORDS`` = 12 little-endian 32-bit words = 48 bytes::

    word 0      bits 0..7 type, bits 8..15 side, bits 16..31 reserved (0)
    word 1      code (u32)
    words 2,3   account (u64, low word first)
    words 4,5   order_id (u64)
    words 6,7   price (i64, two's complement)
    words 8,9   qty (i64, two's complement)
    words 10,11 ts_us (u64)

``MESSAGE_DTYPE`` has exactly this layout, so ``arr.view("<u4")`` of a
message array *is* the word stream (on any host, the dtype is explicitly
little-endian).

Decisions every backend implements (details: docs/riskgate-companion.md):
type byte not in 1..4, or ``ts_us >= 2**63`` -> MALFORMED, nothing changes;
NEW with price or qty outside [1, 2**31) -> MALFORMED (check 1); every NEW
passing check 1 marks its id used today (an entry already live gets today's
day number), a MALFORMED one does not; throttle state starts (window 0,
count 0) and the count saturates at 2**16; a buy creates its zero position
row on accept; TABLE_FULL after check 14.
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np


class Reason(IntEnum):
    """Decision reason codes, numbered in the spec's check order (TABLE_FULL appended)."""

    OK = 0
    MALFORMED = 1
    UNKNOWN_ACCOUNT = 2
    ACCOUNT_BLOCKED = 3
    THROTTLED = 4
    UNKNOWN_INSTRUMENT = 5
    INSTRUMENT_HALTED = 6
    DUPLICATE_ORDER_ID = 7
    LOT_SIZE = 8
    PRICE_LIMIT = 9
    PRICE_CAGE = 10
    MAX_QTY = 11
    MAX_VALUE = 12
    INSUFFICIENT_CASH = 13
    INSUFFICIENT_POSITION = 14
    UNKNOWN_ORDER = 15
    TABLE_FULL = 16


# Plain-int aliases (OK, MALFORMED, ..., TABLE_FULL) so Numba kernels (which cannot
# read IntEnum members) and the RTL generator use the very same numbers; derived
# from the enum so the numbering is written once.
globals().update({r.name: int(r) for r in Reason})

REASON_NAMES: tuple[str, ...] = tuple(r.name for r in Reason)


class MsgType(IntEnum):
    """Message type byte; any other value is an unparseable message (MALFORMED)."""

    NEW = 1
    CANCEL = 2
    FILL = 3
    EOD = 4


MSG_NEW = 1
MSG_CANCEL = 2
MSG_FILL = 3
MSG_EOD = 4
# Type byte the codec writes for a row it cannot parse (unknown type string,
# missing or out-of-range field): decided MALFORMED, changes nothing.
MSG_INVALID = 0

MSG_TYPE_NAMES: dict[str, int] = {t.name: int(t) for t in MsgType}


class Side(IntEnum):
    """Order side byte."""

    BUY = 1
    SELL = 2


SIDE_BUY = 1
SIDE_SELL = 2

# Account status values.
ACCOUNT_ACTIVE = 0
ACCOUNT_BLOCKED_STATUS = 1
ACCOUNT_SELL_ONLY = 2
# Instrument status values.
INSTRUMENT_TRADING = 0
INSTRUMENT_HALTED_STATUS = 1

MESSAGE_FIELDS: tuple[str, ...] = ("type", "side", "code", "account", "order_id", "price", "qty", "ts_us")

MESSAGE_DTYPE = np.dtype(
    {
        "names": list(MESSAGE_FIELDS),
        "formats": ["u1", "u1", "<u4", "<u8", "<u8", "<i8", "<i8", "<u8"],
        "offsets": [0, 1, 4, 8, 16, 24, 32, 40],
        "itemsize": 48,
    }
)
WIRE_BYTES = 48
WIRE_WORDS = 12

DECISION_DTYPE = np.dtype([("accepted", "u1"), ("reason", "u1")])

# Fields each message type reads (others are ignored, may be missing/NaN).
MESSAGE_FIELDS_USED: dict[str, tuple[str, ...]] = {
    "NEW": ("ts_us", "order_id", "account", "code", "side", "price", "qty"),
    "CANCEL": ("ts_us", "order_id"),
    "FILL": ("ts_us", "order_id", "qty"),
    "EOD": ("ts_us",),
}

# Half-open ranges [lo, hi) of every message field as the wire carries it.
MESSAGE_RANGES: dict[str, tuple[int, int]] = {
    "side": (0, 2**8),
    "code": (0, 2**32),
    "account": (0, 2**64),
    "order_id": (0, 2**64),
    "price": (-(2**63), 2**63),
    "qty": (-(2**63), 2**63),
    "ts_us": (0, 2**63),
}

# Hardware field widths: NEW price and qty must lie in [1, 2**31) (check 1).
PRICE_MAX = 2**31 - 1
QTY_MAX = 2**31 - 1

# Half-open ranges [lo, hi) of every loadable table field (the hardware's widths).
# Loading a value outside raises ValueError naming table and field.
U31 = 2**31
I62 = 2**62
TABLE_RANGES: dict[str, dict[str, tuple[int, int]]] = {
    "instruments": {
        "code": (0, 1_000_000),  # 6-digit exchange code, 000001 .. 999999
        "status": (0, 2),
        "ref_price": (1, U31),
        "limit_up": (1, U31),
        "limit_down": (1, U31),
        "lot": (1, U31),
        "cage_bps": (0, 10_000),
        "fee_q16": (0, 65_536),
    },
    "accounts": {
        "account": (0, 2**64),
        "status": (0, 3),
        "cash": (0, I62),
        "cash_frozen": (0, I62),
        "max_order_qty": (0, U31),
        "max_order_value": (0, I62),
        "max_orders_per_window": (0, 2**16),
        "window_us": (1, 2**63),
    },
    "positions": {
        "account": (0, 2**64),
        "code": (0, 1_000_000),
        "available": (0, U31),
        "frozen": (0, U31),
        "pending": (0, U31),
    },
    "orders": {
        "order_id": (0, 2**64),
        "account": (0, 2**64),
        "code": (0, 1_000_000),
        "side": (1, 3),
        "price": (1, U31),
        "open_qty": (1, U31),
        "frozen_cash": (0, I62),
    },
}

# Columns a loaded table must carry; the others in TABLE_RANGES default to 0.
TABLE_REQUIRED: dict[str, tuple[str, ...]] = {
    "instruments": ("code", "status", "ref_price", "limit_up", "limit_down", "lot", "cage_bps", "fee_q16"),
    "accounts": ("account", "status", "cash", "max_order_qty", "max_order_value", "max_orders_per_window", "window_us"),
    "positions": ("account", "code", "available"),
    "orders": ("order_id", "account", "code", "side", "price", "open_qty"),
}

# Column order of the snapshot DataFrames (host API); throttle state is part of
# the account record because hardware and kernel must agree on it exactly.
SNAPSHOT_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": (
        "account", "status", "cash", "cash_frozen", "max_order_qty", "max_order_value",
        "max_orders_per_window", "window_us", "window", "count",
    ),
    "positions": ("account", "code", "available", "frozen", "pending"),
    "orders": ("order_id", "account", "code", "side", "price", "open_qty", "frozen_cash"),
}


def reason_name(code: int) -> str:
    """Name of a reason code (ValueError for a code outside the enum)."""
    try:
        return Reason(int(code)).name
    except ValueError:
        raise ValueError(f"reason: {code} is not a reason code (0..{len(Reason) - 1})") from None


def empty_messages(n: int) -> np.ndarray:
    """A zeroed message array of length ``n`` (reserved bytes zero)."""
    if n < 0:
        raise ValueError(f"n: must be >= 0, got {n}")
    return np.zeros(n, dtype=MESSAGE_DTYPE)


def messages_to_words(msgs: np.ndarray) -> np.ndarray:
    """The wire word stream (uint32, shape (n, 12)) of a MESSAGE_DTYPE array."""
    if msgs.dtype != MESSAGE_DTYPE:
        raise ValueError(f"messages: dtype must be MESSAGE_DTYPE, got {msgs.dtype}")
    return np.ascontiguousarray(msgs).view("<u4").reshape(-1, WIRE_WORDS)


def words_to_messages(words: np.ndarray) -> np.ndarray:
    """Inverse of :func:`messages_to_words` (copy)."""
    w = np.ascontiguousarray(np.asarray(words, dtype="<u4"))
    if w.size % WIRE_WORDS:
        raise ValueError(f"words: length must be a multiple of {WIRE_WORDS}, got {w.size}")
    return w.reshape(-1).view(MESSAGE_DTYPE).copy()
