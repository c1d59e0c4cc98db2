"""Numba kernel (through the host API) against the same hand-worked outcomes as the model."""
import pytest

from riskgate_directed_cases import CASES
from riskgate_fixtures import Runner


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__[5:])
def test_cpu_directed(case):
    case(lambda: Runner("cpu"))


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__[5:])
def test_cpu_directed_colliding_tables(case):
    # Every key in one bucket of 16 ways: lookups must still find the right entry.
    case(lambda: Runner("cpu", account_buckets=1, position_buckets=1, order_buckets=1, ways=16))
