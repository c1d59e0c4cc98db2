"""cocotb bench for hdl/common/example.py (run through sim.runner.run_cocotb).

Checks the RTL against hdl.common.example.model_stream and the register-map
semantics.  FORELAND_EXAMPLE_BREAK=1 makes the bench expect a wrong key, so
the infrastructure tests can prove that a failing bench fails the pytest run.
"""
import os
import random

import cocotb

from hdl.common.example import CTRL_START, REGMAP, STATUS_DONE, model_stream
from hdl.common.regmap import pack_rows, split64
from sim.common.csr_driver import CSRDriver, StreamDriver, start_kernel


@cocotb.test()
async def csr_registers(dut):
    """ID/MAPHASH constants, rw scratch, 64-bit key, table load read back, countdown job."""
    await start_kernel(dut)
    csr = CSRDriver(dut)
    assert await csr.read(REGMAP.addr("ID")) == REGMAP.const_value(REGMAP["ID"])
    assert await csr.read(REGMAP.addr("MAPHASH")) == REGMAP.hash
    await csr.write(REGMAP.addr("SCRATCH"), 0xA5A5_0F0F)
    assert await csr.read(REGMAP.addr("SCRATCH")) == 0xA5A5_0F0F
    rows = [random.getrandbits(48) for _ in range(16)]
    await csr.write(REGMAP.addr("TBL_SEL"), REGMAP.table("COEF")[1].id)
    await csr.write(REGMAP.addr("TBL_ADDR"), 0)
    await csr.write_block(REGMAP.addr("TBL_DATA"), pack_rows(rows, 48).ravel().tolist())
    for idx in (0, 7, 15):
        await csr.write(REGMAP.addr("LOOKUP_IDX"), idx)
        lo = await csr.read(REGMAP.addr("LOOKUP_LO"))
        hi = await csr.read(REGMAP.addr("LOOKUP_HI"))
        assert lo | (hi << 32) == rows[idx], f"COEF[{idx}]"
    await csr.write(REGMAP.addr("COUNT"), 25)
    await csr.write(REGMAP.addr("CTRL"), CTRL_START)
    waited = await csr.wait_until(REGMAP.addr("STATUS"), STATUS_DONE, STATUS_DONE, 200)
    assert 20 <= waited <= 30, waited


@cocotb.test()
async def stream_backpressure(dut):
    """200 random 96-bit messages with random dec_out back-pressure match the Python model."""
    await start_kernel(dut)
    csr = CSRDriver(dut)
    key = random.getrandbits(64)
    lo, hi = split64(key)
    await csr.write(REGMAP.addr("KEY_LO"), lo)
    await csr.write(REGMAP.addr("KEY_HI"), hi)
    await csr.write(REGMAP.addr("STALL_EVERY"), 5)
    msgs = [random.getrandbits(96) for _ in range(200)]
    outs = await StreamDriver(dut, out_ready_prob=0.6, seed=1).run(msgs)
    expect_key = key ^ 1 if os.environ.get("FORELAND_EXAMPLE_BREAK") == "1" else key
    assert outs == model_stream(msgs, expect_key)
