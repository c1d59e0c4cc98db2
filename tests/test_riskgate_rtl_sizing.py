"""The block-RAM sizing of the risk gate (hdl/riskdb/sizing.py) against the memories the elaborated gate really has."""
from __future__ import annotations

from amaranth.hdl import Shape

from hdl.riskdb.gate import OTAG_FIELDS, GateCore
from hdl.riskdb.regmap import Geometry
from hdl.riskdb.sizing import dp16kd, memories
from kernels import riskgate_tables as T


def _inspected(*objs):
    """Mark elaboratables that were only inspected, never built, so Amaranth does not warn at collection."""
    for o in objs:
        o = o[0] if isinstance(o, tuple) else o  # Module keeps (submodule, source location)
        o._MustUse__silence = True
        for sub in getattr(o, "_named_submodules", {}).values():
            _inspected(sub)
        for sub in getattr(o, "_anon_submodules", []):
            _inspected(sub)


def test_sizing_lists_exactly_the_elaborated_memories():
    g = Geometry(accounts=16, positions=64, orders=128, instruments=256, ways=4)
    core = GateCore(g)
    mod = core.elaborate(None)
    _inspected(core, mod)
    sizes = memories(g)
    for name, (rows, bits) in sizes.items():
        mem = mod.submodules[name]
        assert (mem.depth, Shape.cast(mem.shape).width) == (rows, bits), name
    # and no other memory: every submodule named mem_* is in the list
    assert {n for n in mod._named_submodules if n.startswith("mem_")} == set(sizes)


def test_tag_copy_is_the_fields_p3_reads():
    g = Geometry(ways=4)
    rows, bits = memories(g)["mem_otag"]
    widths = dict(T.LAYOUTS["orders"])
    assert bits == 4 * sum(widths[f] for f in OTAG_FIELDS) < memories(g)["mem_orders"][1]


def test_dp16kd_count_is_width_and_depth_blocks():
    # 36-bit x 512-row blocks: a 1432-bit row needs 40 columns; 1024 rows twice that
    g = Geometry(accounts=256, positions=512, orders=1024, instruments=256, ways=4)
    n = dp16kd(g)
    assert n["mem_orders"] == 2 * -(-g.row_bits("orders") // 36) == 80
    assert n["mem_acfg"] == -(-g.row_bits("acfg") // 36)
