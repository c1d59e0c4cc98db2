"""Risk gate hardware database: hash functions, ways and bucket defaults, defined once.

The Numba kernel (kernels/riskgate_numba.py), the RTL (hdl/riskdb) and the RTL
host driver (host/riskgate_rtl.py) all place records with these functions, so a
full bucket is a full bucket everywhere and TABLE_FULL decisions agree.

Geometry: accounts, positions and orders are W-way set-associative tables of
B buckets (B a power of two); ``bucket = hash(key) & (B - 1)``; a lookup
compares the W ways of one bucket in parallel; an insert takes the lowest free
way.  Instruments are direct-addressed by the low bits of the code
(``code & (B - 1)``) into a W-way bucket, the code stored and compared: the
exchange boards (60xxxx, 688xxx, 00xxxx, 30xxxx) reuse low digits, and the W
ways absorb that overlap.  The Numba kernel may use a dense index for
instruments instead (it never rejects on instruments); the RTL host driver
raises ``ValueError`` naming ``instruments`` when a bucket overflows.

Hash (hardware-cheap: one xor-fold, one 32x32 constant multiply, one xor)::

    fold(k)   = (k ^ (k >> 32)) mod 2**32             # 64 -> 32 bits
    mix(x)    = h ^ (h >> 16), h = x * 0x9E3779B1 mod 2**32
    account_bucket(a, B)     = mix(fold(a)) & (B - 1)
    order_bucket(id, B)      = mix(fold(id)) & (B - 1)
    position_bucket(a, c, B) = mix(fold(a) ^ (c * 0x85EBCA6B mod 2**32)) & (B - 1)

The second constant spreads the code before it meets the account, so dense
account ids and dense codes do not cancel each other (``a ^ c`` alone would
put (1, 600001) and (0, 600000) in the same bucket).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "WAYS", "GOLDEN", "CODE_MUL", "MASK32",
    "DEFAULT_BUCKETS",
    "fold64", "mix32", "account_bucket", "order_bucket", "position_bucket", "instrument_slot",
    "py_account_bucket", "py_order_bucket", "py_position_bucket", "py_instrument_slot",
    "check_geometry", "buckets_for",
]

WAYS = 4  # default associativity of every table
GOLDEN = 0x9E3779B1  # 2**32 / golden ratio, odd: Fibonacci hashing
CODE_MUL = 0x85EBCA6B  # murmur3 fmix constant, odd
MASK32 = 0xFFFFFFFF

# Bucket counts of the RTL build's defaults (sized for an ECP5-85F; see
# docs/riskgate-hardware.md); the Numba kernel sizes its own tables.
DEFAULT_BUCKETS: dict[str, int] = {
    "accounts": 256,
    "positions": 512,
    "orders": 512,
    "instruments": 256,
}


@njit(cache=True, inline="always")
def fold64(k):
    """Xor-fold a 64-bit key to 32 bits (as uint64)."""
    k = np.uint64(k)
    return (k ^ (k >> np.uint64(32))) & np.uint64(MASK32)


@njit(cache=True, inline="always")
def mix32(x):
    """Fibonacci multiply of a 32-bit value, then xor of the high half into the low half."""
    h = (np.uint64(x) * np.uint64(GOLDEN)) & np.uint64(MASK32)
    return h ^ (h >> np.uint64(16))


@njit(cache=True)
def account_bucket(account, nb):
    """Bucket of a 64-bit account id in a table of ``nb`` buckets (power of two)."""
    return np.int64(mix32(fold64(account)) & np.uint64(nb - 1))


@njit(cache=True)
def order_bucket(order_id, nb):
    """Bucket of a 64-bit order id in a table of ``nb`` buckets (power of two)."""
    return np.int64(mix32(fold64(order_id)) & np.uint64(nb - 1))


@njit(cache=True)
def position_bucket(account, code, nb):
    """Bucket of position key ``(account, code)`` in a table of ``nb`` buckets (power of two)."""
    c = (np.uint64(code) * np.uint64(CODE_MUL)) & np.uint64(MASK32)
    return np.int64(mix32(fold64(account) ^ c) & np.uint64(nb - 1))


@njit(cache=True)
def instrument_slot(code, nb):
    """Bucket of an instrument: direct addressing by the code's low bits."""
    return np.int64(np.uint64(code) & np.uint64(nb - 1))


# ---- plain-Python twins (host driver, tests, RTL generator): same numbers ----

def _py_mix(x: int) -> int:
    h = (x * GOLDEN) & MASK32
    return h ^ (h >> 16)


def _py_fold(k: int) -> int:
    k &= (1 << 64) - 1
    return (k ^ (k >> 32)) & MASK32


def py_account_bucket(account: int, nb: int) -> int:
    """Python twin of :func:`account_bucket`."""
    return _py_mix(_py_fold(int(account))) & (nb - 1)


def py_order_bucket(order_id: int, nb: int) -> int:
    """Python twin of :func:`order_bucket`."""
    return _py_mix(_py_fold(int(order_id))) & (nb - 1)


