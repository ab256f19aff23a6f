"""The RTL SmallInteger divider against the software core's primitives 10-13.

Every division on every pair of boundary values (the 15-bit limits, signs,
zero, exact and inexact pairs), on random pairs, and on operands that are not
SmallIntegers; the reference is ``SMALLINTEGER_FUNCTIONS``, the functions the
software core runs.  The timing the module docstring states is checked too.
"""

import random

import pytest

pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from blocktalk.hw.divider import DivideOp, SmallIntegerDivider  # noqa: E402
from blocktalk.memory import format as F  # noqa: E402
from blocktalk.sim.testing import smallinteger_answer  # noqa: E402

BOUNDARY = [-16384, -16383, -8192, -100, -7, -3, -2, -1, 0, 1, 2, 3, 7, 100, 8192, 16383]


def reference(op, a, b):
    """(result word, fail) as the software core computes it."""
    return smallinteger_answer(10 + op.value, a, b)


def run_cases(cases):
    """Mismatches with the reference, and the cycles of each division."""
    dut = SmallIntegerDivider()
    mismatches = []
    cycles = []

    async def bench(ctx):
        for op, a, b in cases:
            ctx.set(dut.op, op)
            ctx.set(dut.a, a)
            ctx.set(dut.b, b)
            ctx.set(dut.start, 1)
            n = 1
            while not ctx.get(dut.done):
                await ctx.tick()
                ctx.set(dut.start, 0)
                n += 1
            cycles.append(n)
            want, want_fail = reference(op, a, b)
            fail = ctx.get(dut.fail)
            if fail != want_fail or (not fail and ctx.get(dut.result) != want):
                mismatches.append((op, F.smallint_value(a) if a & 1 else a,
                                   F.smallint_value(b) if b & 1 else b,
                                   ctx.get(dut.result), fail, want, want_fail))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return mismatches, cycles


def test_boundary_values_every_division():
    words = [F.smallint(v) for v in BOUNDARY]
    cases = [(op, a, b) for op in DivideOp for a in words for b in words]
    mismatches, cycles = run_cases(cases)
    assert mismatches == []
    # 18 cycles from start to done (15 steps): 1 extra when it fails at once
    assert set(cycles) == {2, 18}


def test_random_operands():
    rng = random.Random(11)
    cases = [(rng.choice(list(DivideOp)), F.smallint(rng.randint(-16384, 16383)),
              F.smallint(rng.randint(-300, 300))) for _ in range(1500)]
    assert run_cases(cases)[0] == []


def test_operands_that_are_not_small_integers_fail():
    words = [F.NIL, F.TRUE, 0x1234]
    cases = [(op, w, F.smallint(3)) for op in DivideOp for w in words] + \
            [(op, F.smallint(3), w) for op in DivideOp for w in words]
    assert run_cases(cases)[0] == []


def test_the_check_can_fail():
    """The reference answers what Smalltalk does: floor for // and \\\\."""
    assert reference(DivideOp.FLOOR, F.smallint(-7), F.smallint(2)) == (F.smallint(-4), False)
    assert reference(DivideOp.MODULO, F.smallint(-7), F.smallint(2)) == (F.smallint(1), False)
    assert reference(DivideOp.QUOTIENT, F.smallint(-7), F.smallint(2)) == (F.smallint(-3), False)
    assert reference(DivideOp.EXACT, F.smallint(7), F.smallint(2)) == (None, True)
    assert reference(DivideOp.FLOOR, F.smallint(-16384), F.smallint(-1)) == (None, True)
