"""The firmware engine: runs the trap handlers of ``firmware/handlers`` in bytecode.

When the core traps it enters *firmware mode* (docs/architecture.md section 7):
the user registers stay latched, and the handler method of the Firmware object
runs on the firmware stack, a separate stack memory whose slots hold full core
addresses (hardware: a small dedicated RAM).  In firmware mode:

* a field that holds an OutPointer reads as the OutPointer's own core address
  (no translation, no trap): the handler resolves it explicitly;
* a store may only put a value of the holder's own block (or an immediate);
* a non-special send goes to the Firmware object itself and is looked up in
  the Firmware class only; the special selectors run their primitives;
* the firmware primitives (200-239) give the handlers their view of the
  frames, the host and the translation caches.

When the handler returns, the core executes the trapped bytecode again.
"""

from blocktalk.memory import format as F
from .methods import decode_method, FLAG_RETURN_SELF, FLAG_RETURN_FIELD
from .traps import VMError
from . import gc as collector
from .memory import chunk_takes

NIL, FALSE, TRUE = F.NIL, F.FALSE, F.TRUE

#: trap kind -> handler selector
HANDLERS = {
    "import": "import:",
    "export": "export:into:",
    "lookup": "lookup:class:",
    "blockFull": "blockFull:",
    "collect": "collect:for:",
    "classIndex": "classIndexOf:",
}

FIRMWARE_STEP_LIMIT = 5_000_000


class FirmwareFault(VMError):
    pass


class Frame:
    __slots__ = ("method", "info", "ip", "temps", "stack", "rcvr")

    def __init__(self, method, info, rcvr, args):
        self.method = method
        self.info = info
        self.ip = info.initial_ip
        self.temps = list(args) + [NIL] * (info.ntemps - len(args))
        self.stack = []
        self.rcvr = rcvr


