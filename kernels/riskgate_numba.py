"""Risk gate Numba kernel: the spec over batches of messages, tables stored as the RTL stores them.

Hardware-faithful storage (see docs/riskgate-companion.md): accounts,
positions and orders live in W-way set-associative hash tables whose bucket
function, ways and placement rule (lowest free way) come from
``kernels/riskgate_tables.py``, so a full bucket gives the same TABLE_FULL
decision here as in hdl/riskdb.

Memory layout, chosen for cache lines: each table has a key matrix whose
rows are (key, tag) pairs (orders: one packed entry), and an int64 record
matrix; positions and orders store the first ways of every bucket densely,
one line a bucket, and the rest apart ("primary ways dense" below), tables
come from one pre-faulted huge-page mapping (kernels/riskgate_arena.py).
Speed comes from a software pipeline over the
batch (probes and prefetches a few messages ahead, reused by the decision)
and branch-free bucket probes; see "software pipeline" below. Tags: accounts 1 =
used; positions store ``code + 1`` (0 = empty); orders one uint64 entry
``fingerprint << 40 | day << 2 | state`` (the id itself in the order record).
Orders refer to their account, position and instrument by row (the
hardware by slot), so CANCEL and FILL need one lookup only. EOD is lazy for
positions: each row keeps the day of its ``pending`` and is normalised
(``available += pending``) when next touched or read.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from kernels import riskgate_spec as S
from kernels import riskgate_tables as T
from kernels.prefetch import prefetch_row
from kernels.riskgate_simd import order_line_masks, pair_line_masks, store_line_nt


def _drop_stale_cache() -> None:
    """Delete this module's (and riskgate_cpu's, riskgate_single's) Numba cache when a module it depends on changed.

    Numba keys a cached function on its own file only; the kernel inlines the
    hash of riskgate_tables.py, so a changed hash would otherwise keep running
    the old placement from cache and silently disagree with the RTL.
    """
    here = Path(__file__).resolve().parent
    deps = [here / "riskgate_tables.py", here / "riskgate_spec.py", here / "riskgate_numba.py", here / "prefetch.py",
            here / "riskgate_simd.py"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in deps if p.exists())).hexdigest()
    cache_dir = here / "__pycache__"
    stamp = cache_dir / "riskgate_numba.deps.sha256"
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return
        # riskgate_cpu and riskgate_single inline this module's helpers and record widths
        for f in [f for m in ("riskgate_numba", "riskgate_cpu", "riskgate_single")
                  for f in cache_dir.glob(f"{m}.*.nb[ic]")]:
            f.unlink(missing_ok=True)
        cache_dir.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass  # read-only install: Numba then caches elsewhere or not at all


_drop_stale_cache()

# ---- record layouts (columns of the int64 record matrices) ----------------
# Record widths: every table array starts on a 128-byte boundary (``aligned_zeros``);
# instruments and orders are padded to 64 bytes (one line each instead of two for 7
# of 8 unpadded 56-byte records); positions are 32 bytes (two per line); accounts are
# 64 bytes, one line (two fields packed into one word, see AR_*).
# instruments (row = i_index[code]); I_LOT_M: lot reciprocal m + (l << 40), so the
# lot check needs no division (riskgate_tables.reciprocal, as the RTL's lot_m/lot_l)
I_STATUS, I_REF, I_UP, I_DOWN, I_LOT, I_CAGE, I_FEE, I_LOT_M = range(8)
I_FIELDS = 8
# accounts: canonical columns (CpuGate.a_data, snapshots, tests/riskgate_rtl_fixtures)
A_STATUS, A_CASH, A_CFROZEN, A_MAXQ, A_MAXV, A_MAXN, A_WIN_US, A_WIN, A_COUNT = range(9)
A_FIELDS = 9
# accounts as the kernel stores them (CpuGate.a_rec): one 64-byte line holding all a NEW
# reads and writes; status and max_orders_per_window (< 2**16) share a word, both read-only
AR_SN, AR_CASH, AR_CFROZEN, AR_MAXQ, AR_MAXV, AR_WIN_US, AR_WIN, AR_COUNT = range(8)
AR_FIELDS = 8
SN_SHIFT = 8  # AR_SN = status | max_orders_per_window << SN_SHIFT
# (canonical column, kernel column) of the fields stored unpacked
A_TO_AR = ((A_CASH, AR_CASH), (A_CFROZEN, AR_CFROZEN), (A_MAXQ, AR_MAXQ), (A_MAXV, AR_MAXV),
           (A_WIN_US, AR_WIN_US), (A_WIN, AR_WIN), (A_COUNT, AR_COUNT))
# positions (P_DAY: the day P_PENDING belongs to)
P_AVAIL, P_FROZEN, P_PENDING, P_DAY = range(4)
P_FIELDS = 4
# FRESH_POSITIONS: the record of a position slot no row ever used is all zeros (the
# tables start zeroed, rows are never deleted, and nothing writes an unused slot's
# record), so inserting a row writes its key and tag only.

# orders (O_KEY: the order id, whose 24-bit fingerprint is all the bucket entry holds)
O_SIDE, O_PRICE, O_OPEN, O_FCASH, O_ASLOT, O_PSLOT, O_ISLOT, O_KEY = range(8)
O_FIELDS = 8
ALIGN = 128  # bytes: an adjacent-line pair


def aligned_zeros(shape, dtype) -> np.ndarray:
    """Zeroed C-contiguous array whose first byte sits on an ``ALIGN``-byte boundary.

    malloc hands large blocks back 16 bytes past a page boundary, which would make
    every 4-way key group and every other position record straddle two lines.
    """
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    buf = np.zeros(n * dt.itemsize + ALIGN, dtype=np.uint8)
    off = -buf.ctypes.data % ALIGN
    return buf[off:off + n * dt.itemsize].view(dt).reshape(shape)


# order slot states (low two bits of the tag)
O_FREE, O_OPEN_STATE, O_CLOSED = 0, 1, 2
# An orders bucket entry is one uint64 (``o_ft``): fingerprint << TAG_BITS | tag, tag =
# day << 2 | state. Eight ways fit one cache line (16-byte (key, tag) pairs took two
# lines for the ~5 used ways); the full id sits in the order record (O_KEY) and is
# compared wherever a fingerprint matches. Days stay below 2**38 - 1 (the largest is
# riskgate_cpu.LOADED_ORDER_DAY): 2.7e11 EOD messages.
TAG_BITS = 40
TAG_MASK = (1 << TAG_BITS) - 1
FP_BITS = 24


@njit(cache=True, inline="always", _nrt=False)
def order_fp(order_id):
    """24-bit fingerprint of an order id (a second multiplicative hash of its fold, not the bucket's)."""
    return ((T.fold64(order_id) * np.uint64(T.CODE_MUL)) & np.uint64(T.MASK32)) >> np.uint64(32 - FP_BITS)

# Every kernel function below is compiled with _nrt=False: they only read and write
# arrays the caller owns, and Numba's reference counting of array arguments (an
# atomic increment and decrement per array per call) cost more than the checks.
# PREFIX: every insert (load or run time) takes the lowest free way, and a written
# way's tag never returns to 0 (accounts and positions are never deleted; an order
# way only turns closed or stale, which keeps a nonzero tag). So the ways with a
# nonzero tag are a prefix of the bucket, and a scan may stop at the first zero
# tag: usually the bucket's first cache line, whatever W is.
COUNT_CAP = 2**16  # the throttle count saturates here (see riskgate_model.COUNT_CAP)
TS_LIMIT = 2**63


@njit(cache=True, inline="always", _nrt=False)
def fee(v: int, fee_q16: int) -> int:
    """``(v * fee_q16 + 65535) >> 16`` for v < 2**62 without a 78-bit product."""
    return (v >> 16) * fee_q16 + (((v & 0xFFFF) * fee_q16 + 65535) >> 16)


FLOAT_EXACT = 2**53  # integers below this convert to float64 exactly


@njit(cache=True, inline="always", _nrt=False)
def window_of(ts: int, wus: int) -> int:
    """``ts // wus`` for 0 <= ts < 2**63, 1 <= wus, without a 64-bit integer division when ts < 2**53.

    A 64-bit ``idiv`` costs 40-90 cycles on this class of Xeon and nearly every NEW
    enters a new throttle window. Below 2**53 both operands convert exactly and the
    correctly rounded quotient truncates to the floor; the remainder test is a guard
    (tests/test_riskgate_cpu_host.py checks against integer division).
    """
    if ts >= FLOAT_EXACT:
        return ts // wus
    q = np.int64(np.float64(ts) / np.float64(wus))
    r = ts - q * wus
    if r < 0:
        q -= 1
    elif r >= wus:
        q += 1
    return q


@njit(cache=True, inline="always", _nrt=False)
def lot_multiple(qty: int, lot_ml: int) -> bool:
    """``qty % lot == 0`` for 0 < qty < 2**31 from the packed reciprocal ``m + (l << 40)`` (no division)."""
    m = np.uint64(lot_ml & 0xFFFFFFFFFF)
    bits = np.uint64((lot_ml >> 40) + 31)
    return ((np.uint64(qty) * m) & ((np.uint64(1) << bits) - np.uint64(1))) < m


def lot_reciprocal(lot: int) -> int:
    """Packed ``m + (l << 40)`` of :func:`riskgate_tables.reciprocal` for ``lot`` (n = 31 bits)."""
    m, l = T.reciprocal(int(lot), 31)
    return m + (l << 40)


# ---- flat indexing -----------------------------------------------------------
# The kernel sees every table as a flat 1-D view of its C-contiguous matrix and
# indexes it with unsigned ``row * FIELDS + column``: the record width is then a
# compile-time constant (a shift or lea instead of a multiply by a stride kept on
# the stack), and an unsigned index needs none of the negative-index fixups Numba
# emits for a signed one. Rows are never negative where these are used (unknown
# rows are -1 and clamped to 0 before any access).
U1 = np.uint64(1)
U2 = np.uint64(2)
U3 = np.uint64(3)


@njit(cache=True, inline="always", _nrt=False)
def _ki(s, col):
    """Flat index of column ``col`` (0 key, 1 tag) of slot ``s`` of a (key, tag) matrix."""
    return np.uint64(s) * U2 + np.uint64(col)


@njit(cache=True, inline="always", _nrt=False)
def _ai(a, col):
    return np.uint64(a) * np.uint64(AR_FIELDS) + np.uint64(col)


@njit(cache=True, inline="always", _nrt=False)
def _pi(p, col):
    return np.uint64(p) * np.uint64(P_FIELDS) + np.uint64(col)


@njit(cache=True, inline="always", _nrt=False)
def _oi(s, col):
    return np.uint64(s) * np.uint64(O_FIELDS) + np.uint64(col)


@njit(cache=True, inline="always", _nrt=False)
def _ii(ins, col):
    return np.uint64(ins) * np.uint64(I_FIELDS) + np.uint64(col)


# ---- orders and positions: primary ways dense, overflow ways apart -------------
# Orders (entries ``o_ft``, records ``o_data``) and positions (key pairs ``p_kc``,
# records ``p_data``) are stored by *place*, not by the RTL's slot number
# ``bucket * ways + way``: the first D = min(ways, dense) ways of every bucket sit densely
# at ``bucket * D + way`` (dense = O_SCAN for orders, SCAN for positions: the line one
# vector probe reads; the adjacent-line prefetcher's buddy line is then a neighbouring
# bucket's, not the same bucket's nearly always empty later ways), the other ways after
# all of them at ``nb * D + bucket * (ways - D) + way - D``. Which way an insert takes
# (the lowest free one) is unchanged; riskgate_cpu.way_places maps slots to places for
# readers. Accounts (loaded once, mostly cached) keep slots as places.
@njit(cache=True, inline="always", _nrt=False)
def way_place(b, w, ways, nb, dense):
    """Place of way ``w`` of bucket ``b`` (of ``nb``) when the first ``min(ways, dense)`` ways are stored densely."""
    d = min(ways, dense)
    if w < d:
        return b * d + w
    return nb * d + b * (ways - d) + (w - d)


@njit(cache=True, inline="always", _nrt=False)
def order_place(b, w, ways, nb):
    """Place (index into ``o_ft``, row of ``o_data``) of way ``w`` of orders bucket ``b``."""
    return way_place(b, w, ways, nb, O_SCAN)


@njit(cache=True, inline="always", _nrt=False)
def position_place(b, w, ways, nb):
    """Place (pair of ``p_kc``, row of ``p_data``) of way ``w`` of positions bucket ``b``."""
    return way_place(b, w, ways, nb, SCAN)


@njit(cache=True, _nrt=False)
def order_scan(o_ft, o_data, ways, nb, order_id, day):
    """One pass over ``order_id``'s bucket: (place of its live entry or -1, place of the lowest free way or -1).

    Live = open, or closed with today's day number; free = never used, or
    closed on an earlier day. ``o_ft`` holds the entries, ``o_data`` the flat records.
    """
    return order_probe(o_ft, o_data, T.order_bucket(order_id, nb), ways, nb, order_id, day)


@njit(cache=True, _nrt=False)
def account_find(a_kt, ways, nb, account):
    """Slot of ``account`` in the accounts table (flat (key, tag) array), or -1."""
    return account_probe(a_kt, T.account_bucket(account, nb) * ways, ways, account)


@njit(cache=True, _nrt=False)
def position_scan(p_kc, ways, nb, account, code):
    """(place of position ``(account, code)`` or -1, of the lowest free way or -1); ``p_kc`` flat, by place."""
    return position_probe(p_kc, T.position_bucket(account, code, nb), ways, nb, account, code)


# ---- bucket probes ---------------------------------------------------------
# A probe compares the first SCAN ways of a bucket without a branch (selects,
# scanning down so the lowest way wins): which way holds a key is data, and a
# mispredicted early exit costs more than comparing the line's remaining ways.
# Only if the bucket's used prefix (see PREFIX) runs past them, a loop goes on.
SCAN = 4  # accounts and positions: one line of (key, tag) pairs
O_SCAN = 8  # orders: one line of 8-byte entries (their prefix holds today's and stale ids, about 5)


@njit(cache=True, inline="always", _nrt=False)
def order_hint(o_ft, b, ways, nb, fp, day):
    """(place of the lowest live way whose fingerprint is ``fp`` or -1, of the lowest free way or -1) of bucket ``b``.

    The free way is exact (it depends on tags only); the slot may hold another id with
    the same fingerprint, which :func:`order_probe` rules out.
    """
    closed_today = np.uint64((day << 2) | O_CLOSED)
    tmask = np.uint64(TAG_MASK)
    fpb = np.uint64(TAG_BITS)
    found = -1
    free = -1
    first = 0
    if ways >= O_SCAN:
        base = b * O_SCAN  # the primary ways: all O_SCAN of them, densely (order_place)
        # one vector compare of the line's eight entries, then the lowest set bit: no chain
        # of selects (riskgate_simd)
        masks = order_line_masks(o_ft, np.uint64(base), fp, closed_today)
        m_hit = masks & np.uint64(0xFF)
        m_live = masks >> np.uint64(O_SCAN)
        stop = np.uint64(1 << O_SCAN)  # trailing_zeros of a word with no way's bit set: O_SCAN
        t_hit = np.int64(trailing_zeros(m_hit | stop))
        t_free = np.int64(trailing_zeros((~m_live) | stop))
        found = base + t_hit if t_hit < O_SCAN else -1
        free = base + t_free if t_free < O_SCAN else -1
        if (found >= 0 and free >= 0) or o_ft[np.uint64(base + O_SCAN - 1)] == 0:
            return found, free
        first = O_SCAN  # the used prefix goes on: rare
    for w in range(first, ways):
        s = order_place(b, w, ways, nb)
        e = o_ft[np.uint64(s)]
        if e == 0:
            if free < 0:
                free = s
            break  # PREFIX: every later way is unwritten too
        live = (e & U3) == np.uint64(O_OPEN_STATE) or (e & tmask) == closed_today
        if live:
            if found < 0 and (e >> fpb) == fp:
                found = s
                if free >= 0:
                    break
        elif free < 0:
            free = s
            if found >= 0:
                break
    return found, free


@njit(cache=True, inline="always", _nrt=False)
def order_exact(o_ft, o_data, b, ways, nb, order_id, fp, day):
    """Place of ``order_id``'s live way in bucket ``b`` (fingerprint, then the full id), or -1."""
    closed_today = np.uint64((day << 2) | O_CLOSED)
    oid = np.uint64(order_id)
    for w in range(ways):
        s = order_place(b, w, ways, nb)
        e = o_ft[np.uint64(s)]
        if e == 0:
            break  # PREFIX
        live = (e & U3) == np.uint64(O_OPEN_STATE) or (e & np.uint64(TAG_MASK)) == closed_today
        if live and (e >> np.uint64(TAG_BITS)) == fp and np.uint64(o_data[_oi(s, O_KEY)]) == oid:
            return s  # a live id is in one way only
    return -1


@njit(cache=True, inline="always", _nrt=False)
def order_probe(o_ft, o_data, b, ways, nb, order_id, day):
    """(place of ``order_id``'s live way or -1, place of the lowest free way or -1) of orders bucket ``b``."""
    fp = order_fp(order_id)
    s, free = order_hint(o_ft, b, ways, nb, fp, day)
    if s >= 0 and np.uint64(o_data[_oi(s, O_KEY)]) != np.uint64(order_id):
        s = order_exact(o_ft, o_data, b, ways, nb, order_id, fp, day)
    return s, free


PAIR_KEYS = 0x55  # key-lane bits of a pair_line_masks result (pair p: bit 2p)


@njit(cache=True, inline="always", _nrt=False)
def _pair_way(bits):
    """Lowest pair whose key-lane bit is set in ``bits`` (bit 2p = pair p), or SCAN when none."""
    return np.int64(trailing_zeros(bits | np.uint64(1 << (2 * SCAN)))) >> 1


@njit(cache=True, inline="always", _nrt=False)
def account_probe(a_kt, base, ways, account):
    """Slot of ``account`` in the bucket whose first slot is ``base``, or -1."""
    acc = np.uint64(account)
    found = -1
    first = 0
    if ways >= SCAN:
        m = pair_line_masks(a_kt, _ki(base, 0), acc, U1)  # a used account's tag is 1
        t = _pair_way(m & (m >> U1) & np.uint64(PAIR_KEYS))
        found = base + t if t < SCAN else -1
        if found >= 0 or (m >> np.uint64(2 * SCAN + 2 * SCAN - 1)) == 0:  # way SCAN - 1 unused
            return found
        first = SCAN
    for w in range(first, ways):
        s = base + w
        if a_kt[_ki(s, 1)] == 0:
            return -1  # PREFIX: no used way after an unused one
        if a_kt[_ki(s, 0)] == acc:
            return s
    return -1


@njit(cache=True, inline="always", _nrt=False)
def position_probe(p_kc, b, ways, nb, account, code):
    """(place of position ``(account, code)`` or -1, of the lowest free way or -1) of positions bucket ``b``."""
    acc = np.uint64(account)
    tag = np.uint64(code) + U1
    found = -1
    free = -1
    first = 0
    if ways >= SCAN:
        base = b * SCAN  # the primary ways: all SCAN of them, densely (position_place)
        m = pair_line_masks(p_kc, _ki(base, 0), acc, tag)
        t_hit = _pair_way(m & (m >> U1) & np.uint64(PAIR_KEYS))
        t_free = _pair_way((~m >> np.uint64(2 * SCAN + 1)) & np.uint64(PAIR_KEYS))  # tag lane zero
        found = base + t_hit if t_hit < SCAN else -1
        free = base + t_free if t_free < SCAN else -1
        if found >= 0:
            return found, -1
        if free >= 0:
            return -1, free
        first = SCAN
    for w in range(first, ways):
        s = position_place(b, w, ways, nb)
        c = p_kc[_ki(s, 1)]
        if c == 0:
            return -1, s  # PREFIX: rows are never deleted, so the first empty way ends the bucket
        if c == tag and p_kc[_ki(s, 0)] == acc:
            return s, -1
    return -1, -1


@njit(cache=True, inline="always", _nrt=False)
def position_normalise(p_data, p, day):
    """Apply the EODs a position row has not seen yet: its pending shares become available."""
    if p_data[_pi(p, P_DAY)] != day:
        p_data[_pi(p, P_AVAIL)] += p_data[_pi(p, P_PENDING)]
        p_data[_pi(p, P_PENDING)] = 0
        p_data[_pi(p, P_DAY)] = day


@njit(cache=True, _nrt=False)
def normalise_all(p_kc, p_data, day):
    """Normalise every used position row (before a snapshot); flat arrays."""
    for p in range(p_kc.shape[0] // 2):
        if p_kc[_ki(p, 1)] != 0:
            position_normalise(p_data, p, day)


# ---- messages ------------------------------------------------------------------
# The kernel reads the wire records as a flat uint64 view (six words a message, see
# riskgate_spec.MESSAGE_DTYPE): word 0 = type (byte 0), side (byte 1), code (bytes
# 4-7); 1 account; 2 order_id; 3 price; 4 qty; 5 ts_us. A constant stride of 48 bytes
# instead of eight strided field views.
M_WORDS = 6
M_HEAD, M_ACCOUNT, M_ORDER, M_PRICE, M_QTY, M_TS = range(6)


@njit(cache=True, inline="always", _nrt=False)
def _mw(mw, j, word):
    return mw[np.uint64(j) * np.uint64(M_WORDS) + np.uint64(word)]


@njit(cache=True, inline="always", _nrt=False)
def _mtype(mw, j):
    return np.int64(_mw(mw, j, M_HEAD) & np.uint64(0xFF))


@njit(cache=True, inline="always", _nrt=False)
def _mside(mw, j):
    return np.int64((_mw(mw, j, M_HEAD) >> np.uint64(8)) & np.uint64(0xFF))


@njit(cache=True, inline="always", _nrt=False)
def _mcode(mw, j):
    return _mw(mw, j, M_HEAD) >> np.uint64(32)


# ---- software pipeline -------------------------------------------------------
# Message j passes three stages before it is decided, each one DRAM latency
# apart, so its misses overlap the decisions of the messages before it:
#   A (at i = j - STAGE_A): hash its three keys, prefetch the bucket lines;
#   B (at i = j - STAGE_B): probe the (now cached) buckets, prefetch the record
#     rows (order or its free way, account, position, instrument);
#   C (at i = j - STAGE_C): a CANCEL/FILL's order record is cached: prefetch the
#     account and position rows it refers to.
# Stage A and the order probe run for every message type, whatever fields it
# uses (an unused field hashes to some bucket, and a wasted prefetch costs less
# than a mispredicted branch on the random message type); the account and
# position probes only for a NEW. Results wait in a ring of RING entries and
# the decision uses them instead of probing again when still true:
# - the account slot always (accounts are loaded only, never move);
# - a position slot found always (rows never move or go); "not found" and its
#   free way unless a NEW since stage B hashed to the same positions bucket
#   (filter ``p_seen``), since it may have inserted the row;
# - the order probe unless a message since stage B wrote an order in the same
#   bucket (filter ``o_seen``) or an EOD changed which ids are live.
# A filter is RECENT entries of "index of the last message that wrote a bucket
# hashing here"; a false alarm only costs a probe.
STAGE_A = 16
STAGE_B = 8
STAGE_C = 4
RING = 32  # > STAGE_A, power of two
MSG_AHEAD = 8  # messages past stage A whose wire line is prefetched
R_OB, R_PB, R_OF, R_OFREE, R_A, R_P, R_PFREE, R_INS = range(8)
RING_FIELDS = 8
RECENT_BITS = 10
RECENT = 1 << RECENT_BITS
HINT_SIZE = RING * RING_FIELDS + 2 * RECENT  # int64 scratch the caller passes as ``hints``
NEVER = -(2**62)
O_SEEN = RING * RING_FIELDS  # offsets of the two filters in ``hints``
P_SEEN = O_SEEN + RECENT


@njit(cache=True, inline="always", _nrt=False)
def _recent_key(base):
    return (np.uint64(base) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - RECENT_BITS)


@njit(cache=True, inline="always", _nrt=False)
def _ring(j, field):
    return np.uint64(j & (RING - 1)) * np.uint64(RING_FIELDS) + np.uint64(field)


@njit(cache=True, inline="always", _nrt=False)
def _stage_a(ring, j, n, mw, i_index, a_kt, a_ways, a_nb, p_kc, p_ways, p_nb, o_ft, o_ways, o_nb):
    acc = _mw(mw, j, M_ACCOUNT)
    ob = T.order_bucket(_mw(mw, j, M_ORDER), o_nb)  # the bucket (its primary ways: one line)
    ab = T.account_bucket(acc, a_nb) * a_ways
    pb = T.position_bucket(acc, _mcode(mw, j), p_nb)
    ring[_ring(j, R_OB)] = ob
    ring[_ring(j, R_A)] = ab  # the account bucket, until stage B replaces it by the slot
    ring[_ring(j, R_PB)] = pb
    op = min(o_ways, O_SCAN)
    prefetch_row(o_ft, np.uint64(ob * op))  # the primary ways: one line when there are O_SCAN of them
    prefetch_row(o_ft, np.uint64(ob * op + op - 1))
    prefetch_row(a_kt, _ki(ab, 0))
    pp = min(p_ways, SCAN)
    prefetch_row(p_kc, _ki(pb * pp, 0))  # the primary ways: one line when there are SCAN of them
    if pp < SCAN:  # fewer ways than a line holds: a bucket may straddle two lines
        prefetch_row(p_kc, _ki(pb * pp + pp - 1, 1))
    prefetch_row(i_index, min(_mcode(mw, j), np.uint64(i_index.shape[0] - 1)))  # stage B reads it
    # The message stream itself: the hardware prefetchers stop at every 4 KiB page, and a
    # missed message line stalls all three stages; MSG_AHEAD messages = a few lines ahead.
    prefetch_row(mw, np.uint64(min(j + MSG_AHEAD, n - 1)) * np.uint64(M_WORDS))


@njit(cache=True, inline="always", _nrt=False)
def _stage_b(ring, j, mw, day, n_codes, i_index, i_data, a_kt, a_data, a_ways,
             p_kc, p_data, p_ways, p_nb, o_ft, o_data, o_ways, o_nb):
    # the fingerprint only: the record holding the full id is not cached yet (the decision checks it)
    s, free = order_hint(o_ft, ring[_ring(j, R_OB)], o_ways, o_nb, order_fp(_mw(mw, j, M_ORDER)), day)
    code = _mcode(mw, j)
    # Every type is probed (a CANCEL's unused fields hash to some cached bucket): with
    # vector probes this costs less than a mispredicted branch on the random type.
    acc = _mw(mw, j, M_ACCOUNT)
    a = account_probe(a_kt, ring[_ring(j, R_A)], a_ways, acc)
    p, p_free = position_probe(p_kc, ring[_ring(j, R_PB)], p_ways, p_nb, acc, code)
    ins = np.int64(i_index[code]) if code < np.uint64(n_codes) else -1
    ring[_ring(j, R_OF)] = s
    ring[_ring(j, R_OFREE)] = free
    ring[_ring(j, R_A)] = a
    ring[_ring(j, R_P)] = p
    ring[_ring(j, R_PFREE)] = p_free
    ring[_ring(j, R_INS)] = ins
    # the record of a live id (CANCEL, FILL, a duplicate NEW); a NEW's free way is written
    # whole by a streaming store and needs no fetch (row 0 instead: a cached line)
    prefetch_row(o_data, _oi(max(s, 0), 0))
    ra = max(a, 0)
    prefetch_row(a_data, _ai(ra, 0))  # one line: every field a NEW reads or writes
    # A buy never reads its position row (only a sell's available matters; the row is
    # normalised lazily whenever it is next read) nor writes a new one (FRESH_POSITIONS):
    # prefetch a sell's row, else row 0 (a cached line, chosen by a select).
    sell = _mside(mw, j) == S.SIDE_SELL
    prefetch_row(p_data, _pi(p if (p >= 0 and sell) else 0, 0))
    prefetch_row(i_data, _ii(max(ins, 0), 0))


@njit(cache=True, inline="always", _nrt=False)
def _stage_c(ring, j, mw, a_data, p_data, o_data):
    # Only the rows the decision will touch: a CANCEL of a buy needs no position, of a
    # sell no account (row 0 instead, a line already cached: selects, no branch).
    s = max(ring[_ring(j, R_OF)], 0)
    cancel = _mtype(mw, j) == S.MSG_CANCEL
    buy = o_data[_oi(s, O_SIDE)] == S.SIDE_BUY
    a = 0 if cancel and not buy else o_data[_oi(s, O_ASLOT)]
    p = 0 if cancel and buy else o_data[_oi(s, O_PSLOT)]
    prefetch_row(a_data, _ai(a, 0))
    prefetch_row(p_data, _pi(p, 0))


@njit(cache=True, _nrt=False)
def process_batch(
    mw, dec,
    i_index, i_data,
    a_kt, a_data, a_ways,
    p_kc, p_data, p_ways,
    o_ft, o_data, o_ways,
    day_box, hints,
):
    """Decide messages in order, updating the tables in place; the day counter lives in ``day_box[0]``.

    ``mw`` is the flat uint64 view of a contiguous MESSAGE_DTYPE array, ``dec``
    the flat uint8 view of the DECISION_DTYPE output; every table is the flat
    view of its matrix (see "flat indexing"). ``hints`` is int64 scratch of
    ``HINT_SIZE`` entries for the pipeline (shorter, e.g. for one message: each
    message is probed when decided).

    One flat loop on purpose: a call that passes the dozen table arrays costs
    more than the checks themselves, so only small one-table helpers are called.
    """
    a_nb = a_kt.shape[0] // (2 * a_ways)
    p_nb = p_kc.shape[0] // (2 * p_ways)
    o_nb = o_ft.shape[0] // o_ways
    n_codes = i_index.shape[0]
    day = day_box[0]
    n = mw.shape[0] // M_WORDS
    piped = hints.shape[0] >= HINT_SIZE
    ring = hints
    last_eod = NEVER
    if piped:
        for x in range(O_SEEN, P_SEEN + RECENT):
            hints[x] = NEVER
        for j in range(min(STAGE_A, n)):
            _stage_a(ring, j, n, mw, i_index, a_kt, a_ways, a_nb, p_kc, p_ways, p_nb, o_ft, o_ways, o_nb)
        for j in range(min(STAGE_B, n)):
            _stage_b(ring, j, mw, day, n_codes, i_index, i_data, a_kt, a_data, a_ways,
                     p_kc, p_data, p_ways, p_nb, o_ft, o_data, o_ways, o_nb)
        for j in range(min(STAGE_C, n)):
            _stage_c(ring, j, mw, a_data, p_data, o_data)
    for i in range(n):
        t = _mtype(mw, i)
        if piped:
            if i + STAGE_A < n:
                _stage_a(ring, i + STAGE_A, n, mw, i_index, a_kt, a_ways, a_nb, p_kc, p_ways, p_nb, o_ft, o_ways, o_nb)
            if i + STAGE_B < n:
                _stage_b(ring, i + STAGE_B, mw, day, n_codes, i_index, i_data, a_kt, a_data, a_ways,
                         p_kc, p_data, p_ways, p_nb, o_ft, o_data, o_ways, o_nb)
            if i + STAGE_C < n:
                _stage_c(ring, i + STAGE_C, mw, a_data, p_data, o_data)
            ob = ring[_ring(i, R_OB)]
            pb = ring[_ring(i, R_PB)]
            a = ring[_ring(i, R_A)]
            ins = ring[_ring(i, R_INS)]
            since = i - STAGE_B  # stage B of message i ran before message `since` was decided
            ok = np.uint64(O_SEEN) + _recent_key(ob)
            if hints[ok] < since and last_eod < since:
                s_o = ring[_ring(i, R_OF)]
                f_o = ring[_ring(i, R_OFREE)]  # exact: free ways depend on tags only
                oid = _mw(mw, i, M_ORDER)
                if s_o >= 0 and np.uint64(o_data[_oi(s_o, O_KEY)]) != oid:  # another id's fingerprint
                    s_o = order_exact(o_ft, o_data, ob, o_ways, o_nb, oid, order_fp(oid), day)
            else:
                s_o, f_o = order_probe(o_ft, o_data, ob, o_ways, o_nb, _mw(mw, i, M_ORDER), day)
            hints[ok] = i  # (whether or not this message writes: the filter may over-warn)
            p = ring[_ring(i, R_P)]
            p_free = ring[_ring(i, R_PFREE)]
            if t == S.MSG_NEW:
                pk = np.uint64(P_SEEN) + _recent_key(pb)
                if p < 0 and hints[pk] >= since:
                    p, p_free = position_probe(p_kc, pb, p_ways, p_nb, _mw(mw, i, M_ACCOUNT), _mcode(mw, i))
                hints[pk] = i
        else:
            acc = _mw(mw, i, M_ACCOUNT)
            c = _mcode(mw, i)
            ob = T.order_bucket(_mw(mw, i, M_ORDER), o_nb)
            pb = T.position_bucket(acc, c, p_nb)
            a = account_probe(a_kt, T.account_bucket(acc, a_nb) * a_ways, a_ways, acc)
            s_o, f_o = order_probe(o_ft, o_data, ob, o_ways, o_nb, _mw(mw, i, M_ORDER), day)
            p, p_free = position_probe(p_kc, pb, p_ways, p_nb, acc, c)
            ins = np.int64(i_index[c]) if c < np.uint64(n_codes) else -1
        reason = S.MALFORMED
        if _mw(mw, i, M_TS) >= np.uint64(TS_LIMIT):
            reason = S.MALFORMED
        elif t == S.MSG_NEW:
            reason = _new(a, s_o, f_o, p, p_free, ins, _mside(mw, i), _mcode(mw, i), _mw(mw, i, M_ACCOUNT),
                          _mw(mw, i, M_ORDER), np.int64(_mw(mw, i, M_PRICE)), np.int64(_mw(mw, i, M_QTY)),
                          _mw(mw, i, M_TS), day, i_data, a_data, p_kc, p_data, o_ft, o_data)
        elif t == S.MSG_CANCEL:
            reason = _cancel(s_o, day, a_data, p_data, o_ft, o_data)
        elif t == S.MSG_FILL:
            reason = _fill(s_o, np.int64(_mw(mw, i, M_QTY)), day, i_data, a_data, p_data, o_ft, o_data)
        elif t == S.MSG_EOD:
            day += 1  # positions catch up lazily; yesterday's closed order ids free themselves
            last_eod = i
            reason = S.OK
        dec[np.uint64(i) * U2 + U1] = reason
        dec[np.uint64(i) * U2] = 1 if reason == S.OK else 0
    day_box[0] = day


@njit(cache=True, inline="always", _nrt=False)
def _close(o_ft, s):
    # closed keeps the day the id was last used in a NEW
    o_ft[np.uint64(s)] = (o_ft[np.uint64(s)] & ~U3) | np.uint64(O_CLOSED)


@njit(cache=True, inline="always", _nrt=False)
def _cancel(s, day, a_data, p_data, o_ft, o_data):
    if s < 0 or (o_ft[np.uint64(s)] & U3) != O_OPEN_STATE:
        return S.UNKNOWN_ORDER
    if o_data[_oi(s, O_SIDE)] == S.SIDE_BUY:
        a = o_data[_oi(s, O_ASLOT)]
        fc = o_data[_oi(s, O_FCASH)]
        a_data[_ai(a, AR_CFROZEN)] -= fc
        a_data[_ai(a, AR_CASH)] += fc
    else:
        p = o_data[_oi(s, O_PSLOT)]
        position_normalise(p_data, p, day)
        q = o_data[_oi(s, O_OPEN)]
        p_data[_pi(p, P_FROZEN)] -= q
        p_data[_pi(p, P_AVAIL)] += q
    _close(o_ft, s)
    return S.OK


@njit(cache=True, inline="always", _nrt=False)
def _fill(s, q, day, i_data, a_data, p_data, o_ft, o_data):
    if s < 0 or (o_ft[np.uint64(s)] & U3) != O_OPEN_STATE:
        return S.UNKNOWN_ORDER
    if q <= 0 or q > o_data[_oi(s, O_OPEN)]:
        return S.MALFORMED
    a = o_data[_oi(s, O_ASLOT)]
    p = o_data[_oi(s, O_PSLOT)]
    position_normalise(p_data, p, day)
    f = i_data[_ii(o_data[_oi(s, O_ISLOT)], I_FEE)]
    v = o_data[_oi(s, O_PRICE)] * q
    buy = o_data[_oi(s, O_SIDE)] == S.SIDE_BUY
    if buy:
        spent = min(v + fee(v, f), o_data[_oi(s, O_FCASH)])
        a_data[_ai(a, AR_CFROZEN)] -= spent
        o_data[_oi(s, O_FCASH)] -= spent
        p_data[_pi(p, P_PENDING)] += q
    else:
        p_data[_pi(p, P_FROZEN)] -= q
        a_data[_ai(a, AR_CASH)] += v - fee(v, f)
    left = o_data[_oi(s, O_OPEN)] - q
    o_data[_oi(s, O_OPEN)] = left
    if left == 0:
        if buy:
            fc = o_data[_oi(s, O_FCASH)]
            a_data[_ai(a, AR_CFROZEN)] -= fc
            a_data[_ai(a, AR_CASH)] += fc
            o_data[_oi(s, O_FCASH)] = 0
        _close(o_ft, s)
    return S.OK


@njit(cache=True, inline="always", _nrt=False)
def _new(a, s_order, free_order, p, p_free, ins, side, code, account, order_id, price, qty, ts, day,
         i_data, a_data, p_kc, p_data, o_ft, o_data):
    # a, ins: account and instrument rows (-1: unknown); s_order, free_order: order_probe;
    # p, p_free: position_probe of (account, code)
    # 1. MALFORMED: nothing changes, the id is not recorded
    if (side != S.SIDE_BUY and side != S.SIDE_SELL) or qty <= 0 or qty > S.QTY_MAX or price <= 0 \
            or price > S.PRICE_MAX:
        return S.MALFORMED
    reason = S.OK
    # The checks in spec order; the first that fails leaves the one-pass loop.
    for _once in range(1):
        # 2. UNKNOWN_ACCOUNT
        if a < 0:
            reason = S.UNKNOWN_ACCOUNT
            break
        # 3. ACCOUNT_BLOCKED
        sn = a_data[_ai(a, AR_SN)]
        st = sn & ((1 << SN_SHIFT) - 1)
        if st == S.ACCOUNT_BLOCKED_STATUS or (st == S.ACCOUNT_SELL_ONLY and side == S.SIDE_BUY):
            reason = S.ACCOUNT_BLOCKED
            break
        # 4. THROTTLED: counts every NEW that gets here
        # ts < 2**63 here. The current window starts at win * win_us <= an earlier ts,
        # so it does not overflow; inside it, no division is needed.
        wus = a_data[_ai(a, AR_WIN_US)]
        win = a_data[_ai(a, AR_WIN)]
        count = a_data[_ai(a, AR_COUNT)]
        start = win * wus
        its = np.int64(ts)
        if its < start or its - start >= wus:
            w = window_of(its, wus)
            if w != win:
                a_data[_ai(a, AR_WIN)] = w
                count = 0
        count = min(count + 1, COUNT_CAP)
        a_data[_ai(a, AR_COUNT)] = count
        if count > (sn >> SN_SHIFT):
            reason = S.THROTTLED
            break
        # 5. UNKNOWN_INSTRUMENT, 6. INSTRUMENT_HALTED
        if ins < 0:
            reason = S.UNKNOWN_INSTRUMENT
            break
        if i_data[_ii(ins, I_STATUS)] == S.INSTRUMENT_HALTED_STATUS:
            reason = S.INSTRUMENT_HALTED
            break
        # 7. DUPLICATE_ORDER_ID (used today, or open from an earlier day)
        if s_order >= 0:
            reason = S.DUPLICATE_ORDER_ID
            break
        # 8. LOT_SIZE
        available = 0
        if p >= 0 and side == S.SIDE_SELL:  # a buy leaves its row untouched (and uncached)
            position_normalise(p_data, p, day)
            available = p_data[_pi(p, P_AVAIL)]
        if not lot_multiple(qty, i_data[_ii(ins, I_LOT_M)]) and not (side == S.SIDE_SELL and qty == available):
            reason = S.LOT_SIZE
            break
        # 9. PRICE_LIMIT
        if price > i_data[_ii(ins, I_UP)] or price < i_data[_ii(ins, I_DOWN)]:
            reason = S.PRICE_LIMIT
            break
        # 10. PRICE_CAGE
        cage = i_data[_ii(ins, I_CAGE)]
        if cage > 0:
            r = i_data[_ii(ins, I_REF)]
            if side == S.SIDE_BUY:
                if price * 10000 > max(r * (10000 + cage), (r + 10) * 10000):
                    reason = S.PRICE_CAGE
                    break
            elif price * 10000 < min(r * (10000 - cage), (r - 10) * 10000):
                reason = S.PRICE_CAGE
                break
        # 11. MAX_QTY, 12. MAX_VALUE
        if qty > a_data[_ai(a, AR_MAXQ)]:
            reason = S.MAX_QTY
            break
        v = price * qty
        if v > a_data[_ai(a, AR_MAXV)]:
            reason = S.MAX_VALUE
            break
        frozen = 0
        if side == S.SIDE_BUY:
            # 13. INSUFFICIENT_CASH
            frozen = v + fee(v, i_data[_ii(ins, I_FEE)])
            if frozen > a_data[_ai(a, AR_CASH)]:
                reason = S.INSUFFICIENT_CASH
                break
        elif qty > available:
            # 14. INSUFFICIENT_POSITION
            reason = S.INSUFFICIENT_POSITION
            break
        # TABLE_FULL: the order id, and a buy's position row, must both find a way.
        if free_order < 0 or (p < 0 and p_free < 0):
            reason = S.TABLE_FULL
            break
        # accept
        if p < 0:  # only a buy gets here without a row (a sell needs available > 0)
            p = p_free
            p_kc[_ki(p, 0)] = account
            p_kc[_ki(p, 1)] = np.uint64(code) + U1
            # The record is not written (nor fetched): a never-used slot's record is all
            # zeros (FRESH_POSITIONS), which is the new row; its day 0 only makes the next
            # read normalise a pending of 0.
        if side == S.SIDE_BUY:
            a_data[_ai(a, AR_CASH)] -= frozen
            a_data[_ai(a, AR_CFROZEN)] += frozen
        else:
            p_data[_pi(p, P_AVAIL)] -= qty
            p_data[_pi(p, P_FROZEN)] += qty
        s = free_order
        o_ft[np.uint64(s)] = (order_fp(order_id) << np.uint64(TAG_BITS)) | np.uint64(day << 2) \
            | np.uint64(O_OPEN_STATE)
        # The whole 64-byte record in one streaming store: its line is not read first
        # (nor prefetched by stage B), which saves a memory round trip per NEW.
        store_line_nt(o_data, _oi(s, 0), side, price, qty, frozen, a, p, ins, np.int64(order_id))
        return S.OK
    # A rejected well-formed NEW still marks its id used today: a live entry (even an
    # order open since an earlier day) takes today's day number, else a closed entry is
    # written if the bucket has a free way.
    today = np.uint64(day << 2)
    if s_order >= 0:
        e = o_ft[np.uint64(s_order)]
        o_ft[np.uint64(s_order)] = (e & ~np.uint64(TAG_MASK)) | today | (e & U3)
    elif free_order >= 0:
        o_ft[np.uint64(free_order)] = (order_fp(order_id) << np.uint64(TAG_BITS)) | today | np.uint64(O_CLOSED)
        o_data[_oi(free_order, O_KEY)] = np.int64(order_id)
    return reason
