"""The software core: an architectural model of one blocktalk core and its SRAM.

It executes the Blue Book bytecodes (ch. 28) on contexts that live in blocks.
Every far reference goes through a translation cache; a miss is a precise
:class:`~.traps.Trap` that runs a Firmware handler *in bytecode* (see
:mod:`.firmware`) and then executes the bytecode again.  Each routine names the
Blue Book method it implements.

Registers (all core values): ``ctx`` active context, ``home`` its home
context, ``method``, ``rcvr``; ``ip`` is a byte index into the method body,
``sp`` the SRAM word index of the stack top.  They are committed only when a
bytecode completes, so an aborted bytecode leaves them untouched.
"""

from blocktalk.memory import format as F

from .memory import CoreMemory
from .memory import sram_words
from .methods import decode_method, FLAG_RETURN_SELF, FLAG_RETURN_FIELD
from .primitive_table import PRIMITIVES
from .primitives import PrimitiveFailed
from .decode import decode
from .io import Devices, timer_due_at
from .processes import signal_semaphore
from .stats import Stats
from .traps import Trap, VMError, Halt
from . import gc as collector

NIL, FALSE, TRUE = F.NIL, F.FALSE, F.TRUE
METHOD_CONTEXT = F.CLASS_INDEX["MethodContext"]
BLOCK_CONTEXT = F.CLASS_INDEX["BlockContext"]
CTX_WORD_OFFSET = 3 + F.CTX_TEMP_FRAME_START - 1   # word of stack slot 0 (stackp 0) from ctx>>1
CLASS_TABLE = F.FIRMWARE_FIELDS.index("classTable")
ARRAY = F.CLASS_INDEX["Array"]
FORMAT_TABLE = F.FIRMWARE_FIELDS.index("formatTable")