class FirmwareEngine:
    """The trap mechanism of one core.

    :param core: the :class:`~.core.Core`.
    :param location: (block, offset) of the Firmware object in block 0.
    """

    def __init__(self, core, offset, class_names, method_labels):
        self.core = core
        self.mem = core.mem
        self.object = offset            # block 0 is always in frame 0
        self.class_names = class_names
        self.method_labels = method_labels
        self.methods = {}               # selector core address -> method core address
        self.by_name = {}
        self.busy = set()
        self.frames = []
        self.infos = {}                 # firmware methods never leave frame 0
        self._read_method_dictionary()

    def _read_method_dictionary(self):
        mem = self.mem
        mdict = mem.raw_fetch(self.object, F.FIRMWARE_FIELDS.index("handlers"))
        keys = mem.raw_fetch(mdict, F.MDICT_KEYS)
        values = mem.raw_fetch(mdict, F.MDICT_VALUES)
        for i in range(mem.body_words(keys)):
            sel = mem.raw_fetch(keys, i)
            if sel == NIL:
                continue
            method = mem.raw_fetch(values, i)
            if mem.is_outpointer(sel) or mem.is_outpointer(method):
                raise FirmwareFault("the Firmware class's selectors and methods must be in block 0")
            self.methods[sel] = method
            self.by_name[mem.bytes_of(sel).decode("latin-1")] = method
        for kind, name in HANDLERS.items():
            if name not in self.by_name:
                raise FirmwareFault(f"the firmware has no handler {name} for {kind} traps")

    # --- trap entry -------------------------------------------------------------------

    def handle(self, trap):
        """Run the handler for ``trap`` to completion (firmware mode)."""
        core = self.core
        a = trap.args_
        if trap.kind == "import":
            args = [a[0]]
        elif trap.kind == "export":
            args = [a[0], F.smallint(a[1])]
        elif trap.kind == "lookup":
            args = [a[0], F.smallint(a[1])]
        elif trap.kind == "classIndex":
            args = [a[0]]
        elif trap.kind == "collect":
            args = [F.smallint(a[0]), F.smallint(min(a[1], F.SMALLINT_MAX))]
        else:
            args = [F.smallint(min(a[0], F.SMALLINT_MAX))]
        # The frames the trap names stay put while the handler loads blocks.
        self.busy = set(self.mem.pinned)
        if trap.kind in ("import", "export", "lookup", "classIndex"):
            self.busy.add(trap.args_[0] >> self.mem.log2)
        if trap.kind == "export":
            self.busy.add(trap.args_[1])
        elif trap.kind == "collect":
            self.busy.add(trap.args_[0])
        try:
            self.call(self.by_name[HANDLERS[trap.kind]], args)
        finally:
            self.frames = []
        core._pin_key = None
        core.pin_registers()

    def call(self, method, args):
        """Execute a firmware method with receiver the Firmware object."""
        info = decode_method(self.mem, method)
        if info.primitive:
            result = self.primitive(info.primitive, self.object, args)
            if result is not None:
                return result
        frames = [Frame(method, info, self.object, args)]
        self.frames = frames
        return self.interpret(frames)

    # --- the firmware interpreter --------------------------------------------------------

    def interpret(self, frames):
        mem = self.mem
        stats = self.core.stats
        f = frames[-1]
        steps = 0
        while True:
            steps += 1
            if steps > FIRMWARE_STEP_LIMIT:
                raise FirmwareFault("a firmware handler ran too long")
            code = f.info.code
            b = code[f.ip]
            f.ip += 1
            stack = f.stack
            if b < 16:
                stack.append(mem.raw_fetch(f.rcvr, b))
            elif b < 32:
                stack.append(f.temps[b - 16])
            elif b < 64:
                stack.append(mem.raw_fetch(f.method, 1 + b - 32))
            elif b < 96:
                stack.append(mem.raw_fetch(mem.raw_fetch(f.method, 1 + b - 64), F.ASSOC_VALUE))
            elif b < 104:
                mem.raw_store(f.rcvr, b - 96, stack.pop())
            elif b < 112:
                f.temps[b - 104] = stack.pop()
            elif b < 120:
                stack.append(f.rcvr if b == 112 else (TRUE, FALSE, NIL, 0xFFFF, 1, 3, 5)[b - 113])
            elif b < 126:
                if b == 125:
                    raise FirmwareFault("blocks are not allowed in firmware")
                value = (f.rcvr, TRUE, FALSE, NIL, None)[b - 120]
                if value is None:
                    value = stack.pop()
                frames.pop()
                stats.firmware_bytecodes += steps
                steps = 0
                if not frames:
                    return value
                f = frames[-1]
                f.stack.append(value)
            elif b == 128:
                d = code[f.ip]
                f.ip += 1
                kind, i = d >> 6, d & 63
                if kind == 0:
                    stack.append(mem.raw_fetch(f.rcvr, i))
                elif kind == 1:
                    stack.append(f.temps[i])
                elif kind == 2:
                    stack.append(mem.raw_fetch(f.method, 1 + i))
                else:
                    stack.append(mem.raw_fetch(mem.raw_fetch(f.method, 1 + i), F.ASSOC_VALUE))
            elif b in (129, 130):
                d = code[f.ip]
                f.ip += 1
                kind, i = d >> 6, d & 63
                v = stack[-1]
                if kind == 0:
                    mem.raw_store(f.rcvr, i, v)
                elif kind == 1:
                    f.temps[i] = v
                else:
                    raise FirmwareFault("firmware may not store into literals")
                if b == 130:
                    stack.pop()
            elif b in (131, 132):
                if b == 131:
                    d = code[f.ip]
                    f.ip += 1
                    nargs, sel = d >> 5, mem.raw_fetch(f.method, 1 + (d & 31))
                else:
                    nargs = code[f.ip]
                    sel = mem.raw_fetch(f.method, 1 + code[f.ip + 1])
                    f.ip += 2
                f = self.send(frames, f, sel, nargs)
            elif b == 135:
                stack.pop()
            elif b == 136:
                stack.append(stack[-1])
            elif 144 <= b < 152:
                f.ip += (b & 7) + 1
            elif 152 <= b < 160:
                if self._cond(stack.pop()) is False:
                    f.ip += (b & 7) + 1
            elif 160 <= b < 168:
                f.ip += ((b & 7) - 4) * 256 + code[f.ip] + 1
            elif 168 <= b < 176:
                off = (b & 3) * 256 + code[f.ip]
                f.ip += 1
                if self._cond(stack.pop()) is (b < 172):
                    f.ip += off
            elif 176 <= b < 208:
                r = self.special(b, stack)
                if r is NotImplemented:
                    name, nargs = F.SPECIAL_SELECTORS[b - 176]
                    raise FirmwareFault(f"firmware sent #{name} to a receiver without a "
                                        f"primitive for it")
            elif b >= 208:
                sel = mem.raw_fetch(f.method, 1 + (b & 15))
                f = self.send(frames, f, sel, (b - 208) >> 4)
            else:
                raise FirmwareFault(f"bytecode {b} is not allowed in firmware")

    @staticmethod
    def _cond(v):
        if v == TRUE:
            return True
        if v == FALSE:
            return False
        raise FirmwareFault("firmware condition is not a Boolean")

    def send(self, frames, f, sel, nargs):
        stack = f.stack
        args = stack[len(stack) - nargs:] if nargs else []
        del stack[len(stack) - nargs:]
        rcvr = stack.pop()
        method = self.methods.get(sel)
        if method is None or rcvr != self.object:
            name = self.mem.bytes_of(sel).decode("latin-1") if not sel & 1 else "?"
            raise FirmwareFault(f"firmware send of #{name} to something other than the "
                                f"Firmware object, or not a Firmware method")
        info = self.infos.get(method)
        if info is None:
            info = decode_method(self.mem, method)
            self.infos[method] = info
        if info.primitive:
            result = self.primitive(info.primitive, rcvr, args)
            if result is not None:
                stack.append(result)
                return f
        if info.flag == FLAG_RETURN_SELF:
            stack.append(rcvr)
            return f
        if info.flag == FLAG_RETURN_FIELD:
            stack.append(self.mem.raw_fetch(rcvr, info.field_index))
            return f
        nf = Frame(method, info, rcvr, args)
        frames.append(nf)
        return nf

    def special(self, b, stack):
        """Special selectors in firmware: SmallInteger arithmetic, ==, and the
        subscript primitives on raw objects."""
        mem = self.mem
        if b < 192:
            y, x = stack[-1], stack[-2]
            if not (x & 1 and y & 1):
                return NotImplemented
            xv, yv = F.smallint_value(x), F.smallint_value(y)
            if b == 176:
                r = xv + yv
            elif b == 177:
                r = xv - yv
            elif b < 184:
                r = (xv < yv, xv > yv, xv <= yv, xv >= yv, xv == yv, xv != yv)[b - 178]
                del stack[-2:]
                stack.append(TRUE if r else FALSE)
                return None
            elif b == 184:
                r = xv * yv
            elif b == 186 and yv:
                r = xv % yv
            elif b == 189 and yv:
                r = xv // yv
            elif b == 190:
                r = xv & yv
            elif b == 191:
                r = xv | yv
            elif b == 188:
                r = xv << yv if yv >= 0 else xv >> -yv
            else:
                return NotImplemented
            if not F.fits_smallint(r):
                raise FirmwareFault(f"firmware arithmetic overflowed: {xv}, {yv} (bytecode {b})")
            del stack[-2:]
            stack.append(F.smallint(r))
            return None
        if b == 192:                          # at:
            i = stack.pop()
            obj = stack.pop()
            stack.append(mem.raw_fetch(obj, self._index(obj, i)))
            return None
        if b == 193:                          # at:put:
            v = stack.pop()
            i = stack.pop()
            obj = stack.pop()
            mem.raw_store(obj, self._index(obj, i), v)
            mem.dirty[obj >> mem.log2] = True
            stack.append(v)
            return None
        if b == 194:                          # size
            obj = stack.pop()
            stack.append(F.smallint(mem.body_words(obj)))
            return None
        if b == 198:                          # ==
            y = stack.pop()
            x = stack.pop()
            stack.append(TRUE if x == y else FALSE)
            return None
        return NotImplemented

    def _index(self, obj, i):
        mem = self.mem
        if obj & 1 or obj < 16 or not i & 1 or mem.fmt(obj) != F.FMT_POINTERS:
            raise FirmwareFault("firmware at: on a non-Array")
        i = F.smallint_value(i)
        if not 1 <= i <= mem.body_words(obj):
            raise FirmwareFault(f"firmware index {i} out of bounds")
        return i - 1

    # --- firmware primitives --------------------------------------------------------------

    def primitive(self, index, rcvr, args):
        fn = FIRMWARE_PRIMITIVES.get(index)
        if fn is None:
            raise FirmwareFault(f"unknown firmware primitive {index}")
        return fn(self, *args)

    def frame_index(self, v):
        return v >> self.mem.log2

    def load(self, number):
        """A block into a frame, never evicting one the trapped bytecode uses or
        one that a value on the firmware stack points into (the handler's
        working set, found like a collector finds roots)."""
        mem = self.mem
        frame = mem.frame_for_block(number)
        if frame is None:
            frame = mem.load_block(number, busy=self.busy | self.held_frames()
                                   | self.core.trap_frames)
        mem.touch(frame)
        return frame

    def keep(self, *values):
        """The translation just installed must survive until the trapped
        bytecode completes: otherwise a bytecode whose working set is larger
        than the free frames would evict, on each trap, what its previous trap
        brought in."""
        lg = self.mem.log2
        for v in values:
            if not (v & 1) and v >= 16:
                self.core.trap_frames.add(v >> lg)

    def held_frames(self):
        lg = self.mem.log2
        return {v >> lg for v in self.held_values()}

    def held_values(self):
        """Core addresses on the firmware stack: roots of a collection that a
        handler starts, and values it must follow when objects move."""
        out = []
        for f in self.frames:
            for v in f.temps + f.stack:
                if not (v & 1) and v >= 16:
                    out.append(v)
        return out

    def relocate(self, move):
        for f in self.frames:
            f.temps = [move(v) for v in f.temps]
            f.stack[:] = [move(v) for v in f.stack]


