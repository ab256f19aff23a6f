"""The single-precision Float representation of the Float primitives (40-54)."""

import math

import pytest

from blocktalk.sim.floats import single_words, float_of_words


@pytest.mark.parametrize("x, words", [
    (1.0, (0x3F80, 0x0000)), (2.0, (0x4000, 0x0000)), (-0.5, (0xBF00, 0x0000)),
    (0.0, (0x0000, 0x0000)), (0.3, (0x3E99, 0x999A)),
])
def test_single_words(x, words):
    assert single_words(x) == words


def test_round_trip_rounds_to_single():
    assert float_of_words(*single_words(0.1)) == pytest.approx(0.1, rel=1e-7)
    assert float_of_words(*single_words(0.1)) != 0.1          # single, not double
    assert float_of_words(*single_words(16777217.0)) == 16777216.0


def test_overflow_is_infinity():
    assert float_of_words(*single_words(1e39)) == math.inf
    assert float_of_words(*single_words(-1e39)) == -math.inf
