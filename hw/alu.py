"""The SmallInteger ALU: Blue Book primitives 1-9 and 14-17 in one cycle.

Operands and result are core words (``docs/architecture.md`` section 1): a
SmallInteger is ``value << 1 | 1``, 15 bits signed; ``false`` and ``true`` are
the immediates 2 and 4.  The tag check sits beside the ALU: an operand that is
not a SmallInteger, or a result outside the 15-bit range, raises ``fail``, and
the core then runs the method's Smalltalk code (Blue Book: the primitive
fails).  The reference is the software core's
:data:`blocktalk.sim.primitives.SMALLINTEGER_FUNCTIONS`.

The divisions 10-13 (``/``, ``\\\\``, ``//``, ``quo:``) are not here: a
divider is many gates or many cycles for bytecodes that are rare in the
kernel benchmarks, so they fail to firmware (architecture.md, section 9).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["ALUOp", "SmallIntegerALU", "PRIMITIVE_OF_OP"]

SMALLINT_MIN = -(1 << 14)
SMALLINT_MAX = (1 << 14) - 1
FALSE = 2
TRUE = 4


class ALUOp(enum.Enum, shape=4):
    """ALU operations, in the order of Blue Book primitives 1-9, 14-17."""
    ADD = 0
    SUB = 1
    LT = 2
    GT = 3
    LE = 4
    GE = 5
    EQ = 6
    NE = 7
    MUL = 8
    AND = 9
    OR = 10
    XOR = 11
    SHIFT = 12


#: The Blue Book primitive index each operation implements.
PRIMITIVE_OF_OP = {
    ALUOp.ADD: 1, ALUOp.SUB: 2, ALUOp.LT: 3, ALUOp.GT: 4, ALUOp.LE: 5, ALUOp.GE: 6,
    ALUOp.EQ: 7, ALUOp.NE: 8, ALUOp.MUL: 9, ALUOp.AND: 14, ALUOp.OR: 15, ALUOp.XOR: 16,
    ALUOp.SHIFT: 17,
}


class SmallIntegerALU(wiring.Component):
    """Combinational SmallInteger ALU with tag check and overflow detection.

    Ports
    -----
    op : In(ALUOp)
        The operation.
    a, b : In(16)
        Receiver and argument, as core words.
    result : Out(16)
        A tagged SmallInteger, or ``true``/``false`` for the comparisons.
        Meaningless when ``fail`` is set.
    fail : Out(1)
        An operand is not a SmallInteger, or the result does not fit in 15 bits
        (for a shift: a left shift by more than 15).
    """

    op: In(ALUOp)
    a: In(16)
    b: In(16)
    result: Out(16)
    fail: Out(1)

    def elaborate(self, platform):
        m = Module()
        x = Signal(signed(15))
        y = Signal(signed(15))
        m.d.comb += [x.eq(self.a[1:]), y.eq(self.b[1:])]

        # Wide enough for any product of two 15-bit values, so that the range
        # check below sees the true result.
        wide = Signal(signed(32))
        is_boolean = Signal()
        truth = Signal()
        shift_fail = Signal()

        # A left shift of a 15-bit value by up to 15 fits in 30 bits; a right
        # shift by more than 15 is the same as by 15 (the sign fills it).
        right = Signal(4)
        m.d.comb += right.eq(Mux(y < -15, 15, -y))

        with m.Switch(self.op):
            with m.Case(ALUOp.ADD):
                m.d.comb += wide.eq(x + y)
            with m.Case(ALUOp.SUB):
                m.d.comb += wide.eq(x - y)
            with m.Case(ALUOp.MUL):
                m.d.comb += wide.eq(x * y)
            with m.Case(ALUOp.AND):
                m.d.comb += wide.eq(x & y)
            with m.Case(ALUOp.OR):
                m.d.comb += wide.eq(x | y)
            with m.Case(ALUOp.XOR):
                m.d.comb += wide.eq(x ^ y)
            with m.Case(ALUOp.SHIFT):
                with m.If(y >= 0):
                    m.d.comb += [wide.eq(x << y[:4]), shift_fail.eq(y > 15)]
                with m.Else():
                    m.d.comb += wide.eq(x >> right)
            with m.Case(ALUOp.LT):
                m.d.comb += [is_boolean.eq(1), truth.eq(x < y)]
            with m.Case(ALUOp.GT):
                m.d.comb += [is_boolean.eq(1), truth.eq(x > y)]
            with m.Case(ALUOp.LE):
                m.d.comb += [is_boolean.eq(1), truth.eq(x <= y)]
            with m.Case(ALUOp.GE):
                m.d.comb += [is_boolean.eq(1), truth.eq(x >= y)]
            with m.Case(ALUOp.EQ):
                m.d.comb += [is_boolean.eq(1), truth.eq(x == y)]
            with m.Case(ALUOp.NE):
                m.d.comb += [is_boolean.eq(1), truth.eq(x != y)]

        tags_ok = self.a[0] & self.b[0]
        in_range = (wide >= SMALLINT_MIN) & (wide <= SMALLINT_MAX)
        m.d.comb += [
            self.result.eq(Mux(is_boolean, Mux(truth, TRUE, FALSE), (wide[:15] << 1) | 1)),
            self.fail.eq(~tags_ok | (~is_boolean & (~in_range | shift_fail))),
        ]
        return m