def _obj(v):
    if v & 1 or v < 16:
        raise FirmwareFault(f"firmware expected an object, got {v:#x}")
    return v


def p_block_number_of(fw, v):
    """200 ``blockNumberOf: anObject``."""
    return F.smallint(fw.mem.block_of(_obj(v)))


def p_is_outpointer(fw, v):
    """201 ``isOutPointer: aValue``."""
    return TRUE if not (v & 1) and v >= 16 and fw.mem.is_outpointer(v) else FALSE


def p_op_block(fw, op):
    """202 ``outPointerBlock: anOutPointer``."""
    return fw.mem.mem[_obj(op) >> 1]


def p_op_index(fw, op):
    """203 ``outPointerIndex: anOutPointer``."""
    return fw.mem.mem[(_obj(op) >> 1) + 1]


def p_frame_of_block(fw, n):
    """204 ``frameOfBlock: n``: the frame holding block n, or nil."""
    f = fw.mem.frame_for_block(F.smallint_value(n))
    if f is None:
        return NIL
    return F.smallint(f)


def p_load_block(fw, n):
    """205 ``loadBlock: n``: the host copies block n into a frame."""
    return F.smallint(fw.load(F.smallint_value(n)))


def p_inpointer_table(fw, f):
    """206 ``inPointerTableOfFrame: f``."""
    mem = fw.mem
    frame = F.smallint_value(f)
    return (frame << mem.log2) + mem.header(frame, F.BH_INPOINTERS)


