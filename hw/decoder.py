"""The bytecode decoder: one Blue Book instruction's kind and operands.

Combinational: the bytecode and the two bytes after it in, an
:class:`Instruction` (a ``lib.data`` struct) out.  The fields and their
meaning are those of the software core's :mod:`blocktalk.sim.decode`, which
is the reference of the tests (every bytecode, with extension bytes that
exercise every field).  Fields an instruction does not use are 0.
"""

from amaranth.hdl import Module, Mux, Value, signed
from amaranth.lib import data, enum, wiring
from amaranth.lib.wiring import In, Out

from blocktalk.sim.decode import KINDS

__all__ = ["Kind", "Instruction", "BytecodeDecoder"]



class Kind(enum.Enum, shape=5):
    """Instruction kinds, numbered as :data:`blocktalk.sim.decode.KINDS`."""
    PUSH_RECEIVER_VARIABLE = 0
    PUSH_TEMPORARY = 1
    PUSH_LITERAL_CONSTANT = 2
    PUSH_LITERAL_VARIABLE = 3
    STORE_RECEIVER_VARIABLE = 4
    STORE_TEMPORARY = 5
    STORE_LITERAL_VARIABLE = 6
    PUSH_CONSTANT = 7
    RETURN = 8
    POP = 9
    DUPLICATE = 10
    PUSH_CONTEXT = 11
    JUMP = 12
    JUMP_IF = 13
    SEND = 14
    SEND_SPECIAL = 15
    UNUSED = 16


assert [k.name.lower() for k in Kind] == list(KINDS), "Kind must follow sim.decode.KINDS"


#: Kinds of the extended push (128) and store (129, 130) bytecodes by the
#: extension byte's top two bits.
EXTENDED = [(Kind.PUSH_RECEIVER_VARIABLE, Kind.STORE_RECEIVER_VARIABLE),
            (Kind.PUSH_TEMPORARY, Kind.STORE_TEMPORARY),
            (Kind.PUSH_LITERAL_CONSTANT, Kind.UNUSED),
            (Kind.PUSH_LITERAL_VARIABLE, Kind.STORE_LITERAL_VARIABLE)]


class Instruction(data.Struct):
    kind: Kind
    length: 2
    index: 8
    pop: 1
    constant: 3
    from_block: 1
    top: 1
    offset: signed(11)
    on_true: 1
    nargs: 8
    to_super: 1
    special: 5


class BytecodeDecoder(wiring.Component):
    """Ports: ``bytecode``, ``ext1``, ``ext2`` (In(8)); ``instruction``
    (Out(:class:`Instruction`))."""

    bytecode: In(8)
    ext1: In(8)
    ext2: In(8)
    instruction: Out(Instruction)

    def elaborate(self, platform):
        m = Module()
        b, e1, e2 = self.bytecode, self.ext1, self.ext2
        out = self.instruction
        m.d.comb += out.length.eq(1)

        def kind(k):
            return out.kind.eq(k if isinstance(k, Value) else Kind[k.upper()])

        with m.Switch(b):
            with m.Case("0000----"):
                m.d.comb += [kind("push_receiver_variable"), out.index.eq(b[:4])]
            with m.Case("0001----"):
                m.d.comb += [kind("push_temporary"), out.index.eq(b[:4])]
            with m.Case("001-----"):
                m.d.comb += [kind("push_literal_constant"), out.index.eq(b[:5])]
            with m.Case("010-----"):
                m.d.comb += [kind("push_literal_variable"), out.index.eq(b[:5])]
            with m.Case("01100---"):
                m.d.comb += [kind("store_receiver_variable"), out.index.eq(b[:3]), out.pop.eq(1)]
            with m.Case("01101---"):
                m.d.comb += [kind("store_temporary"), out.index.eq(b[:3]), out.pop.eq(1)]
            with m.Case("01110---"):
                m.d.comb += [kind("push_constant"), out.constant.eq(b[:3])]
            with m.Case("011110--"):
                m.d.comb += [kind("return"), out.constant.eq(b[:2])]
            with m.Case(124, 125):
                m.d.comb += [kind("return"), out.top.eq(1), out.from_block.eq(b[0])]
            with m.Case(128, 129, 130):
                # extended push (128) and store (129, 130): the variable's kind
                # in the extension byte's top two bits, as in sim/decode.py
                m.d.comb += [out.length.eq(2), out.index.eq(e1[:6]), out.pop.eq(b == 130)]
                with m.Switch(e1[6:]):
                    for i, (push, store) in enumerate(EXTENDED):
                        with m.Case(i):
                            m.d.comb += kind(Mux(b == 128, push, store))
                with m.If((b != 128) & (e1[6:] == 2)):
                    # the Blue Book's illegal store into a literal constant
                    m.d.comb += [out.index.eq(0), out.pop.eq(0)]
            with m.Case(131, 133):
                m.d.comb += [kind("send"), out.length.eq(2), out.index.eq(e1[:5]),
                             out.nargs.eq(e1[5:]), out.to_super.eq(b == 133)]
            with m.Case(132, 134):
                m.d.comb += [kind("send"), out.length.eq(3), out.index.eq(e2),
                             out.nargs.eq(e1), out.to_super.eq(b == 134)]
            with m.Case(135):
                m.d.comb += kind("pop")
            with m.Case(136):
                m.d.comb += kind("duplicate")
            with m.Case(137):
                m.d.comb += kind("push_context")
            with m.Case("10010---"):
                m.d.comb += [kind("jump"), out.offset.eq(b[:3] + 1)]
            with m.Case("10011---"):
                m.d.comb += [kind("jump_if"), out.offset.eq(b[:3] + 1)]
            with m.Case("10100---"):
                m.d.comb += [kind("jump"), out.length.eq(2),
                             out.offset.eq(((b[:3] - 4) << 8) + e1)]
            with m.Case("10101---"):
                m.d.comb += [kind("jump_if"), out.length.eq(2),
                             out.offset.eq((b[:2] << 8) + e1), out.on_true.eq(~b[2])]
            with m.Case("1011----", "1100----"):
                m.d.comb += [kind("send_special"), out.special.eq(b - 176)]
            with m.Case("1101----", "111-----"):
                m.d.comb += [kind("send"), out.index.eq(b[:4]), out.nargs.eq((b - 208)[4:])]
            with m.Default():
                m.d.comb += kind("unused")
        return m
