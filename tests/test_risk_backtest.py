"""Backtests against their formulas written out by hand and the Basel Committee's published table."""
from __future__ import annotations

import math

import numpy as np
import pytest

import risk


def test_kupiec_hand_computed():
    # x = 5 exceptions in n = 250 days at p = 1%:
    # LR = -2 [ 245 ln 0.99 + 5 ln 0.01 ] + 2 [ 245 ln(0.98) + 5 ln(0.02) ]
    #    = -2 (-2.46231 - 23.02585) + 2 (-4.94967 - 19.56012) = 50.97632 - 49.01958 = 1.95674
    res = risk.kupiec(5, 250, 0.01)
    assert res.statistic == pytest.approx(1.95674, abs=1e-4)
    # chi2(1) survival: P(Z^2 > s) = erfc(sqrt(s/2)).
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(res.statistic / 2)), rel=1e-12)


def test_kupiec_edges():
    zero = risk.kupiec(0, 250, 0.01)
    # x = 0: LR = -2 * 250 ln 0.99 = 5.02517
    assert zero.statistic == pytest.approx(-2 * 250 * math.log(0.99))
    assert risk.kupiec(2, 250, 0.01).statistic < zero.statistic  # 2 is close to the expected 2.5
    assert risk.kupiec(250, 250, 0.01).statistic == pytest.approx(-2 * 250 * math.log(0.01))


def test_christoffersen_hand_counted_transitions():
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    # transitions: 00: (0,1),(4,5),(5,6),(8,9) = 4; 01: (1,2),(6,7) = 2; 10: (3,4),(7,8) = 2; 11: (2,3) = 1
    res = risk.christoffersen(hits, p=0.1)
    assert res.transitions == {"n00": 4, "n01": 2, "n10": 2, "n11": 1}
    pi01, pi11, pi = 2 / 6, 1 / 3, 3 / 9
    l0 = 6 * math.log(1 - pi) + 3 * math.log(pi)
    l1 = 4 * math.log(1 - pi01) + 2 * math.log(pi01) + 2 * math.log(1 - pi11) + 1 * math.log(pi11)
    assert res.statistic == pytest.approx(-2 * (l0 - l1), abs=1e-12)
    # Conditional coverage = POF on the same 9 transitions + independence.
    assert res.cc_statistic == pytest.approx(risk.kupiec(3, 9, 0.1).statistic + res.statistic)
    assert res.cc_p_value == pytest.approx(math.exp(-res.cc_statistic / 2))  # chi2(2) survival


def test_christoffersen_detects_clustering():
    rng = np.random.default_rng(0)
    indep = rng.random(1000) < 0.05
    clustered = np.zeros(1000, dtype=bool)
    for s in rng.choice(980, 10, replace=False):
        clustered[s:s + 5] = True
    assert risk.christoffersen(indep).p_value > 0.01
    assert risk.christoffersen(clustered).p_value < 1e-6


@pytest.mark.parametrize("x,zone,plus", [
    # Basel Committee (1996), Table 2: 250 observations at 99%.
    (0, "green", 0.0), (4, "green", 0.0), (5, "yellow", 0.40), (6, "yellow", 0.50),
    (7, "yellow", 0.65), (8, "yellow", 0.75), (9, "yellow", 0.85), (10, "red", 1.0), (15, "red", 1.0),
])
def test_basel_traffic_light_table(x, zone, plus):
    z = risk.basel_zone(x)
    assert (z.zone, z.plus_factor) == (zone, plus)


def test_basel_cumulative_probabilities_from_table():
    # Published cumulative probabilities: 4 -> 89.22%, 5 -> 95.88%, 9 -> 99.97%.
    assert risk.basel_zone(4).cumulative_probability == pytest.approx(0.8922, abs=5e-5)
    assert risk.basel_zone(5).cumulative_probability == pytest.approx(0.9588, abs=5e-5)
    assert risk.basel_zone(9).cumulative_probability == pytest.approx(0.9997, abs=5e-5)


def test_exceptions_and_backtest_of_a_correct_model_passes():
    rng = np.random.default_rng(5)
    r = rng.standard_normal(2500) * 0.01
    var = 0.01 * 2.3263478740408408  # true 99% quantile of N(0, 1%)
    hits = risk.exceptions(r, var)
    assert risk.kupiec(int(hits.sum()), len(hits), 0.01).p_value > 0.01
    assert risk.christoffersen(hits, p=0.01).cc_p_value > 0.01


@pytest.mark.parametrize("call,field", [
    (lambda: risk.kupiec(-1, 250, 0.01), "exceptions"),
    (lambda: risk.kupiec(3, 0, 0.01), "n"),
    (lambda: risk.kupiec(3, 250, 1.5), "p"),
    (lambda: risk.christoffersen([0, 2, 1]), "hits"),
    (lambda: risk.christoffersen([1]), "hits"),
    (lambda: risk.basel_zone(300), "exceptions"),
    (lambda: risk.exceptions([0.1, float("nan")], 0.02), "NaN"),
])
def test_bad_input(call, field):
    with pytest.raises(ValueError, match=field):
        call()