def py_position_bucket(account: int, code: int, nb: int) -> int:
    """Python twin of :func:`position_bucket`."""
    return _py_mix(_py_fold(int(account)) ^ ((int(code) * CODE_MUL) & MASK32)) & (nb - 1)


def py_instrument_slot(code: int, nb: int) -> int:
    """Python twin of :func:`instrument_slot`."""
    return int(code) & (nb - 1)


def check_geometry(name: str, buckets: int, ways: int) -> None:
    """ValueError unless ``buckets`` is a power of two >= 1 and ``ways`` in 1..16."""
    if not isinstance(buckets, (int, np.integer)) or buckets < 1 or buckets & (buckets - 1):
        raise ValueError(f"{name}: buckets must be a power of two >= 1, got {buckets}")
    if not isinstance(ways, (int, np.integer)) or not 1 <= ways <= 16:
        raise ValueError(f"{name}: ways must be in 1..16, got {ways}")


def buckets_for(rows: int, ways: int = WAYS, minimum: int = 1) -> int:
    """Smallest power-of-two bucket count keeping ``rows`` at <= 50% of the slots (at least ``minimum``)."""
    need = max(int(minimum), -(-2 * int(rows) // int(ways)), 1)
    return 1 << (need - 1).bit_length()


# ---- hardware record layouts (one memory row = one bucket = W way records) ----
# (field, bits), lowest bits first. Widths are the hardware's (kernels/riskgate_spec.py
# TABLE_RANGES bounds every loadable value); slot/bucket references are 16 bits, so a
# table holds at most 65536 slots. Fields marked "derived" are computed by the host
# driver from the loaded row (reciprocals for exact division, references to rows).
SLOT_BITS = 16
DAY_BITS = 32
ORDER_FREE, ORDER_OPEN, ORDER_USED = 0, 1, 2  # order way state (USED = closed or rejected)

LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    # account configuration: static while the gate runs (host writes it while idle)
    "acfg": (
        ("valid", 1), ("account", 64), ("status", 2), ("max_order_qty", 31), ("max_order_value", 62),
        ("max_orders_per_window", 16), ("window_us", 63),
        ("win_m", 64), ("win_l", 6),  # derived: ts // window_us == (ts * win_m) >> (63 + win_l)
    ),
    # account balances and throttle state: read-modify-written by the pipeline
    "adyn": (("cash", 64), ("cash_frozen", 64), ("window", 63), ("count", 17)),
    "positions": (
        ("valid", 1), ("account", 64), ("code", 20), ("available", 32), ("frozen", 32), ("pending", 32),
        ("pday", DAY_BITS),  # day `pending` belongs to: EOD's available += pending is applied lazily
    ),
    "orders": (
        ("state", 2), ("day", DAY_BITS), ("order_id", 64), ("account", 64), ("code", 20), ("side", 2),
        ("price", 31), ("open_qty", 31), ("frozen_cash", 64),
        ("aslot", SLOT_BITS), ("pbkt", SLOT_BITS), ("ibkt", SLOT_BITS),  # derived references
    ),
    "instruments": (
        ("valid", 1), ("code", 20), ("status", 1), ("ref_price", 31), ("limit_up", 31), ("limit_down", 31),
        ("lot", 31), ("cage_bps", 14), ("fee_q16", 16),
        ("lot_m", 32), ("lot_l", 5),  # derived: qty % lot == 0  <=>  (qty * lot_m) mod 2**(31 + lot_l) < lot_m
    ),
}


def record_bits(table: str) -> int:
    """Bits of one way record of hardware table ``table``."""
    return sum(b for _, b in LAYOUTS[table])


def field_offsets(table: str) -> dict[str, tuple[int, int]]:
    """``{field: (lsb, bits)}`` of a way record of ``table``."""
    out, pos = {}, 0
    for name, bits in LAYOUTS[table]:
        out[name] = (pos, bits)
        pos += bits
    return out


def pack_record(table: str, values: dict) -> int:
    """One way record as an integer (missing fields 0); ValueError if a value does not fit its field."""
    word = 0
    for name, (lsb, bits) in field_offsets(table).items():
        v = int(values.get(name, 0))
        if v < 0 or v >> bits:
            raise ValueError(f"{table}: field {name}={v} does not fit {bits} unsigned bits")
        word |= v << lsb
    return word


def unpack_record(table: str, word: int) -> dict[str, int]:
    """Inverse of :func:`pack_record`."""
    return {name: (int(word) >> lsb) & ((1 << bits) - 1) for name, (lsb, bits) in field_offsets(table).items()}


def reciprocal(d: int, n: int) -> tuple[int, int]:
    """Magic ``(m, l)`` with ``x // d == (x * m) >> (n + l)`` exactly for all ``0 <= x < 2**n`` (Granlund-Montgomery).

    ``l = ceil(log2 d)``, ``m = ceil(2**(n + l) / d) < 2**(n + 1)``. For n = 31 the
    low ``n + l`` bits of the product are below ``m`` exactly when ``d`` divides ``x``.
    """
    if d < 1 or d >= 1 << n:
        raise ValueError(f"divisor must be in 1..2**{n}-1, got {d}")
    l = (d - 1).bit_length()
    return -(-(1 << (n + l)) // d), l
