"""cocotb benches of the risk gate (sim/riskdb/bench_gate.py) on Verilator, through sim.runner."""
from __future__ import annotations

import json

import pytest

from riskgate_rtl_fixtures import GEOM
from sim.toolchain import have_verilator

pytestmark = [pytest.mark.rtl, pytest.mark.skipif(not have_verilator(), reason="Verilator not installed")]


def test_cocotb_benches_pass():
    from hdl.riskdb.top import build
    from sim.runner import run_cocotb

    res = run_cocotb(build(**GEOM), "sim.riskdb.bench_gate",
                     extra_env={"FORELAND_RISKDB_GEOM": json.dumps({**GEOM, "seed": 3, "n": 500})}, timeout_s=900)
    res.raise_for_failure()
    assert res.tests == 2 and res.failed == 0
