"""The CPU gate's table memory (kernels/riskgate_arena.py): one 2 MB-aligned, huge-page-advised, pre-faulted mapping.

Checked against the kernel's own view of memory (/proc/self/smaps: the
mapping's resident size and its ``hg`` advice flag) and, for the gate, against
the same stream decided on tables allocated one by one (the path small gates
take): carving tables from one mapping must not make them overlap or start
non-zero.
"""
import sys

import numpy as np
import pytest

from kernels import riskgate_arena as A
from kernels import riskgate_cpu as C
from host.riskgate import RiskGate
from host.riskgate_generate import generate_state, generate_stream

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/smaps is Linux's")


def _mapping_of(addr: int) -> dict:
    """The /proc/self/smaps entry (fields, VmFlags) of the mapping holding ``addr``."""
    entry = None
    for line in open("/proc/self/smaps"):
        head = line.split()
        if head and "-" in head[0] and not head[0].endswith(":"):
            lo, hi = (int(x, 16) for x in head[0].split("-"))
            entry = {"lo": lo, "hi": hi} if lo <= addr < hi else None
        elif entry is not None:
            if head[0] == "VmFlags:":
                entry["flags"] = head[1:]
                return entry
            if len(head) >= 2 and head[1].isdigit():
                entry[head[0].rstrip(":")] = int(head[1])
    raise AssertionError(f"no mapping holds {addr:#x}")


def test_tables_are_zero_aligned_and_disjoint():
    specs = {"a": ((1000, 3), np.int64), "b": ((5,), np.int32), "c": ((0, 8), np.int64), "d": ((300_000,), np.uint64)}
    t = A.huge_page_tables(specs, prefault=True)
    assert t["a"].ctypes.data % A.HUGE_PAGE == 0  # the first table starts the mapping
    spans = []
    for name, (shape, dtype) in specs.items():
        arr = t[name]
        assert arr.shape == shape and arr.dtype == np.dtype(dtype) and arr.flags.c_contiguous and arr.flags.writeable
        assert arr.ctypes.data % A.PAGE == 0
        assert not arr.any()
        spans.append((arr.ctypes.data, arr.ctypes.data + arr.nbytes))
    spans.sort()
    assert all(e0 <= s1 for (_, e0), (s1, _) in zip(spans, spans[1:])), "tables overlap"
    # writing every table through does not disturb another
    for k, name in enumerate(specs):
        t[name][...] = k + 1
    for k, name in enumerate(specs):
        assert (t[name] == k + 1).all()


@linux_only
def test_mapping_is_advised_and_faulted_in_before_use():
    n = 3 * A.HUGE_PAGE // 8
    hot = A.huge_page_tables({"x": ((n,), np.uint64)}, prefault=True)["x"]
    cold = A.huge_page_tables({"x": ((n,), np.uint64)}, prefault=False)["x"]
    m_hot, m_cold = _mapping_of(hot.ctypes.data), _mapping_of(cold.ctypes.data)
    if "hg" not in m_hot["flags"]:
        pytest.skip("this kernel has no MADV_HUGEPAGE (THP compiled out)")
    assert "hg" in m_cold["flags"]
    # pre-faulted: every page of the table is resident before anything reads it; not: none is
    assert m_hot["Rss"] * 1024 >= hot.nbytes
    assert m_cold["Rss"] * 1024 < A.HUGE_PAGE


def test_gate_on_one_mapping_decides_as_on_separate_tables(monkeypatch):
    state = generate_state(300, 40, seed=3)
    msgs = generate_stream(state, 6000, days=3, seed=3)
    geometry = dict(account_buckets=64, position_buckets=256, order_buckets=512, ways=16)
    big = RiskGate("cpu", **geometry).load(**state)
    assert big._impl.prefaulted  # ~9 MB of tables with the 1M-code instrument index
    monkeypatch.setattr(A, "ARENA_MIN", 1 << 62)  # everything allocated table by table
    apart = RiskGate("cpu", **geometry).load(**state)
    assert not apart._impl.prefaulted
    assert _distinct_buffers(apart._impl) and not _distinct_buffers(big._impl)
    d_big, d_apart = big.process_array(msgs), apart.process_array(msgs)
    assert np.array_equal(d_big, d_apart)
    assert (d_big["reason"] == 0).mean() > 0.5  # the stream exercises accepts, not only rejects
    s_big, s_apart = big.snapshot(), apart.snapshot()
    for name in s_big:
        assert s_big[name].equals(s_apart[name]), name


def _distinct_buffers(gate: C.CpuGate) -> bool:
    """True when every table owns a separate allocation (not carved from one mapping)."""
    bases = {id(_root(getattr(gate, t))) for t in ("i_index", "a_kt", "a_rec", "p_kp", "p_rec", "o_ft", "o_rec")}
    return len(bases) == 7


def _root(arr: np.ndarray):
    while isinstance(arr, np.ndarray) and arr.base is not None:
        arr = arr.base
    return arr
