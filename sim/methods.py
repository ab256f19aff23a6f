"""CompiledMethod decoding (Blue Book ch. 27 "Compiled Methods"), shared by the
core and the firmware engine.  The header layout is the compiler's
(``blocktalk/compiler/method.py``)."""

from dataclasses import dataclass

FLAG_RETURN_SELF = 5
FLAG_RETURN_FIELD = 6
FLAG_EXTENDED = 7


@dataclass(frozen=True)
class MethodInfo:
    """What the core latches when it activates a method."""
    code: bytes          # the whole body as bytes: header, literals, bytecodes
    nargs: int
    ntemps: int
    large: bool
    primitive: int
    nlits: int
    flag: int
    field_index: int     # for flag 6 (quick instance-variable return)

    @property
    def initial_ip(self):
        """Byte index of the first bytecode (Blue Book ``initialInstructionPointerOfMethod:`` - 1)."""
        return (1 + self.nlits) * 2


def decode_method(mem, method):
    """Read a CompiledMethod at core address ``method`` from SRAM ``mem``."""
    header_oop = mem.word(method + 6)
    value = header_oop >> 1
    nlits = value & 0x3F
    large = bool(value & 0x40)
    ntemps = (value >> 7) & 0x1F
    flag = (value >> 12) & 7
    primitive = 0
    nargs = flag
    field_index = 0
    if flag == FLAG_EXTENDED:
        ext = mem.word(method + 6 + 2 * (nlits - 1))   # second-to-last literal
        ext_value = ext >> 1
        primitive = ext_value & 0xFF
        nargs = (ext_value >> 8) & 0x1F
    elif flag == FLAG_RETURN_SELF:
        nargs = 0
    elif flag == FLAG_RETURN_FIELD:
        nargs = 0
        field_index = ntemps
    code = mem.bytes_of(method)
    return MethodInfo(code, nargs, ntemps, large, primitive, nlits, flag, field_index)
