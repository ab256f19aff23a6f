"""Primitive routines of the core (Blue Book ch. 29, numbering of the book).

A primitive is called with the receiver and arguments on the stack.  It either
succeeds (pops them and pushes its result) or raises :class:`PrimitiveFailed`
before changing anything, and the method's Smalltalk code runs instead.  Reads
may trap (import); every translation happens before the first write.
The table is documented in docs/architecture.md section 9.
"""

from blocktalk.memory import format as F
from .memory import sram_words
from .traps import Trap, SmalltalkError

NIL, FALSE, TRUE = F.NIL, F.FALSE, F.TRUE
CTX_WORD_OFFSET = 3 + F.CTX_TEMP_FRAME_START - 1


class PrimitiveFailed(Exception):
    pass


FAIL = PrimitiveFailed()


def _int(oop):
    if not oop & 1:
        raise FAIL
    return F.smallint_value(oop)


def _tag(value):
    if not F.SMALLINT_MIN <= value <= F.SMALLINT_MAX:
        raise FAIL
    return ((value << 1) | 1) & 0xFFFF


def _answer(core, nargs, value):
    """Pop receiver and arguments, push ``value`` (translated first)."""
    w = core.mem.encode(value, core.ctx & ~core.mem.mask)
    core.sp -= nargs
    core.mem.mem[core.sp] = w


def _is_object(v):
    return not (v & 1) and v >= 16


# --- SmallInteger arithmetic (Blue Book ``dispatchIntegerPrimitives``) ------------

def _arith(fn):
    def prim(core, nargs):
        m = core.mem.mem
        x = _int(m[core.sp - 1])
        y = _int(m[core.sp])
        r = fn(x, y)
        if r is True or r is False:
            r = TRUE if r else FALSE
        else:
            r = _tag(r)
        core.sp -= 1
        m[core.sp] = r
    return prim


def _divide(x, y):
    if y == 0 or x % y:
        raise FAIL
    return x // y


def _nonzero(fn):
    def g(x, y):
        if y == 0:
            raise FAIL
        return fn(x, y)
    return g


def _quo(x, y):
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def _shift(x, y):
    if y >= 0:
        if y > 15:
            raise FAIL
        return x << y
    return x >> min(-y, 15)


def prim_make_point(core, nargs):
    """Blue Book ``primitiveMakePoint`` (18)."""
    x = core.top(1)
    y = core.top(0)
    if not x & 1:
        raise FAIL
    point = core.instantiate(F.CLASS_INDEX["Point"], F.FMT_POINTERS, 2)
    base = point & ~core.mem.mask
    wx, wy = core.mem.encode(x, base), core.mem.encode(y, base)
    result = core.mem.encode(point, core.ctx & ~core.mem.mask)
    m = core.mem.mem
    m[(point >> 1) + 3] = wx
    m[(point >> 1) + 4] = wy
    core.sp -= 1
    m[core.sp] = result


# --- subscripts and storage (Blue Book ``dispatchSubscriptAndStreamPrimitives``) ---

def named_fields(core, obj):
    """Named instance variables of ``obj``, from the Firmware's formatTable."""
    cidx = core.mem.class_index(obj)
    table = core.format_table()
    fmt = core.mem.mem[(table >> 1) + 3 + cidx]
    return F.class_format_named(F.smallint_value(fmt)) if fmt & 1 else 0


def indexable_size(core, obj):
    """Blue Book ``lengthOf:`` minus the named fields."""
    mem = core.mem
    fmt = mem.fmt(obj)
    if fmt == F.FMT_POINTERS:
        return mem.body_words(obj) - named_fields(core, obj)
    if fmt == F.FMT_WORDS:
        return mem.body_words(obj)
    if fmt in (F.FMT_BYTES, F.FMT_BYTES_ODD):
        return mem.byte_size(obj)
    if fmt in (F.FMT_METHOD, F.FMT_METHOD_ODD):
        return mem.byte_size(obj)
    if fmt == F.FMT_LARGE:
        return mem.mem[(obj >> 1) + 3] >> 1       # unsigned 15 bits (up to 32767)
    raise FAIL