def p_set_inpointer_table(fw, table):
    """207 ``setInPointerTable: anArray`` (of the Array's own block)."""
    mem = fw.mem
    frame = _obj(table) >> mem.log2
    mem.set_header(frame, F.BH_INPOINTERS, table - (frame << mem.log2))
    mem.dirty[frame] = True
    return table


def p_new_array_near(fw, size, v):
    """208 ``newArray: n near: anObject``: allocation in anObject's block, allowed
    to use the block's reserve; nil if the block is full."""
    mem = fw.mem
    frame = _obj(v) >> mem.log2
    n = F.smallint_value(size)
    obj = mem.allocate(frame, F.CLASS_INDEX["Array"], F.FMT_POINTERS, n, NIL,
                       fw.core.next_hash())
    return NIL if obj is None else obj


def p_new_outpointer(fw, f, block, index):
    """209 ``newOutPointerIn: f block: b index: i``: nil if there is no room."""
    mem = fw.mem
    frame = F.smallint_value(f)
    op = mem.new_outpointer(frame, F.smallint_value(block), F.smallint_value(index))
    return NIL if op is None else op


def p_op_hash_table(fw, f):
    """210 ``outPointerHashOfFrame: f``."""
    mem = fw.mem
    frame = F.smallint_value(f)
    return (frame << mem.log2) + mem.header(frame, F.BH_OP_HASH)


