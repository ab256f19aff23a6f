"""Input/output primitives (Blue Book ch. 29, "I/O primitives") served by the host.

The display, cursor and input devices are the host's: the core hands it the
objects (the Blue Book keeps them in the VM; here the host records which Form
is the display so that it can read its bitmap for a screenshot, and which
Semaphores it signals for input and for the timer).  Objects the host holds are
in ``core.host_io`` (core addresses, kept pinned and relocated like registers);
plain device state is in ``core.devices`` (:class:`Devices`).

Time is the machine's own: a clock that starts at the host's wall-clock time
when the machine boots and advances one millisecond per
:data:`BYTECODES_PER_MS` bytecodes, so a run is reproducible bytecode for
bytecode (a trace, a screenshot, and later a replay) however fast the host is.
"""

import time
from collections import deque
from dataclasses import dataclass, field

from blocktalk.memory import format as F

from .primitives import FAIL, _answer, _int, _is_object, positive16_object, positive_value

#: The nominal speed of the machine's clock: 1,000,000 bytecodes per second.
BYTECODES_PER_MS = 1000
#: Seconds from 1 January 1901 (Smalltalk-80's epoch) to 1 January 1970.
EPOCH_1901 = 2177452800


@dataclass
class Devices:
    """The host's view of the mouse, keyboard, cursor and clock."""
    mouse: tuple = (0, 0)
    cursor: tuple = (0, 0)
    cursor_linked: bool = True
    sample_interval: int = 0
    input_words: deque = field(default_factory=deque)
    boot_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    timer_ms: int = None          # when host_io["timer"] is to be signalled


def clock_ms(core):
    """The machine's millisecond clock (Blue Book ``millisecondClockValue``)."""
    return core.devices.boot_ms + core.stats.bytecodes // BYTECODES_PER_MS


def timer_due_at(core):
    """The bytecode count at which the timer Semaphore is due, or None."""
    d = core.devices
    if d.timer_ms is None or "timer" not in core.host_io:
        return None
    return max(0, (d.timer_ms - d.boot_ms) * BYTECODES_PER_MS)


def prim_be_cursor(core, nargs):
    """Blue Book ``primitiveBeCursor`` (101)."""
    core.host_io["cursor"] = core.top(0)


def prim_be_display(core, nargs):
    """Blue Book ``primitiveBeDisplay`` (102): this Form is the screen."""
    core.host_io["display"] = core.top(0)


def prim_mouse_point(core, nargs):
    """Blue Book ``primitiveMousePoint`` (90)."""
    x, y = core.devices.mouse
    point = core.instantiate(F.CLASS_INDEX["Point"], F.FMT_POINTERS, 2)
    m = core.mem.mem
    m[(point >> 1) + 3] = F.smallint(x)
    m[(point >> 1) + 4] = F.smallint(y)
    _answer(core, 0, point)


def _point(core, p):
    mem = core.mem
    if not _is_object(p) or mem.class_index(p) != F.CLASS_INDEX["Point"]:
        raise FAIL
    return _int(mem.mem[(p >> 1) + 3]), _int(mem.mem[(p >> 1) + 4])


def prim_cursor_loc_put(core, nargs):
    """Blue Book ``primitiveCursorLocPut`` (91): moves the cursor (and, while
    they are linked, the mouse) to a Point."""
    d = core.devices
    d.cursor = _point(core, core.top(0))
    if d.cursor_linked:
        d.mouse = d.cursor
    core.sp -= 1


def prim_cursor_link(core, nargs):
    """Blue Book ``primitiveCursorLink`` (92): whether the cursor follows the mouse."""
    flag = core.top(0)
    if flag not in (F.TRUE, F.FALSE):
        raise FAIL
    core.devices.cursor_linked = flag == F.TRUE
    core.sp -= 1


def prim_input_semaphore(core, nargs):
    """Blue Book ``primitiveInputSemaphore`` (93): signalled once per input word."""
    sema = core.top(0)
    if sema == F.NIL:
        core.host_io.pop("input", None)
    elif _is_object(sema):
        core.host_io["input"] = sema
    else:
        raise FAIL
    core.pin_registers()
    core.sp -= 1


def prim_sample_interval(core, nargs):
    """Blue Book ``primitiveSampleInterval`` (94): mouse sampling period in ms."""
    core.devices.sample_interval = _int(core.top(0))
    core.sp -= 1


def prim_input_word(core, nargs):
    """Blue Book ``primitiveInputWord`` (95): the next word of the input buffer
    (fails when it is empty)."""
    words = core.devices.input_words
    if not words:
        raise FAIL
    _answer(core, 0, positive16_object(core, words[0]))
    words.popleft()


def _store_clock(core, value):
    """Store a 32-bit count into the four bytes of the argument (a
    LargePositiveInteger, least significant byte first)."""
    mem = core.mem
    target = core.top(0)
    if not _is_object(target) or mem.fmt(target) not in (F.FMT_BYTES, F.FMT_BYTES_ODD) \
            or mem.byte_size(target) < 4:
        raise FAIL
    for i in range(4):
        mem.set_byte_at(target, i, (value >> (8 * i)) & 0xFF)
    mem.dirty[target >> mem.log2] = True
    core.sp -= 1


def prim_seconds_clock_into(core, nargs):
    """Blue Book ``primitiveTimeWordsInto`` (98): seconds since 1 January 1901."""
    _store_clock(core, (clock_ms(core) // 1000 + EPOCH_1901) & 0xFFFFFFFF)


def prim_milliseconds_clock_into(core, nargs):
    """Blue Book ``primitiveTickWordsInto`` (99): the millisecond clock."""
    _store_clock(core, clock_ms(core) & 0xFFFFFFFF)


def prim_signal_at_milliseconds(core, nargs):
    """Blue Book ``primitiveSignalAtTick`` (100): signal the Semaphore when the
    millisecond clock reaches the value (nil cancels).  The clock value is 32
    bits; the machine's clock is compared in full, so the 32-bit value is taken
    to be the next time the clock's low 32 bits reach it."""
    sema = core.top(1)
    when = positive_value(core, core.top(0), 4)
    d = core.devices
    if sema == F.NIL:
        core.host_io.pop("timer", None)
        d.timer_ms = None
    elif _is_object(sema):
        now = clock_ms(core)
        high = now & ~0xFFFFFFFF
        due = high | when
        if due < now - 0x80000000:
            due += 1 << 32
        core.host_io["timer"] = sema
        d.timer_ms = due
    else:
        raise FAIL
    core.pin_registers()
    core.sp -= 2


from .bitblt import prim_copy_bits  # noqa: E402

IO_PRIMITIVES = {
    90: prim_mouse_point, 91: prim_cursor_loc_put, 92: prim_cursor_link,
    93: prim_input_semaphore, 94: prim_sample_interval, 95: prim_input_word,
    96: prim_copy_bits, 98: prim_seconds_clock_into, 99: prim_milliseconds_clock_into,
    100: prim_signal_at_milliseconds, 101: prim_be_cursor, 102: prim_be_display,
}
