# cython: boundscheck=False, wraparound=False, cdivision=True, language_level=3
"""Risk gate binary message codec: DataFrame rows <-> packed 48-byte wire records.

The record layout is ``kernels.riskgate_spec.MESSAGE_DTYPE`` (12 little-endian
32-bit words). A row whose type is unknown, or whose used field is missing
or does not fit its wire field, is encoded with type byte 0, which every
backend decides MALFORMED without changing anything.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from kernels import riskgate_spec as S

cnp.import_array()

# Which fields each type byte reads: bit j = field j of _FIELDS (side, code,
# account, order_id, price, qty, ts_us). Built from MESSAGE_FIELDS_USED.
_FIELDS = ("side", "code", "account", "order_id", "price", "qty", "ts_us")


def _need_masks():
    out = np.zeros(256, dtype=np.uint8)
    for name, used in S.MESSAGE_FIELDS_USED.items():
        m = 0
        for f in used:
            m |= 1 << _FIELDS.index(f)
        out[S.MSG_TYPE_NAMES[name]] = m
    return out


_NEED = _need_masks()


cdef packed struct msg_t:
    uint8_t type
    uint8_t side
    uint8_t reserved0
    uint8_t reserved1
    uint32_t code
    uint64_t account
    uint64_t order_id
    int64_t price
    int64_t qty
    uint64_t ts_us


def assemble(const uint8_t[::1] types, const uint64_t[:, ::1] values, const uint8_t[:, ::1] bad):
    """Build the message array from a type byte per row, raw field bits (7 x n) and bad masks (7 x n)."""
    cdef Py_ssize_t n = types.shape[0], i, j
    if values.shape[0] != 7 or bad.shape[0] != 7 or values.shape[1] != n or bad.shape[1] != n:
        raise ValueError("assemble: values and bad must be 7 x n")
    out = np.zeros(n, dtype=S.MESSAGE_DTYPE)
    cdef msg_t[::1] o = out.view(np.uint8).view(_msg_dtype())
    cdef const uint8_t[::1] need = _NEED
    cdef uint8_t t, m
    cdef bint ok
    for i in range(n):
        t = types[i]
        m = need[t]
        ok = t != 0 and m != 0
        if ok:
            for j in range(7):
                if (m >> j) & 1 and bad[j, i]:
                    ok = False
                    break
        if not ok:
            continue  # zeroed record, type 0: MALFORMED
        o[i].type = t
        # Unused fields are carried only when present and in range, else 0.
        if not bad[0, i]:
            o[i].side = <uint8_t>values[0, i]
        if not bad[1, i]:
            o[i].code = <uint32_t>values[1, i]
        if not bad[2, i]:
            o[i].account = values[2, i]
        if not bad[3, i]:
            o[i].order_id = values[3, i]
        if not bad[4, i]:
            o[i].price = <int64_t>values[4, i]
        if not bad[5, i]:
            o[i].qty = <int64_t>values[5, i]
        if not bad[6, i]:
            o[i].ts_us = values[6, i]
    return out


def _msg_dtype():
    # Same bytes as MESSAGE_DTYPE, described with the reserved bytes named, for the typed view.
    return np.dtype([("type", "u1"), ("side", "u1"), ("reserved0", "u1"), ("reserved1", "u1"), ("code", "<u4"),
                     ("account", "<u8"), ("order_id", "<u8"), ("price", "<i8"), ("qty", "<i8"), ("ts_us", "<u8")])


def pack_words(msgs):
    """Wire words (uint32, n x 12) of a message array."""
    return S.messages_to_words(msgs)


def unpack_words(words):
    """Message array from wire words."""
    return S.words_to_messages(words)


cdef class SingleMessage:
    """A reusable one-message buffer filled without Python-level numpy indexing (the fast path)."""

    cdef public object array
    cdef msg_t* rec

    def __cinit__(self):
        self.array = np.zeros(1, dtype=S.MESSAGE_DTYPE)
        self.rec = <msg_t*> cnp.PyArray_DATA(self.array)

    cpdef set(self, int type, int side, uint64_t code, uint64_t account, uint64_t order_id,
              int64_t price, int64_t qty, uint64_t ts_us):
        """Fill the buffer; fields that do not fit their wire width turn the record into type 0."""
        if type < 0 or type > 255 or side < 0 or side > 255 or code > 0xFFFFFFFF or ts_us >= (<uint64_t>1 << 63):
            self.rec.type = 0
            self.rec.side = 0
            self.rec.code = 0
            self.rec.account = 0
            self.rec.order_id = 0
            self.rec.price = 0
            self.rec.qty = 0
            self.rec.ts_us = 0
            return
        self.rec.type = <uint8_t>type
        self.rec.side = <uint8_t>side
        self.rec.code = <uint32_t>code
        self.rec.account = account
        self.rec.order_id = order_id
        self.rec.price = price
        self.rec.qty = qty
        self.rec.ts_us = ts_us


ctypedef void (*process_one_t)(uint8_t*, uint8_t*, int32_t*, int64_t, int64_t*, int64_t, uint64_t*, int64_t*,
                               int64_t, uint64_t*, int64_t*, int64_t, uint64_t*, int64_t*, int64_t, int64_t,
                               int64_t*) noexcept nogil


cdef inline void* _ptr(object a):
    return <void*><size_t>a.ctypes.data


cdef class FastPath:
    """Decides one message at a time by calling the kernel's C entry (kernels/riskgate_single.py) directly.

    Holds references to the CPU gate's table arrays, so it must be rebuilt when
    the gate reloads its tables.
    """

    cdef SingleMessage msg
    cdef object decision, keep
    cdef process_one_t fn
    cdef uint8_t* out
    cdef int32_t* i_index
    cdef int64_t* i_data
    cdef uint64_t* a_kt
    cdef int64_t* a_data
    cdef uint64_t* p_kc
    cdef int64_t* p_data
    cdef uint64_t* o_kt
    cdef int64_t* o_data
    cdef int64_t* day
    cdef int64_t n_codes, n_ins, na, npos, no, ways

    def __init__(self, gate):
        from kernels.riskgate_single import ADDRESS

        for name in ("i_index", "i_data", "a_kt", "a_data", "p_kc", "p_data", "o_kt", "o_data", "day"):
            if not getattr(gate, name).flags.c_contiguous:
                raise ValueError(f"fast path: table array {name} must be C-contiguous")
        self.fn = <process_one_t><size_t>ADDRESS
        self.msg = SingleMessage()
        self.decision = np.zeros(1, dtype=S.DECISION_DTYPE)
        self.keep = gate  # the arrays live as long as this object
        self.out = <uint8_t*>_ptr(self.decision)
        self.i_index = <int32_t*>_ptr(gate.i_index)
        self.i_data = <int64_t*>_ptr(gate.i_data)
        self.a_kt = <uint64_t*>_ptr(gate.a_kt)
        self.a_data = <int64_t*>_ptr(gate.a_data)
        self.p_kc = <uint64_t*>_ptr(gate.p_kc)
        self.p_data = <int64_t*>_ptr(gate.p_data)
        self.o_kt = <uint64_t*>_ptr(gate.o_kt)
        self.o_data = <int64_t*>_ptr(gate.o_data)
        self.day = <int64_t*>_ptr(gate.day)
        self.n_codes = gate.i_index.shape[0]
        self.n_ins = gate.i_data.shape[0]
        self.na = gate.a_kt.shape[0]
        self.npos = gate.p_kc.shape[0]
        self.no = gate.o_kt.shape[0]
        self.ways = gate.ways

    cpdef int check(self, int type, int side, uint64_t code, uint64_t account, uint64_t order_id,
                    int64_t price, int64_t qty, uint64_t ts_us):
        """Decide one message; returns its reason code (0 = accepted)."""
        self.msg.set(type, side, code, account, order_id, price, qty, ts_us)
        with nogil:
            self.fn(<uint8_t*>self.msg.rec, self.out, self.i_index, self.n_codes, self.i_data, self.n_ins,
                    self.a_kt, self.a_data, self.na, self.p_kc, self.p_data, self.npos, self.o_kt, self.o_data,
                    self.no, self.ways, self.day)
        return self.out[1]
