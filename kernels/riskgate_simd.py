"""Vector compares of one cache line of hash-table ways, usable inside Numba kernels.

Numba does not vectorise the short, fixed-length compare loops of a bucket probe
(measured: LLVM keeps eight scalar compare chains and spills them), so these
intrinsics emit the LLVM vector IR directly: one 64-byte load, lane-wise
compares, and the ``<8 x i1>`` result as an integer bit mask (bit k = way k).
On AVX-512 this is a handful of instructions where the scalar probe took ~90
(LLVM emits 512-bit compares into mask registers; splitting the line into two
256-bit halves, tried to keep this Xeon out of its AVX-512 clock licence, is
fused back into 512-bit code by the backend). Without AVX-512 LLVM lowers the
same IR to narrower vectors or scalars: the results are the same everywhere.
"""
from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

LANES = 8  # uint64 lanes of one 64-byte line


def _line_vector(context, builder, aryty, ary_val, idx_val, idxty):
    """Load the 8 uint64s starting at flat index ``idx`` of a 1-D array as an ``<8 x i64>``."""
    ary = context.make_array(aryty)(context, builder, ary_val)
    i = context.cast(builder, idx_val, idxty, types.intp)
    ptr = cgutils.get_item_pointer2(context, builder, data=ary.data, shape=cgutils.unpack_tuple(builder, ary.shape),
                                    strides=cgutils.unpack_tuple(builder, ary.strides), layout=aryty.layout,
                                    inds=[i], wraparound=False, boundscheck=False)
    vty = ir.VectorType(ir.IntType(64), LANES)
    vptr = builder.bitcast(ptr, vty.as_pointer())
    return builder.load(vptr, align=8), vty


def _splat(builder, vty, val):
    """An ``<8 x i64>`` with every lane ``val`` (an i64 value)."""
    undef = ir.Constant(vty, ir.Undefined)
    v = builder.insert_element(undef, val, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(v, undef, ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES))


def _mask_bits(builder, cmp):
    """``<8 x i1>`` -> i64 with bit k = lane k."""
    return builder.zext(builder.bitcast(cmp, ir.IntType(LANES)), ir.IntType(64))


def _u64(context, builder, val, ty):
    return context.cast(builder, val, ty, types.uint64)


@intrinsic
def order_line_masks(typingctx, o_ft, base, fp, closed_today):
    """Bit masks of the 8 order entries ``o_ft[base:base+8]``: ``hit | live << 8``.

    live: state open, or the whole tag equals ``closed_today`` (closed on today's day);
    hit: live and ``entry >> 40 == fp``. ``o_ft`` a 1-D uint64 array; ``base`` any
    integer (no bounds check: the caller guarantees 8 entries).
    """
    if not (isinstance(o_ft, types.Array) and o_ft.ndim == 1 and o_ft.dtype == types.uint64
            and all(isinstance(t, types.Integer) for t in (base, fp, closed_today))):
        return None
    sig = types.uint64(o_ft, base, fp, closed_today)

    def codegen(context, builder, signature, args):
        aryty, basety, fpty, ctty = signature.args
        v, vty = _line_vector(context, builder, aryty, args[0], args[1], basety)
        i64 = ir.IntType(64)
        state = builder.and_(v, _splat(builder, vty, ir.Constant(i64, 3)))
        is_open = builder.icmp_unsigned("==", state, _splat(builder, vty, ir.Constant(i64, 1)))
        tag = builder.and_(v, _splat(builder, vty, ir.Constant(i64, (1 << 40) - 1)))
        ct = _u64(context, builder, args[3], ctty)
        is_today = builder.icmp_unsigned("==", tag, _splat(builder, vty, ct))
        live = builder.or_(is_open, is_today)
        fpv = builder.lshr(v, _splat(builder, vty, ir.Constant(i64, 40)))
        same = builder.icmp_unsigned("==", fpv, _splat(builder, vty, _u64(context, builder, args[2], fpty)))
        hit = builder.and_(live, same)
        return builder.or_(_mask_bits(builder, hit), builder.shl(_mask_bits(builder, live), ir.Constant(i64, LANES)))

    return sig, codegen


@intrinsic
def pair_line_masks(typingctx, kt, idx, key, tag):
    """Bit masks of the 4 (key, tag) pairs in ``kt[idx:idx+8]``: ``eq | nz << 8``.

    Lane 2p is pair p's key, lane 2p + 1 its tag: ``eq`` has bit 2p set where the
    key equals ``key`` and bit 2p + 1 where the tag equals ``tag``; ``nz`` a bit per
    nonzero lane. ``kt`` a flat 1-D uint64 (key, tag) array.
    """
    if not (isinstance(kt, types.Array) and kt.ndim == 1 and kt.dtype == types.uint64
            and all(isinstance(t, types.Integer) for t in (idx, key, tag))):
        return None
    sig = types.uint64(kt, idx, key, tag)

    def codegen(context, builder, signature, args):
        aryty, idxty, keyty, tagty = signature.args
        v, vty = _line_vector(context, builder, aryty, args[0], args[1], idxty)
        i64 = ir.IntType(64)
        k = _u64(context, builder, args[2], keyty)
        t = _u64(context, builder, args[3], tagty)
        want = ir.Constant(vty, ir.Undefined)
        for lane in range(LANES):
            want = builder.insert_element(want, k if lane % 2 == 0 else t, ir.Constant(ir.IntType(32), lane))
        eq = _mask_bits(builder, builder.icmp_unsigned("==", v, want))
        nz = _mask_bits(builder, builder.icmp_unsigned("!=", v, ir.Constant(vty, [0] * LANES)))
        return builder.or_(eq, builder.shl(nz, ir.Constant(i64, LANES)))

    return sig, codegen


@intrinsic
def store_line_nt(typingctx, arr, idx, w0, w1, w2, w3, w4, w5, w6, w7):
    """Write ``w0..w7`` to ``arr[idx:idx+8]`` (one 64-byte-aligned line) with a non-temporal store.

    A whole-line streaming store needs no read-for-ownership: the line is not
    fetched from memory first (a normal store to an uncached line costs a full
    memory round trip). ``arr`` a 1-D int64 array, ``idx`` a multiple of 8 of a
    64-byte-aligned array (the caller guarantees both).
    """
    ws = (w0, w1, w2, w3, w4, w5, w6, w7)
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.int64
            and isinstance(idx, types.Integer) and all(isinstance(w, types.Integer) for w in ws)):
        return None
    sig = types.void(arr, idx, *ws)

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args[:2]
        ary = context.make_array(aryty)(context, builder, args[0])
        i = context.cast(builder, args[1], idxty, types.intp)
        ptr = cgutils.get_item_pointer2(context, builder, data=ary.data, shape=cgutils.unpack_tuple(builder, ary.shape),
                                        strides=cgutils.unpack_tuple(builder, ary.strides), layout=aryty.layout,
                                        inds=[i], wraparound=False, boundscheck=False)
        vty = ir.VectorType(ir.IntType(64), LANES)
        v = ir.Constant(vty, ir.Undefined)
        for lane in range(LANES):
            w = context.cast(builder, args[2 + lane], signature.args[2 + lane], types.int64)
            v = builder.insert_element(v, w, ir.Constant(ir.IntType(32), lane))
        st = builder.store(v, builder.bitcast(ptr, vty.as_pointer()), align=64)
        st.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()

    return sig, codegen
