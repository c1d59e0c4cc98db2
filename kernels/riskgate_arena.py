"""Risk gate table memory: one 2 MB-aligned, huge-page-advised, pre-faulted mapping per gate.

The CPU gate's tables (~190 MB on the bench geometry) are read at random, one
or two lines per message, so every table access is a TLB lookup as well as a
cache miss. Allocated one by one through NumPy, their placement depended on
the allocator's history: glibc serves blocks below its (self-raising) mmap
threshold from the brk heap, where they reuse already-faulted 4 KiB pages,
so which tables got transparent huge pages changed from one process to the
next; and the first touch of every page happened inside ``process``, whose
page faults (zeroing, occasionally compaction) were charged to the first
batch. Carving every large table from one anonymous mapping whose start is
2 MB aligned, advised ``MADV_HUGEPAGE`` and faulted in here gives every gate
the same placement and leaves no page fault for the kernel.
See docs/riskgate-companion.md, "Sixth round".
"""
from __future__ import annotations

import mmap

import numpy as np

HUGE_PAGE = 2 << 20  # bytes of an x86-64 transparent huge page
PAGE = 4096
ARENA_MIN = HUGE_PAGE  # below this a gate's tables are allocated one by one (tests' small gates)
# Above this the tables are mapped and advised but left to fault in when first touched:
# geometries that large (explicit sizes, or automatic ones up to host.riskgate's
# MAX_AUTO_TABLE_BYTES) are mostly empty, and faulting all of them in would take that much memory.
PREFAULT_MAX = 1 << 30


def _round_up(n: int, to: int) -> int:
    return -(-n // to) * to


def table_bytes(shape, dtype) -> int:
    """Bytes of a C-contiguous array of ``shape`` and ``dtype``."""
    return int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def huge_page_tables(specs: dict[str, tuple[tuple[int, ...], np.dtype]], prefault: bool = True
                     ) -> dict[str, np.ndarray]:
    """Zeroed C-contiguous arrays ``{name: (shape, dtype)}`` carved from one huge-page mapping, faulted in if ``prefault``.

    Each array starts on a 4 KiB boundary (so on any cache-line or adjacent-line
    boundary), in the order given; the mapping's start is 2 MB aligned. The
    mapping is released when the last array carved from it is.
    """
    offsets: dict[str, int] = {}
    pos = 0
    for name, (shape, dtype) in specs.items():
        offsets[name] = pos
        pos += _round_up(table_bytes(shape, dtype), PAGE)
    size = _round_up(max(pos, 1), HUGE_PAGE)
    # one huge page more than needed, so that a 2 MB-aligned start exists inside it; the
    # unused head and tail are never touched and cost no memory
    mm = mmap.mmap(-1, size + HUGE_PAGE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                   prot=mmap.PROT_READ | mmap.PROT_WRITE)
    whole = np.frombuffer(mm, dtype=np.uint8)
    start = -whole.ctypes.data % HUGE_PAGE
    if hasattr(mmap, "MADV_HUGEPAGE"):  # Linux; elsewhere the pages stay as the OS gives them
        try:
            mm.madvise(mmap.MADV_HUGEPAGE, start, size)
        except OSError:
            pass  # THP disabled in this kernel: 4 KiB pages, still pre-faulted below
    region = whole[start:start + size]
    if prefault:
        # Fault every page in now, after the advice: one write per 4 KiB page (under THP the
        # first write of each 2 MB takes the whole huge page). Anonymous pages read as zero.
        region[::PAGE] = 0
    out = {}
    for name, (shape, dtype) in specs.items():
        n = table_bytes(shape, dtype)
        out[name] = region[offsets[name]:offsets[name] + n].view(np.dtype(dtype)).reshape(shape)
    return out
