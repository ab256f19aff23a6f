"""The Blue Book bytecode set (ch. 28), one routine per group.

``BYTECODES[b](core, b, ip)`` executes bytecode ``b`` found at byte index ``ip``
of the active method.  These are the reference semantics; the core's fast loop
inlines the most frequent ones and must agree with these.  Every routine
translates (and so may trap) before it writes.
"""

from blocktalk.memory import format as F
from .traps import Trap, VMError, Halt

NIL, FALSE, TRUE = F.NIL, F.FALSE, F.TRUE
CTX_WORD_OFFSET = 3 + F.CTX_TEMP_FRAME_START - 1


def _base(core, v):
    return v & ~core.mem.mask


# --- stack bytecodes (Blue Book ``stackBytecode``) ----------------------------

def push_receiver_variable(core, b, ip):
    """Blue Book ``pushReceiverVariableBytecode`` (0-15)."""
    core.push(core.mem.fetch(core.rcvr, b & 15))
    core.ip = ip + 1


def push_temporary(core, b, ip):
    """Blue Book ``pushTemporaryVariableBytecode`` (16-31)."""
    h = core.home
    core.push_word_from(core.mem.mem[(h >> 1) + CTX_WORD_OFFSET + 1 + (b & 15)], _base(core, h))
    core.ip = ip + 1


def push_literal_constant(core, b, ip):
    """Blue Book ``pushLiteralConstantBytecode`` (32-63)."""
    core.push(core.literal(b & 31))
    core.ip = ip + 1


def push_literal_variable(core, b, ip):
    """Blue Book ``pushLiteralVariableBytecode`` (64-95): the value of an Association."""
    assoc = core.literal(b & 31)
    core.push(core.mem.fetch(assoc, F.ASSOC_VALUE))
    core.ip = ip + 1


def store_receiver_variable(core, index, value):
    core.mem.store(core.rcvr, index, value)
    core.mem.dirty[core.rcvr >> core.mem.log2] = True


def store_temporary(core, index, value):
    h = core.home
    core.mem.mem[(h >> 1) + CTX_WORD_OFFSET + 1 + index] = core.mem.encode(value, _base(core, h))


def store_literal_variable(core, index, value):
    assoc = core.literal(index)
    core.mem.store(assoc, F.ASSOC_VALUE, value)
    core.mem.dirty[assoc >> core.mem.log2] = True


def pop_store_receiver_variable(core, b, ip):
    """Blue Book ``storeAndPopReceiverVariableBytecode`` (96-103)."""
    store_receiver_variable(core, b & 7, core.top())
    core.sp -= 1
    core.ip = ip + 1


def pop_store_temporary(core, b, ip):
    """Blue Book ``storeAndPopTemporaryVariableBytecode`` (104-111)."""
    store_temporary(core, b & 7, core.top())
    core.sp -= 1
    core.ip = ip + 1


def push_constant(core, b, ip):
    """Blue Book ``pushReceiverBytecode`` and ``pushConstantBytecode`` (112-119)."""
    if b == 112:
        core.push(core.rcvr)
    else:
        core.push((TRUE, FALSE, NIL, 0xFFFF, 1, 3, 5)[b - 113])
    core.ip = ip + 1


def return_bytecode(core, b, ip):
    """Blue Book ``returnBytecode`` (120-125)."""
    if b == 125:
        value = core.top()
        caller = core.mem.fetch(core.ctx, F.CTX_SENDER)
        core.return_value(value, caller)
        return
    value = (core.rcvr, TRUE, FALSE, NIL, None)[b - 120]
    if value is None:
        value = core.top()
    home = core.home
    sender = core.mem.fetch(home, F.CTX_SENDER)
    if home != core.ctx:
        # A non-local return: the home must still be active (Blue Book
        # ``returnValue:to:`` sends #cannotReturn: otherwise).
        if core.mem.word(home + 6 + 2 * F.CTX_PC) == NIL:
            core.cannot_return(value)
            return
        if sender == NIL:
            # the home is the base context of the run: returning from it ends the run
            raise Halt(value)
        core.return_value(value, sender, before_write=lambda: unwind_to_home(core, home))
        return
    core.return_value(value, sender)


