"""Threefry-2x32-20 against the Random123 known-answer vectors."""
import pytest

from kernels.threefry import KNOWN_ANSWERS, split_seed, threefry2x32, threefry2x32_py


@pytest.mark.parametrize("ctr,key,expected", KNOWN_ANSWERS)
def test_known_answers_numba(ctr, key, expected):
    out = threefry2x32(ctr[0], ctr[1], key[0], key[1])
    assert (int(out[0]), int(out[1])) == expected


@pytest.mark.parametrize("ctr,key,expected", KNOWN_ANSWERS)
def test_known_answers_python(ctr, key, expected):
    assert threefry2x32_py(*ctr, *key) == expected


def test_numba_matches_python_on_random_inputs():
    import random
    rnd = random.Random(7)
    for _ in range(500):
        a = [rnd.getrandbits(32) for _ in range(4)]
        out = threefry2x32(*a)
        assert (int(out[0]), int(out[1])) == threefry2x32_py(*a)


def test_split_seed_rejects_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        split_seed(-1)
    with pytest.raises(ValueError, match="seed"):
        split_seed(2**64)
    assert split_seed(2**32 + 5) == (5, 1)
