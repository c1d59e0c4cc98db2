"""The snowball kernel's CSR register map: the one definition HDL, host driver and tests import."""
from __future__ import annotations

from hdl.common.regmap import Register, RegisterMap, Table, TableWindow, header_registers, wide_registers
from kernels.snowball_fixed import ACC_WIDTHS, MAX_OBS, PAY_WIDTH, STEP_WIDTH, X_WIDTH

#: STATUS bits
STATUS_BUSY = 1
STATUS_DONE = 2
#: CTRL bits
CTRL_START = 1
#: KI_FLAGS bits
KI_FLAG_DAILY = 1
KI_FLAG_MATURITY = 2
KI_FLAG_KNOCKED_IN = 4
#: first address of the per-lane result block (selected by LANE_SEL)
RESULTS_BASE = 0x20

#: 48-bit signed parameters (two's complement in 48 bits), in write order
WIDE_PARAMS = ("X0", "DRIFT", "KI_Q", "MAT_PAY", "LN_DISC", "DISC_STRIKE", "DISC_FLOOR")


def _results() -> list[Register]:
    regs, addr = [], RESULTS_BASE
    for name, width in ACC_WIDTHS.items():
        regs += wide_registers(name, addr, width, "ro", f"accumulator {name} of the lane in LANE_SEL")
        addr += -(-width // 32)
    return regs


REGMAP = RegisterMap("snowball", [
    *header_registers("SNOW"),
    Register("CTRL", 0x02, "w1p", 1, "bit0 START: clear the accumulators and run all pairs"),
    Register("STATUS", 0x03, "ro", 2, "bit0 busy, bit1 done (set until the next START)"),
    Register("LANES", 0x04, "ro", 8, "number of lanes in this build"),
    Register("MAX_OBS", 0x05, "ro", 16, "KO observation rows per table", const=MAX_OBS),
    Register("LANE_SEL", 0x06, "rw", 8, "lane whose accumulators the result block shows"),
    *wide_registers("SEED", 0x08, 64, "rw", "Threefry key: (SEED_LO, SEED_HI) = (k0, k1)"),
    Register("N_PAIRS", 0x0A, "rw", 32, "antithetic pairs to simulate (paths = 2 * N_PAIRS)"),
    Register("N_STEPS", 0x0B, "rw", STEP_WIDTH, "daily steps left to maturity (1..65535)"),
    Register("N_OBS", 0x0C, "rw", 9, "KO observations still ahead (rows used in the tables)"),
    Register("KI_FLAGS", 0x0D, "rw", 3, "bit0 KI observed daily, bit1 KI observed at maturity, bit2 already knocked in"),
    Register("DMANT", 0x0E, "rw", 17, "diffusion mantissa: vol*sqrt(dt)/ln2 = DMANT * 2^-(DSHIFT+18)"),
    Register("DSHIFT", 0x0F, "rw", 5, "diffusion shift"),
    *wide_registers("X0", 0x10, X_WIDTH, "rw", "log2(spot/initial), 32 fraction bits, signed"),
    *wide_registers("DRIFT", 0x12, X_WIDTH, "rw", "(r-q-vol^2/2)*dt/ln2 per step, 32 fraction bits, signed"),
    *wide_registers("KI_Q", 0x14, X_WIDTH, "rw", "log2(KI barrier), 32 fraction bits, signed"),
    *wide_registers("MAT_PAY", 0x16, PAY_WIDTH, "rw", "pre-discounted maturity coupon, 40 fraction bits"),
    *wide_registers("LN_DISC", 0x18, X_WIDTH, "rw", "log2(maturity discount factor), 32 fraction bits, signed"),
    *wide_registers("DISC_STRIKE", 0x1A, PAY_WIDTH, "rw", "discount * KI strike, 40 fraction bits"),
    *wide_registers("DISC_FLOOR", 0x1C, PAY_WIDTH, "rw", "discount * loss floor, 40 fraction bits (2^47-1: none)"),
    *wide_registers("CYCLES", 0x1E, 64, "ro", "clock cycles of the last run (START to done)"),
    *_results(),
], tables=[TableWindow("TBL", 0x40, (
    Table("OBS_STEP", 0, depth=MAX_OBS, width=STEP_WIDTH, doc="KO observation after this many steps, increasing"),
    Table("KO_Q", 1, depth=MAX_OBS, width=X_WIDTH, doc="log2(KO barrier) per observation, 32 fraction bits, signed"),
    Table("KO_PAY", 2, depth=MAX_OBS, width=PAY_WIDTH, doc="pre-discounted KO coupon per observation, 40 fraction bits"),
    Table("KO_ACC", 3, depth=MAX_OBS, width=PAY_WIDTH, doc="discount * accrual per observation, 40 fraction bits"),
))])
