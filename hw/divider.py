"""SmallInteger division: Blue Book primitives 10 (``/``), 11 (``\\\\``),
12 (``//``) and 13 (``quo:``) over 15-bit tagged values.

A restoring divider on the magnitudes, one quotient bit per cycle, then one
cycle of sign correction: ``quo:`` truncates toward zero, ``//`` and ``\\\\``
round toward negative infinity (the remainder takes the divisor's sign), and
``/`` answers only an exact quotient.  A combinational 15-bit divider would
cost several hundred LUTs for an operation far rarer than ``+``; this one is a
subtractor and three shift registers.

Timing, from ``start`` to ``done`` inclusive: 18 cycles (the start, 15
steps, the correction, ``done``); 2 (``done`` with ``fail``) when an operand
is not a SmallInteger or the divisor is zero.  Its reference is
``blocktalk.sim.primitives.SMALLINTEGER_FUNCTIONS`` (``hw/test_divider.py``).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["DivideOp", "SmallIntegerDivider"]


class DivideOp(enum.Enum, shape=2):
    """The four divisions, by Blue Book primitive (10 + the value)."""
    EXACT = 0       # /      (primitive 10: fails unless the remainder is 0)
    MODULO = 1      # \\     (11: floor remainder)
    FLOOR = 2       # //     (12: floor quotient)
    QUOTIENT = 3    # quo:   (13: truncated quotient)


class SmallIntegerDivider(wiring.Component):
    """Sequential SmallInteger divider.

    Ports
    -----
    start : In(1)
        Begin with ``op``, ``a`` and ``b`` (sampled on this cycle only).
    op : In(DivideOp)
    a, b : In(16)
        Dividend and divisor, as core words (tagged SmallIntegers).
    busy : Out(1)
        Dividing (``start`` is ignored).
    done : Out(1)
        One-cycle pulse: ``result`` and ``fail`` are valid.
    result : Out(16)
        A tagged SmallInteger.
    fail : Out(1)
        Not SmallIntegers, a zero divisor, an inexact ``/``, or a quotient
        outside the 15-bit range (-16384 // -1).
    """

    start: In(1)
    op: In(DivideOp)
    a: In(16)
    b: In(16)
    busy: Out(1)
    done: Out(1)
    result: Out(16)
    fail: Out(1)

    def elaborate(self, platform):
        m = Module()
        op = Signal(DivideOp)
        a_neg = Signal()
        b_neg = Signal()
        divisor = Signal(15)             # |b|
        quotient = Signal(15)            # |a|, shifted out as the quotient shifts in
        remainder = Signal(15)
        steps = Signal(4)

        x = self.a[1:].as_signed()
        y = self.b[1:].as_signed()

        shifted = Signal(16)             # the remainder with the next dividend bit
        trial = Signal(signed(17))
        m.d.comb += [shifted.eq(Cat(quotient[14], remainder)),
                     trial.eq(shifted - divisor)]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [op.eq(self.op), a_neg.eq(x < 0), b_neg.eq(y < 0),
                                 divisor.eq(Mux(y < 0, -y, y)),
                                 quotient.eq(Mux(x < 0, -x, x)), remainder.eq(0),
                                 steps.eq(14)]
                    with m.If(~self.a[0] | ~self.b[0] | (y == 0)):
                        m.d.sync += self.fail.eq(1)
                        m.next = "DONE"
                    with m.Else():
                        m.next = "DIVIDE"
            with m.State("DIVIDE"):
                # one restoring step: the divisor is subtracted if it goes
                m.d.comb += self.busy.eq(1)
                goes = trial >= 0
                m.d.sync += [remainder.eq(Mux(goes, trial, shifted)),
                             quotient.eq(Cat(goes, quotient[:14])),
                             steps.eq(steps - 1)]
                with m.If(steps == 0):
                    m.next = "SIGN"
            with m.State("SIGN"):
                # From the magnitudes, one conditional negation each:
                #   quotient: -q if the signs differ (truncation), and for
                #   // when inexact -q - 1 = ~q (the floor);
                #   remainder: r, or for \\ when inexact with the signs
                #   differing |b| - r, then with the sign of a (of b when
                #   corrected).
                m.d.comb += self.busy.eq(1)
                inexact = remainder != 0
                differ = a_neg ^ b_neg
                corrected = inexact & differ
                is_modulo = op == DivideOp.MODULO
                magnitude = Signal(15)
                negate = Signal()
                carry = Signal()
                with m.If(is_modulo):
                    m.d.comb += [magnitude.eq(Mux(corrected, divisor - remainder, remainder)),
                                 negate.eq(Mux(corrected, b_neg, a_neg)), carry.eq(negate)]
                with m.Else():
                    m.d.comb += [magnitude.eq(quotient), negate.eq(differ),
                                 carry.eq(differ & ~(corrected & (op == DivideOp.FLOOR)))]
                value = Signal(15)
                m.d.comb += value.eq((magnitude ^ negate.replicate(15)) + carry)
                # only -16384 / -1 leaves the range: a positive 16384
                overflow = ~is_modulo & ~negate & quotient[14]
                m.d.sync += [self.result.eq(Cat(1, value)),
                             self.fail.eq(((op == DivideOp.EXACT) & inexact) | overflow)]
                m.next = "DONE"
            with m.State("DONE"):
                m.d.comb += self.done.eq(1)
                m.d.sync += self.fail.eq(0)
                m.next = "IDLE"
        return m
