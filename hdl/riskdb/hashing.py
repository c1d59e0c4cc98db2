"""Bucket hash in gates: the same xor-fold / Fibonacci-multiply as kernels/riskgate_tables (two pipeline halves)."""
from __future__ import annotations

from amaranth.hdl import Value

from kernels import riskgate_tables as T

__all__ = ["fold64", "spread_code", "mix32"]


def fold64(key: Value) -> Value:
    """First half: xor-fold of a 64-bit key to 32 bits."""
    return key[:32] ^ key[32:64]


def spread_code(code: Value) -> Value:
    """First half for positions: the code times CODE_MUL, mod 2**32."""
    return (code * T.CODE_MUL)[:32]


def mix32(x: Value) -> Value:
    """Second half: Fibonacci multiply mod 2**32, then the high half xored into the low half."""
    h = (x * T.GOLDEN)[:32]
    return h ^ h[16:32]