class Core:
    """One core: SRAM (:class:`CoreMemory`), registers, and the interpreter.

    :param store: the host block store.
    :param firmware_location: (block, offset) of the Firmware object.
    """

    def __init__(self, store, block_size, sram_size=None, out=None):
        self.stats = Stats()
        sram_size = sram_size or F.default_sram_size(block_size)
        self.mem = CoreMemory(store, block_size, sram_size, self.stats)
        self.store = store
        self.out = out
        self.ctx = self.home = self.method = self.rcvr = NIL
        self.ip = 0
        self.sp = 0
        self.info = None
        self.firmware = None          # set by attach_firmware
        self.hash_state = 7       # the last identity hash given out (a core register)
        self.halted = None
        self.pending_large = None     # [key, chunks, spine] of a large allocation under way
        self.host_io = {}             # display/cursor objects the host serves (sim/io.py)
        self.devices = Devices()      # mouse, keyboard, cursor and clock state (sim/io.py)
        self._pin_key = None
        self.trap_frames = set()      # frames the handlers of this bytecode loaded
        self.trap_key = None
        self.become_collect = None    # what become: last had collected (sim/become.py)
        self.allocs = []              # objects made by the bytecode under way
        self.replay = []              # ... and by its attempt that trapped
        self.mem.on_drop.append(
            lambda frame, index, from_block: collector.drop_back_reference(
                self, frame, index, from_block))
        self.bytecode_limit = None
        #: this core's slot among the cores of a multi-core system (None: a lone core)
        self.core_index = None
        #: called when a process becomes ready (a multi-core host wakes an idle core)
        self.on_ready = None

    # --- boot ------------------------------------------------------------------

    def attach_firmware(self, engine):
        self.firmware = engine

    def next_hash(self):
        self.hash_state = F.next_identity_hash(self.hash_state)
        return self.hash_state

    # --- registers ---------------------------------------------------------------

    def pin_registers(self):
        """Frames the registers point into may not be evicted."""
        m = self.mem
        lg = m.log2
        key = (self.ctx >> lg, self.home >> lg, self.method >> lg, self.rcvr >> lg,
               m.alloc_frame, self.pending_large is None, len(self.replay))
        if key == self._pin_key and self.pending_large is None and not self.replay:
            return
        self._pin_key = key
        pins = {0}
        for v in self.register_values():
            if not (v & 1) and v >= 16:
                pins.add(v >> lg)
        if m.alloc_frame is not None:
            pins.add(m.alloc_frame)
        m.pinned = pins

    def method_info(self, method):
        info = self.mem.code_cache.get(method)
        if info is None:
            info = decode_method(self.mem, method)
            self.mem.code_cache[method] = info
        return info

    def save_registers(self):
        """Blue Book ``storeContextRegisters``: pc and stack pointer into the context."""
        m = self.mem.mem
        c = self.ctx >> 1
        m[c + 3 + F.CTX_PC] = F.smallint(self.ip + 1)
        m[c + 3 + F.CTX_STACKP] = F.smallint(self.sp - c - CTX_WORD_OFFSET)

    def load_registers(self, ctx):
        """Blue Book ``fetchContextRegisters``: may trap (import) before changing anything."""
        self.switch_registers(ctx, *self.prefetch_registers(ctx))

    def prefetch_registers(self, ctx):
        """Everything a switch to ``ctx`` reads (the reads may trap)."""
        mem = self.mem
        if mem.class_index(ctx) == BLOCK_CONTEXT:
            home = mem.fetch(ctx, F.CTX_HOME)
        else:
            home = ctx
        method = mem.fetch(home, F.CTX_METHOD)
        rcvr = mem.fetch(home, F.CTX_RECEIVER)
        return home, method, rcvr, self.method_info(method)

    def switch_registers(self, ctx, home, method, rcvr, info):
        """Make ``ctx`` active (never traps)."""
        mem = self.mem
        pc = F.smallint_value(mem.mem[(ctx >> 1) + 3 + F.CTX_PC])
        stackp = F.smallint_value(mem.mem[(ctx >> 1) + 3 + F.CTX_STACKP])
        self.ctx, self.home, self.method, self.rcvr, self.info = ctx, home, method, rcvr, info
        self.ip = pc - 1
        self.sp = (ctx >> 1) + CTX_WORD_OFFSET + stackp
        mem.touch(ctx >> mem.log2)
        self.pin_registers()

    # --- stack -------------------------------------------------------------------

    def top(self, depth=0):
        """Blue Book ``stackValue:``."""
        mem = self.mem
        return mem.decode(mem.mem[self.sp - depth], self.ctx & ~mem.mask)

    # --- allocation --------------------------------------------------------------

    def allocation_frame(self):
        f = self.mem.alloc_frame
        if f is None:
            raise Trap("blockFull", 0)
        return f

    def instantiate(self, class_index, fmt, body_words, fill=NIL):
        """Blue Book ``instantiateClass:withPointers:/withWords:/withBytes:`` in the
        allocation frame; a full block traps to ``blockFull:``.

        Allocation replay: objects made by an attempt of a bytecode that then
        trapped (say, on exporting the new object) are handed out again, in
        order, when the bytecode executes again; otherwise each attempt would
        make a new object and need a new export, for ever."""
        if (body_words + F.OBJ_HEADER_WORDS) * 2 > self.mem.bs // 2:
            # Only large objects (chunked, section 10) may be bigger than half a block.
            raise PrimitiveFailed()
        replay = self.replay
        if replay:
            obj, shape = replay.pop(0)
            if shape == (class_index, fmt, body_words):
                m = self.mem.mem
                m[(obj >> 1) + 3:(obj >> 1) + 3 + body_words] = sram_words([fill] * body_words)
                self.allocs.append((obj, shape))
                return obj
            replay.clear()
        frame = self.allocation_frame()
        obj = self.mem.allocate(frame, class_index, fmt, body_words, fill, self.next_hash(),
                                reserve=self.mem.reserve)
        if obj is None:
            raise Trap("blockFull", body_words)
        self.stats.allocations += 1
        self.stats.allocated_bytes += (body_words + 3) * 2
        self.allocs.append((obj, (class_index, fmt, body_words)))
        return obj

    def new_context(self, large):
        """A MethodContext, recycled from the allocation frame's free contexts
        of its size when there is one (the lists live in the block header,
        ``BH_FREE_SMALL_CONTEXTS``/``BH_FREE_LARGE_CONTEXTS``, so that the RTL
        core pops and pushes the same ones).

        A recycled context is not cleared: :meth:`activate` writes the fields a
        method reads and nils its temporaries; the slots above them keep what
        the context's last activation left there, as popped slots do in the
        Blue Book (see docs/architecture.md, "Context recycling")."""
        words = (F.LARGE_CONTEXT_FIELDS if large else F.SMALL_CONTEXT_FIELDS) + 3
        mem = self.mem
        frame = self.allocation_frame()
        head = F.BH_FREE_LARGE_CONTEXTS if large else F.BH_FREE_SMALL_CONTEXTS
        first = mem.header(frame, head)
        if first:
            ctx = (frame << mem.log2) + first
            a = ctx >> 1
            m = mem.mem
            mem.set_header(frame, head, m[a + 3])
            return ctx
        ctx = mem.allocate(frame, METHOD_CONTEXT, F.FMT_POINTERS, words - 3, NIL,
                           self.next_hash(), reserve=mem.reserve)
        if ctx is None:
            raise Trap("blockFull", words - 3)
        self.stats.allocations += 1
        self.stats.allocated_bytes += words * 2
        return ctx

    def recycle_context(self, ctx):
        """A MethodContext that never escaped (no thisContext, no block, not
        exported: :meth:`Memory.mark_escaped`) dies when it returns, as in the
        Blue Book's reference-counted memory: it goes onto its frame's free list
        of its size (a context of another size, as an imported image may hold,
        is left to the collector).  It stays a MethodContext, linked through
        its sender field, so that neither recycling nor reuse rewrites its
        header: the collector finds it unreachable and drops it."""
        mem = self.mem
        m = mem.mem
        a = ctx >> 1
        if m[a + 1] & F.CLASS_INDEX_MASK != METHOD_CONTEXT \
                or m[a + 3 + F.CTX_RECEIVER_MAP] != NIL:
            return
        if m[a] == F.SMALL_CONTEXT_FIELDS + 3:
            head = F.BH_FREE_SMALL_CONTEXTS
        elif m[a] == F.LARGE_CONTEXT_FIELDS + 3:
            head = F.BH_FREE_LARGE_CONTEXTS
        else:
            return
        frame = ctx >> mem.log2
        m[a + 3] = mem.header(frame, head)
        mem.set_header(frame, head, ctx & mem.mask)
        self.stats.contexts_recycled += 1

    def mark_escaped(self, ctx):
        self.mem.mark_escaped(ctx)

    # --- sends -------------------------------------------------------------------

    def send(self, selector, nargs):
        """Blue Book ``sendSelector:argumentCount:``."""
        self.stats.sends += 1
        rcvr = self.top(nargs)
        self.send_to_class(selector, nargs, rcvr, self.mem.class_index(rcvr))

    def send_to_class(self, selector, nargs, rcvr, class_index):
        """Blue Book ``sendSelector:toClass:`` with the dispatch table of the core
        in front of ``lookupMethodInClass:``."""
        key = (class_index, selector)
        dispatch = self.mem.dispatch
        if key not in dispatch:
            self.stats.dispatch_misses += 1
            raise Trap("lookup", selector, class_index)
        self.stats.dispatch_hits += 1
        method = dispatch[key]
        if method is None:
            self.send_dnu(selector, nargs, rcvr, class_index)
            return
        self.execute_method(method, nargs, rcvr)

    def send_dnu(self, selector, nargs, rcvr, class_index):
        """Blue Book ``createActualMessage`` + send of #doesNotUnderstand:."""
        dnu_sel = self.firmware_field_value("dnuSelector")
        key = (class_index, dnu_sel)
        if key not in self.mem.dispatch:
            raise Trap("lookup", dnu_sel, class_index)
        method = self.mem.dispatch[key]
        if method is None:
            raise VMError(f"{self.class_name(class_index)} does not understand "
                          f"#doesNotUnderstand: (selector {self.symbol_text(selector)})")
        args = [self.top(nargs - 1 - i) for i in range(nargs)]
        array = self.instantiate(F.CLASS_INDEX["Array"], F.FMT_POINTERS, nargs)
        message = self.instantiate(F.CLASS_INDEX["Message"], F.FMT_POINTERS, 2)
        words = [self.mem.encode(a, array & ~self.mem.mask) for a in args]
        sel_w = self.mem.encode(selector, message & ~self.mem.mask)
        arr_w = self.mem.encode(array, message & ~self.mem.mask)
        msg_w = self.mem.encode(message, self.ctx & ~self.mem.mask)
        m = self.mem.mem
        for i, w in enumerate(words):
            m[(array >> 1) + 3 + i] = w
        m[(message >> 1) + 3] = sel_w
        m[(message >> 1) + 4] = arr_w
        self.sp -= nargs
        m[self.sp + 1] = msg_w
        self.sp += 1
        self.execute_method(method, 1, rcvr)

    def execute_method(self, method, nargs, rcvr):
        """Blue Book ``executeNewMethod``: quick returns, primitive, or activation."""
        info = self.method_info(method)
        if info.flag == FLAG_RETURN_SELF:
            self.sp -= nargs
            return
        if info.flag == FLAG_RETURN_FIELD:
            value = self.mem.fetch(rcvr, info.field_index)
            w = self.mem.encode(value, self.ctx & ~self.mem.mask)
            self.sp -= nargs
            self.mem.mem[self.sp] = w
            return
        if info.primitive:
            self.stats.primitive_calls += 1
            prim = PRIMITIVES.get(info.primitive)
            if prim is not None:
                try:
                    prim(self, nargs)
                    return
                except PrimitiveFailed:
                    self.stats.primitive_failures += 1
            else:
                self.stats.primitive_failures += 1
                missing = self.stats.unimplemented_primitives
                missing[info.primitive] = missing.get(info.primitive, 0) + 1
        self.activate(method, info, nargs)

    def activate(self, method, info, nargs):
        """Blue Book ``activateNewMethod``."""
        mem = self.mem
        new = self.new_context(info.large)
        nbase = new & ~mem.mask
        cbase = self.ctx & ~mem.mask
        m = mem.mem
        sp = self.sp
        rcvr_w = m[sp - nargs]
        # Translate everything first: an export trap must leave no trace.
        if nbase == cbase:
            words = m[sp - nargs:sp + 1]
        else:
            words = [mem.encode(mem.decode(w, cbase), nbase) for w in m[sp - nargs:sp + 1]]
        sender_w = mem.encode(self.ctx, nbase)
        method_w = mem.encode(method, nbase)
        a = new >> 1
        self.save_registers_at(sp - nargs - 1)
        m[a + 3 + F.CTX_SENDER] = sender_w
        m[a + 3 + F.CTX_PC] = F.smallint(info.initial_ip + 1)
        m[a + 3 + F.CTX_METHOD] = method_w
        m[a + 3 + F.CTX_RECEIVER] = words[0]
        base = a + CTX_WORD_OFFSET + 1
        m[base:base + nargs] = sram_words(words[1:])
        # Blue Book: temporaries start nil (a recycled context is not cleared)
        m[base + nargs:base + info.ntemps] = sram_words([NIL] * (info.ntemps - nargs))
        self.ctx = self.home = new
        self.method = method
        self.rcvr = mem.decode(rcvr_w, cbase)
        self.info = info
        self.ip = info.initial_ip
        self.sp = a + CTX_WORD_OFFSET + info.ntemps
        mem.touch(new >> mem.log2)
        self.pin_registers()

    def save_registers_at(self, sp):
        m = self.mem.mem
        c = self.ctx >> 1
        m[c + 3 + F.CTX_PC] = F.smallint(self.ip + 1)
        m[c + 3 + F.CTX_STACKP] = F.smallint(sp - c - CTX_WORD_OFFSET)

    # --- returns -------------------------------------------------------------------

    def return_value(self, value, to_ctx, before_write=None):
        """Blue Book ``returnValue:to:``; ``to_ctx`` NIL means the base context
        returned: the program is over."""
        mem = self.mem
        if to_ctx == NIL:
            raise Halt(value)
        if mem.word(to_ctx + 6 + 2 * F.CTX_PC) == NIL:
            self.cannot_return(value)
            return
        word = mem.encode(value, to_ctx & ~mem.mask)
        # Everything the switch needs, before any write.
        home, method, rcvr, info = self.prefetch_registers(to_ctx)
        if before_write is not None:
            before_write()
        old = self.ctx
        m = mem.mem
        a = old >> 1
        m[a + 3 + F.CTX_SENDER] = NIL
        m[a + 3 + F.CTX_PC] = NIL
        t = to_ctx >> 1
        pc = F.smallint_value(m[t + 3 + F.CTX_PC])
        stackp = F.smallint_value(m[t + 3 + F.CTX_STACKP]) + 1
        m[t + CTX_WORD_OFFSET + stackp] = word
        m[t + 3 + F.CTX_STACKP] = F.smallint(stackp)
        self.ctx, self.home, self.method, self.rcvr, self.info = to_ctx, home, method, rcvr, info
        self.ip = pc - 1
        self.sp = t + CTX_WORD_OFFSET + stackp
        self.recycle_context(old)
        mem.touch(to_ctx >> mem.log2)
        self.pin_registers()

    def cannot_return(self, value):
        """Blue Book: send #cannotReturn: to the active context."""
        sel = self.mem.fetch(self.firmware.object, F.FIRMWARE_FIELDS.index("cannotReturnSelector"))
        self.mark_escaped(self.ctx)
        w1 = self.mem.encode(self.ctx, self.ctx & ~self.mem.mask)
        w2 = self.mem.encode(value, self.ctx & ~self.mem.mask)
        m = self.mem.mem
        m[self.sp + 1] = w1
        m[self.sp + 2] = w2
        self.sp += 2
        self.send(sel, 1)

    # --- the interpreter loop -------------------------------------------------------

    def run(self, limit=None):
        """Execute bytecodes until the program halts (raises :class:`Halt`) or a
        Smalltalk error stops it (:class:`SmalltalkError`)."""
        while True:
            timer = timer_due_at(self)
            stop = limit if timer is None or (limit is not None and limit <= timer) else timer
            try:
                self.run_bytecodes(stop)
                return
            except Trap as trap:
                self.service_trap(trap)
            except Halt as h:
                if h.value is not None or stop == limit:
                    raise
                self.fire_timer()

    def fire_timer(self):
        """Blue Book ``asynchronousSignal:`` of the timer Semaphore, between
        bytecodes (the transaction may trap: it is serviced and retried)."""
        sema = self.host_io.pop("timer")
        self.devices.timer_ms = None
        self.pin_registers()
        self.host_io["signal"] = sema
        try:
            while True:
                try:
                    signal_semaphore(self, self.host_io["signal"])
                    break
                except Trap as trap:
                    self.service_trap(trap)
        finally:
            del self.host_io["signal"]
            self.pin_registers()

    def service_trap(self, trap):
        """Enter firmware mode for ``trap`` (the trapped bytecode is then
        executed again): keep what its aborted attempt allocated for replay, and
        start a new trap working set when a different bytecode traps."""
        self.stats.trap(trap.kind)
        key = (self.ctx, self.ip)
        if key != self.trap_key:
            # a new bytecode traps: the previous one's working set is free
            self.trap_key = key
            self.trap_frames = set()
        self.replay = self.allocs + self.replay
        self.allocs = []
        self.firmware.handle(trap)

    def run_traced(self, count, emit):
        """Execute ``count`` bytecodes one by one through :meth:`step`, calling
        ``emit(bytecode, selector or None)`` after each one that completes (a
        bytecode that traps is reported once, when it finally executes)."""
        from .inspect import Inspector
        ins = Inspector(self)
        done = 0
        while done < count:
            ip = self.ip
            code = self.info.code
            b = code[ip]
            selector = self.selector_name(ins, b, ip)
            try:
                self.step()
            except Trap as trap:
                self.service_trap(trap)
                continue
            self.stats.bytecodes += 1
            done += 1
            emit(b, selector)

    def selector_name(self, ins, b, ip):
        """The selector a send bytecode sends (for traces), read without trapping."""
        code = self.info.code
        op = decode(b, *(code[ip + 1:ip + 3] + b"\0\0")[:2])
        if op.kind == "send_special":
            return F.SPECIAL_SELECTORS[op.special][0]
        if op.kind != "send":
            return None
        ref = ins.field(ins.loc(self.method), 1 + op.index)
        if ref[0] in ("int", "imm"):
            return "?"
        return ins.bytes(ref).decode("latin-1")

    def run_bytecodes(self, limit=None):
        """The fast loop: common bytecodes inline, the rest through :meth:`step`."""
        mem = self.mem
        m = mem.mem
        stats = self.stats
        mask = ~mem.mask
        op_abs = mem.op_abs
        log2 = mem.log2
        count = 0
        try:
            while True:
                if limit is not None and stats.bytecodes + count >= limit:
                    raise Halt(None)
                imports = mem.import_cache
                dispatch = mem.dispatch
                code_cache = mem.code_cache
                code = self.info.code
                ip = self.ip
                b = code[ip]
                cbase = self.ctx & mask
                if b < 16:                                # push receiver variable
                    r = self.rcvr
                    w = m[(r >> 1) + 3 + b]
                    if not (w & 1 or w < 16):
                        rb = r & mask
                        v = rb + w
                        if v >= op_abs[rb >> log2]:
                            v = imports.get(v)
                            if v is None:
                                raise Trap("import", rb + w)
                        if cbase <= v < cbase + mem.bs:
                            w = v - cbase
                        else:
                            w = mem.encode(v, cbase)
                    sp = self.sp + 1
                    m[sp] = w
                    self.sp = sp
                    self.ip = ip + 1
                elif b < 32:                              # push temporary
                    h = self.home
                    w = m[(h >> 1) + CTX_WORD_OFFSET + 1 + (b - 16)]
                    if not (w & 1 or w < 16) and (h & mask) != cbase:
                        w = mem.encode(mem.decode(w, h & mask), cbase)
                    sp = self.sp + 1
                    m[sp] = w
                    self.sp = sp
                    self.ip = ip + 1
                elif b < 64:                              # push literal constant
                    meth = self.method
                    w = m[(meth >> 1) + 4 + (b - 32)]
                    if not (w & 1 or w < 16) and (meth & mask) != cbase:
                        w = mem.encode(mem.decode(w, meth & mask), cbase)
                    sp = self.sp + 1
                    m[sp] = w
                    self.sp = sp
                    self.ip = ip + 1
                elif 104 <= b < 112:                      # pop and store temporary
                    h = self.home
                    w = m[self.sp]
                    hb = h & mask
                    if not (w & 1 or w < 16) and hb != cbase:
                        w = mem.encode(mem.decode(w, cbase), hb)
                    m[(h >> 1) + CTX_WORD_OFFSET + 1 + (b - 104)] = w
                    mem.dirty[h >> log2] = True
                    self.sp -= 1
                    self.ip = ip + 1
                elif 112 <= b < 120:                      # push self, constants
                    if b == 112:
                        r = self.rcvr
                        w = r if (r & 1 or r < 16) else (r - cbase if cbase <= r < cbase + mem.bs
                                                         else mem.encode(r, cbase))
                    else:
                        w = (TRUE, FALSE, NIL, 0xFFFF, 1, 3, 5)[b - 113]
                    sp = self.sp + 1
                    m[sp] = w
                    self.sp = sp
                    self.ip = ip + 1
                elif 176 <= b < 192 and b not in (185, 187, 188):   # SmallInteger arithmetic
                    y = m[self.sp]
                    x = m[self.sp - 1]
                    if not (x & 1 and y & 1):
                        self.step()
                    else:
                        xv = (x >> 1) - 0x8000 if x & 0x8000 else x >> 1
                        yv = (y >> 1) - 0x8000 if y & 0x8000 else y >> 1
                        if b == 176:
                            r = xv + yv
                        elif b == 177:
                            r = xv - yv
                        elif b < 184:
                            r = (xv < yv, xv > yv, xv <= yv, xv >= yv, xv == yv, xv != yv)[b - 178]
                            r = TRUE if r else FALSE
                            self.sp -= 1
                            m[self.sp] = r
                            self.ip = ip + 1
                            count += 1
                            continue
                        elif b == 184:
                            r = xv * yv
                        elif b == 186 or b == 189:         # \\\\ and //
                            if yv == 0:
                                self.step()
                                count += 1
                                continue
                            r = xv % yv if b == 186 else xv // yv
                        elif b == 190:
                            r = xv & yv
                        else:
                            r = xv | yv
                        if -16384 <= r <= 16383:
                            self.sp -= 1
                            m[self.sp] = ((r << 1) | 1) & 0xFFFF
                            self.ip = ip + 1
                        else:
                            self.step()
                elif 144 <= b < 160:                      # short jumps
                    if b < 152:
                        self.ip = ip + b - 142
                    else:
                        t = m[self.sp]
                        if t == FALSE:
                            self.sp -= 1
                            self.ip = ip + b - 150
                        elif t == TRUE:
                            self.sp -= 1
                            self.ip = ip + 1
                        else:
                            self.step()
                elif b == 192 or b == 193:                # at: / at:put: on a near Array
                    k = 1 if b == 192 else 2
                    iw = m[self.sp - k + 1]
                    rw = m[self.sp - k]
                    r = cbase + rw
                    if iw & 1 and not iw & 0x8000 and not rw & 1 and rw >= 16 \
                            and r < op_abs[cbase >> log2] and m[(r >> 1) + 1] & 0xFFF == ARRAY \
                            and m[(r >> 1) + 2] < 0x2000 \
                            and 1 <= iw >> 1 <= m[r >> 1] - 3:
                        # same block as the context: the words need no translation
                        a = (r >> 1) + 2 + (iw >> 1)
                        if k == 1:
                            self.sp -= 1
                            m[self.sp] = m[a]
                        else:
                            w = m[self.sp]
                            m[a] = w
                            self.sp -= 2
                            m[self.sp] = w
                            mem.dirty[cbase >> log2] = True
                        stats.primitive_calls += 1
                        self.ip = ip + 1
                    else:
                        self.step()
                elif b == 135:                            # pop
                    self.sp -= 1
                    self.ip = ip + 1
                elif b >= 208:                            # literal send: dispatch hit
                    nargs = (b - 208) >> 4
                    meth = self.method
                    mb = meth & mask
                    sel = mb + m[(meth >> 1) + 4 + (b & 15)]
                    if sel >= op_abs[mb >> log2]:
                        sel = imports.get(sel, 0)
                    rw = m[self.sp - nargs]
                    if rw & 1:
                        cidx = 1
                    elif rw < 16:
                        cidx = (2, 4, 3)[rw >> 1] if rw <= 4 else 0
                    else:
                        r = cbase + rw
                        cidx = m[(r >> 1) + 1] & 0xFFF if r < op_abs[cbase >> log2] else 0
                    method = dispatch.get((cidx, sel))
                    info = code_cache.get(method) if method is not None else None
                    if info is None or info.flag >= 5 or info.primitive or not sel:
                        self.step()
                    else:
                        stats.sends += 1
                        stats.dispatch_hits += 1
                        self.ip = ip + 1
                        try:
                            self.activate(method, info, nargs)
                        except Trap:
                            self.ip = ip
                            raise
                elif b == 124 and self.ctx == self.home:  # return top from method
                    w = m[self.sp]
                    value = w if (w & 1 or w < 16) else mem.decode(w, cbase)
                    sender = mem.decode(m[(self.ctx >> 1) + 3 + F.CTX_SENDER], cbase)
                    self.return_value(value, sender)
                else:
                    self.step()
                count += 1
        finally:
            stats.bytecodes += count

    def step(self):
        """Execute one bytecode (Blue Book ``cycle`` / ``dispatchOnThisBytecode``)."""
        ip = self.ip
        sp = self.sp
        b = self.info.code[ip]
        m = self.mem.mem
        # A trap must leave no trace: sends that rearrange the stack (perform:,
        # doesNotUnderstand:) do so before the activation that may still trap,
        # so the top of the stack is restored with the registers.
        low = max(sp - 15, (self.ctx >> 1) + CTX_WORD_OFFSET + 1)
        saved = m[low:sp + 1]
        try:
            BYTECODES[b](self, b, ip)
        except Trap:
            self.ip = ip
            self.sp = sp
            m[low:sp + 1] = saved
            raise
        if self.allocs or self.replay:
            self.allocs = []
            self.replay = []

    # --- services for primitives, the collector and the runner ----------------------

    def firmware_field_value(self, name):
        return self.mem.fetch(self.firmware.object, F.FIRMWARE_FIELDS.index(name))

    def firmware_special_selectors(self):
        return self.firmware_field_value("specialSelectors")

    def format_table(self):
        """The formatTable (a far object: reading it may trap on import)."""
        return self.mem.fetch(self.firmware.object, FORMAT_TABLE)

    def class_index_of(self, cls):
        """The class index of class object ``cls`` (the inverse of the class
        table), through the class-index cache; a miss traps to the firmware's
        ``classIndexOf:``.  None: not a class."""
        cache = self.mem.class_index_cache
        if cls not in cache:
            raise Trap("classIndex", cls)
        return cache[cls]

    def class_object(self, class_index):
        """The class with ``class_index``, from the two-level class table."""
        page, entry = F.class_table_slot(class_index)
        table = self.mem.fetch(self.firmware.object, CLASS_TABLE)
        return self.mem.fetch(self.mem.fetch(table, page), entry)

    def write_output(self, data):
        if self.out is not None:
            self.out(data)

    def relocate(self, frame, forward):
        """The collector moved the objects of ``frame``: follow them (Blue Book
        registers are object pointers; the stack pointer moves with its context)."""
        mem = self.mem
        base = frame << mem.log2

        def move(v):
            if not (v & 1) and v >= 16 and v >> mem.log2 == frame:
                new = forward.get(v - base)
                return None if new is None else base + new
            return v
        old_ctx = self.ctx
        self.ctx, self.home, self.method, self.rcvr = (
            move(self.ctx), move(self.home), move(self.method), move(self.rcvr))
        self.sp += (self.ctx - old_ctx) >> 1
        self.replay = [(move(obj), shape) for obj, shape in self.replay]
        self.host_io = {k: move(v) for k, v in self.host_io.items()}
        # objects of the bytecode under way are not roots: the dead ones go
        self.allocs = [(move(obj), shape) for obj, shape in self.allocs
                       if move(obj) is not None]
        if self.firmware is not None:
            self.firmware.relocate(move)
        if self.pending_large is not None:
            p = self.pending_large
            p[1] = [move(c) for c in p[1]]
            if p[2] is not None:
                p[2] = move(p[2])

    def register_values(self):
        """Core values the collector must treat as roots and eviction must keep."""
        values = [self.ctx, self.home, self.method, self.rcvr]
        values += [obj for obj, _ in self.replay]
        values += list(self.host_io.values())
        if self.firmware is not None:
            values += self.firmware.held_values()
        if self.pending_large is not None:
            values += self.pending_large[1]
            if self.pending_large[2] is not None:
                values.append(self.pending_large[2])
        return values

    def walkback(self):
        from .walkback import walkback
        return walkback(self)

    # --- helpers used by the bytecode routines -------------------------------------

    def push(self, value):
        """Blue Book ``push:`` (may trap: export)."""
        w = self.mem.encode(value, self.ctx & ~self.mem.mask)
        self.sp += 1
        self.mem.mem[self.sp] = w

    def push_word_from(self, word, base):
        mem = self.mem
        cbase = self.ctx & ~mem.mask
        if not (word & 1 or word < 16) and base != cbase:
            word = mem.encode(mem.decode(word, base), cbase)
        self.sp += 1
        mem.mem[self.sp] = word

    def literal(self, index):
        return self.mem.fetch(self.method, 1 + index)

    def class_name(self, class_index):
        names = self.firmware.class_names
        return names.get(class_index, f"class#{class_index}")

    def symbol_text(self, sym):
        try:
            return self.mem.bytes_of(sym).decode("latin-1")
        except Exception:
            return "?"


from .bytecodes import BYTECODES  # noqa: E402  (the table refers back to Core's helpers)

