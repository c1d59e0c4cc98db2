"""Single-message entry of the risk gate kernel as a C function (for the Cython fast path).

``process_one`` is a Numba ``cfunc``: the Cython codec calls it through its
address with raw pointers to the CPU gate's tables, so deciding one message
costs no Numba dispatch (which checks the types of ~20 arguments on every
call). Compiled on first import; imported only by ``RiskGate.check``.
"""
from __future__ import annotations

import numpy as np
from numba import carray, cfunc, types

from kernels import riskgate_numba as K

_u8p = types.CPointer(types.uint8)
_i32p = types.CPointer(types.int32)
_i64p = types.CPointer(types.int64)
_u64p = types.CPointer(types.uint64)
_i64 = types.int64

SIGNATURE = types.void(
    _u8p, _u8p,             # message record (48 bytes), decision record (2 bytes)
    _i32p, _i64,            # i_index, number of codes
    _i64p, _i64,            # i_data, number of instruments
    _u64p, _i64p, _i64,     # a_kt, a_data, account slots
    _u64p, _i64p, _i64,     # p_kc, p_data, position slots
    _u64p, _i64p, _i64,     # order entries (o_ft), o_data, order slots
    _i64, _i64p,            # ways, day counter
)


@cfunc(SIGNATURE, cache=True)
def process_one(msg, out, i_index, n_codes, i_data, n_ins, a_kt, a_data, na, p_kc, p_data, npos, o_kt, o_data, no,
                ways, day):
    """Decide the message at ``msg`` and write (accepted, reason) to ``out``."""
    K.process_batch(
        carray(msg, (48,)).view(np.uint64), carray(out, (2,)),
        carray(i_index, (n_codes,)), carray(i_data, (n_ins * K.I_FIELDS,)),
        carray(a_kt, (na * 2,)), carray(a_data, (na * K.AR_FIELDS,)), ways,
        carray(p_kc, (npos * 2,)), carray(p_data, (npos * K.P_FIELDS,)), ways,
        carray(o_kt, (no,)), carray(o_data, (no * K.O_FIELDS,)), ways,
        carray(day, (1,)), carray(day, (0,)),  # one message: no hint scratch needed
    )


ADDRESS = process_one.address