def unwind_to_home(core, home):
    """Mark the contexts from the active one's sender up to and including
    ``home`` as returned, so a later non-local return through them sends
    #cannotReturn:.  The chain is read completely (reads may trap) before any
    context is changed."""
    mem = core.mem
    chain = []
    c = mem.fetch(core.ctx, F.CTX_SENDER)
    while c != NIL and c != home:
        chain.append(c)
        c = mem.fetch(c, F.CTX_SENDER)
    chain.append(home)
    m = mem.mem
    for c in chain:
        m[(c >> 1) + 3 + F.CTX_PC] = NIL
        m[(c >> 1) + 3 + F.CTX_SENDER] = NIL


def unused(core, b, ip):
    raise VMError(f"unused bytecode {b} at ip {ip}")


def extended_push(core, b, ip):
    """Blue Book ``extendedPushBytecode`` (128)."""
    d = core.info.code[ip + 1]
    kind, index = d >> 6, d & 63
    if kind == 0:
        core.push(core.mem.fetch(core.rcvr, index))
    elif kind == 1:
        h = core.home
        core.push_word_from(core.mem.mem[(h >> 1) + CTX_WORD_OFFSET + 1 + index], _base(core, h))
    elif kind == 2:
        core.push(core.literal(index))
    else:
        core.push(core.mem.fetch(core.literal(index), F.ASSOC_VALUE))
    core.ip = ip + 2


def extended_store(core, b, ip):
    """Blue Book ``extendedStoreBytecode`` (129) and ``extendedStoreAndPopBytecode`` (130)."""
    d = core.info.code[ip + 1]
    kind, index = d >> 6, d & 63
    value = core.top()
    if kind == 0:
        store_receiver_variable(core, index, value)
    elif kind == 1:
        store_temporary(core, index, value)
    elif kind == 2:
        raise VMError("illegal store into a literal constant")
    else:
        store_literal_variable(core, index, value)
    if b == 130:
        core.sp -= 1
    core.ip = ip + 2


def single_extended_send(core, b, ip):
    """Blue Book ``singleExtendedSendBytecode`` (131) and super (133)."""
    d = core.info.code[ip + 1]
    selector = core.literal(d & 31)
    core.ip = ip + 2
    _send_or_super(core, selector, d >> 5, b == 133, ip)


def double_extended_send(core, b, ip):
    """Blue Book ``doubleExtendedSendBytecode`` (132) and super (134)."""
    nargs = core.info.code[ip + 1]
    selector = core.literal(core.info.code[ip + 2])
    core.ip = ip + 3
    _send_or_super(core, selector, nargs, b == 134, ip)


def _send_or_super(core, selector, nargs, is_super, ip):
    try:
        if is_super:
            super_send(core, selector, nargs)
        else:
            core.send(selector, nargs)
    except Trap:
        core.ip = ip
        raise


def super_send(core, selector, nargs):
    """Blue Book ``sendSelectorToSuperclass``: the method class is the value of
    the last literal's Association."""
    core.stats.sends += 1
    index = superclass_index(core, core.method)
    if index is None:
        raise VMError("super send in a class whose superclass is not a class")
    core.send_to_class(selector, nargs, core.top(nargs), index)


def superclass_index(core, method):
    """The class index a super send in ``method`` looks up in: its method
    class's superclass (may trap: imports, the class-index cache)."""
    mem = core.mem
    assoc = mem.fetch(method, core.method_info(method).nlits)
    cls = mem.fetch(assoc, F.ASSOC_VALUE)
    return core.class_index_of(mem.fetch(cls, F.BEHAVIOR_SUPERCLASS))


def pop_stack(core, b, ip):
    """Blue Book ``popStackBytecode`` (135)."""
    core.sp -= 1
    core.ip = ip + 1


def duplicate_top(core, b, ip):
    """Blue Book ``duplicateTopBytecode`` (136)."""
    w = core.mem.mem[core.sp]
    core.sp += 1
    core.mem.mem[core.sp] = w
    core.ip = ip + 1


def push_active_context(core, b, ip):
    """Blue Book ``pushActiveContextBytecode`` (137): the context escapes, so it
    is no longer recycled when it returns."""
    core.push(core.ctx)
    core.mark_escaped(core.ctx)
    core.ip = ip + 1


