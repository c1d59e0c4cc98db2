"""Monte Carlo (1M paths, Numba) and finite differences agree within 3 standard errors on a case matrix."""
from __future__ import annotations

import pytest
from pricing_fixtures import AGREEMENT_CASES, case_objects

from pricing import price


def test_matrix_covers_the_required_ranges():
    notes = [case_objects(c) for c in AGREEMENT_CASES]
    assert len(notes) >= 20
    cpn = [n.coupon for n, *_ in notes]
    vol = [m.vol for _, m, *_ in notes]
    assert min(cpn) <= 0.05 and max(cpn) >= 0.30 and min(vol) <= 0.10 and max(vol) >= 0.40
    assert {n.ki_observation for n, *_ in notes} >= {"daily", "maturity"}
    assert {n.lockup_days for n, *_ in notes} >= {0, 63, 126}
    assert {n.maturity_days for n, *_ in notes} >= {126, 252, 504}
    assert any(len(set(n.ko_barrier)) > 1 for n, *_ in notes)
    assert any(n.floor == 0 for n, *_ in notes) and any(n.floor and n.floor > 0 for n, *_ in notes)
    assert any(v > 0 and ki for *_, v, ki in notes) and any(v > 0 and not ki for *_, v, ki in notes)
    assert min(n.ki_barrier for n, *_ in notes) <= 0.65 and max(n.ki_barrier for n, *_ in notes) >= 0.85
    assert min(min(n.ko_barrier) for n, *_ in notes) <= 0.95 and max(max(n.ko_barrier) for n, *_ in notes) >= 1.05
    assert {m.rate for _, m, *_ in notes} >= {0.0, 0.05} and {m.dividend for _, m, *_ in notes} >= {0.0, 0.05}


@pytest.mark.parametrize("case", AGREEMENT_CASES, ids=[c[0] for c in AGREEMENT_CASES])
def test_mc_and_pde_agree(case):
    note, mkt, v, ki = case_objects(case)
    pde = price(note, mkt, method="pde", elapsed_days=v, knocked_in=ki)
    mc = price(note, mkt, method="mc", paths=1_000_000, seed=sum(map(ord, case[0])), backend="cpu",
               elapsed_days=v, knocked_in=ki)
    assert abs(mc.price - pde.price) < 3 * mc.stderr, (mc.price, pde.price, mc.stderr)
    # probabilities and life agree too (binomial error of the path counts, antithetic pairs conservatively)
    n = mc.paths
    for a, b in ((mc.ko_probability, pde.ko_probability), (mc.ki_probability, pde.ki_probability)):
        se = max((b * (1 - b) / n) ** 0.5, 1e-6)
        assert abs(a - b) < 4 * se * 2 ** 0.5 + 1e-6
    assert abs(mc.fair_coupon - pde.fair_coupon) < 0.05 * abs(pde.fair_coupon) + 1e-3
