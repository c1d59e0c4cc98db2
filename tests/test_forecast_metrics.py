"""The source's Acc metric, its interval, MAPE and win share against hand-computed values."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast import acc, acc_interval, mape, win_share


def test_acc_hand_computed():
    # relative errors 0.1, 0.1, 0, 0.2, 0.2 -> sum 0.6 -> 1 - 0.2 * 0.6 = 0.88
    assert acc([110, 90, 100, 120, 80], [100] * 5) == pytest.approx(0.88)
    # errors 0.5 + 0.25 + 0 + 0 + 1.0 = 1.75 -> 1 - 0.35 = 0.65
    assert acc([3, 5, 7, 9, 22], [2, 4, 7, 9, 11]) == pytest.approx(0.65)


def test_acc_clamps_at_zero_and_perfect_is_one():
    assert acc([300] * 5, [100] * 5) == 0.0  # 1 - 0.2 * 10 < 0
    assert acc([5, 6, 7, 8, 9], [5, 6, 7, 8, 9]) == 1.0


def test_acc_batched_shape():
    rng = np.random.default_rng(0)
    t = rng.uniform(1, 10, (2, 3, 5))
    p = t * (1 + rng.normal(0, 0.1, t.shape))
    out = acc(p, t)
    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(max(0, 1 - 0.2 * sum(abs(p[1, 2, i] - t[1, 2, i]) / t[1, 2, i] for i in range(5))))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e6), st.floats(1e-3, 1e6)), min_size=5, max_size=5))
def test_acc_matches_loop_definition(pairs):
    p = [a for a, _ in pairs]
    t = [b for _, b in pairs]
    ref = 1.0
    for a, b in pairs:
        ref -= 0.2 * abs(a - b) / b
    assert acc(p, t) == pytest.approx(max(0.0, ref), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("p,t,field", [
    ([1, 2, 3, 4, 5], [1, 2, 0, 4, 5], "actual"),
    ([1, 2, 3, 4, 5], [1, 2, -3, 4, 5], "actual"),
    ([1, 2, 3, 4], [1, 2, 3, 4, 5], "predicted"),
    ([1, 2, np.nan, 4, 5], [1, 2, 3, 4, 5], "predicted"),
])
def test_acc_rejects_bad_input(p, t, field):
    with pytest.raises(ValueError, match=field):
        acc(p, t)


def test_interval_and_mape_hand_computed():
    m, lo, hi = acc_interval([0.5, 0.7, 0.9])  # mean 0.7, sample sd 0.2
    assert (m, lo, hi) == pytest.approx((0.7, 0.7 - 0.392, 0.7 + 0.392))
    assert mape([110, 90, 100, 120, 80], [100] * 5) == pytest.approx(0.12)
    with pytest.raises(ValueError, match="values"):
        acc_interval([])


def test_win_share_hand_computed():
    fused = np.array([0.8, 0.6, 0.5, 0.9])
    others = {"a": np.array([0.7, 0.7, 0.5, 0.1]), "b": np.array([0.1, 0.2, 0.4, 0.95])}
    # case 1 wins, case 2 loses to a, case 3 ties a (a tie is not a win), case 4 loses to b
    assert win_share(fused, others) == 0.25
