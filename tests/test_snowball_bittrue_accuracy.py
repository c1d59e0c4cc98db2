"""Bit-true model vs float64 Monte Carlo on the same uniforms, and vs the finite-difference price."""
import pytest

from kernels.snowball_bittrue import mc_sums_bittrue
from kernels.snowball_schedule import lower
from pricing.product import Market, Snowball
from pricing.result import summarize
from snowball_hw_fixtures import float_reference, zoo_schedules

#: documented bound (docs/snowball-hardware.md): |bit-true - float64| per unit notional at >= 1e5 paths
PRICE_BOUND = 1e-5


@pytest.mark.parametrize("name", ["default", "step_down", "running_ki", "short_odd"])
def test_bit_true_vs_float64_same_uniforms(name):
    """Same Threefry words: fixed point (log2, 2**-14 normals, exp2 table) vs float64 AS241 within 1e-5."""
    sched = dict(zoo_schedules())[name]
    n = 50_000
    bt, fl = mc_sums_bittrue(sched, n, 5), float_reference(sched, n, 5)
    assert abs(bt.sum_pair - fl.sum_pair) / n <= PRICE_BOUND
    assert abs(bt.sum_loss - fl.sum_loss) / (2 * n) <= PRICE_BOUND
    # only paths sitting within ~1e-5 of a barrier may flip
    assert abs(bt.n_ko - fl.n_ko) <= 1e-4 * 2 * n and abs(bt.n_ki - fl.n_ki) <= 1e-4 * 2 * n
    assert abs(bt.sum_pair_sq - fl.sum_pair_sq) <= 1e-3 * fl.sum_pair_sq + 1e-9


def test_bit_true_detects_a_different_contract():
    """The comparison has teeth: a 1% different coupon moves the float price beyond the bound."""
    sched = dict(zoo_schedules())["default"]
    other = lower(Snowball(coupon=0.085 * 1.01), Market(), 0, False)
    n = 20_000
    assert abs(mc_sums_bittrue(sched, n, 5).sum_pair - float_reference(other, n, 5).sum_pair) / n > 5 * PRICE_BOUND


@pytest.mark.slow
def test_one_million_paths_agree_with_pde():
    """At 1M paths the bit-true price is within 3 standard errors of the finite-difference price."""
    from pricing.api import price

    note, mkt = Snowball(), Market()
    sums = mc_sums_bittrue(lower(note, mkt, 0, False), 500_000, 2024)
    res = summarize(sums, lower(note, mkt, 0, False), "bit-true", 2024)
    pde = price(note, mkt, method="pde", greeks=False).price
    assert res.paths == 1_000_000
    assert abs(res.price - pde) <= 3 * res.stderr, (res.price, pde, res.stderr)
    assert res.stderr < 5e-4
