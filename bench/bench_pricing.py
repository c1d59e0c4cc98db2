"""Snowball pricing benchmarks (pytest-benchmark): the standard 1-year note with 1M paths.

Run: ``python -m pytest bench/bench_pricing.py --benchmark-enable``. Speed is
reported as ratios against peers measured in the same run (the plain-numpy
pricer at equal paths) and as effective path-steps per second (steps actually
simulated, reported by the kernel).
"""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
from numba import njit

from kernels.normal_words import ndtri_words
from kernels.snowball_mc import CHUNK, _draw, threefry2x32_inline
from kernels.snowball_numpy import mc_sums_numpy
from kernels.snowball_schedule import lower
from pricing import Market, Snowball, price

NOTE = Snowball()          # KO 103% monthly after 3 months, KI 80% daily, 252 steps, coupon 8.5%
MKT = Market()             # spot 1, r 2%, q 4%, vol 16%
PATHS = 1_000_000
_MEANS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def warm_jit():
    price(NOTE, MKT, paths=2000, backend="cpu", greeks=True)
    price(NOTE, MKT, method="pde", greeks=True)


def _record(benchmark, name):
    _MEANS[name] = benchmark.stats.stats.min


def _cpu_seconds(fn, rounds=3):
    """Best-of-rounds CPU time (time.process_time, all threads) and wall time of fn()."""
    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        c, w = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - c)
        best_wall = min(best_wall, time.perf_counter() - w)
    return best_cpu, best_wall


def test_mc_price_stderr_1m(benchmark):
    res = benchmark(price, NOTE, MKT, paths=PATHS, seed=1, backend="cpu")
    _record(benchmark, "mc_price")
    t = benchmark.stats.stats.min
    cpu, wall = _cpu_seconds(lambda: price(NOTE, MKT, paths=PATHS, seed=1, backend="cpu"))
    benchmark.extra_info.update(path_steps=res.path_steps, path_steps_per_s=res.path_steps / t,
                                price=res.price, stderr=res.stderr, cpu_s=cpu, wall_s=wall,
                                load_avg_1m=os.getloadavg()[0])
    print(f"\nMC price 1M: min {t:.3f} s wall, CPU {cpu:.3f} s (wall {wall:.3f} s, process_time best of 3), "
          f"{res.path_steps / 1e6:.0f}M path-steps, {res.path_steps / t / 1e6:.0f}M path-steps/s, "
          f"load {os.getloadavg()[0]:.1f}")


def test_mc_price_five_greeks_1m(benchmark):
    res = benchmark.pedantic(price, args=(NOTE, MKT), kwargs=dict(paths=PATHS, seed=1, backend="cpu", greeks=True),
                             rounds=3, iterations=1)
    _record(benchmark, "mc_greeks")
    benchmark.extra_info["greeks"] = {k: float(v) for k, v in res.greeks.items()}
    cpu, wall = _cpu_seconds(lambda: price(NOTE, MKT, paths=PATHS, seed=1, backend="cpu", greeks=True), rounds=2)
    benchmark.extra_info.update(cpu_s=cpu, wall_s=wall)
    print(f"\nMC price + 5 Greeks 1M: min {benchmark.stats.stats.min:.3f} s wall, CPU {cpu:.3f} s (wall {wall:.3f} s)")


def test_pde_price_greeks(benchmark):
    res = benchmark(price, NOTE, MKT, method="pde", greeks=True)
    _record(benchmark, "pde_greeks")
    fine = price(NOTE, MKT, method="pde", pde_nodes_per_day_sd=16, pde_steps_per_day=8)
    benchmark.extra_info["abs_error_vs_4x_finer_grid"] = abs(res.price - fine.price)


def test_numpy_pricer_1m(benchmark):
    s = lower(NOTE, MKT)
    sums = benchmark.pedantic(mc_sums_numpy, args=(s, PATHS // 2, 1), rounds=1, iterations=1)
    _record(benchmark, "numpy_price")
    benchmark.extra_info["price"] = sums.sum_pair / sums.n_pairs


def test_ratios_in_this_run(benchmark):
    """Record the speed-up of the Numba kernel over the numpy pricer measured above (same run, equal paths)."""
    if not {"mc_price", "numpy_price"} <= set(_MEANS):
        pytest.skip("needs the MC and numpy benchmarks of this run")
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    ratio = _MEANS["numpy_price"] / _MEANS["mc_price"]
    benchmark.extra_info["numpy_over_numba"] = ratio
    benchmark.extra_info["load_avg_1m"] = os.getloadavg()[0]
    benchmark.extra_info["seconds"] = dict(_MEANS)
    print(f"\nnumpy / numba at {PATHS:,} paths: {ratio:.1f}x; times (min, s): {_MEANS}")


# --- Inverse normal per draw (Threefry included): AS241 as in the kernel vs the piecewise word transform ---
_DRAW_BLOCKS = 1024        # x 512 pairs x 2 words = 1M normals per round


def _draw_buffers():
    B = CHUNK
    return (B, np.arange(B, dtype=np.uint32), np.empty(2 * B, np.uint32), np.empty(2 * B),
            np.empty(2 * B + 16, np.int32), np.empty(2 * B + 16, np.uint32), np.empty(2 * B), np.empty(2 * B, np.int64))


def _as241_draws(buf):
    B, ids, w, z, tix, tw, tz, te = buf
    for kc in range(_DRAW_BLOCKS):
        _draw(B, ids, np.uint32(kc), np.uint32(1), np.uint32(0), B, w, z, tix, tw, tz, te)
    return z


@njit(error_model="numpy")
def _piecewise_kernel(blocks, m, ids, wa, wb, za, zb):
    for kc in range(blocks):
        for i in range(m):
            wa[i], wb[i] = threefry2x32_inline(ids[i], np.uint32(kc), np.uint32(1), np.uint32(0))
        ndtri_words(wa, m, za)
        ndtri_words(wb, m, zb)


def _piecewise_draws(buf):
    B, ids, w, z, *_ = buf
    _piecewise_kernel(_DRAW_BLOCKS, B, ids, w[:B], w[B:], z[:B], z[B:])
    return z


def test_normals_as241_draw_1m(benchmark):
    buf = _draw_buffers()
    _as241_draws(buf)
    benchmark(_as241_draws, buf)
    _record(benchmark, "as241_draw")


def test_normals_piecewise_draw_1m(benchmark):
    buf = _draw_buffers()
    _piecewise_draws(buf)
    benchmark(_piecewise_draws, buf)
    _record(benchmark, "piecewise_draw")
    if "as241_draw" in _MEANS:
        benchmark.extra_info["piecewise_over_as241"] = _MEANS["piecewise_draw"] / _MEANS["as241_draw"]
        print(f"\npiecewise / AS241 per 1M draws: {_MEANS['piecewise_draw'] / _MEANS['as241_draw']:.2f}")