def p_set_op_hash_table(fw, table):
    """211 ``setOutPointerHash: anArray``."""
    mem = fw.mem
    frame = _obj(table) >> mem.log2
    mem.set_header(frame, F.BH_OP_HASH, table - (frame << mem.log2))
    mem.dirty[frame] = True
    return table


def p_install_import(fw, op, target):
    """212 ``installImport: anOutPointer as: anObject``."""
    fw.mem.import_cache[_obj(op)] = target
    fw.keep(op, target)
    return target


def p_install_export(fw, f, value, op):
    """213 ``installExport: value into: f as: anOutPointer``."""
    mem = fw.mem
    frame = F.smallint_value(f)
    mem.export_cache[(frame << mem.log2, value)] = _obj(op) - (frame << mem.log2)
    fw.keep(op, value)
    return op


def p_install_method(fw, method, class_index, selector):
    """214 ``installMethod: m class: index selector: sel`` (m nil: not understood)."""
    fw.mem.dispatch[(F.smallint_value(class_index), selector)] = None if method == NIL else method
    fw.keep(selector, method)
    return method


def p_frame_of(fw, v):
    """215 ``frameOf: anObject``."""
    return F.smallint(_obj(v) >> fw.mem.log2)


def p_set_exported(fw, v):
    """216 ``setExported: anObject``."""
    fw.mem.mem[(_obj(v) >> 1) + 2] |= F.EXPORTED_BIT
    fw.mem.mark_escaped(_obj(v))
    fw.mem.dirty[v >> fw.mem.log2] = True
    return v


def p_is_exported(fw, v):
    """217 ``isExported: anObject``."""
    return TRUE if fw.mem.mem[(_obj(v) >> 1) + 2] & F.EXPORTED_BIT else FALSE


def p_collect(fw, f, words):
    """218 ``collectFrame: f for: words``: mark-sweep the block; true if afterwards
    a quarter of it is free and a request of ``words`` fits.  A block that stays
    fuller is sealed: it takes no new objects (it is still read and written)."""
    core = fw.core
    mem = fw.mem
    frame = F.smallint_value(f)
    if not mem.host.may_collect(mem.frame_block[frame]):
        return FALSE        # other cores point into it (host/master.py): objects stay put
    free = collector.collect(core, frame)
    need = (F.smallint_value(words) + F.OBJ_HEADER_WORDS) * 2 + mem.reserve
    base = frame << mem.log2
    bump = mem.op_abs[frame] - base - mem.header(frame, F.BH_ALLOC)
    fits = bump >= need or _free_chunk_takes(mem, frame, F.smallint_value(words)
                                             + F.OBJ_HEADER_WORDS)
    if free < mem.bs // 4 or not fits:
        mem.set_header(frame, F.BH_FLAGS, mem.header(frame, F.BH_FLAGS) | F.BF_SEALED)
        return FALSE
    return TRUE


def _free_chunk_takes(mem, frame, words):
    """Whether the free list has a chunk the allocator would give an object of
    ``words`` words (header included): the same rule, or the trapped
    allocation would fail again after the handler said it fits, for ever."""
    base = frame << mem.log2
    chunk = mem.header(frame, F.BH_FREE_LIST)
    while chunk:
        a = (base + chunk) >> 1
        if chunk_takes(mem.mem[a], words):
            return True
        chunk = mem.mem[a + 1]
    return False


def p_new_allocation_block(fw):
    """219 ``newAllocationBlock``: the host creates an empty block; it becomes the
    core's allocation block."""
    mem = fw.mem
    number = mem.host.new_block()
    fw.core.stats.blocks_created += 1
    frame = fw.load(number)
    mem.alloc_frame = frame
    return F.smallint(frame)


def p_allocation_frame(fw):
    """220 ``allocationFrame``: nil if the core has none."""
    f = fw.mem.alloc_frame
    return NIL if f is None else F.smallint(f)


