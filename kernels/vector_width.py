"""Kernel-local SIMD width for Numba loops: ask LLVM for 512-bit vectors in one function.

On AVX-512 Skylake/Cascade Lake LLVM's tuning prefers 256-bit vectors
(``prefer-256-bit``), so a Numba loop gets ymm registers even where zmm halves
the instruction count (Threefry: 16 uint32 lanes per add/rotate/xor). Calling
:func:`prefer_512_bit` at the top of a jitted function sets that function's
``"prefer-vector-width"="512"`` attribute, the per-function form of
``-mprefer-vector-width=512``; nothing else in the process changes (a global
``NUMBA_CPU_FEATURES`` would change every other engineer's kernels and their
cache keys). The attribute is part of the compiled function, so Numba's
on-disk cache keeps it. Without AVX-512 LLVM ignores it (it caps at the
widest legal register).
"""
from __future__ import annotations

from numba import types
from numba.extending import intrinsic

#: The LLVM function attribute set by :func:`prefer_512_bit`.
ATTRIBUTE = '"prefer-vector-width"="512"'


@intrinsic
def prefer_512_bit(typingctx):
    """Mark the calling jitted function for 512-bit vectorisation (no run-time code)."""
    def codegen(context, builder, sig, args):
        # llvmlite validates attribute names against a fixed list of keywords;
        # a quoted string attribute is valid LLVM IR, so bypass that check.
        set.add(builder.function.attributes, ATTRIBUTE)
        return context.get_dummy_value()
    return types.none(), codegen
