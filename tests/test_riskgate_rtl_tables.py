"""Shared table definitions of the hardware database (no simulator needed): hash twins, reciprocals, layouts."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import riskgate_tables as T

U64 = st.integers(0, 2**64 - 1)


@settings(max_examples=300, deadline=None)
@given(U64, st.integers(0, 999_999), st.sampled_from([1, 2, 16, 1024, 65536]))
def test_numba_and_python_hashes_agree(key, code, nb):
    assert T.account_bucket(np.uint64(key), nb) == T.py_account_bucket(key, nb)
    assert T.order_bucket(np.uint64(key), nb) == T.py_order_bucket(key, nb)
    assert T.position_bucket(np.uint64(key), np.int64(code), nb) == T.py_position_bucket(key, code, nb)
    assert T.instrument_slot(np.uint32(code), nb) == T.py_instrument_slot(code, nb)


def test_hash_matches_its_written_definition():
    """The docstring's formula, evaluated by hand for one key (a second, independent statement of the hash)."""
    k = 0x0123456789ABCDEF
    x = 0x01234567 ^ 0x89ABCDEF
    h = (x * 0x9E3779B1) % 2**32
    assert T.py_account_bucket(k, 2**16) == (h ^ (h >> 16)) % 2**16


def test_hash_spreads_dense_keys():
    """Dense account ids and dense (account, code) pairs fill buckets close to Poisson, not in clumps."""
    nb = 1024
    counts = np.bincount([T.py_account_bucket(a, nb) for a in range(1, 4 * nb + 1)], minlength=nb)
    assert counts.max() <= 12  # Poisson(4) tail beyond 12 over 1024 buckets: p ~ 1e-3
    pairs = [(a, c) for a in range(64) for c in range(600000, 600064)]
    counts = np.bincount([T.py_position_bucket(a, c, nb) for a, c in pairs], minlength=nb)
    assert counts.max() <= 12


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 2**63 - 1), st.integers(0, 2**63 - 1))
def test_window_reciprocal_is_exact(d, x):
    m, l = T.reciprocal(d, 63)
    assert m < 2**64 and l < 64
    assert (x * m) >> (63 + l) == x // d


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 2**31 - 1), st.integers(0, 2**31 - 1), st.booleans())
def test_lot_reciprocal_divisibility(d, x, multiple):
    if multiple:
        x = d * (x // d)
    m, l = T.reciprocal(d, 31)
    assert m < 2**32 and l < 32
    assert (((x * m) & ((1 << (31 + l)) - 1)) < m) == (x % d == 0)


def test_reciprocal_rejects_out_of_range():
    with pytest.raises(ValueError, match="divisor"):
        T.reciprocal(0, 31)
    with pytest.raises(ValueError, match="divisor"):
        T.reciprocal(2**31, 31)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_record_pack_roundtrip(data):
    table = data.draw(st.sampled_from(sorted(T.LAYOUTS)))
    vals = {n: data.draw(st.integers(0, 2**b - 1)) for n, b in T.LAYOUTS[table]}
    assert T.unpack_record(table, T.pack_record(table, vals)) == vals
    assert T.pack_record(table, vals) < 2 ** T.record_bits(table)


def test_pack_rejects_a_value_too_wide():
    with pytest.raises(ValueError, match="positions: field available"):
        T.pack_record("positions", {"available": 2**32})


def test_geometry_checks_and_sizing():
    with pytest.raises(ValueError, match="orders: buckets must be a power of two"):
        T.check_geometry("orders", 48, 4)
    with pytest.raises(ValueError, match="accounts: ways"):
        T.check_geometry("accounts", 16, 0)
    assert T.buckets_for(100, 4) == 64  # 200 slots wanted -> 50 buckets -> 64
    assert T.buckets_for(1, 4, minimum=8) == 8
