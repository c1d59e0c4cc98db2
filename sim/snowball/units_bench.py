"""cocotb unit benches of the datapath blocks (on hdl.snowball.units.UnitsHarness).

* generator: Random123 known answers and random blocks vs kernels.threefry;
* normal transform: a dense sweep (every segment of every octave at 8 offsets,
  the extreme words, random words) vs kernels.snowball_bittrue.normal_fixed,
  plus antisymmetry N(~w) = -N(w);
* path step: the increment of both antithetic paths vs increment_fixed;
* exp2: the whole useful input range vs exp2_fixed.
Inputs are driven once per clock (a unit bench has to, it streams vectors).
"""
import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from hdl.snowball.exp2 import Exp2
from hdl.snowball.pathstep import PathIncrement
from hdl.snowball.threefry import Threefry2x32
from kernels import snowball_fixed as F
from kernels.snowball_bittrue import exp2_fixed, increment_fixed, normal_fixed
from kernels.threefry import KNOWN_ANSWERS, threefry2x32_py


async def _clock(dut):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    await FallingEdge(dut.clk)


def _s(sig) -> int:
    return int(sig.value.to_signed())


def _u(sig) -> int:
    v = sig.value
    return int(v) if len(sig) == 1 else int(v.to_unsigned())


@cocotb.test()
async def threefry_known_answers(dut):
    """Random123 kat_vectors and 300 random counters under 3 keys, one block per clock."""
    await _clock(dut)
    rng = np.random.default_rng(5)
    batches = [((k0, k1), [(c0, c1)]) for (c0, c1), (k0, k1), _ in KNOWN_ANSWERS]
    batches += [((int(a), int(b)), [tuple(int(v) for v in c) for c in rng.integers(0, 2**32, (100, 2))])
                for a, b in rng.integers(0, 2**32, (3, 2))]
    for (k0, k1), ctrs in batches:
        dut.tf_k0.value, dut.tf_k1.value = k0, k1
        dut.tf_i_valid.value = 0
        await FallingEdge(dut.clk)
        await FallingEdge(dut.clk)
        got = []
        for i in range(len(ctrs) + Threefry2x32.LATENCY + 1):
            if i < len(ctrs):
                dut.tf_c0.value, dut.tf_c1.value = ctrs[i]
                dut.tf_i_valid.value = 1
            else:
                dut.tf_i_valid.value = 0
            await FallingEdge(dut.clk)
            if _u(dut.tf_o_valid):
                got.append((_u(dut.tf_x0), _u(dut.tf_x1)))
        want = [threefry2x32_py(c0, c1, k0, k1) for c0, c1 in ctrs]
        assert got == want, f"key ({k0:#x}, {k1:#x}): first mismatch at {next(i for i, (g, w) in enumerate(zip(got, want)) if g != w) if len(got) == len(want) else 'count'}"
    for (c, k, out) in KNOWN_ANSWERS:
        assert threefry2x32_py(*c, *k) == out


def _sweep_words() -> list[int]:
    words = []
    for e in range(F.NORM_OCTAVES):
        for sub in range(1 << F.NORM_SEG_BITS):
            for t in np.linspace(0, 1, 9)[:-1]:
                m = (1 << 31) | (sub << (31 - F.NORM_SEG_BITS)) | int(t * (1 << (31 - F.NORM_SEG_BITS)))
                g = (m >> e) | 1          # odd: a real (2h + 1)
                words.append(g >> 1)      # lower-half word h
    words += [0, 1, 2, 3, 0x7FFFFFFF, 0x7FFFFFFE, 0x40000000, 0x3FFFFFFF]
    rng = np.random.default_rng(9)
    words += [int(w) for w in rng.integers(0, 2**31, 1000)]
    return words + [w ^ 0xFFFFFFFF for w in words]   # the upper half: antithetic partners


@cocotb.test()
async def normal_and_path_step_sweep(dut):
    """Normal transform over every segment (and both halves) and the +/- path increments vs the model."""
    await _clock(dut)
    words = _sweep_words()
    dmant, dshift, drift = 0x1A2B3, 7, -123456789
    dut.ps_dmant.value, dut.ps_dshift.value, dut.ps_drift.value = dmant, dshift, drift
    lat_z = PathIncrement.LATENCY - 3
    zs, incs = [], []
    n = len(words)
    for i in range(2 * n + PathIncrement.LATENCY + 1):
        k = i // 2
        dut.ps_w.value = words[k] if k < n else 0
        dut.ps_s.value = i & 1
        await FallingEdge(dut.clk)
        j = i - lat_z + 1
        if 0 <= j < 2 * n and j % 2 == 0:
            zs.append(_s(dut.ps_z))
        j = i - PathIncrement.LATENCY + 1
        if 0 <= j < 2 * n:
            incs.append(_s(dut.ps_inc))
    want_z = [int(normal_fixed(w)) for w in words]
    bad = [(hex(w), g, e) for w, g, e in zip(words, zs, want_z) if g != e]
    assert len(zs) == n and not bad, f"{len(bad)} normal mismatches, first {bad[:3]}"
    half = n // 2
    assert all(zs[i] == -zs[i + half] for i in range(half)), "N(~w) != -N(w)"
    want_inc = [int(increment_fixed(words[j // 2], j & 1, dmant, dshift, drift)) for j in range(2 * n)]
    bad = [j for j, (g, e) in enumerate(zip(incs, want_inc)) if g != e]
    assert len(incs) == 2 * n and not bad, f"{len(bad)} increment mismatches, first at slot {bad[:3]}"


@cocotb.test()
async def exp2_range(dut):
    """2**y over [-40, 8) in log2 units (dense grid + random) vs exp2_fixed, saturation included."""
    await _clock(dut)
    rng = np.random.default_rng(3)
    ys = [int(v) for v in np.linspace(-40 * 2**32, 8 * 2**32, 4000)]
    ys += [int(v) for v in rng.integers(-2**33, 2**33, 2000)] + [0, -1, 1, 5 * 2**32 - 1, 6 * 2**32, -(2**47), 2**47 - 1]
    got = []
    for i in range(len(ys) + Exp2.LATENCY + 1):
        dut.ex_y.value = ys[i] if i < len(ys) else 0
        await FallingEdge(dut.clk)
        j = i - Exp2.LATENCY + 1
        if 0 <= j < len(ys):
            got.append(_s(dut.ex_e))
    want = [int(exp2_fixed(y)) for y in ys]
    bad = [(y, g, e) for y, g, e in zip(ys, got, want) if g != e]
    assert len(got) == len(ys) and not bad, f"{len(bad)} exp2 mismatches, first {bad[:3]}"
