"""Blue Book bytecode decoding (ch. 28): one instruction's kind and operands.

The software core's routines decode their own operands inline for speed; this
is the same decoding as data, for traces and as the reference of the RTL
decoder (``hw/decoder.py``), which must agree with it on every bytecode and
extension byte.
"""

from dataclasses import dataclass

#: Instruction kinds, in the order of the Blue Book's bytecode table.
KINDS = (
    "push_receiver_variable", "push_temporary", "push_literal_constant",
    "push_literal_variable", "store_receiver_variable", "store_temporary",
    "store_literal_variable", "push_constant", "return", "pop", "duplicate",
    "push_context", "jump", "jump_if", "send", "send_special", "unused",
)

#: Values of ``push_constant`` (112-119) and of the returns 120-123, as core words:
#: self is None (the receiver), then true, false, nil, -1, 0, 1, 2.
CONSTANT_WORDS = (None, 4, 2, 0, 0xFFFF, 1, 3, 5)


@dataclass(frozen=True)
class Instruction:
    kind: str
    length: int = 1
    index: int = 0            # variable, temporary or literal index; selector literal
    pop: bool = False         # stores: pop the stack afterwards
    constant: int = 0         # push_constant / return: 0 self, 1 true, ... 7 two (CONSTANT_WORDS)
    from_block: bool = False  # return: 125, the block's value to its caller
    top: bool = False         # return: the stack top (124, 125)
    offset: int = 0           # jumps: signed byte offset from the next instruction
    on_true: bool = False     # jump_if: jump when the top is true (else when false)
    nargs: int = 0            # sends
    to_super: bool = False    # sends: 133, 134 (super)
    special: int = 0          # send_special: 0..31 (bytecode - 176)


def decode(b, e1=0, e2=0):
    """The instruction whose bytecode is ``b``, followed by bytes ``e1``, ``e2``."""
    if b < 16:
        return Instruction("push_receiver_variable", index=b & 15)
    if b < 32:
        return Instruction("push_temporary", index=b & 15)
    if b < 64:
        return Instruction("push_literal_constant", index=b & 31)
    if b < 96:
        return Instruction("push_literal_variable", index=b & 31)
    if b < 104:
        return Instruction("store_receiver_variable", index=b & 7, pop=True)
    if b < 112:
        return Instruction("store_temporary", index=b & 7, pop=True)
    if b < 120:
        return Instruction("push_constant", constant=b & 7)
    if b < 124:
        return Instruction("return", constant=b & 3)
    if b < 126:
        return Instruction("return", top=True, from_block=b == 125)
    if b in (128, 129, 130):
        kinds = ("push_receiver_variable", "push_temporary", "push_literal_constant",
                 "push_literal_variable")
        kind, index = kinds[e1 >> 6], e1 & 63
        if b != 128:
            if kind == "push_literal_constant":
                return Instruction("unused", length=2)      # Blue Book: illegal store
            kind = kind.replace("push", "store")
        return Instruction(kind, length=2, index=index, pop=b == 130)
    if b in (131, 133):
        return Instruction("send", length=2, index=e1 & 31, nargs=e1 >> 5, to_super=b == 133)
    if b in (132, 134):
        return Instruction("send", length=3, index=e2, nargs=e1, to_super=b == 134)
    if b == 135:
        return Instruction("pop")
    if b == 136:
        return Instruction("duplicate")
    if b == 137:
        return Instruction("push_context")
    if 144 <= b < 152:
        return Instruction("jump", offset=(b & 7) + 1)
    if 152 <= b < 160:
        return Instruction("jump_if", offset=(b & 7) + 1)
    if 160 <= b < 168:
        return Instruction("jump", length=2, offset=((b & 7) - 4) * 256 + e1)
    if 168 <= b < 176:
        return Instruction("jump_if", length=2, offset=(b & 3) * 256 + e1, on_true=b < 172)
    if 176 <= b < 208:
        return Instruction("send_special", special=b - 176)
    if b >= 208:
        return Instruction("send", index=b & 15, nargs=(b - 208) >> 4)
    return Instruction("unused")