def _element(core, obj, i):
    """(holder, fmt, field or byte index) of indexable element ``i`` (0-based):
    for a large object the chunk holding it (docs/architecture.md section 10),
    found with a shift and a mask; the chunk reference may be a far one."""
    mem = core.mem
    fmt = mem.fmt(obj)
    if fmt != F.FMT_LARGE:
        return obj, fmt, (named_fields(core, obj) + i if fmt == F.FMT_POINTERS else i)
    per = F.large_chunk_fields(mem.bs)
    if not _large_has_word_elements(core, obj):
        per *= 2                     # byte chunks hold two elements per word
    chunk = mem.fetch(obj, 1 + i // per)
    return chunk, mem.fmt(chunk), i % per


def _large_has_word_elements(core, obj):
    """Large objects of pointer and word classes have one element per chunk
    word; byte classes two."""
    cidx = core.mem.class_index(obj)
    fmt = core.mem.fetch(core.format_table(), cidx)
    return F.class_format_kind(F.smallint_value(fmt)) in (F.KIND_POINTERS, F.KIND_WORDS)


def positive_value(core, oop, nbytes):
    """A non-negative SmallInteger, or a LargePositiveInteger of at most
    ``nbytes`` bytes (least significant first), as a Python int."""
    if oop & 1:
        v = F.smallint_value(oop)
        if v < 0:
            raise FAIL
        return v
    mem = core.mem
    if not _is_object(oop) or mem.class_index(oop) != F.CLASS_INDEX["LargePositiveInteger"] \
            or mem.byte_size(oop) > nbytes:
        raise FAIL
    return int.from_bytes(mem.bytes_of(oop)[:mem.byte_size(oop)], "little")


def positive16_value(core, oop):
    """Blue Book ``positive16BitValueOf:``."""
    return positive_value(core, oop, 2)


def positive16_object(core, value):
    """Blue Book ``positive16BitIntegerFor:``: a SmallInteger, or a new
    two-byte LargePositiveInteger."""
    if value <= F.SMALLINT_MAX:
        return F.smallint(value)
    big = core.instantiate(F.CLASS_INDEX["LargePositiveInteger"], F.FMT_BYTES, 1, fill=0)
    core.mem.mem[(big >> 1) + 3] = ((value & 0xFF) << 8) | (value >> 8)
    return big


def _checked(core, obj, index):
    if not _is_object(obj):
        raise FAIL
    i = positive16_value(core, index)
    if i < 1 or i > indexable_size(core, obj):
        raise FAIL
    return i - 1


def prim_at(core, nargs):
    """Blue Book ``primitiveAt`` (60)."""
    obj = core.top(1)
    i = _checked(core, obj, core.mem.mem[core.sp])
    holder, fmt, j = _element(core, obj, i)
    mem = core.mem
    if fmt == F.FMT_POINTERS:
        value = mem.fetch(holder, j)
    elif fmt == F.FMT_WORDS:
        value = positive16_object(core, mem.mem[(holder >> 1) + 3 + j])
    elif fmt in (F.FMT_BYTES, F.FMT_BYTES_ODD):
        value = _tag(mem.byte_at(holder, j))
    else:
        raise FAIL
    _answer(core, 1, value)


def prim_at_put(core, nargs):
    """Blue Book ``primitiveAtPut`` (61)."""
    obj = core.top(2)
    i = _checked(core, obj, core.mem.mem[core.sp - 1])
    value = core.top(0)
    holder, fmt, j = _element(core, obj, i)
    mem = core.mem
    if fmt == F.FMT_POINTERS:
        w = mem.encode(value, holder & ~mem.mask)
        mem.mem[(holder >> 1) + 3 + j] = w
    elif fmt == F.FMT_WORDS:
        v = positive16_value(core, value)
        mem.mem[(holder >> 1) + 3 + j] = v & 0xFFFF
    elif fmt in (F.FMT_BYTES, F.FMT_BYTES_ODD):
        v = _int(value)
        if not 0 <= v <= 255:
            raise FAIL
        mem.set_byte_at(holder, j, v)
    else:
        raise FAIL
    mem.dirty[holder >> mem.log2] = True
    _answer(core, 2, value)


def prim_size(core, nargs):
    """Blue Book ``primitiveSize`` (62)."""
    obj = core.top(0)
    if not _is_object(obj):
        raise FAIL
    _answer(core, 0, positive16_object(core, indexable_size(core, obj)))


def character_of(core, value):
    table = core.firmware_field_value("characterTable")
    return core.mem.fetch(table, value)


def prim_string_at(core, nargs):
    """Blue Book ``primitiveStringAt`` (63): answers a Character."""
    obj = core.top(1)
    i = _checked(core, obj, core.mem.mem[core.sp])
    holder, fmt, j = _element(core, obj, i)
    if fmt not in (F.FMT_BYTES, F.FMT_BYTES_ODD):
        raise FAIL
    _answer(core, 1, character_of(core, core.mem.byte_at(holder, j)))


def prim_string_at_put(core, nargs):
    """Blue Book ``primitiveStringAtPut`` (64): stores a Character's value."""
    obj = core.top(2)
    i = _checked(core, obj, core.mem.mem[core.sp - 1])
    ch = core.top(0)
    mem = core.mem
    holder, fmt, j = _element(core, obj, i)
    if fmt not in (F.FMT_BYTES, F.FMT_BYTES_ODD) or not _is_object(ch) \
            or mem.class_index(ch) != F.CLASS_INDEX["Character"]:
        raise FAIL
    v = _int(mem.mem[(ch >> 1) + 3 + F.CHARACTER_VALUE])
    mem.set_byte_at(holder, j, v & 255)
    mem.dirty[holder >> mem.log2] = True
    _answer(core, 2, ch)


def prim_object_at(core, nargs):
    """Blue Book ``primitiveObjectAt`` (68): CompiledMethod header and literals."""
    obj = core.top(1)
    i = _int(core.mem.mem[core.sp])
    mem = core.mem
    if not _is_object(obj) or mem.fmt(obj) not in (F.FMT_METHOD, F.FMT_METHOD_ODD):
        raise FAIL
    nlits = (mem.mem[(obj >> 1) + 3] >> 1) & 0x3F
    if not 1 <= i <= nlits + 1:
        raise FAIL
    _answer(core, 1, mem.fetch(obj, i - 1))


def prim_new(core, nargs):
    """Blue Book ``primitiveNew`` (70)."""
    cls = core.top(0)
    fmt, cidx = _class_shape(core, cls)
    if F.class_format_kind(fmt) != F.KIND_FIXED:
        raise FAIL
    obj = core.instantiate(cidx, F.FMT_POINTERS, F.class_format_named(fmt))
    _answer(core, 0, obj)


def prim_new_with_arg(core, nargs):
    """Blue Book ``primitiveNewWithArg`` (71)."""
    cls = core.top(1)
    n = positive16_value(core, core.top(0))
    fmt, cidx = _class_shape(core, cls)
    kind = F.class_format_kind(fmt)
    named = F.class_format_named(fmt)
    per = F.large_chunk_fields(core.mem.bs)
    if kind in (F.KIND_POINTERS, F.KIND_WORDS, F.KIND_BYTES) and named == 0 and \
            (n > 2 * per if kind == F.KIND_BYTES else n > per):
        _answer(core, 1, _new_large(core, cidx, kind, n))
        return
    if kind == F.KIND_POINTERS:
        obj = core.instantiate(cidx, F.FMT_POINTERS, named + n)
    elif kind == F.KIND_BYTES:
        obj = core.instantiate(cidx, F.FMT_BYTES + (n & 1), (n + 1) // 2, fill=0)
    elif kind == F.KIND_WORDS:
        obj = core.instantiate(cidx, F.FMT_WORDS, n, fill=0)
    else:
        raise FAIL
    _answer(core, 1, obj)


def _new_large(core, cidx, kind, n):
    """An object larger than a chunk (docs/architecture.md section 10): a spine
    [count, chunk...] in the allocation block, and chunks in fresh blocks from
    the host, each referenced from the spine through an OutPointer the export
    handler makes.  Progress is parked in the core (``pending_large``: key,
    the chunk not yet exported, the spine, the OutPointer words so far), so
    the re-executed primitive continues where a trap stopped it and only one
    chunk's frame has to stay resident at a time."""
    mem = core.mem
    per = F.large_chunk_fields(mem.bs) * (2 if kind == F.KIND_BYTES else 1)
    nchunks = (n + per - 1) // per
    key = (cidx, kind, n)
    if core.pending_large is None or core.pending_large[0] != key:
        core.pending_large = [key, [], None, []]
    pending = core.pending_large
    if pending[2] is None:
        pending[2] = core.instantiate(cidx, F.FMT_LARGE, 1 + nchunks)
        core.pin_registers()
    spine = pending[2]
    base = spine & ~mem.mask
    words = pending[3]
    while len(words) < nchunks:
        if not pending[1]:
            k = len(words)
            count = min(per, n - k * per)
            number = mem.host.new_block()
            core.stats.blocks_created += 1
            frame = mem.load_block(number, busy=mem.pinned | core.trap_frames)
            if kind == F.KIND_POINTERS:
                chunk = mem.allocate(frame, cidx, F.FMT_POINTERS, count, NIL, core.next_hash())
            elif kind == F.KIND_WORDS:
                chunk = mem.allocate(frame, cidx, F.FMT_WORDS, count, 0, core.next_hash())
            else:
                chunk = mem.allocate(frame, cidx, F.FMT_BYTES + (count & 1), (count + 1) // 2,
                                     0, core.next_hash())
            pending[1] = [chunk]
            core.pin_registers()
        chunk = pending[1][0]
        words.append(mem.encode(chunk, base))       # may trap: export
        pending[1] = []
        core.trap_frames.discard(chunk >> mem.log2)  # it may leave SRAM now
        core.pin_registers()
    m = mem.mem
    m[(spine >> 1) + 3] = ((n << 1) | 1) & 0xFFFF   # unsigned 15-bit count
    m[(spine >> 1) + 4:(spine >> 1) + 4 + nchunks] = sram_words(words)
    core.pending_large = None
    core.pin_registers()
    return spine


def _class_shape(core, cls):
    """(format, class index) of a class object: the index through the core's
    class-index cache (a miss traps to ``classIndexOf:``), the format from the
    format table, so the class's own layout does not matter (an imported image's
    classes are the Blue Book's)."""
    if not _is_object(cls):
        raise FAIL
    cidx = core.class_index_of(cls)
    if cidx is None:
        raise FAIL
    fmt = core.mem.fetch(core.format_table(), cidx)
    if not fmt & 1:
        raise FAIL
    return F.smallint_value(fmt), cidx


def prim_inst_var_at(core, nargs):
    """Blue Book ``primitiveInstVarAt`` (73)."""
    obj = core.top(1)
    i = _int(core.mem.mem[core.sp])
    if not _is_object(obj) or core.mem.fmt(obj) != F.FMT_POINTERS \
            or not 1 <= i <= core.mem.body_words(obj):
        raise FAIL
    _answer(core, 1, core.mem.fetch(obj, i - 1))


def prim_inst_var_at_put(core, nargs):
    """Blue Book ``primitiveInstVarAtPut`` (74)."""
    obj = core.top(2)
    i = _int(core.mem.mem[core.sp - 1])
    value = core.top(0)
    if not _is_object(obj) or core.mem.fmt(obj) != F.FMT_POINTERS \
            or not 1 <= i <= core.mem.body_words(obj):
        raise FAIL
    core.mem.store(obj, i - 1, value)
    core.mem.dirty[obj >> core.mem.log2] = True
    _answer(core, 2, value)


def prim_hash(core, nargs):
    """Blue Book ``primitiveAsOop`` (75): the 11-bit identity hash of the header."""
    obj = core.top(0)
    if obj & 1:
        raise FAIL
    _answer(core, 0, F.hash_oop(core.mem.hash_of(obj)) if obj >= 16 else _tag(obj >> 1))


# --- control (Blue Book ``dispatchControlPrimitives``) -------------------------------

def prim_block_copy(core, nargs):
    """Blue Book ``primitiveBlockCopy`` (80)."""
    context = core.top(1)
    n = core.mem.mem[core.sp]
    mem = core.mem
    if mem.class_index(context) == F.CLASS_INDEX["BlockContext"]:
        home = mem.fetch(context, F.CTX_HOME)
    else:
        home = context
    words = mem.size_words(home) - 3
    block = core.instantiate(F.CLASS_INDEX["BlockContext"], F.FMT_POINTERS, words)
    bbase = block & ~mem.mask
    home_w = mem.encode(home, bbase)
    result = mem.encode(block, core.ctx & ~mem.mask)
    m = mem.mem
    a = (block >> 1) + 3
    m[a + F.CTX_NARGS] = n
    # the block's code starts after this send and the 2-byte jump over it
    m[a + F.CTX_STARTPC] = F.smallint(core.ip + 3)
    m[a + F.CTX_PC] = F.smallint(core.ip + 3)
    m[a + F.CTX_STACKP] = F.smallint(0)
    m[a + F.CTX_HOME] = home_w
    core.mark_escaped(home)
    core.sp -= 1
    m[core.sp] = result


def prim_value(core, nargs):
    """Blue Book ``primitiveValue`` (81)."""
    block = core.top(nargs)
    args = [core.mem.mem[core.sp - nargs + 1 + i] for i in range(nargs)]
    _activate_block(core, block, args, core.ctx & ~core.mem.mask, nargs)


def prim_value_with_arguments(core, nargs):
    """Blue Book ``primitiveValueWithArgs`` (82)."""
    block = core.top(1)
    array = core.top(0)
    mem = core.mem
    if not _is_object(array) or mem.class_index(array) != F.CLASS_INDEX["Array"]:
        raise FAIL
    n = mem.body_words(array)
    args = mem.mem[(array >> 1) + 3:(array >> 1) + 3 + n]
    _activate_block(core, block, args, array & ~mem.mask, 1)


def _activate_block(core, block, arg_words, arg_base, pop):
    mem = core.mem
    if not _is_object(block) or mem.class_index(block) != F.CLASS_INDEX["BlockContext"]:
        raise FAIL
    a = (block >> 1) + 3
    m = mem.mem
    if F.smallint_value(m[a + F.CTX_NARGS]) != len(arg_words):
        raise FAIL
    bbase = block & ~mem.mask
    words = [mem.encode(mem.decode(w, arg_base), bbase) for w in arg_words]
    caller_w = mem.encode(core.ctx, bbase)
    home = mem.fetch(block, F.CTX_HOME)
    method = mem.fetch(home, F.CTX_METHOD)
    rcvr = mem.fetch(home, F.CTX_RECEIVER)
    info = core.method_info(method)
    # commit: pop the arguments and the block from the caller, then switch
    core.save_registers_at(core.sp - pop - 1)
    start = F.smallint_value(m[a + F.CTX_STARTPC])
    m[a + F.CTX_SENDER] = caller_w
    m[a + F.CTX_PC] = F.smallint(start)
    n = len(words)
    m[a + F.CTX_STACKP] = F.smallint(n)
    base = (block >> 1) + CTX_WORD_OFFSET + 1
    m[base:base + n] = sram_words(words)
    mem.dirty[block >> mem.log2] = True
    core.ctx, core.home, core.method, core.rcvr, core.info = block, home, method, rcvr, info
    core.ip = start - 1
    core.sp = (block >> 1) + CTX_WORD_OFFSET + n
    mem.touch(block >> mem.log2)
    core.pin_registers()


def prim_perform(core, nargs):
    """Blue Book ``primitivePerform`` (83): the selector is removed from the stack
    and the message sent with the remaining arguments."""
    selector = core.top(nargs - 1)
    rcvr = core.top(nargs)
    cidx = core.mem.class_index(rcvr)
    key = (cidx, selector)
    if key not in core.mem.dispatch:
        raise Trap("lookup", selector, cidx)
    method = core.mem.dispatch[key]
    if method is not None and core.method_info(method).nargs != nargs - 1:
        raise FAIL
    m = core.mem.mem
    first = core.sp - nargs + 1          # the selector's slot
    m[first:core.sp] = m[first + 1:core.sp + 1]
    core.sp -= 1
    core.send_to_class(selector, nargs - 1, rcvr, cidx)


def prim_perform_with_arguments(core, nargs):
    """Blue Book ``primitivePerformWithArgs`` (84)."""
    rcvr = core.top(2)
    selector = core.top(1)
    array = core.top(0)
    mem = core.mem
    if not _is_object(array) or mem.class_index(array) != F.CLASS_INDEX["Array"]:
        raise FAIL
    n = mem.body_words(array)
    cidx = mem.class_index(rcvr)
    key = (cidx, selector)
    if key not in mem.dispatch:
        raise Trap("lookup", selector, cidx)
    method = mem.dispatch[key]
    if method is not None and core.method_info(method).nargs != n:
        raise FAIL
    cbase = core.ctx & ~mem.mask
    words = [mem.encode(mem.decode(w, array & ~mem.mask), cbase)
             for w in mem.mem[(array >> 1) + 3:(array >> 1) + 3 + n]]
    core.sp -= 2
    mem.mem[core.sp + 1:core.sp + 1 + n] = sram_words(words)
    core.sp += n
    core.send_to_class(selector, n, rcvr, cidx)


def prim_equivalent(core, nargs):
    """Blue Book ``primitiveEquivalent`` (110)."""
    y = core.top(0)
    x = core.top(1)
    core.sp -= 1
    core.mem.mem[core.sp] = TRUE if x == y else FALSE


def prim_class(core, nargs):
    """Blue Book ``primitiveClass`` (111)."""
    obj = core.top(0)
    _answer(core, 0, core.class_object(core.mem.class_index(obj)))


# --- blocktalk input/output ------------------------------------------------------

def prim_write(core, nargs):
    """120: ``TextCollector>>primitiveWrite:`` writes a String's bytes to stdout."""
    s = core.top(0)
    if not _is_object(s) or core.mem.fmt(s) not in (F.FMT_BYTES, F.FMT_BYTES_ODD):
        raise FAIL
    core.write_output(core.mem.bytes_of(s))
    core.sp -= 1


def prim_error(core, nargs):
    """121: ``Object>>primitiveError:`` stops the machine with a walkback."""
    s = core.top(0)
    text = core.mem.bytes_of(s).decode("latin-1") if _is_object(s) and \
        core.mem.fmt(s) in (F.FMT_BYTES, F.FMT_BYTES_ODD) else "error"
    raise SmalltalkError(text, core.walkback())


def prim_halt(core, nargs):
    """122: ``Object>>primitiveHalt``."""
    raise SmalltalkError("halt", core.walkback())


#: The SmallInteger primitives 1-17 as functions of the two values: a result
#: outside the 15-bit range, or PrimitiveFailed, is a failure.  Shared with the
#: RTL ALU's tests (hw/test_alu.py), which check the hardware against these.
SMALLINTEGER_FUNCTIONS = {
    1: lambda x, y: x + y, 2: lambda x, y: x - y,
    3: lambda x, y: x < y, 4: lambda x, y: x > y,
    5: lambda x, y: x <= y, 6: lambda x, y: x >= y,
    7: lambda x, y: x == y, 8: lambda x, y: x != y,
    9: lambda x, y: x * y, 10: _divide,
    11: _nonzero(lambda x, y: x % y), 12: _nonzero(lambda x, y: x // y),
    13: _nonzero(_quo), 14: lambda x, y: x & y,
    15: lambda x, y: x | y, 16: lambda x, y: x ^ y,
    17: _shift,
}

#: The primitives of this module; the whole table is :mod:`.primitive_table`'s.
CORE_PRIMITIVES = {
    **{index: _arith(fn) for index, fn in SMALLINTEGER_FUNCTIONS.items()},
    18: prim_make_point,
    60: prim_at, 61: prim_at_put, 62: prim_size, 63: prim_string_at,
    64: prim_string_at_put, 68: prim_object_at, 70: prim_new, 71: prim_new_with_arg,
    73: prim_inst_var_at, 74: prim_inst_var_at_put, 75: prim_hash,
    80: prim_block_copy, 81: prim_value, 82: prim_value_with_arguments,
    83: prim_perform, 84: prim_perform_with_arguments,
    110: prim_equivalent, 111: prim_class,
    120: prim_write, 121: prim_error, 122: prim_halt,
}

# Special selectors answered without a lookup for the common receivers
# (Blue Book ``specialSelectorPrimitiveResponse``).
_SPECIAL_ARITH = {176 + i: CORE_PRIMITIVES[p] for i, p in enumerate(
    (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 18, 17, 12, 14, 15))}


def special_response(core, b):
    if b < 192:
        m = core.mem.mem
        if m[core.sp] & 1 and m[core.sp - 1] & 1:
            try:
                _SPECIAL_ARITH[b](core, 1)
                core.stats.primitive_calls += 1
                return True
            except PrimitiveFailed:
                return False
        return False
    if b == 198:
        prim_equivalent(core, 1)
        return True
    if b == 199:
        prim_class(core, 0)
        return True
    return False

