"""Fixed-point formats, quantisation and the datapath primitives of the bit-true model."""
import math

import numpy as np
import pytest
from scipy.special import ndtri

from hdl.snowball.regmap import REGMAP
from hdl.snowball.lane import TABLES
from kernels import snowball_fixed as F
from kernels.snowball_bittrue import exp2_fixed, exp2_fixed_array, increment_fixed, normal_fixed, normal_fixed_array
from kernels.snowball_schedule import lower
from pricing.product import Market, Snowball


def _normals(words):
    return normal_fixed_array(np.asarray(words, dtype=np.int64))


def test_normal_is_exactly_antisymmetric_and_monotone():
    """N(~w) = -N(w) bit for bit (the antithetic partner), and N never decreases with w."""
    rng = np.random.default_rng(1)
    w = np.sort(np.concatenate([rng.integers(0, 2**32, 20000), np.arange(0, 4096), 2**31 + np.arange(-2048, 2048)]))
    z = _normals(w)
    assert np.array_equal(_normals(w ^ 0xFFFFFFFF), -z)
    assert np.all(np.diff(z) >= 0)
    assert normal_fixed(0) < -6.3 * 2**14 < 6.3 * 2**14 < normal_fixed(2**32 - 1)   # tails beyond 6 sigma


def test_normal_error_bound_against_scipy():
    """|z_fixed - Phi^-1(u)| <= 3.3e-5 (half an LSB of 2**-14 plus < 2e-6 polynomial error) on every segment."""
    rng = np.random.default_rng(2)
    words = []
    for e in range(F.NORM_OCTAVES):
        for sub in range(1 << F.NORM_SEG_BITS):
            m = (1 << 31) | (sub << 27)
            g = ((m + rng.integers(0, 1 << 27, 24)) >> e) | 1
            words.append(g >> 1)
    w = np.concatenate(words + [rng.integers(0, 2**32, 20000)])
    err = _normals(w) / 2.0**14 - ndtri((w + 0.5) / 2.0**32)
    assert np.abs(err).max() <= 3.3e-5
    assert abs(err.mean()) < 2e-6


def test_exp2_relative_error_bound():
    """2**y in payoff units is within 2e-8 relative of numpy's exp2 where it matters (2**y >= 1e-3)."""
    rng = np.random.default_rng(3)
    y = rng.integers(-10 * 2**32, 4 * 2**32, 20000)
    got = exp2_fixed_array(y.astype(np.int64)) / 2.0**F.PAY_FRAC
    ref = np.exp2(y / 2.0**F.X_FRAC)
    assert np.max(np.abs(got / ref - 1)) < 2e-8
    assert exp2_fixed(6 * 2**32) == F.PAY_SAT                # saturates above every strike
    assert exp2_fixed(-40 * 2**32) == 1 and exp2_fixed(-41 * 2**32) == 0   # 2**-40 is one LSB


def test_increment_matches_float_diffusion():
    """drift +/- diffusion*z of the fixed datapath agrees with the float step to the format's precision."""
    sched = lower(Snowball(), Market(vol=0.3), 0, False)
    fs = F.quantize(sched)
    for w in (0, 1, 12345678, 2**31, 3_000_000_000, 2**32 - 1):
        z = normal_fixed(w) / 2.0**F.Z_FRAC
        want = (sched.drift + sched.diffusion * z) / math.log(2)
        got = increment_fixed(w, 0, fs.dmant, fs.dshift, fs.drift) / 2.0**F.X_FRAC
        assert abs(got - want) < 2e-5 * abs(sched.diffusion * z) + 1e-9
        assert increment_fixed(w, 1, fs.dmant, fs.dshift, fs.drift) + increment_fixed(w, 0, fs.dmant, fs.dshift, fs.drift) \
            == 2 * fs.drift


def test_quantize_precision():
    """Diffusion keeps 17 significant bits; drift, spot and barriers round to 2**-32 in log2 units."""
    sched = lower(Snowball(ko_barrier=1.03, ki_barrier=0.8), Market(spot=0.93, vol=0.21), 5, False)
    fs = F.quantize(sched)
    l2 = math.log(2)
    assert 2**16 <= fs.dmant < 2**17
    assert abs(fs.dmant * 2.0 ** -(fs.dshift + 18) * l2 / sched.diffusion - 1) < 2**-16
    assert abs(fs.drift / 2**32 * l2 - sched.drift) < 2**-32
    assert abs(fs.x0 / 2**32 - math.log2(0.93)) <= 2**-33
    assert abs(fs.ko_q[0] / 2**32 - math.log2(1.03)) <= 2**-33
    assert fs.ki_daily == 1 and fs.ki_mat == 0 and fs.ki0 == 0
    assert fs.disc_floor == F.PAY_SAT                         # no floor


@pytest.mark.parametrize("note, mkt, field", [
    (Snowball(maturity_days=70000, lockup_days=63), Market(), "n_steps"),
    (Snowball(days_per_year=1.0, maturity_days=5, lockup_days=1), Market(vol=0.9), "vol"),
    (Snowball(ko_days=tuple(range(1, 301)), maturity_days=300), Market(), "ko_days"),
    (Snowball(coupon=60.0), Market(), "coupon"),
    (Snowball(ki_strike=20.0, ki_barrier=0.5), Market(), "ki_strike"),
])
def test_quantize_rejects_what_the_hardware_cannot_hold(note, mkt, field):
    """Out-of-range valuations raise ValueError naming the field."""
    with pytest.raises(ValueError, match=f"^{field}:"):
        F.quantize(lower(note, mkt, 0, False))


def test_to_mcsums_conversion_is_exact():
    """Integer accumulators convert by powers of two (exact) in the one shared place."""
    sched = lower(Snowball(), Market(), 0, False)
    fs = F.quantize(sched)
    acc = dict(SUM_PAY=3 << F.PAY_FRAC, SUM_SQ=5 << 26, SUM_ACC=1 << (F.PAY_FRAC - 1), SUM_LOSS=-(7 << F.PAY_FRAC),
               N_KO=11, N_KI=4, N_MAT=6, SUM_LIFE=1234)
    s = F.to_mcsums(acc, 10, fs)
    assert (s.sum_pair, s.sum_pair_sq, s.sum_ko_accrual, s.sum_loss) == (1.5, 5.0, 0.5, -7.0)
    assert s.sum_mat_accrual == 6 * sched.mat_disc * sched.mat_accrual
    assert (s.n_pairs, s.n_ko, s.n_ki, s.sum_life_days) == (10, 11, 4, 1234.0)


def test_register_map_matches_the_formats():
    """Tables and accumulator registers are as wide as the formats they carry (one source of truth)."""
    for name, width in TABLES:
        assert REGMAP.table(name)[1].width == width
        assert REGMAP.table(name)[1].depth == F.MAX_OBS
    for name, width in F.ACC_WIDTHS.items():
        assert sum(r.width for r in REGMAP.parts(name)) == width


def test_hardware_doc_shows_the_current_register_map():
    """docs/snowball-hardware.md carries the register map rendered from REGMAP (cannot drift)."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "snowball-hardware.md").read_text()
    assert REGMAP.markdown().strip() in doc