def p_block_number_of_frame(fw, f):
    """221 ``blockNumberOfFrame: f``."""
    return F.smallint(fw.mem.frame_block[F.smallint_value(f)])


def p_field_of(fw, i, obj):
    """222 ``field: i of: anObject`` (raw: OutPointers unresolved)."""
    return fw.mem.raw_fetch(_obj(obj), F.smallint_value(i) - 1)


def p_identity_hash(fw, v):
    """223 ``identityHashOf: anObject``."""
    return F.hash_oop(fw.mem.hash_of(_obj(v)))


def p_is_sealed(fw, f):
    """224 ``isSealed: f``."""
    return TRUE if fw.mem.header(F.smallint_value(f), F.BH_FLAGS) & F.BF_SEALED else FALSE


def p_fault(fw, message):
    """225 ``fault: aString``: the firmware gives up."""
    text = fw.mem.bytes_of(message).decode("latin-1") if not message & 1 else "?"
    raise FirmwareFault(text)


def p_rehash_outpointers(fw, f, table):
    """226 ``rehashOutPointersOf: f into: anArray``: the live OutPointers of the
    block into a new (larger) hash table, which becomes the block's table."""
    mem = fw.mem
    frame = F.smallint_value(f)
    base = frame << mem.log2
    m = mem.mem
    ta = _obj(table) >> 1
    slots = m[ta] - 3
    off = mem.op_abs[frame] - base
    while off < mem.bs:
        a = (base + off) >> 1
        if m[a] != NIL:
            s = F.outpointer_hash(F.smallint_value(m[a]), F.smallint_value(m[a + 1]), slots)
            while m[ta + 3 + s] != NIL:
                s = (s + 1) % slots
            m[ta + 3 + s] = off
        off += F.OUTPOINTER_BYTES
    mem.set_header(frame, F.BH_OP_HASH, table - base)
    mem.dirty[frame] = True
    return table


def p_outpointer_count(fw, f):
    """227 ``liveOutPointerCountOf: f``: OutPointer entries in use."""
    mem = fw.mem
    frame = F.smallint_value(f)
    base = frame << mem.log2
    m = mem.mem
    live = sum(1 for off in range(mem.op_abs[frame] - base, mem.bs, F.OUTPOINTER_BYTES)
               if m[(base + off) >> 1] != NIL)
    return F.smallint(live)


def p_has_room_for_outpointer(fw, f):
    """229 ``hasRoomForOutPointerIn: f``: a freed entry, or 4 bytes of free space
    below the OutPointer region."""
    mem = fw.mem
    frame = F.smallint_value(f)
    if mem.header(frame, F.BH_OP_FREE):
        return TRUE
    room = mem.op_abs[frame] - (frame << mem.log2) - mem.header(frame, F.BH_ALLOC)
    return TRUE if room >= F.OUTPOINTER_BYTES else FALSE


def p_install_class_index(fw, cls, index):
    """230 ``installClass: aClass index: anInteger`` (nil: not a class)."""
    fw.mem.class_index_cache[_obj(cls)] = None if index == NIL else F.smallint_value(index)
    fw.keep(cls)
    return cls


def p_is_smallinteger(fw, v):
    """228 ``isSmallInteger: aValue``."""
    return TRUE if v & 1 else FALSE


FIRMWARE_PRIMITIVES = {
    200: p_block_number_of, 201: p_is_outpointer, 202: p_op_block, 203: p_op_index,
    204: p_frame_of_block, 205: p_load_block, 206: p_inpointer_table,
    207: p_set_inpointer_table, 208: p_new_array_near, 209: p_new_outpointer,
    210: p_op_hash_table, 211: p_set_op_hash_table, 212: p_install_import,
    213: p_install_export, 214: p_install_method, 215: p_frame_of, 216: p_set_exported,
    217: p_is_exported, 218: p_collect, 219: p_new_allocation_block,
    220: p_allocation_frame, 221: p_block_number_of_frame, 222: p_field_of,
    223: p_identity_hash, 224: p_is_sealed, 225: p_fault, 226: p_rehash_outpointers,
    227: p_outpointer_count, 228: p_is_smallinteger, 229: p_has_room_for_outpointer,
    230: p_install_class_index,
}
