"""Float primitives 40-54 (Blue Book ch. 29, "Float primitives").

A Smalltalk-80 Float is a two-word, non-pointer object holding an IEEE 754
single-precision number, high word first (the Version 2 image's layout; its
class has the fixed class index ``Float``).  Arithmetic is done in double
precision and rounded once to single, which is what a single-precision FPU
gives for +, -, * and /.  A primitive fails -- and the image's Smalltalk code
takes over -- when an operand is not a Float (or, for 40, not a SmallInteger),
on division by zero, and when ``truncated`` leaves the SmallInteger range.
Results that overflow single precision are infinities, as IEEE 754 says.
"""

import math
import struct

from blocktalk.memory import format as F

from .primitives import FAIL, _answer, _int, _is_object, _tag

FLOAT = F.CLASS_INDEX["Float"]


def single_words(x):
    """The two 16-bit words of ``x`` rounded to IEEE single, high word first."""
    try:
        data = struct.pack(">f", x)
    except OverflowError:
        data = struct.pack(">f", math.copysign(math.inf, x))
    return struct.unpack(">HH", data)


def float_of_words(hi, lo):
    return struct.unpack(">f", struct.pack(">HH", hi, lo))[0]


def _float(core, v):
    """The value of a Float object (fails for anything else)."""
    mem = core.mem
    if not _is_object(v) or mem.class_index(v) != FLOAT or mem.body_words(v) != 2:
        raise FAIL
    a = v >> 1
    return float_of_words(mem.mem[a + 3], mem.mem[a + 4])


def _new_float(core, x):
    obj = core.instantiate(FLOAT, F.FMT_WORDS, 2, fill=0)
    hi, lo = single_words(x)
    m = core.mem.mem
    m[(obj >> 1) + 3] = hi
    m[(obj >> 1) + 4] = lo
    return obj


def prim_as_float(core, nargs):
    """``primitiveAsFloat`` (40): SmallInteger>>asFloat."""
    _answer(core, 0, _new_float(core, float(_int(core.top(0)))))


def _arithmetic(fn):
    def prim(core, nargs):
        x = _float(core, core.top(1))
        y = _float(core, core.top(0))
        _answer(core, 1, _new_float(core, fn(x, y)))
    return prim


def _divide(x, y):
    if y == 0:
        raise FAIL
    return x / y


def _comparison(fn):
    def prim(core, nargs):
        x = _float(core, core.top(1))
        y = _float(core, core.top(0))
        _answer(core, 1, F.TRUE if fn(x, y) else F.FALSE)
    return prim


def prim_truncated(core, nargs):
    """``primitiveTruncated`` (51): fails outside the SmallInteger range."""
    x = _float(core, core.top(0))
    if not math.isfinite(x):
        raise FAIL
    _answer(core, 0, _tag(int(x)))


def prim_fraction_part(core, nargs):
    """``primitiveFractionalPart`` (52)."""
    x = _float(core, core.top(0))
    if not math.isfinite(x):
        raise FAIL
    _answer(core, 0, _new_float(core, x - int(x)))


def prim_exponent(core, nargs):
    """``primitiveExponent`` (53): e with the receiver = m * 2^e, 1 <= |m| < 2."""
    x = _float(core, core.top(0))
    if x == 0 or not math.isfinite(x):
        raise FAIL
    _answer(core, 0, _tag(math.frexp(x)[1] - 1))


def prim_times_two_power(core, nargs):
    """``primitiveTimesTwoPower`` (54)."""
    x = _float(core, core.top(1))
    n = _int(core.top(0))
    try:
        y = math.ldexp(x, n)
    except OverflowError:
        y = math.copysign(math.inf, x)
    _answer(core, 1, _new_float(core, y))


FLOAT_PRIMITIVES = {
    40: prim_as_float,
    41: _arithmetic(lambda x, y: x + y),
    42: _arithmetic(lambda x, y: x - y),
    43: _comparison(lambda x, y: x < y),
    44: _comparison(lambda x, y: x > y),
    45: _comparison(lambda x, y: x <= y),
    46: _comparison(lambda x, y: x >= y),
    47: _comparison(lambda x, y: x == y),
    48: _comparison(lambda x, y: x != y),
    49: _arithmetic(lambda x, y: x * y),
    50: _arithmetic(_divide),
    51: prim_truncated,
    52: prim_fraction_part,
    53: prim_exponent,
    54: prim_times_two_power,
}
