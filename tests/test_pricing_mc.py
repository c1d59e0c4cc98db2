"""Monte Carlo engines: Numba kernel vs plain numpy on the same paths, RNG pieces, threads, error scaling."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp
from pricing_fixtures import case_objects, AGREEMENT_CASES, run_py

from kernels.normal import log_batch, ppnd16, ppnd16_np, tail_batch
from kernels.snowball_mc import mc_pass, mc_sums_cpu, threefry2x32_inline
from kernels.snowball_numpy import mc_sums_numpy, normals, threefry2x32_np
from kernels.snowball_schedule import lower
from kernels.threefry import KNOWN_ANSWERS, threefry2x32_py
from pricing import Market, Snowball, price
from pricing.api import _scenarios


def test_inline_and_numpy_threefry_match_reference():
    rnd = np.random.default_rng(3)
    c = rnd.integers(0, 2**32, size=(300, 4), dtype=np.uint64)
    from numba import njit

    @njit
    def many(a, b, k0, k1):
        o0 = np.empty(a.shape[0], np.uint32)
        o1 = np.empty(a.shape[0], np.uint32)
        for i in range(a.shape[0]):
            o0[i], o1[i] = threefry2x32_inline(a[i], b[i], k0, k1)
        return o0, o1

    for (c0, c1), (k0, k1), out in KNOWN_ANSWERS:
        w = many(np.array([c0], np.uint32), np.array([c1], np.uint32), np.uint32(k0), np.uint32(k1))
        assert (int(w[0][0]), int(w[1][0])) == out
        n = threefry2x32_np(np.array([c0], np.uint32), np.array([c1], np.uint32), k0, k1)
        assert (int(n[0][0]), int(n[1][0])) == out
    k0, k1 = int(c[0, 2]), int(c[0, 3])
    a, b = c[:, 0].astype(np.uint32), c[:, 1].astype(np.uint32)
    w0, w1 = many(a, b, np.uint32(k0), np.uint32(k1))
    n0, n1 = threefry2x32_np(a, b, k0, k1)
    ref = [threefry2x32_py(int(x), int(y), k0, k1) for x, y in zip(a, b)]
    assert [(int(x), int(y)) for x, y in zip(w0, w1)] == ref
    assert [(int(x), int(y)) for x, y in zip(n0, n1)] == ref


def test_as241_matches_scipy_ndtri_and_numba_matches_numpy():
    rnd = np.random.default_rng(5)
    u = np.concatenate([rnd.random(20000), [0.5 / 2**32, 1 - 0.5 / 2**32, 1e-300, 0.075, 0.925, 0.5]])
    z = ppnd16_np(u)
    assert np.max(np.abs(z - sp.ndtri(u)) / np.maximum(1, np.abs(z))) < 5e-15
    assert all(ppnd16(x) == y for x, y in zip(u[::50], z[::50]))
    idx = np.nonzero(np.abs(u - 0.5) > 0.425)[0]
    out = np.zeros_like(u)
    tail_batch(u, idx, len(idx), out, np.empty(len(idx)), np.empty(len(idx), np.int64))
    assert np.max(np.abs(out[idx] - z[idx]) / np.abs(z[idx])) < 3e-15


def test_vectorised_log_within_one_ulp():
    rnd = np.random.default_rng(9)
    x = np.concatenate([rnd.random(50000), np.exp(rnd.uniform(-700, 700, 50000)), [1.0, 2.0, math.sqrt(2)]])
    y = x.copy()
    log_batch(y, len(y), np.empty(len(y), np.int64))
    ref = np.log(x)
    assert np.all(np.abs(y - ref) <= np.spacing(np.abs(ref)) + 1e-300)


def test_rng_contract_first_normals():
    # Pair 7, seed 2**40 + 11: step j uses word j&1 of block j>>1, u = (w + 0.5) / 2**32, z = AS241(u).
    seed = 2**40 + 11
    z = normals(7, 1, 5, seed)[0]
    k0, k1 = seed & 0xFFFFFFFF, seed >> 32
    words = [w for blk in range(3) for w in threefry2x32_py(7, blk, k0, k1)][:5]
    expect = [sp.ndtri((w + 0.5) / 2**32) for w in words]
    assert np.allclose(z, expect, rtol=1e-14, atol=0)


@pytest.mark.parametrize("case", [c for c in AGREEMENT_CASES if c[0] in (
    "standard", "stepdown", "floor10", "ki_maturity", "running_day100_ki", "running_day40", "tenor6m",
    "maturity_coupon", "lockup0")], ids=lambda c: c[0])
def test_numba_kernel_equals_numpy_pricer_on_same_paths(case):
    note, mkt, v, ki = case_objects(case)
    s = lower(note, mkt, v, ki)
    a = mc_sums_cpu(s, 20_000, 42)
    b = mc_sums_numpy(s, 20_000, 42)
    assert a.n_ko == b.n_ko and a.n_ki == b.n_ki
    assert a.sum_life_days == b.sum_life_days
    for f in ("sum_pair", "sum_pair_sq", "sum_ko_accrual", "sum_mat_accrual", "sum_loss"):
        x, y = getattr(a, f), getattr(b, f)
        assert abs(x - y) <= 1e-12 * max(1.0, abs(y)), f


def test_one_pass_greek_scenarios_equal_repricing_on_same_seed():
    """Every bumped scenario of the single pass equals a separate numpy run of that market (same seed)."""
    note, mkt = Snowball(coupon=0.12), Market(vol=0.22, spot=0.97)
    base = lower(note, mkt, 10, False)
    scen = _scenarios(note, mkt, 10, False)
    sums, values, _ = mc_pass([base] + [s for _, s, _ in scen], [0] + [o for _, _, o in scen], 10_000, 7)
    assert values[0] == pytest.approx(sums.sum_pair / 10_000, abs=1e-15)
    for (name, s, off), v in zip(scen, values[1:]):
        if off:
            continue  # theta's calendar-aligned shocks differ from a fresh run's stream (checked against PDE)
        ref = mc_sums_numpy(s, 10_000, 7).sum_pair / 10_000
        assert v == pytest.approx(ref, abs=1e-12), name


def test_stderr_falls_as_one_over_sqrt_n():
    note, mkt = Snowball(), Market()
    se = [price(note, mkt, paths=n, seed=3, backend="cpu").stderr for n in (20_000, 80_000, 320_000)]
    assert se[0] / se[1] == pytest.approx(2.0, rel=0.1)
    assert se[1] / se[2] == pytest.approx(2.0, rel=0.1)


def test_seeds_give_independent_estimates():
    note, mkt = Snowball(), Market()
    a = price(note, mkt, paths=100_000, seed=1, backend="cpu")
    b = price(note, mkt, paths=100_000, seed=2, backend="cpu")
    assert a.price != b.price
    assert abs(a.price - b.price) < 5 * math.hypot(a.stderr, b.stderr)


_THREAD_CODE = """
from pricing import Snowball, Market, price
import numba
r = price(Snowball(), Market(vol=0.25), paths=100_001, seed=99, backend="cpu", greeks=True)
print(numba.get_num_threads(), r.price.hex(), r.stderr.hex(), r.ko_probability.hex(),
      *(float(v).hex() for v in r.greeks.values()), r.fair_coupon.hex())
"""


def test_identical_bits_with_one_and_two_threads():
    outs = []
    for n in ("1", "2"):
        p = run_py(_THREAD_CODE, {"NUMBA_NUM_THREADS": n})
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout.split())
    assert outs[0][0] == "1" and outs[1][0] == "2"
    assert outs[0][1:] == outs[1][1:]


def test_path_steps_reported_and_fewer_than_full_grid():
    r = price(Snowball(), Market(), paths=50_000, backend="cpu")
    assert r.paths == 50_000
    assert 0 < r.path_steps < 50_000 * 252
    # every pair simulates at least up to the first KO observation (day 63)
    assert r.path_steps >= 50_000 * 63
