"""Snowball hardware benchmarks: Verilator simulation speed, CPU peers, and projected device throughput.

Run: ``python -m pytest bench/bench_snowball_rtl.py --benchmark-enable -s``.

* Simulation: path-steps/s of the Verilated kernel through the pybind11 binding
  (2 lanes), next to the bit-true Numba model and the float64 Numba kernel
  (``backend="cpu"``) on the same contract and path count; ratios are printed.
* Projection: device path-steps/s = lanes x Fmax, from real
  ``foreland rtl synth snowball --lanes N --json`` results stored in
  ``docs/snowball-synth.json`` (refresh: FORELAND_SNOWBALL_SYNTH=1 re-runs the
  flow, minutes per configuration).  "Useful" throughput also multiplies by the
  slot efficiency measured in simulation (path-steps that were alive / slots).
* Exhaustive normal-transform error over all 2**32 words vs AS241.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from numba import njit, prange

from kernels.snowball_schedule import lower
from pricing.product import Market, Snowball

SYNTH_JSON = Path(__file__).resolve().parent.parent / "docs" / "snowball-synth.json"
PAIRS = 2048
_RESULTS: dict[str, float] = {}


def _sched():
    return lower(Snowball(), Market(), 0, False)


def _have_verilator() -> bool:
    from sim.toolchain import have_verilator
    return have_verilator()


@pytest.mark.skipif(not _have_verilator(), reason="needs Verilator")
def test_verilator_simulation_speed(benchmark):
    """Verilated kernel (2 lanes): simulated path-steps per second of wall time."""
    from host.snowball_driver import SnowballDriver, open_device
    from kernels import snowball_fixed as F

    drv = SnowballDriver(open_device(2))
    fs = F.quantize(_sched())
    drv.load(fs)
    acc = benchmark.pedantic(drv.run, args=(PAIRS, 1, fs.n_steps), rounds=3, iterations=1)
    t = benchmark.stats.stats.mean
    useful = acc["SUM_LIFE"]
    slots = drv.last_cycles * drv.lanes
    _RESULTS["sim_steps_per_s"] = useful / t
    _RESULTS["slot_efficiency"] = useful / slots
    benchmark.extra_info.update(cycles=drv.last_cycles, useful_path_steps=useful, slot_path_steps=slots,
                                path_steps_per_s=useful / t, cycles_per_s=drv.last_cycles / t,
                                slot_efficiency=useful / slots)
    print(f"\nVerilator 2 lanes: {useful / t:,.0f} path-steps/s ({drv.last_cycles / t:,.0f} cycles/s), "
          f"slot efficiency {useful / slots:.3f}")


def test_bit_true_model_speed(benchmark):
    """Bit-true Numba model on the same contract and paths."""
    from kernels.snowball_bittrue import accumulate_bittrue
    from kernels import snowball_fixed as F

    fs = F.quantize(_sched())
    accumulate_bittrue(fs, 64, 1)  # compile
    acc = benchmark.pedantic(accumulate_bittrue, args=(fs, PAIRS, 1), rounds=3, iterations=1)
    _RESULTS["bittrue_steps_per_s"] = acc["SUM_LIFE"] / benchmark.stats.stats.mean
    benchmark.extra_info["path_steps_per_s"] = _RESULTS["bittrue_steps_per_s"]


def test_cpu_float_kernel_speed(benchmark):
    """float64 Numba kernel (backend="cpu") on the same contract and paths: the CPU peer."""
    from kernels.snowball_mc import mc_sums_cpu

    s = _sched()
    mc_sums_cpu(s, 64, 1)
    sums = benchmark.pedantic(mc_sums_cpu, args=(s, PAIRS * 16, 1), rounds=3, iterations=1)
    _RESULTS["cpu_steps_per_s"] = sums.sum_life_days / benchmark.stats.stats.mean
    benchmark.extra_info["path_steps_per_s"] = _RESULTS["cpu_steps_per_s"]
    print(f"\nCPU float64 Numba: {_RESULTS['cpu_steps_per_s']:,.0f} path-steps/s")


def _synth_results() -> dict:
    """{"placed": [...], "yosys_estimates": [...]}: placed (Yosys + nextpnr) rows and Yosys-only rows."""
    if os.environ.get("FORELAND_SNOWBALL_SYNTH") == "1":
        from hdl.snowball.top import build
        from hdl.synth import synthesize
        lanes = [int(x) for x in os.environ.get("FORELAND_SNOWBALL_SYNTH_LANES", "1").split(",")]
        est_lanes = [int(x) for x in os.environ.get("FORELAND_SNOWBALL_ESTIMATE_LANES", "1,2,10").split(",")]
        placed = [synthesize(build(lanes=n), f"snowball --lanes {n}", timeout_s=7200).as_dict() | {"lanes": n}
                  for n in lanes]
        est = [synthesize(build(lanes=n), f"snowball --lanes {n}", timeout_s=7200, place=False).as_dict()
               | {"lanes": n} for n in est_lanes]
        SYNTH_JSON.write_text(json.dumps({"placed": placed, "yosys_estimates": est}, indent=2))
    if not SYNTH_JSON.is_file():
        pytest.skip(f"no synthesis results in {SYNTH_JSON} (set FORELAND_SNOWBALL_SYNTH=1 to produce them)")
    data = json.loads(SYNTH_JSON.read_text())
    return data if isinstance(data, dict) else {"placed": data, "yosys_estimates": []}


#: LFE5U-85F capacity (nextpnr's counts): LUT4 (TRELLIS_COMB), FF, MULT18X18D, DP16KD
ECP5_85F = {"luts": 83640, "ffs": 83640, "dsps": 156, "brams": 208}
#: utilisation ceiling for "fits": above ~90 % of LUTs/FFs nextpnr routes poorly and Fmax drops
FIT_CEILING = 0.90


def lanes_that_fit(rows: list[dict], ceiling: float = FIT_CEILING, lut_packing: float = 1.0) -> tuple[int, dict, dict]:
    """Most lanes within `ceiling` of every 85F resource, from per-lane increments of synthesis rows.

    With rows for two lane counts a < b (same method): per lane = (R(b) - R(a)) / (b - a), fixed
    part = R(a) - a * per lane (CSR decoder, run control, shell).  With one row only, the whole
    result is charged to the lane (conservative).  `lut_packing` scales LUT counts of Yosys-only
    rows to what nextpnr packs (placed / estimated LUTs of the same design).
    """
    rows = sorted(rows, key=lambda r: r["lanes"])
    keys = list(ECP5_85F)
    scale = {k: (lut_packing if k == "luts" else 1.0) for k in keys}
    if len(rows) >= 2:
        a, b = rows[0], rows[1]
        per = {k: max(scale[k] * (b[k] - a[k]) / (b["lanes"] - a["lanes"]), 1e-9) for k in keys}
        fixed = {k: max(scale[k] * a[k] - a["lanes"] * per[k], 0.0) for k in keys}
    else:
        a = rows[0]
        per = {k: max(scale[k] * a[k] / a["lanes"], 1e-9) for k in keys}
        fixed = {k: 0.0 for k in keys}
    n = min(int((ceiling * ECP5_85F[k] - fixed[k]) // per[k]) for k in keys)
    return n, per, fixed


def test_projected_device_throughput(benchmark):
    """lanes x Fmax path-steps/s per placed configuration and for the most lanes that fit, next to the CPU."""
    data = benchmark.pedantic(_synth_results, rounds=1, iterations=1)
    placed, est = data["placed"], data.get("yosys_estimates", [])
    eff = _RESULTS.get("slot_efficiency")
    cpu = _RESULTS.get("cpu_steps_per_s")
    print("\nlanes  LUTs    FFs     DSP  BRAM  Fmax MHz  path-steps/s (lanes x Fmax)  useful/s   vs CPU")
    for r in sorted(placed, key=lambda r: r["lanes"]):
        fmax = r.get("fmax_mhz") or 0.0
        proj = r["lanes"] * fmax * 1e6
        useful = proj * eff if eff else float("nan")
        ratio = proj / cpu if cpu else float("nan")
        print(f"{r['lanes']:>5}  {r['luts']:>6}  {r['ffs']:>6}  {r['dsps']:>3}  {r['brams']:>4}  {fmax:8.1f}  "
              f"{proj:>27.3e}  {useful:9.3e}  {ratio:6.1f}x")
        benchmark.extra_info[f"lanes{r['lanes']}_projected_path_steps_per_s"] = proj
    # Lanes that fit: per-lane increments from Yosys-only rows of 1 and 2 lanes (one method for
    # both), LUTs scaled by the packing ratio of the placed 1-lane run; else the placed rows.
    one_placed = next((r for r in placed if r["lanes"] == 1), None)
    one_est = next((r for r in est if r["lanes"] == 1), None)
    if one_placed and one_est and len(est) >= 2:
        packing = one_placed["luts"] / one_est["luts"]
        n_fit, per, fixed = lanes_that_fit([r for r in est if r["lanes"] <= 2], lut_packing=packing)
    else:
        packing = 1.0
        n_fit, per, fixed = lanes_that_fit(placed)
    for r in sorted(est, key=lambda r: r["lanes"]):
        print(f"yosys estimate {r['lanes']:>2} lanes: LUT4 {r['luts']:,} (x{packing:.3f} packed = "
              f"{r['luts'] * packing:,.0f}, {100 * r['luts'] * packing / ECP5_85F['luts']:.1f} %), FF {r['ffs']:,} "
              f"({100 * r['ffs'] / ECP5_85F['ffs']:.1f} %), DSP {r['dsps']}, BRAM {r['brams']}")
    # Assumption: the many-lane build keeps the lowest Fmax measured on the placed lane counts
    # (lanes share only the CSR parameter fan-out and the result multiplexer).
    fmax_fit = min(r.get("fmax_mhz") or 0.0 for r in placed)
    proj_fit = n_fit * fmax_fit * 1e6
    print(f"most lanes within {FIT_CEILING:.0%} of the 85F: {n_fit} (per lane "
          + ", ".join(f"{k} {v:,.0f}" for k, v in per.items()) + "; fixed "
          + ", ".join(f"{k} {v:,.0f}" for k, v in fixed.items())
          + f"); projected {n_fit} x {fmax_fit:.1f} MHz = {proj_fit:.3e} path-steps/s")
    eff = eff or float("nan")
    print("projected  lanes  LUT4 (model)  FF (model)  DSP  BRAM  path-steps/s  useful/s  vs CPU")
    for n in sorted({1, 2, 4, n_fit}):
        res = {k: fixed[k] + n * per[k] for k in per}
        proj = n * fmax_fit * 1e6
        print(f"           {n:>5}  {res['luts']:>12,.0f}  {res['ffs']:>10,.0f}  {res['dsps']:>3,.0f}  "
              f"{res['brams']:>4,.0f}  {proj:12.3e}  {proj * eff:8.3e}  {proj / cpu if cpu else float('nan'):6.1f}x")
        benchmark.extra_info[f"lanes{n}_model_projected_path_steps_per_s"] = proj
    benchmark.extra_info.update(lanes_that_fit=n_fit, lanes_that_fit_projected_path_steps_per_s=proj_fit)
    assert all(r["lanes"] >= 1 for r in placed) and n_fit >= 1


@njit(parallel=True, cache=True)
def _exhaustive_normal_error(blocks):
    from kernels.normal import ppnd16
    from kernels.snowball_bittrue import normal_fixed

    worst = np.zeros(blocks)
    total = np.zeros(blocks)
    per = (1 << 32) // blocks
    for b in prange(blocks):
        for w in range(b * per, (b + 1) * per):
            e = normal_fixed(w) / 16384.0 - ppnd16((w + 0.5) / 4294967296.0)
            total[b] += e
            if abs(e) > worst[b]:
                worst[b] = abs(e)
    return worst.max(), total.sum() / 2.0**32


@pytest.mark.skipif(os.environ.get("FORELAND_SNOWBALL_EXHAUSTIVE") != "1",
                    reason="all 2**32 words take minutes: set FORELAND_SNOWBALL_EXHAUSTIVE=1")
def test_normal_transform_exhaustive_error(benchmark):
    """max |z_fixed - AS241(u)| and mean error over every one of the 2**32 input words."""
    t0 = time.perf_counter()
    worst, mean = benchmark.pedantic(_exhaustive_normal_error, args=(64,), rounds=1, iterations=1)
    benchmark.extra_info.update(max_abs_error=worst, mean_error=mean)
    print(f"\nnormal transform over 2**32 words: max |err| {worst:.3e}, mean err {mean:.3e} "
          f"({time.perf_counter() - t0:.0f} s)")
    assert worst < 3.3e-5
