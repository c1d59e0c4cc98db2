"""cocotb whole-kernel bench: the RTL's accumulators equal the bit-true model's exactly.

Run through ``sim.runner.run_cocotb(build(lanes=N), "sim.snowball.kernel_bench")``.
Python only writes registers and tables, starts the kernel and then sleeps on
simulator time (a Timer, no per-clock callbacks), polling STATUS every
``POLL_CYCLES`` clocks.  Environment: SNOWBALL_PAIRS (pairs per zoo contract),
SNOWBALL_RANDOM (number of random contracts), SNOWBALL_SEED.
"""
import os

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, Timer

from hdl.snowball.regmap import REGMAP, STATUS_BUSY, STATUS_DONE
from host.snowball_driver import combine_lanes, register_writes, run_writes, table_rows
from kernels import snowball_fixed as F
from kernels.snowball_bittrue import accumulate_bittrue
from kernels.snowball_schedule import lower
from sim.common.csr_driver import CSRDriver, start_kernel
from sim.snowball.contracts import random_contract, zoo_schedules

PERIOD_NS = 10
POLL_CYCLES = 2000


async def _run(dut, csr: CSRDriver, fs: F.FixedSchedule, n_pairs: int, seed: int) -> tuple[dict, int]:
    for addr, value in register_writes(fs):
        await csr.write(addr, value)
    for name, rows in table_rows(fs):
        win, t = REGMAP.table(name)
        await csr.write(REGMAP.addr(f"{win.name}_SEL"), t.id)
        await csr.write(REGMAP.addr(f"{win.name}_ADDR"), 0)
        await csr.write_block(REGMAP.addr(f"{win.name}_DATA"), rows.ravel().tolist())
    for addr, value in run_writes(n_pairs, seed):
        await csr.write(addr, value)
    assert (await csr.read(REGMAP.addr("STATUS"))) & STATUS_BUSY, "START did not make the kernel busy"
    lanes = await csr.read(REGMAP.addr("LANES"))
    limit = 2 * fs.n_steps * (-(-n_pairs // lanes)) + 4096
    waited = 0
    while not (await csr.read(REGMAP.addr("STATUS"))) & STATUS_DONE:
        assert waited <= limit, f"kernel not done after {waited} cycles"
        await Timer(POLL_CYCLES * PERIOD_NS, unit="ns")
        await FallingEdge(dut.clk)
        waited += POLL_CYCLES
    per_lane = []
    for lane in range(lanes):
        await csr.write(REGMAP.addr("LANE_SEL"), lane)
        acc = {}
        for name in F.ACC_NAMES:
            words = [await csr.read(r.addr) for r in REGMAP.parts(name)]
            acc[name] = sum(w << (32 * i) for i, w in enumerate(words))
        per_lane.append(acc)
    cycles = 0
    for i, r in enumerate(REGMAP.parts("CYCLES")):
        cycles |= (await csr.read(r.addr)) << (32 * i)
    return combine_lanes(per_lane), cycles


def _diff(got: dict, want: dict) -> str:
    return ", ".join(f"{k}: rtl {got[k]} model {want[k]}" for k in F.ACC_NAMES if got[k] != want[k])


@cocotb.test()
async def identity_registers(dut):
    """ID, MAPHASH, LANES and MAX_OBS read back as the register map says."""
    await start_kernel(dut, PERIOD_NS)
    csr = CSRDriver(dut)
    assert await csr.read(REGMAP.addr("ID")) == REGMAP.const_value(REGMAP["ID"])
    assert await csr.read(REGMAP.addr("MAPHASH")) == REGMAP.hash
    assert await csr.read(REGMAP.addr("MAX_OBS")) == F.MAX_OBS
    assert 1 <= await csr.read(REGMAP.addr("LANES")) <= 64


@cocotb.test()
async def zoo_contracts_bit_exact(dut):
    """Every zoo contract (step-down, lock-up, floor, protection, KI at maturity, running trades): exact sums."""
    await start_kernel(dut, PERIOD_NS)
    csr = CSRDriver(dut)
    n_pairs = int(os.environ.get("SNOWBALL_PAIRS", "64"))
    seed = int(os.environ.get("SNOWBALL_SEED", "2024"))
    bad = []
    for i, (name, sched) in enumerate(zoo_schedules()):
        fs = F.quantize(sched)
        got, cycles = await _run(dut, csr, fs, n_pairs, seed + i)
        want = accumulate_bittrue(fs, n_pairs, seed + i)
        if os.environ.get("SNOWBALL_BREAK_MODEL") == "1":
            want["SUM_PAY"] += 1
        dut._log.info(f"{name}: {n_pairs} pairs in {cycles} cycles, {'exact' if got == want else 'MISMATCH'}")
        if got != want:
            bad.append(f"{name}: {_diff(got, want)}")
    assert not bad, "; ".join(bad)


@cocotb.test()
async def random_contracts_bit_exact(dut):
    """Random contracts, seeds and pair counts (including fewer pairs than lanes): exact sums."""
    await start_kernel(dut, PERIOD_NS)
    csr = CSRDriver(dut)
    rng = np.random.default_rng(int(os.environ.get("SNOWBALL_SEED", "2024")))
    bad = []
    for i in range(int(os.environ.get("SNOWBALL_RANDOM", "4"))):
        note, mkt, v, ki = random_contract(rng)
        fs = F.quantize(lower(note, mkt, v, ki))
        n_pairs = int(rng.integers(1, 48))
        seed = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(0, 2))
        got, cycles = await _run(dut, csr, fs, n_pairs, seed)
        want = accumulate_bittrue(fs, n_pairs, seed)
        dut._log.info(f"random {i}: T={note.maturity_days} v={v} ki={note.ki_observation} {n_pairs} pairs, "
                      f"{cycles} cycles, {'exact' if got == want else 'MISMATCH'}")
        if got != want:
            bad.append(f"random {i} ({note}, {mkt}, v={v}, ki={ki}, pairs={n_pairs}, seed={seed}): {_diff(got, want)}")
    assert not bad, "; ".join(bad)
