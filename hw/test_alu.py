"""The RTL SmallInteger ALU against the software core's primitives 1-9, 14-17.

Every operation on every pair of a set of boundary values (the 15-bit limits,
the products that just fit, shift counts around 15), on random pairs, and on
operands that are not SmallIntegers; the reference is
``blocktalk.sim.primitives.SMALLINTEGER_FUNCTIONS``, the same functions the
software core runs.
"""

import random

import pytest

pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from blocktalk.hw.alu import ALUOp, SmallIntegerALU, PRIMITIVE_OF_OP  # noqa: E402
from blocktalk.memory import format as F  # noqa: E402
from blocktalk.sim.testing import smallinteger_answer  # noqa: E402

BOUNDARY = [-16384, -16383, -16382, -182, -181, -129, -128, -127, -20, -16, -15, -2, -1, 0, 1, 2,
            14, 15, 16, 127, 128, 129, 181, 182, 16382, 16383]


def reference(op, a, b):
    """(result word, fail) as the software core computes it."""
    return smallinteger_answer(PRIMITIVE_OF_OP[op], a, b)


def run_cases(cases):
    dut = SmallIntegerALU()
    mismatches = []

    async def bench(ctx):
        for op, a, b in cases:
            ctx.set(dut.op, op)
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            want, want_fail = reference(op, a, b)
            fail = ctx.get(dut.fail)
            if fail != want_fail or (not fail and ctx.get(dut.result) != want):
                mismatches.append((op, a, b, ctx.get(dut.result), fail, want, want_fail))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return mismatches


def test_boundary_values_every_operation():
    words = [F.smallint(v) for v in BOUNDARY]
    cases = [(op, a, b) for op in ALUOp for a in words for b in words]
    assert run_cases(cases) == []


def test_random_operands():
    rng = random.Random(5)
    cases = [(rng.choice(list(ALUOp)), F.smallint(rng.randint(-16384, 16383)),
              F.smallint(rng.randint(-16384, 16383))) for _ in range(3000)]
    # small values, where multiplication and shifts do not always overflow
    cases += [(rng.choice(list(ALUOp)), F.smallint(rng.randint(-200, 200)),
               F.smallint(rng.randint(-20, 20))) for _ in range(3000)]
    assert run_cases(cases) == []


def test_operands_that_are_not_small_integers_fail():
    words = [F.NIL, F.TRUE, F.FALSE, 0x1234, 0xFFFE]
    cases = [(op, w, F.smallint(3)) for op in ALUOp for w in words] + \
            [(op, F.smallint(3), w) for op in ALUOp for w in words]
    assert run_cases(cases) == []


def test_the_check_can_fail():
    """The comparison with the reference notices a wrong answer."""
    assert reference(ALUOp.ADD, F.smallint(16383), F.smallint(1)) == (None, True)
    assert reference(ALUOp.LT, F.smallint(1), F.smallint(2)) == (F.TRUE, False)
    assert reference(ALUOp.SHIFT, F.smallint(1), F.smallint(16)) == (None, True)
