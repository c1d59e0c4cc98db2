"""Infrastructure benchmarks: the Verilated binding against peers on the same example kernel.

Run: python -m pytest bench/bench_infra.py --benchmark-enable
Each group has a peer in the same run, so compare the ratio, not absolute times:
* stream: 1000 messages through the C++ stream loop vs Amaranth's Python simulator;
* dma: 4096 table words via write_block (C++ loop) vs one Python write() call per word.
"""
import random

import numpy as np
import pytest

from hdl.common.example import MSG_WIDTH, REGMAP, build, model_stream
from hdl.common.regmap import pack_rows
from sim.toolchain import have_verilator

pytestmark = pytest.mark.skipif(not have_verilator(), reason="Verilator not installed")
N_MSGS = 1000
MSGS = [random.Random(1).getrandbits(MSG_WIDTH) for _ in range(N_MSGS)]


@pytest.fixture(scope="module")
def dev():
    from host.verilated import VerilatedDevice

    d = VerilatedDevice(build())
    REGMAP.write_value(d, "KEY", 0x1234)
    return d


@pytest.mark.benchmark(group="stream-1000-msgs")
def test_stream_verilated(benchmark, dev):
    res = benchmark(dev.stream, MSGS)  # includes packing the python ints into words
    assert res.as_ints() == model_stream(MSGS, 0x1234)
    benchmark.extra_info["cycles"] = res.cycles


@pytest.mark.benchmark(group="stream-1000-msgs")
def test_stream_verilated_prepacked(benchmark, dev):
    words = pack_rows(MSGS, MSG_WIDTH)
    res = benchmark(dev.stream, words)  # the C++ loop alone
    assert res.as_ints() == model_stream(MSGS, 0x1234)
    benchmark.extra_info["cycles"] = res.cycles


def _pysim_stream(msgs):
    from amaranth.sim import Simulator

    dut = build()
    outs = []

    async def bench(ctx):
        for addr, v in ((REGMAP.addr("KEY_LO"), 0x1234), (REGMAP.addr("KEY_HI"), 0)):
            ctx.set(dut.csr.addr, addr)
            ctx.set(dut.csr.w_data, v)
            ctx.set(dut.csr.w_stb, 1)
            await ctx.tick()
        ctx.set(dut.csr.w_stb, 0)
        ctx.set(dut.dec_out.ready, 1)
        i = 0
        while len(outs) < len(msgs):
            ctx.set(dut.msg_in.valid, i < len(msgs))
            if i < len(msgs):
                ctx.set(dut.msg_in.payload, msgs[i])
            fire_in = i < len(msgs) and ctx.get(dut.msg_in.ready)
            if ctx.get(dut.dec_out.valid):
                outs.append(ctx.get(dut.dec_out.payload))
            await ctx.tick()
            i += int(bool(fire_in))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return outs


@pytest.mark.benchmark(group="stream-1000-msgs")
def test_stream_amaranth_pysim_peer(benchmark):
    outs = benchmark.pedantic(_pysim_stream, args=(MSGS,), rounds=1, iterations=1)
    assert outs == model_stream(MSGS, 0x1234)


WORDS = np.arange(4096, dtype=np.uint32)


@pytest.mark.benchmark(group="dma-4096-words")
def test_write_block_cpp(benchmark, dev):
    benchmark(dev.write_block, REGMAP.addr("PUSHES"), WORDS)
    assert dev.read(REGMAP.addr("PUSH_SEEN")) == 4095


@pytest.mark.benchmark(group="dma-4096-words")
def test_write_loop_python_peer(benchmark, dev):
    addr = REGMAP.addr("PUSHES")

    def loop():
        for w in WORDS.tolist():
            dev.write(addr, w)

    benchmark(loop)
    assert dev.read(REGMAP.addr("PUSH_SEEN")) == 4095
