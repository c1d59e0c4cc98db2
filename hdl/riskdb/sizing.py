"""On-chip memories of the risk gate per geometry and their ECP5 block-RAM (DP16KD) cost."""
from __future__ import annotations

from .gate import OTAG_FIELDS
from .records import SubLayout
from .regmap import TABLE_IDS, Geometry

__all__ = ["memories", "dp16kd", "DP16KD_DEPTH", "DP16KD_WIDTH"]

DP16KD_DEPTH, DP16KD_WIDTH = 512, 36  # the widest (pseudo dual port) shape of one 18 Kbit DP16KD


def memories(g: Geometry) -> dict[str, tuple[int, int]]:
    """``{memory name: (rows, bits per row)}`` of every table memory the gate instantiates for ``g``."""
    mems = {f"mem_{t}": (g.buckets(t), g.row_bits(t)) for t in TABLE_IDS}
    mems["mem_otag"] = (g.buckets("orders"), SubLayout("orders", g.ways, OTAG_FIELDS).row_bits)
    return mems


def dp16kd(g: Geometry) -> dict[str, int]:
    """DP16KD blocks per memory (one write and one read port each): ceil(bits / 36) * ceil(rows / 512)."""
    return {name: -(-bits // DP16KD_WIDTH) * -(-rows // DP16KD_DEPTH) for name, (rows, bits) in memories(g).items()}
