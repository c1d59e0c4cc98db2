"""Reference model against hand-worked outcomes of the spec text (every reason code and message type)."""
import pytest

from riskgate_directed_cases import CASES
from riskgate_fixtures import Runner, check_invariants


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__[5:])
def test_model_directed(case):
    made = []

    def make():
        r = Runner("model")
        made.append(r)
        return r

    case(make)
    for r in made:
        check_invariants(r.gate)
