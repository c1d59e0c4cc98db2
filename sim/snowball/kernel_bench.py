"""cocotb whole-kernel bench: the RTL's accumulators equal the bit-true model's exactly.

Runs on a plain kernel top (CSR port ``csr__*``) or on hdl.snowball.verify.VerifyHarness,
where every kernel named in SNOWBALL_KERNELS (CSR prefixes, e.g. "k1,k4") is checked.
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
from cocotb.clock import Clock
from sim.snowball.contracts import random_contract, zoo_schedules

PERIOD_NS = 10
POLL_CYCLES = 2000


class CSRDriver:
    """Host side of one CSR bus (ports <prefix>__addr ...): one access per clock, driven on falling edges."""

    def __init__(self, dut, prefix: str = "csr") -> None:
        self.dut = dut
        self.prefix = prefix
        self.p = {n: getattr(dut, f"{prefix}__{n}") for n in ("addr", "w_data", "w_stb", "r_stb", "r_data")}

    def idle(self) -> None:
        """Drive the bus idle."""
        for n in ("addr", "w_data", "w_stb", "r_stb"):
            self.p[n].value = 0

    async def write(self, addr: int, value: int) -> None:
        """One write cycle."""
        self.p["addr"].value, self.p["w_data"].value, self.p["w_stb"].value = addr, value, 1
        await FallingEdge(self.dut.clk)
        self.p["w_stb"].value = 0

    async def write_block(self, addr: int, words) -> None:
        """Back-to-back writes to one address (DMA-style table load)."""
        for w in words:
            await self.write(addr, int(w))

    async def read(self, addr: int) -> int:
        """One read cycle; r_data is registered at the rising edge."""
        self.p["addr"].value, self.p["r_stb"].value = addr, 1
        await FallingEdge(self.dut.clk)
        self.p["r_stb"].value = 0
        return int(self.p["r_data"].value.to_unsigned())


def _prefixes(dut) -> list[str]:
    env = os.environ.get("SNOWBALL_KERNELS", "")
    return [p for p in env.split(",") if p] if env else ["csr"]


async def start_kernels(dut) -> list[CSRDriver]:
    """Start the clock, reset, and return one driver per kernel under test."""
    cocotb.start_soon(Clock(dut.clk, PERIOD_NS, unit="ns").start())
    drivers = [CSRDriver(dut, p) for p in _prefixes(dut)]
    for d in drivers:
        d.idle()
    dut.rst.value = 1
    await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await FallingEdge(dut.clk)
    return drivers


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
    for csr in await start_kernels(dut):
        assert await csr.read(REGMAP.addr("ID")) == REGMAP.const_value(REGMAP["ID"])
        assert await csr.read(REGMAP.addr("MAPHASH")) == REGMAP.hash
        assert await csr.read(REGMAP.addr("MAX_OBS")) == F.MAX_OBS
        assert 1 <= await csr.read(REGMAP.addr("LANES")) <= 64


@cocotb.test()
async def zoo_contracts_bit_exact(dut):
    """Every zoo contract (step-down, lock-up, floor, protection, KI at maturity, running trades): exact sums."""
    drivers = await start_kernels(dut)
    n_pairs = int(os.environ.get("SNOWBALL_PAIRS", "64"))
    seed = int(os.environ.get("SNOWBALL_SEED", "2024"))
    bad = []
    cases = [(i, name, sched, csr) for i, (name, sched) in enumerate(zoo_schedules()) for csr in drivers]
    for i, name, sched, csr in cases:
        fs = F.quantize(sched)
        got, cycles = await _run(dut, csr, fs, n_pairs, seed + i)
        want = accumulate_bittrue(fs, n_pairs, seed + i)
        if os.environ.get("SNOWBALL_BREAK_MODEL") == "1":
            want["SUM_PAY"] += 1
        tag = f"[{csr.prefix}] {name}"
        dut._log.info(f"{tag}: {n_pairs} pairs in {cycles} cycles, {'exact' if got == want else 'MISMATCH'}")
        if got != want:
            bad.append(f"{tag}: {_diff(got, want)}")
    assert not bad, "; ".join(bad)


@cocotb.test()
async def random_contracts_bit_exact(dut):
    """Random contracts, seeds and pair counts (including fewer pairs than lanes): exact sums."""
    drivers = await start_kernels(dut)
    rng = np.random.default_rng(int(os.environ.get("SNOWBALL_SEED", "2024")))
    bad = []
    for k in range(int(os.environ.get("SNOWBALL_RANDOM", "4")) * len(drivers)):
        csr, i = drivers[k % len(drivers)], k
        note, mkt, v, ki = random_contract(rng)
        fs = F.quantize(lower(note, mkt, v, ki))
        n_pairs = int(rng.integers(1, 48))
        seed = int(rng.integers(0, 2**63)) * 2 + int(rng.integers(0, 2))
        got, cycles = await _run(dut, csr, fs, n_pairs, seed)
        want = accumulate_bittrue(fs, n_pairs, seed)
        dut._log.info(f"[{csr.prefix}] random {i}: T={note.maturity_days} v={v} ki={note.ki_observation} {n_pairs} pairs, "
                      f"{cycles} cycles, {'exact' if got == want else 'MISMATCH'}")
        if got != want:
            bad.append(f"random {i} ({note}, {mkt}, v={v}, ki={ki}, pairs={n_pairs}, seed={seed}): {_diff(got, want)}")
    assert not bad, "; ".join(bad)
