"""System and method primitives of Blue Book ch. 29 that the Version 2 image
calls and the kernel does not: 69 (``objectAt:put:``), 79 (``newMethod:header:``),
89 (``flushCache``), 112-116 (memory figures, quit, exit to debugger).

``someInstance``/``nextInstance`` (77/78) and ``asObject`` (76) have no meaning
without an object table and a single heap, and ``snapshot`` (97) belongs to the
host's image store: they fail.
"""

from blocktalk.memory import format as F
from .memory import sram_words

from .primitives import FAIL, _answer, _int, _is_object, positive16_value
from .traps import Halt, SmalltalkError


def _method(core, obj):
    mem = core.mem
    if not _is_object(obj) or mem.fmt(obj) not in (F.FMT_METHOD, F.FMT_METHOD_ODD):
        raise FAIL
    return (mem.mem[(obj >> 1) + 3] >> 1) & 0x3F


def prim_object_at_put(core, nargs):
    """Blue Book ``primitiveObjectAtPut`` (69): a CompiledMethod's header (1)
    or literal (2..literals+1).  The header must stay a SmallInteger."""
    method = core.top(2)
    i = _int(core.mem.mem[core.sp - 1])
    value = core.top(0)
    nlits = _method(core, method)
    if not 1 <= i <= nlits + 1 or (i == 1 and not value & 1):
        raise FAIL
    core.mem.store(method, i - 1, value)
    core.mem.dirty[method >> core.mem.log2] = True
    core.mem.code_cache.pop(method, None)
    _answer(core, 2, value)


def prim_new_method(core, nargs):
    """Blue Book ``primitiveNewMethod`` (79): ``CompiledMethod newMethod: bytes
    header: header``: nil literals as many as the header says, zero bytecodes."""
    nbytes = positive16_value(core, core.top(1))
    header = core.top(0)
    if not header & 1:
        raise FAIL
    nlits = (header >> 1) & 0x3F
    method = core.instantiate(F.CLASS_INDEX["CompiledMethod"], F.byte_format(nbytes, True),
                              1 + nlits + (nbytes + 1) // 2, fill=0)
    m = core.mem.mem
    a = (method >> 1) + 3
    m[a] = header
    m[a + 1:a + 1 + nlits] = sram_words([F.NIL] * nlits)
    _answer(core, 2, method)


def prim_flush_cache(core, nargs):
    """Blue Book ``primitiveFlushCache`` (89): empty the message dispatch table
    (a method dictionary changed)."""
    core.mem.dispatch = {}          # a new table: the RTL core's copy is flushed too


def prim_core_left(core, nargs):
    """``coreLeft`` (112): free words, as a SmallInteger (blocks come from the
    host, so this is the room the core can still get, capped)."""
    store = core.store
    free_blocks = F.SMALLINT_MAX + 1 - len(store.blocks)   # block numbers are SmallIntegers
    _answer(core, 0, F.smallint(min(F.SMALLINT_MAX, free_blocks * core.mem.bs // 2)))


def prim_oops_left(core, nargs):
    """``oopsLeft`` (115): there is no object table; answers the cap."""
    _answer(core, 0, F.smallint(F.SMALLINT_MAX))


def prim_signal_at_oops_left(core, nargs):
    """``signal:atOopsLeft:wordsLeft:`` (116): accepted; blocktalk never runs
    low on object-table entries, and a full store stops the machine instead."""
    core.sp -= 3


def prim_quit(core, nargs):
    """``quitPrimitive`` (113): the machine stops."""
    raise Halt(F.NIL)


def prim_exit_to_debugger(core, nargs):
    """``exitToDebugger`` (114): stop with a walkback."""
    raise SmalltalkError("exitToDebugger", core.walkback())


SYSTEM_PRIMITIVES = {
    69: prim_object_at_put, 79: prim_new_method, 89: prim_flush_cache,
    112: prim_core_left, 113: prim_quit, 114: prim_exit_to_debugger,
    115: prim_oops_left, 116: prim_signal_at_oops_left,
}
