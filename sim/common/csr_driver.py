"""cocotb drivers for the kernel conventions: the CSR bus and msg_in/dec_out streams.

All drives and samples happen on the falling clock edge, half a cycle away from
the rising edge where the RTL samples, so no delta-cycle races are possible.
Use from a cocotb test::

    clk = await start_kernel(dut)          # 10 ns clock, reset applied
    csr = CSRDriver(dut)
    await csr.write(0x02, 5); assert await csr.read(0x02) == 5
"""
from __future__ import annotations

import random
from typing import Sequence

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

__all__ = ["start_kernel", "CSRDriver", "StreamDriver"]


async def start_kernel(dut, period_ns: int = 10, reset_cycles: int = 2) -> None:
    """Start the `clk` clock and pulse `rst`; leaves the bus idle at a falling edge."""
    cocotb.start_soon(Clock(dut.clk, period_ns, unit="ns").start())
    dut.rst.value = 1
    dut.csr__w_stb.value = 0
    dut.csr__r_stb.value = 0
    dut.csr__addr.value = 0
    dut.csr__w_data.value = 0
    for name in ("msg_in__valid", "dec_out__ready"):
        if hasattr(dut, name):
            getattr(dut, name).value = 0
    for _ in range(reset_cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    await FallingEdge(dut.clk)


class CSRDriver:
    """Host side of the CSR bus: one write or read per clock cycle."""

    def __init__(self, dut) -> None:
        self.dut = dut

    async def write(self, addr: int, value: int) -> None:
        """One write cycle (the register takes the value on the next rising edge)."""
        d = self.dut
        d.csr__addr.value = addr
        d.csr__w_data.value = value
        d.csr__w_stb.value = 1
        await FallingEdge(d.clk)
        d.csr__w_stb.value = 0

    async def write_block(self, addr: int, words: Sequence[int]) -> None:
        """Back-to-back writes to one address (table window DATA loads)."""
        for w in words:
            await self.write(addr, int(w))

    async def read(self, addr: int) -> int:
        """One read cycle; returns r_data registered at the rising edge."""
        d = self.dut
        d.csr__addr.value = addr
        d.csr__r_stb.value = 1
        await FallingEdge(d.clk)
        d.csr__r_stb.value = 0
        return int(d.csr__r_data.value.to_unsigned())

    async def wait_until(self, addr: int, mask: int, value: int, max_cycles: int = 100_000) -> int:
        """Poll until (read & mask) == value; returns cycles waited; raises TimeoutError."""
        for cycle in range(max_cycles):
            if (await self.read(addr)) & mask == value:
                return cycle + 1
        raise TimeoutError(f"register 0x{addr:04X} never matched (value & 0x{mask:X}) == 0x{value:X}")


class StreamDriver:
    """Pushes messages into msg_in and collects dec_out, with optional random back-pressure."""

    def __init__(self, dut, out_ready_prob: float = 1.0, seed: int = 0) -> None:
        self.dut = dut
        self.out_ready_prob = out_ready_prob
        self.rng = random.Random(seed)

    async def run(self, messages: Sequence[int], n_out: int | None = None, max_cycles: int | None = None) -> list[int]:
        """Send `messages` (ints) and return `n_out` (default len(messages)) output payloads in order."""
        d = self.dut
        n_out = len(messages) if n_out is None else n_out
        max_cycles = max_cycles or 1000 + 64 * max(len(messages), n_out)
        outs: list[int] = []
        i = 0
        for _ in range(max_cycles):
            if len(outs) >= n_out:
                break
            d.msg_in__valid.value = int(i < len(messages))
            if i < len(messages):
                d.msg_in__payload.value = messages[i]
            out_ready = self.rng.random() < self.out_ready_prob
            d.dec_out__ready.value = int(out_ready)
            # Sample the handshake after the inputs settle, before the rising edge commits it.
            await ReadOnly()
            in_fire = i < len(messages) and bool(d.msg_in__ready.value)
            out_fire = out_ready and bool(d.dec_out__valid.value)
            payload = int(d.dec_out__payload.value.to_unsigned()) if out_fire else None
            await FallingEdge(d.clk)
            i += int(in_fire)
            if payload is not None:
                outs.append(payload)
        else:
            raise TimeoutError(f"stream: {len(outs)} of {n_out} outputs after {max_cycles} cycles")
        d.msg_in__valid.value = 0
        d.dec_out__ready.value = 0
        return outs