# --- jumps (Blue Book ``jumpBytecode``) -------------------------------------------

def short_jump(core, b, ip):
    core.ip = ip + 1 + (b & 7) + 1


def short_conditional_jump(core, b, ip):
    _conditional(core, FALSE, (b & 7) + 1, ip + 1, ip)


def long_jump(core, b, ip):
    offset = ((b & 7) - 4) * 256 + core.info.code[ip + 1]
    core.ip = ip + 2 + offset


def long_conditional_jump(core, b, ip):
    offset = (b & 3) * 256 + core.info.code[ip + 1]
    _conditional(core, TRUE if b < 172 else FALSE, offset, ip + 2, ip)


def _conditional(core, condition, offset, next_ip, ip):
    """Blue Book ``jumpIf:by:``: a non-Boolean receives #mustBeBoolean."""
    t = core.mem.mem[core.sp]
    if t == condition:
        core.sp -= 1
        core.ip = next_ip + offset
    elif t == (TRUE if condition == FALSE else FALSE):
        core.sp -= 1
        core.ip = next_ip
    else:
        sel = core.mem.fetch(core.firmware.object,
                             F.FIRMWARE_FIELDS.index("mustBeBooleanSelector"))
        core.ip = next_ip
        try:
            core.send(sel, 0)
        except Trap:
            core.ip = ip
            raise


# --- sends (Blue Book ``sendBytecode``) -----------------------------------------------

def send_special(core, b, ip):
    """Blue Book ``sendSpecialSelectorBytecode`` (176-207): try the primitive of
    the common receivers first (``specialSelectorPrimitiveResponse``), else send
    the selector from the Firmware's specialSelectors table."""
    from .primitives import special_response
    core.ip = ip + 1
    try:
        if special_response(core, b):
            return
        core.stats.special_sends += 1
        index = (b - 176) * 2
        table = core.firmware_special_selectors()
        selector = core.mem.fetch(table, index)
        nargs = F.SPECIAL_SELECTORS[b - 176][1]
        core.send(selector, nargs)
    except Trap:
        core.ip = ip
        raise


def send_literal(core, b, ip):
    """Blue Book ``sendLiteralSelectorBytecode`` (208-255)."""
    selector = core.literal(b & 15)
    core.ip = ip + 1
    try:
        core.send(selector, (b - 208) >> 4)
    except Trap:
        core.ip = ip
        raise


BYTECODES = [unused] * 256
for _b in range(256):
    if _b < 16:
        BYTECODES[_b] = push_receiver_variable
    elif _b < 32:
        BYTECODES[_b] = push_temporary
    elif _b < 64:
        BYTECODES[_b] = push_literal_constant
    elif _b < 96:
        BYTECODES[_b] = push_literal_variable
    elif _b < 104:
        BYTECODES[_b] = pop_store_receiver_variable
    elif _b < 112:
        BYTECODES[_b] = pop_store_temporary
    elif _b < 120:
        BYTECODES[_b] = push_constant
    elif _b < 126:
        BYTECODES[_b] = return_bytecode
    elif _b == 128:
        BYTECODES[_b] = extended_push
    elif _b in (129, 130):
        BYTECODES[_b] = extended_store
    elif _b in (131, 133):
        BYTECODES[_b] = single_extended_send
    elif _b in (132, 134):
        BYTECODES[_b] = double_extended_send
    elif _b == 135:
        BYTECODES[_b] = pop_stack
    elif _b == 136:
        BYTECODES[_b] = duplicate_top
    elif _b == 137:
        BYTECODES[_b] = push_active_context
    elif 144 <= _b < 152:
        BYTECODES[_b] = short_jump
    elif 152 <= _b < 160:
        BYTECODES[_b] = short_conditional_jump
    elif 160 <= _b < 168:
        BYTECODES[_b] = long_jump
    elif 168 <= _b < 176:
        BYTECODES[_b] = long_conditional_jump
    elif 176 <= _b < 208:
        BYTECODES[_b] = send_special
    elif _b >= 208:
        BYTECODES[_b] = send_literal
