"""Risk gate Numba kernel: the spec over batches of messages, tables stored as the RTL stores them.

Hardware-faithful storage (see docs/riskgate-companion.md): accounts,
positions and orders live in W-way set-associative hash tables whose bucket
function, ways and placement rule (lowest free way) come from
``kernels/riskgate_tables.py``, so a full bucket gives the same TABLE_FULL
decision here as in hdl/riskdb.

Memory layout, chosen for cache lines: each table has a key matrix whose
rows are (key, tag) pairs, so one bucket's W ways are one contiguous scan,
and an int64 record matrix. Speed comes from a software pipeline over the
batch (probes and prefetches a few messages ahead, reused by the decision)
and branch-free bucket probes; see "software pipeline" below. Tags: accounts 1 =
used; positions store ``code + 1`` (0 = empty); orders ``day << 2 | state``.
Orders refer to their account, position and instrument by slot, as the
hardware does, so CANCEL and FILL need one lookup only. EOD is lazy for
positions: each row keeps the day of its ``pending`` and is normalised
(``available += pending``) when next touched or read.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from numba import njit

from kernels import riskgate_spec as S
from kernels import riskgate_tables as T
from kernels.prefetch import prefetch_at, prefetch_row


def _drop_stale_cache() -> None:
    """Delete this module's (and riskgate_cpu's, riskgate_single's) Numba cache when a module it depends on changed.

    Numba keys a cached function on its own file only; the kernel inlines the
    hash of riskgate_tables.py, so a changed hash would otherwise keep running
    the old placement from cache and silently disagree with the RTL.
    """
    here = Path(__file__).resolve().parent
    deps = [here / "riskgate_tables.py", here / "riskgate_spec.py", here / "riskgate_numba.py", here / "prefetch.py"]
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
# of 8 unpadded 56-byte records); positions are 32 bytes (two per line); accounts stay
# 72 bytes: nine int64 fields span two lines whatever the padding, and unpadded the
# accounts of one bucket (a prefix of its ways, see PREFIX) share lines.
# instruments (row = i_index[code]); I_LOT_M: lot reciprocal m + (l << 40), so the
# lot check needs no division (riskgate_tables.reciprocal, as the RTL's lot_m/lot_l)
I_STATUS, I_REF, I_UP, I_DOWN, I_LOT, I_CAGE, I_FEE, I_LOT_M = range(8)
I_FIELDS = 8
# accounts
A_STATUS, A_CASH, A_CFROZEN, A_MAXQ, A_MAXV, A_MAXN, A_WIN_US, A_WIN, A_COUNT = range(9)
A_FIELDS = 9
# positions (P_DAY: the day P_PENDING belongs to)
P_AVAIL, P_FROZEN, P_PENDING, P_DAY = range(4)
P_FIELDS = 4
# orders (column 7 padding)
O_SIDE, O_PRICE, O_OPEN, O_FCASH, O_ASLOT, O_PSLOT, O_ISLOT = range(7)
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


@njit(cache=True, _nrt=False)
def order_scan(o_kt, ways, nb, order_id, day):
    """One pass over ``order_id``'s bucket: (slot of its live entry or -1, lowest free way or -1).

    Live = open, or closed with today's day number; free = never used, or
    closed on an earlier day.
    """
    return order_probe(o_kt, T.order_bucket(order_id, nb) * ways, ways, order_id, day)


@njit(cache=True, _nrt=False)
def account_find(a_kt, ways, nb, account):
    """Slot of ``account`` in the accounts table, or -1."""
    return account_probe(a_kt, T.account_bucket(account, nb) * ways, ways, account)


@njit(cache=True, _nrt=False)
def position_scan(p_kc, ways, nb, account, code):
    """(slot of position ``(account, code)`` or -1, lowest free way or -1)."""
    return position_probe(p_kc, T.position_bucket(account, code, nb) * ways, ways, account, code)


# ---- bucket probes ---------------------------------------------------------
# A probe compares the first SCAN ways of a bucket without a branch (selects,
# scanning down so the lowest way wins): which way holds a key is data, and a
# mispredicted early exit costs more than comparing the line's remaining ways.
# Only if the bucket's used prefix (see PREFIX) runs past them, a loop goes on.
SCAN = 4  # accounts and positions: one line of (key, tag) pairs
O_SCAN = 8  # orders: two lines (their prefix holds today's and stale ids, about 5)


@njit(cache=True, inline="always", _nrt=False)
def order_probe(o_kt, base, ways, order_id, day):
    """(live slot of ``order_id`` or -1, lowest free way or -1) of the bucket whose first slot is ``base``."""
    closed_today = np.uint64((day << 2) | O_CLOSED)
    oid = np.uint64(order_id)
    found = -1
    free = -1
    first = 0
    if ways >= O_SCAN:
        for k in range(O_SCAN):
            s = base + (O_SCAN - 1 - k)
            tag = o_kt[s, 1]
            live = ((tag & np.uint64(3)) == np.uint64(O_OPEN_STATE)) | (tag == closed_today)
            hit = live & (o_kt[s, 0] == oid)
            found = s if hit else found
            free = free if live else s
        if found >= 0 or o_kt[base + O_SCAN - 1, 1] == 0:
            return found, free
        first = O_SCAN  # the used prefix goes on: rare
    for w in range(first, ways):
        s = base + w
        tag = o_kt[s, 1]
        if tag == 0:
            if free < 0:
                free = s
            break  # PREFIX: every later way is unwritten too
        live = (tag & np.uint64(3)) == np.uint64(O_OPEN_STATE) or tag == closed_today
        if live:
            if o_kt[s, 0] == oid:
                found = s
                break  # a live id is in one way only
        elif free < 0:
            free = s
    return found, free


@njit(cache=True, inline="always", _nrt=False)
def account_probe(a_kt, base, ways, account):
    """Slot of ``account`` in the bucket whose first slot is ``base``, or -1."""
    acc = np.uint64(account)
    found = -1
    first = 0
    if ways >= SCAN:
        for k in range(SCAN):
            s = base + (SCAN - 1 - k)
            hit = (a_kt[s, 1] != 0) & (a_kt[s, 0] == acc)
            found = s if hit else found
        if found >= 0 or a_kt[base + SCAN - 1, 1] == 0:
            return found
        first = SCAN
    for w in range(first, ways):
        s = base + w
        if a_kt[s, 1] == 0:
            return -1  # PREFIX: no used way after an unused one
        if a_kt[s, 0] == acc:
            return s
    return -1


@njit(cache=True, inline="always", _nrt=False)
def position_probe(p_kc, base, ways, account, code):
    """(slot of position ``(account, code)`` or -1, lowest free way or -1) of the bucket at ``base``."""
    acc = np.uint64(account)
    tag = np.uint64(code) + np.uint64(1)
    found = -1
    free = -1
    first = 0
    if ways >= SCAN:
        for k in range(SCAN):
            s = base + (SCAN - 1 - k)
            c = p_kc[s, 1]
            hit = (c == tag) & (p_kc[s, 0] == acc)
            found = s if hit else found
            free = s if c == 0 else free
        if found >= 0:
            return found, -1
        if free >= 0:
            return -1, free
        first = SCAN
    for w in range(first, ways):
        s = base + w
        c = p_kc[s, 1]
        if c == 0:
            return -1, s  # PREFIX: rows are never deleted, so the first empty way ends the bucket
        if c == tag and p_kc[s, 0] == acc:
            return s, -1
    return -1, -1


@njit(cache=True, _nrt=False)
def position_normalise(p_data, p, day):
    """Apply the EODs a position row has not seen yet: its pending shares become available."""
    if p_data[p, P_DAY] != day:
        p_data[p, P_AVAIL] += p_data[p, P_PENDING]
        p_data[p, P_PENDING] = 0
        p_data[p, P_DAY] = day


@njit(cache=True, _nrt=False)
def normalise_all(p_kc, p_data, day):
    """Normalise every used position row (before a snapshot)."""
    for p in range(p_kc.shape[0]):
        if p_kc[p, 1] != 0:
            position_normalise(p_data, p, day)


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
R_OB, R_PB, R_OF, R_OFREE, R_A, R_P, R_PFREE, R_INS = range(8)
RING_FIELDS = 8
RECENT_BITS = 10
RECENT = 1 << RECENT_BITS
HINT_SIZE = RING * RING_FIELDS + 2 * RECENT  # int64 scratch the caller passes as ``hints``
NEVER = -(2**62)


@njit(cache=True, inline="always", _nrt=False)
def _recent_key(base):
    return np.int64((np.uint64(base) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - RECENT_BITS))


@njit(cache=True, inline="always", _nrt=False)
def _stage_a(ring, j, mcode, maccount, morder, a_kt, a_ways, a_nb, p_kc, p_ways, p_nb, o_kt, o_ways, o_nb):
    k = (j & (RING - 1)) * RING_FIELDS
    ob = T.order_bucket(morder[j], o_nb) * o_ways
    ab = T.account_bucket(maccount[j], a_nb) * a_ways
    pb = T.position_bucket(maccount[j], mcode[j], p_nb) * p_ways
    ring[k + R_OB] = ob
    ring[k + R_A] = ab  # the account bucket, until stage B replaces it by the slot
    ring[k + R_PB] = pb
    prefetch_row(o_kt, ob)
    if o_ways > 4:
        prefetch_row(o_kt, ob + 4)  # orders' used prefix is about 5 ways: two lines
    prefetch_row(a_kt, ab)
    prefetch_row(p_kc, pb)


@njit(cache=True, inline="always", _nrt=False)
def _stage_b(ring, j, mtype, mcode, maccount, morder, day, n_codes, i_index, i_data, a_kt, a_data, a_ways,
             p_kc, p_data, p_ways, o_kt, o_data, o_ways):
    k = (j & (RING - 1)) * RING_FIELDS
    s, free = order_probe(o_kt, ring[k + R_OB], o_ways, morder[j], day)
    code = mcode[j]
    a = -1
    p = -1
    p_free = -1
    if mtype[j] == S.MSG_NEW:  # (measured: probing for every type cost more than this branch's misses)
        a = account_probe(a_kt, ring[k + R_A], a_ways, maccount[j])
        p, p_free = position_probe(p_kc, ring[k + R_PB], p_ways, maccount[j], code)
    ins = i_index[code] if code < n_codes else -1
    ring[k + R_OF] = s
    ring[k + R_OFREE] = free
    ring[k + R_A] = a
    ring[k + R_P] = p
    ring[k + R_PFREE] = p_free
    ring[k + R_INS] = ins
    prefetch_row(o_data, s if s >= 0 else max(free, 0))
    ra = max(a, 0)
    prefetch_row(a_data, ra)
    prefetch_at(a_data, ra, A_COUNT)  # the record's second line
    prefetch_row(p_data, p if p >= 0 else max(p_free, 0))
    prefetch_row(i_data, max(ins, 0))


@njit(cache=True, inline="always", _nrt=False)
def _stage_c(ring, j, a_data, p_data, o_data):
    s = max(ring[(j & (RING - 1)) * RING_FIELDS + R_OF], 0)
    prefetch_row(a_data, o_data[s, O_ASLOT])
    prefetch_row(p_data, o_data[s, O_PSLOT])


@njit(cache=True, _nrt=False)
def process_batch(
    mtype, mside, mcode, maccount, morder, mprice, mqty, mts,
    out_accepted, out_reason,
    i_index, i_data,
    a_kt, a_data, a_ways,
    p_kc, p_data, p_ways,
    o_kt, o_data, o_ways,
    day_box, hints,
):
    """Decide messages in order, updating the tables in place; the day counter lives in ``day_box[0]``.

    ``hints`` is int64 scratch of ``HINT_SIZE`` entries for the pipeline
    (shorter, e.g. for one message: each message is probed when decided).

    One flat loop on purpose: a call that passes the dozen table arrays costs
    more than the checks themselves, so only small one-table helpers are called.
    """
    a_nb = a_kt.shape[0] // a_ways
    p_nb = p_kc.shape[0] // p_ways
    o_nb = o_kt.shape[0] // o_ways
    n_codes = i_index.shape[0]
    day = day_box[0]
    n = mtype.shape[0]
    piped = hints.shape[0] >= HINT_SIZE
    ring = hints
    o_seen = RING * RING_FIELDS  # offsets of the two filters in ``hints``
    p_seen = o_seen + RECENT
    last_eod = NEVER
    if piped:
        for x in range(o_seen, p_seen + RECENT):
            hints[x] = NEVER
        for j in range(min(STAGE_A, n)):
            _stage_a(ring, j, mcode, maccount, morder, a_kt, a_ways, a_nb, p_kc, p_ways, p_nb, o_kt, o_ways, o_nb)
        for j in range(min(STAGE_B, n)):
            _stage_b(ring, j, mtype, mcode, maccount, morder, day, n_codes, i_index, i_data, a_kt, a_data, a_ways,
                     p_kc, p_data, p_ways, o_kt, o_data, o_ways)
        for j in range(min(STAGE_C, n)):
            _stage_c(ring, j, a_data, p_data, o_data)
    for i in range(n):
        t = mtype[i]
        if piped:
            if i + STAGE_A < n:
                _stage_a(ring, i + STAGE_A, mcode, maccount, morder, a_kt, a_ways, a_nb, p_kc, p_ways, p_nb,
                         o_kt, o_ways, o_nb)
            if i + STAGE_B < n:
                _stage_b(ring, i + STAGE_B, mtype, mcode, maccount, morder, day, n_codes, i_index, i_data, a_kt, a_data,
                         a_ways, p_kc, p_data, p_ways, o_kt, o_data, o_ways)
            if i + STAGE_C < n:
                _stage_c(ring, i + STAGE_C, a_data, p_data, o_data)
            k = (i & (RING - 1)) * RING_FIELDS
            ob = ring[k + R_OB]
            pb = ring[k + R_PB]
            a = ring[k + R_A]
            ins = ring[k + R_INS]
            since = i - STAGE_B  # stage B of message i ran before message `since` was decided
            ok = o_seen + _recent_key(ob)
            if hints[ok] < since and last_eod < since:
                s_o = ring[k + R_OF]
                f_o = ring[k + R_OFREE]
            else:
                s_o, f_o = order_probe(o_kt, ob, o_ways, morder[i], day)
            hints[ok] = i  # (whether or not this message writes: the filter may over-warn)
            p = ring[k + R_P]
            p_free = ring[k + R_PFREE]
            if t == S.MSG_NEW:
                pk = p_seen + _recent_key(pb)
                if p < 0 and hints[pk] >= since:
                    p, p_free = position_probe(p_kc, pb, p_ways, maccount[i], mcode[i])
                hints[pk] = i
        else:
            ob = T.order_bucket(morder[i], o_nb) * o_ways
            pb = T.position_bucket(maccount[i], mcode[i], p_nb) * p_ways
            a = account_probe(a_kt, T.account_bucket(maccount[i], a_nb) * a_ways, a_ways, maccount[i])
            s_o, f_o = order_probe(o_kt, ob, o_ways, morder[i], day)
            p, p_free = position_probe(p_kc, pb, p_ways, maccount[i], mcode[i])
            c = mcode[i]
            ins = i_index[c] if c < n_codes else -1
        reason = S.MALFORMED
        if mts[i] >= np.uint64(TS_LIMIT):
            reason = S.MALFORMED
        elif t == S.MSG_NEW:
            reason = _new(a, s_o, f_o, p, p_free, ins, mside[i], mcode[i], maccount[i], morder[i], mprice[i],
                          mqty[i], mts[i], day, i_data, a_data, p_kc, p_data, o_kt, o_data)
        elif t == S.MSG_CANCEL:
            reason = _cancel(s_o, day, a_data, p_data, o_kt, o_data)
        elif t == S.MSG_FILL:
            reason = _fill(s_o, mqty[i], day, i_data, a_data, p_data, o_kt, o_data)
        elif t == S.MSG_EOD:
            day += 1  # positions catch up lazily; yesterday's closed order ids free themselves
            last_eod = i
            reason = S.OK
        out_reason[i] = reason
        out_accepted[i] = 1 if reason == S.OK else 0
    day_box[0] = day


@njit(cache=True, inline="always", _nrt=False)
def _cancel(s, day, a_data, p_data, o_kt, o_data):
    if s < 0 or (o_kt[s, 1] & np.uint64(3)) != O_OPEN_STATE:
        return S.UNKNOWN_ORDER
    if o_data[s, O_SIDE] == S.SIDE_BUY:
        a = o_data[s, O_ASLOT]
        fc = o_data[s, O_FCASH]
        a_data[a, A_CFROZEN] -= fc
        a_data[a, A_CASH] += fc
    else:
        p = o_data[s, O_PSLOT]
        position_normalise(p_data, p, day)
        q = o_data[s, O_OPEN]
        p_data[p, P_FROZEN] -= q
        p_data[p, P_AVAIL] += q
    # closed keeps the day the id was last used in a NEW
    o_kt[s, 1] = (o_kt[s, 1] & ~np.uint64(3)) | np.uint64(O_CLOSED)
    return S.OK


@njit(cache=True, inline="always", _nrt=False)
def _fill(s, q, day, i_data, a_data, p_data, o_kt, o_data):
    if s < 0 or (o_kt[s, 1] & np.uint64(3)) != O_OPEN_STATE:
        return S.UNKNOWN_ORDER
    if q <= 0 or q > o_data[s, O_OPEN]:
        return S.MALFORMED
    a = o_data[s, O_ASLOT]
    p = o_data[s, O_PSLOT]
    position_normalise(p_data, p, day)
    f = i_data[o_data[s, O_ISLOT], I_FEE]
    v = o_data[s, O_PRICE] * q
    if o_data[s, O_SIDE] == S.SIDE_BUY:
        spent = min(v + fee(v, f), o_data[s, O_FCASH])
        a_data[a, A_CFROZEN] -= spent
        o_data[s, O_FCASH] -= spent
        p_data[p, P_PENDING] += q
    else:
        p_data[p, P_FROZEN] -= q
        a_data[a, A_CASH] += v - fee(v, f)
    o_data[s, O_OPEN] -= q
    if o_data[s, O_OPEN] == 0:
        if o_data[s, O_SIDE] == S.SIDE_BUY:
            fc = o_data[s, O_FCASH]
            a_data[a, A_CFROZEN] -= fc
            a_data[a, A_CASH] += fc
            o_data[s, O_FCASH] = 0
        o_kt[s, 1] = (o_kt[s, 1] & ~np.uint64(3)) | np.uint64(O_CLOSED)
    return S.OK


@njit(cache=True, inline="always", _nrt=False)
def _new(a, s_order, free_order, p, p_free, ins, side, code, account, order_id, price, qty, ts, day,
         i_data, a_data, p_kc, p_data, o_kt, o_data):
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
        st = a_data[a, A_STATUS]
        if st == S.ACCOUNT_BLOCKED_STATUS or (st == S.ACCOUNT_SELL_ONLY and side == S.SIDE_BUY):
            reason = S.ACCOUNT_BLOCKED
            break
        # 4. THROTTLED: counts every NEW that gets here
        # ts < 2**63 here. The current window starts at win * win_us <= an earlier ts,
        # so it does not overflow; inside it, no division is needed.
        wus = a_data[a, A_WIN_US]
        start = a_data[a, A_WIN] * wus
        its = np.int64(ts)
        if its < start or its - start >= wus:
            w = its // wus
            if w != a_data[a, A_WIN]:
                a_data[a, A_WIN] = w
                a_data[a, A_COUNT] = 0
        if a_data[a, A_COUNT] < COUNT_CAP:
            a_data[a, A_COUNT] += 1
        if a_data[a, A_COUNT] > a_data[a, A_MAXN]:
            reason = S.THROTTLED
            break
        # 5. UNKNOWN_INSTRUMENT, 6. INSTRUMENT_HALTED
        if ins < 0:
            reason = S.UNKNOWN_INSTRUMENT
            break
        if i_data[ins, I_STATUS] == S.INSTRUMENT_HALTED_STATUS:
            reason = S.INSTRUMENT_HALTED
            break
        # 7. DUPLICATE_ORDER_ID (used today, or open from an earlier day)
        if s_order >= 0:
            reason = S.DUPLICATE_ORDER_ID
            break
        # 8. LOT_SIZE
        available = 0
        if p >= 0:
            position_normalise(p_data, p, day)
            available = p_data[p, P_AVAIL]
        if not lot_multiple(qty, i_data[ins, I_LOT_M]) and not (side == S.SIDE_SELL and qty == available):
            reason = S.LOT_SIZE
            break
        # 9. PRICE_LIMIT
        if price > i_data[ins, I_UP] or price < i_data[ins, I_DOWN]:
            reason = S.PRICE_LIMIT
            break
        # 10. PRICE_CAGE
        cage = i_data[ins, I_CAGE]
        if cage > 0:
            r = i_data[ins, I_REF]
            if side == S.SIDE_BUY:
                if price * 10000 > max(r * (10000 + cage), (r + 10) * 10000):
                    reason = S.PRICE_CAGE
                    break
            elif price * 10000 < min(r * (10000 - cage), (r - 10) * 10000):
                reason = S.PRICE_CAGE
                break
        # 11. MAX_QTY, 12. MAX_VALUE
        if qty > a_data[a, A_MAXQ]:
            reason = S.MAX_QTY
            break
        v = price * qty
        if v > a_data[a, A_MAXV]:
            reason = S.MAX_VALUE
            break
        frozen = 0
        if side == S.SIDE_BUY:
            # 13. INSUFFICIENT_CASH
            frozen = v + fee(v, i_data[ins, I_FEE])
            if frozen > a_data[a, A_CASH]:
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
            p_kc[p, 0] = account
            p_kc[p, 1] = np.uint64(code) + np.uint64(1)
            p_data[p, P_AVAIL] = 0
            p_data[p, P_FROZEN] = 0
            p_data[p, P_PENDING] = 0
            p_data[p, P_DAY] = day
        if side == S.SIDE_BUY:
            a_data[a, A_CASH] -= frozen
            a_data[a, A_CFROZEN] += frozen
        else:
            p_data[p, P_AVAIL] -= qty
            p_data[p, P_FROZEN] += qty
        s = free_order
        o_kt[s, 0] = order_id
        o_kt[s, 1] = np.uint64(day << 2) | np.uint64(O_OPEN_STATE)
        o_data[s, O_SIDE] = side
        o_data[s, O_PRICE] = price
        o_data[s, O_OPEN] = qty
        o_data[s, O_FCASH] = frozen
        o_data[s, O_ASLOT] = a
        o_data[s, O_PSLOT] = p
        o_data[s, O_ISLOT] = ins
        return S.OK
    # A rejected well-formed NEW still marks its id used today: a live entry (even an
    # order open since an earlier day) takes today's day number, else a closed entry is
    # written if the bucket has a free way.
    today = np.uint64(day << 2)
    if s_order >= 0:
        o_kt[s_order, 1] = today | (o_kt[s_order, 1] & np.uint64(3))
    elif free_order >= 0:
        o_kt[free_order, 0] = order_id
        o_kt[free_order, 1] = today | np.uint64(O_CLOSED)
    return reason
