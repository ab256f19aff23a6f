"""The execution core: fetch, decode and execute Blue Book bytecodes from SRAM.

In hardware: pushes, stores and pops of every kind, the jumps, the
SmallInteger special sends through :class:`~blocktalk.hw.alu.SmallIntegerALU`
and ``==``; sends of literal and special selectors through the dispatch table
(quick returns, activation in a recycled context of the allocation frame);
the primitives ``at:``/``at:put:``/``size`` (60-62), String ``at:``/``at:put:``
(63, 64) and block ``value``/``value:`` (81); method and block returns
(recycling the returning context); ``thisContext``.  Words that cross blocks
are translated through the import and export caches.  Anything else -- a
super send, a primitive the core does not do or that fails, a cache miss, no
recycled context, a non-local return -- **traps**: the core stops before the
bytecode with every register as it was (a precise trap), and reports the
reason in ``reason`` and what missed in ``trap_key_hi``/``trap_key``.  Whoever
drives the core then fills the table that missed or executes that bytecode
(the software core does, for :mod:`blocktalk.hw.engine`) and lets the core go
on.  docs/architecture.md section 14 lists the reasons and the host port.

Registers are those of the software core (``sim/core.py``): ``ctx``,
``home``, ``method`` and ``rcvr`` hold values as a core does (core byte
addresses, SmallIntegers, immediates); ``ip`` is the byte index into the
method's body (the first bytecode is at ``(1 + literals) * 2``) and ``sp`` the
SRAM word address of the stack top.  Words *stored* in SRAM are relative to
their block (docs/architecture.md section 1), so a word moves between two
places unchanged exactly when both are in the same frame or the word is a
SmallInteger or immediate; a near pointer is below its block's OutPointer
region, whose start the host writes into the core's OutPointer table
(``op_*`` ports) whenever it loads a block or the region grows.

Memory is a single-port SRAM (one address a cycle, read or write, the read
answered the next cycle), so that the iCE40 build can map it onto
SB_SPRAM256KA.  With ``memory="internal"`` the core owns it (an
:class:`~blocktalk.hw.sram.SRAM`) and the host reaches it through the
``host_*`` ports while the core is halted; with ``memory="external"`` the
``mem_*`` port leaves the core, so that a C++ simulation can serve it from the
software core's own SRAM buffer (:mod:`blocktalk.hw.verilated`).

One state machine: ``EXECUTE`` decodes a bytecode and starts it in one
cycle, after a fetch cycle unless the bytecode is in the code word read last,
and after an extension or stack-top read only when the bytecode needs one;
then one state per memory access of the bytecode.  Copies of SRAM words in
registers (the stack top and the word below it, a free-context list head,
the active context and its sender as the core activated them) save reads;
a write by another path, or a new run without ``keep``, forgets them.  The states of
each Blue Book routine are named after it; one adder forms object addresses,
one stack addresses, and one comparator checks OutPointer regions, so each
state names its operands instead of building its own.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from blocktalk.memory import format as F

from .allocator import Allocator
from .alu import ALUOp, SmallIntegerALU
from .decoder import BytecodeDecoder, Kind
from .divider import DivideOp, SmallIntegerDivider
from .dispatch import DispatchTable
from .sram import SRAM, check_sram_size

__all__ = ["ExecutionCore", "Halt"]

#: Word offset of temporary 0 from a context's first word.
TEMP0 = F.OBJ_HEADER_WORDS + F.CTX_TEMP_FRAME_START
#: A context's stack pointer is this many words above its first word plus stackp.
CTX_WORD_OFFSET = F.OBJ_HEADER_WORDS + F.CTX_TEMP_FRAME_START - 1
#: Special selectors 176-191 the ALU answers (index = bytecode - 176).
SPECIAL_ALU = {0: ALUOp.ADD, 1: ALUOp.SUB, 2: ALUOp.LT, 3: ALUOp.GT, 4: ALUOp.LE, 5: ALUOp.GE,
               6: ALUOp.EQ, 7: ALUOp.NE, 8: ALUOp.MUL, 12: ALUOp.SHIFT, 14: ALUOp.AND,
               15: ALUOp.OR}
#: Special selectors the sequential divider answers: / (9), \\ (10), // (13).
SPECIAL_DIVIDE = {9: DivideOp.EXACT, 10: DivideOp.MODULO, 13: DivideOp.FLOOR}
#: Special selector ``==`` (bytecode 198): identity of two stack words.
SPECIAL_IDENTITY = 22
#: Special selector ``class`` (199).
SPECIAL_CLASS = 23
#: Words of push_constant 112-119 (112, self, is handled apart).
CONSTANT_WORDS = (0, F.TRUE, F.FALSE, F.NIL, 0xFFFF, F.smallint(0), F.smallint(1), F.smallint(2))


class Halt(enum.Enum, shape=4):
    """Why the core stopped."""
    RUNNING = 0
    RETURNED = 1            # the base context returned ``result``
    TRAP_BYTECODE = 2       # a bytecode this core does not execute
    TRAP_PRIMITIVE = 3      # the ALU failed and the special selectors are not at hand
    TRAP_NOT_BOOLEAN = 4    # a conditional jump on a non-Boolean (mustBeBoolean)
    TRAP_IMPORT = 5         # a word read is an OutPointer (a far reference)
    TRAP_EXPORT = 6         # a pointer would be stored into another frame's block
    STOPPED = 7             # the host asked the core to stop (``stop``)
    TRAP_LOOKUP = 8         # a send missed the dispatch table
    TRAP_METHOD = 9         # the method found has a primitive (or more than 4 arguments)
    TRAP_CONTEXT = 10       # no recycled context in the allocation frame (or it is not the context's)
    TRAP_RETURN = 11        # a return the core does not do (non-local, to a dead or far sender)


class ExecutionCore(wiring.Component):
    """The bytecode execution core.

    :param sram_size: bytes of SRAM (a power of two, 64 KB by default).
    :param block_size: block (frame) bytes.
    :param memory: ``"internal"`` (the core's own :class:`SRAM`, host port
        ``host_*``) or ``"external"`` (the ``mem_*`` port).
    :param sram_init: initial SRAM words (internal memory, simulation only).
    :param spram: SRAM of SB_SPRAM256KA banks (the iCE40 UP5K build).
    :param dispatch_entries, cache_entries: entries of the dispatch table and
        of the import and export caches.
    :param divider: primitives 10-13 (``/ \\\\ //``) in hardware
        (:class:`~blocktalk.hw.divider.SmallIntegerDivider`); without it they
        are sends.
    :param allocation: primitives 70, 71 and 80 (``basicNew``, ``basicNew:``,
        ``blockCopy:``) in hardware (:class:`~blocktalk.hw.allocator.Allocator`);
        without it they trap (``TRAP_METHOD``) and ``hash`` stays as loaded.
    :param caches: beside the code word and the stack top, the core keeps the
        word below the top, one free-context list head, what it knows of the
        context it activated and of that context's sender, and a send's
        receiver when it holds its word: sends, returns and SmallInteger
        sends with fewer SRAM reads (docs/architecture.md section 14 gives
        the cycles and LUTs of each); without them the same bytecodes read.
    """

    def __init__(self, sram_size=65536, block_size=F.DEFAULT_BLOCK_SIZE, sram_init=(),
                 spram=False, memory="internal", dispatch_entries=256, cache_entries=64,
                 divider=True, allocation=True, caches=True):
        check_sram_size(sram_size, block_size)
        for name, flag in (("divider", divider), ("allocation", allocation), ("caches", caches)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, not {flag!r}")
        self.divider = divider
        self.allocation = allocation
        self.caches = caches
        for name, n in (("dispatch_entries", dispatch_entries), ("cache_entries", cache_entries)):
            if not isinstance(n, int) or n < 16 or n > 4096 or n & (n - 1):
                raise ValueError(f"{name} must be a power of two from 16 to 4096, not {n!r}")
        self.dispatch_entries = dispatch_entries
        self.cache_entries = cache_entries
        if memory not in ("internal", "external"):
            raise ValueError(f"memory must be 'internal' or 'external', not {memory!r}")
        self.sram_size = sram_size
        self.block_size = block_size
        self.sram_init = list(sram_init)
        self.spram = spram
        self.memory = memory
        if len(self.sram_init) > sram_size // 2:
            raise ValueError(f"sram_init has {len(self.sram_init)} words; the SRAM holds "
                             f"{sram_size // 2}")
        if memory == "external" and (self.sram_init or spram):
            raise ValueError("sram_init and spram describe the internal memory")
        abits = sram_size.bit_length() - 1
        self.abits = abits
        self.log2_block = block_size.bit_length() - 1
        self.nframes = sram_size // block_size
        self.fbits = max(1, abits - self.log2_block)
        vbits = max(abits, 16)          # a value: core address, SmallInteger or immediate
        ports = {
            "load": In(1),
            "load_ctx": In(abits),
            "load_home": In(abits),
            "load_method": In(abits),
            "load_rcvr": In(vbits),
            "load_ip": In(16),
            "load_sp": In(abits - 1),
            "load_alloc": In(self.fbits),       # the allocation frame ...
            "load_alloc_valid": In(1),          # ... if there is one
            "load_specials": In(abits),         # the specialSelectors Array, 0 = not resident
            "load_formats": In(abits),          # the formatTable Array, 0 = not resident
            "load_characters": In(abits),       # the characterTable Array, 0 = not resident
            # objects end below this byte offset of the allocation frame (its
            # OutPointer region less the firmware's reserve); 0: no allocation
            "load_alloc_limit": In(17),
            "load_hash": In(15),                # the last identity hash given out
            "run": In(1),
            # with ``run``: resume with the caches of memory words (code word,
            # stack top, free-context head, the active context's state); the
            # host has written neither SRAM nor the registers since the stop
            "keep": In(1),
            "stop": In(1),
            # the OutPointer table: frame -> byte offset of its OutPointer region
            "op_we": In(1),
            "op_frame": In(self.fbits),
            "op_start": In(17),
            # the translation caches: 0 dispatch (class, selector) -> method,
            # 1 import (0, OutPointer) -> object, 2 export (frame, object) -> word
            "fill_valid": In(1),
            "fill_cache": In(2),
            "fill_key_hi": In(12),
            "fill_key": In(abits),
            "fill_data": In(abits),
            "flush": In(1),
            "sweeping": Out(1),
            # state
            "halted": Out(1),
            "reason": Out(Halt),
            "result": Out(16),
            "trap_key_hi": Out(12),     # what a TRAP_LOOKUP/IMPORT/EXPORT missed (see fill_*)
            "trap_key": Out(abits),
            "ctx": Out(abits),
            "home": Out(abits),
            "method": Out(abits),
            "rcvr": Out(vbits),
            "ip": Out(16),
            "sp": Out(abits - 1),
            "dirty": Out(self.nframes),     # frames whose objects the core stored into
            "hash": Out(15),
            # retire port: one pulse per executed bytecode
            "retire": Out(1),
            "retire_ip": Out(16),
            "retire_bytecode": Out(8),
            "cycles": Out(32),
        }
        if memory == "internal":
            ports.update({"host_addr": In(abits - 1), "host_wdata": In(16), "host_we": In(1),
                          "host_rdata": Out(16)})
        else:
            ports.update({"mem_addr": Out(abits - 1), "mem_wdata": Out(16), "mem_we": Out(1),
                          "mem_rdata": In(16)})
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        abits, lb = self.abits, self.log2_block
        vbits = max(abits, 16)
        addr = Signal(abits - 1)
        wdata = Signal(16)
        we = Signal()
        rdata = Signal(16)
        running = Signal()
        if self.memory == "internal":
            m.submodules.sram = sram = SRAM(self.sram_size // 2, self.sram_init,
                                            spram=self.spram)
            m.d.comb += [self.host_rdata.eq(sram.rdata), rdata.eq(sram.rdata),
                         sram.addr.eq(Mux(running, addr, self.host_addr)),
                         sram.wdata.eq(Mux(running, wdata, self.host_wdata)),
                         sram.we.eq(Mux(running, we, self.host_we))]
        else:
            m.d.comb += [self.mem_addr.eq(addr), self.mem_wdata.eq(wdata),
                         self.mem_we.eq(we), rdata.eq(self.mem_rdata)]
        m.submodules.alu = alu = SmallIntegerALU()
        m.submodules.decoder = dec = BytecodeDecoder()
        is_divide = Signal()            # a special send the divider answers
        if self.divider:
            m.submodules.divider = divider = SmallIntegerDivider()
            m.d.comb += is_divide.eq(Cat(*(dec.instruction.special == i
                                           for i in SPECIAL_DIVIDE)).any())
        if self.allocation:
            m.submodules.allocator = allocator = Allocator(self.sram_size, self.block_size)
        # Three direct-mapped tables of one construction (hw/dispatch.py): the
        # dispatch table, and the import and export caches the software core
        # keeps as dictionaries.  The host fills them when the core traps on a
        # miss; it flushes them all when the software core's change.
        m.submodules.dispatch = dispatch = DispatchTable(self.dispatch_entries, abits)
        m.submodules.imports = imports = DispatchTable(self.cache_entries, abits)
        m.submodules.exports = exports = DispatchTable(self.cache_entries, abits)
        for i, table in enumerate((dispatch, imports, exports)):
            m.d.comb += [table.fill_valid.eq(self.fill_valid & (self.fill_cache == i)),
                         table.fill_class.eq(self.fill_key_hi),
                         table.fill_selector.eq(self.fill_key),
                         table.fill_method.eq(self.fill_data),
                         table.flush.eq(self.flush)]
        m.d.comb += self.sweeping.eq(dispatch.sweeping | imports.sweeping | exports.sweeping)

        ctx, home, method, rcvr = self.ctx, self.home, self.method, self.rcvr
        ip, sp = self.ip, self.sp
        alloc_frame = Signal(self.fbits)
        alloc_valid = Signal()
        specials = Signal(abits)
        formats = Signal(abits)
        characters = Signal(abits)
        alloc_limit = Signal(17)
        bytecode = Signal(8)
        ext1 = Signal(8)
        ext2 = Signal(8)                 # the second extension byte (132, 134)
        top = Signal(16)                 # the stack top (when top_valid)
        # EXECUTE decodes the bytecode from the code word arriving from SRAM
        # (``fetched``: its read was issued last cycle), from the code-word
        # latch, or from the registers (``decoded``: after EXTEND or TOP)
        fetched = Signal()
        decoded = Signal()
        instr = dec.instruction

        # --- frames and the OutPointer table ----------------------------------
        op_start = Array(Signal(17, name=f"op_start_{f}", init=65536)
                         for f in range(1 << self.fbits))
        with m.If(self.op_we):
            m.d.sync += op_start[self.op_frame].eq(self.op_start)

        def frame_of(value):
            return value[lb:abits]

        def immediate(word):
            """A SmallInteger or nil/false/true: the same word in every block."""
            return word[0] | (word < F.IMMEDIATE_LIMIT)

        # One OutPointer-region comparator for the whole core: every state
        # checks at most one (word, frame) pair, so the table is read once.
        far_word = Signal(16)
        far_frame = Signal(self.fbits)
        far_result = Signal()
        m.d.comb += far_result.eq(~immediate(far_word) & (far_word >= op_start[far_frame]))

        def far(word, frame):
            """A stored word that is one of ``frame``'s OutPointers (one
            (word, frame) pair per state: the comparator is shared)."""
            m.d.comb += [far_word.eq(word), far_frame.eq(frame)]
            return far_result

        def crosses(word, src, dst):
            """Moving a stored word from frame ``src`` into frame ``dst`` needs a
            translation (an import or an export)."""
            return ~immediate(word) & (frame_of(src) != frame_of(dst))

        def object_at(frame, word):
            """The core address of near pointer ``word`` of ``frame``."""
            return Cat(word[:lb], frame)

        def value_of(word, frame):
            """The value of stored ``word`` of ``frame`` if it is immediate or near."""
            value = Signal(vbits)
            m.d.comb += value.eq(Mux(immediate(word), word, object_at(frame, word)))
            return value

        # One adder forms every object address: a state names the object and
        # the word offset (header words 0-2, body from 3) it reads or writes.
        oa_base = Signal(abits)
        oa_offset = Signal(16)
        object_address = Signal(abits - 1)
        m.d.comb += object_address.eq((oa_base >> 1) + oa_offset)

        def object_word(value, offset):
            """SRAM word address of word ``offset`` of object ``value`` (one
            object address per state: the adder is shared)."""
            m.d.comb += [oa_base.eq(value[:abits]), oa_offset.eq(offset)]
            return object_address

        # One adder forms every stack address and stack pointer update.
        so_offset = Signal(signed(8))
        stack_address = Signal(abits - 1)
        m.d.comb += stack_address.eq(sp + so_offset)

        def stack_word(offset):
            """SRAM word address ``offset`` words above the stack top (one
            offset per state: the adder is shared by the address and ``sp``)."""
            m.d.comb += so_offset.eq(offset)
            return stack_address

        def word_address(value, field):
            """SRAM word address of body word ``field`` of object ``value``."""
            return object_word(value, F.OBJ_HEADER_WORDS + field)

        def header_word(frame, index):
            """SRAM word address of block header word ``index`` of ``frame``."""
            return Cat(Const(0, lb - 1), frame) + index

        # In DECODE the decoder already sees the byte arriving from SRAM, so
        # that the state machine skips the extension and stack-top reads an
        # instruction does not need.  In EXTEND it sees the extension byte
        # arriving from the next word.
        #
        # The last code word read is kept (``code_latch``): a bytecode in the
        # same word -- the odd one of a pair, or the one after an extension
        # read -- is decoded in FETCH, without a read.  A write to that word
        # (or a new run: the host may have written anything) forgets it.
        in_decode = Signal()
        in_extend = Signal()
        latch_hit = Signal()
        latch_load = Signal()            # this cycle loads the latch with code_word's word
        code_latch = Signal(16)
        code_latch_addr = Signal(abits - 1)
        code_latch_valid = Signal()
        code_data = Signal(16)
        arriving = Signal(8)
        m.d.comb += [
            code_data.eq(Mux(latch_hit, code_latch, rdata)),
            arriving.eq(Mux(ip[0], code_data[:8], code_data[8:])),
            dec.bytecode.eq(Mux(in_decode, arriving, bytecode)),
            dec.ext1.eq(Mux(in_decode, code_data[:8], Mux(in_extend & ip[0], rdata[8:], ext1))),
            dec.ext2.eq(Mux(in_extend, Mux(ip[0], rdata[:8], rdata[8:]), ext2)),
        ]
        needs_top = Signal()
        m.d.comb += needs_top.eq(
            (instr.kind == Kind.STORE_TEMPORARY) | (instr.kind == Kind.STORE_RECEIVER_VARIABLE) |
            (instr.kind == Kind.STORE_LITERAL_VARIABLE) | (instr.kind == Kind.DUPLICATE) |
            (instr.kind == Kind.JUMP_IF) | (instr.kind == Kind.SEND_SPECIAL) |
            (instr.kind == Kind.RETURN))

        code_word = Signal(abits - 1)    # the SRAM word holding byte ip of the method
        m.d.comb += code_word.eq((method >> 1) + F.OBJ_HEADER_WORDS + (ip >> 1))
        literal_word = Signal(abits - 1)
        m.d.comb += literal_word.eq((method >> 1) + F.OBJ_HEADER_WORDS + 1 + instr.index)
        rcvr_is_object = ~immediate(rcvr)
        source = Signal(vbits)           # a value in the frame the pushed word comes from
        store_addr = Signal(abits - 1)   # where a store writes ...
        store_frame = Signal(self.fbits)  # ... into which frame's block
        store_dirty = Signal()           # ... and whether that makes the frame dirty

        m.d.comb += self.halted.eq(~running)
        with m.If(running):
            m.d.sync += self.cycles.eq(self.cycles + 1)

        def cached(condition):
            """``condition`` on a cache's state: constant false without the
            caches, so that synthesis drops what depends on it."""
            return condition if self.caches else Const(0, 1)

        def trap(reason, key_hi=None, key=None):
            """Stop before the bytecode: registers as they were (precise)."""
            m.d.sync += [self.reason.eq(reason), running.eq(0)]
            if key is not None:
                m.d.sync += [self.trap_key_hi.eq(key_hi), self.trap_key.eq(key)]
            m.next = "HALTED"

        # ``top`` holds the stack top whenever ``top_valid`` (the SRAM word is
        # written through): after a bytecode that leaves a known value on top,
        # the next one that needs the top skips its read.
        top_valid = Signal()
        # and the word below it, when ``second_valid``: a SmallInteger special
        # send after two pushes needs no read
        second = Signal(16)
        second_valid = Signal()

        def retire(*updates, jump=None, next_ip=None, new_top=None, top_kept=None,
                   pushed=False):
            """Complete the bytecode.  ``new_top``: the word it left on top of
            the stack, which is always the word it writes there this cycle
            (``wdata``: so the register has one source); ``pushed``: it pushed
            that word (the old top is the second word now); ``top_kept``: a
            condition under which the stack is unchanged (else the top and the
            second word are unknown)."""
            if next_ip is None:
                next_ip = ip + instr.length + (jump if jump is not None else 0)
            m.d.sync += [*updates, ip.eq(next_ip), fetched.eq(0), decoded.eq(0)]
            if new_top is not None:
                m.d.sync += [top.eq(wdata), top_valid.eq(1)]
            elif top_kept is not None:
                m.d.sync += top_valid.eq(top_valid & top_kept)
            else:
                m.d.sync += top_valid.eq(0)
            if pushed and self.caches:
                m.d.sync += [second.eq(top), second_valid.eq(top_valid)]
            elif top_kept is not None:
                m.d.sync += second_valid.eq(second_valid & top_kept)
            else:
                m.d.sync += second_valid.eq(0)
            m.d.comb += [self.retire.eq(1), self.retire_ip.eq(ip),
                         self.retire_bytecode.eq(dec.bytecode)]
            m.next = "EXECUTE"

        # --- translation through the import and export caches -------------------
        # A stored word of one frame becomes a value (``decode``) or a stored
        # word of another frame (``translate``), or a value becomes a stored
        # word (``encode``).  Immediates and near pointers of the same frame
        # need nothing; OutPointers need the import cache, pointers into
        # another frame the export cache.  The result is in t_value / t_word,
        # and the state machine continues at the state named ``cont``.
        t_word = Signal(16)
        t_value = Signal(vbits)
        t_dst = Signal(self.fbits)
        t_decode = Signal()
        t_key = Signal(abits)
        t_cont = Signal(range(len(CONTINUATIONS)))

        def go(cont):
            m.d.sync += t_cont.eq(CONTINUATIONS.index(cont))

        def export_lookup(value, dst, cont):
            m.d.comb += [exports.lookup_valid.eq(1), exports.lookup_class.eq(dst),
                         exports.lookup_selector.eq(value)]
            m.d.sync += [t_value.eq(value), t_dst.eq(dst)]
            go(cont)
            m.next = "T_EXPORT"

        def import_lookup(word, src, dst, decode_only, cont):
            key = object_at(src, word)
            m.d.comb += [imports.lookup_valid.eq(1), imports.lookup_class.eq(0),
                         imports.lookup_selector.eq(key)]
            m.d.sync += [t_key.eq(key), t_dst.eq(dst), t_decode.eq(decode_only)]
            go(cont)
            m.next = "T_IMPORT"

        def decode(word, src, cont, then=None):
            """The value of stored ``word`` of frame ``src``.  With ``then``, a
            function of the value that emits the continuation's logic, an
            immediate or near word goes on in this cycle, and only an
            OutPointer takes the import cache's cycle (the state ``cont`` then
            calls ``then(t_value)``): a cycle saved on each step of sends and
            returns, for a second copy of a few small continuations."""
            is_far = far(word, src)
            value = value_of(word, src)
            with m.If(is_far):
                import_lookup(word, src, src, 1, cont)
            with m.Else():
                m.d.sync += [t_value.eq(value), t_word.eq(word)]
                if then is None or not self.caches:
                    m.next = cont
                else:
                    then(value)

        def translate(word, src, dst, cont, is_far=None):
            if is_far is None:
                is_far = far(word, src)
            with m.If(immediate(word)):
                m.d.sync += [t_value.eq(word), t_word.eq(word)]
                m.next = cont
            with m.Elif(is_far):
                import_lookup(word, src, dst, 0, cont)
            with m.Elif(src != dst):
                export_lookup(object_at(src, word), dst, cont)
            with m.Else():
                m.d.sync += [t_value.eq(object_at(src, word)), t_word.eq(word)]
                m.next = cont

        def encode(value, dst, cont):
            with m.If(immediate(value)):
                m.d.sync += [t_value.eq(value), t_word.eq(value[:16])]
                m.next = cont
            with m.Elif(frame_of(value) != dst):
                export_lookup(value[:abits], dst, cont)
            with m.Else():
                m.d.sync += [t_value.eq(value), t_word.eq(value[:lb])]
                m.next = cont

        def resume():
            with m.Switch(t_cont):
                for i, name in enumerate(CONTINUATIONS):
                    with m.Case(i):
                        m.next = name

        def push(word, src):
            """Push stored ``word`` of the frame holding ``src`` onto the stack."""
            is_far = far(word, frame_of(src))
            with m.If(~is_far & ~crosses(word, src, ctx)):
                m.d.comb += [addr.eq(stack_word(1)), wdata.eq(word), we.eq(1)]
                retire(sp.eq(stack_word(1)), pushed=True, new_top=word)
            with m.Else():
                translate(word, frame_of(src), frame_of(ctx), "PUSH_WRITE", is_far)

        def store(word_addr, holder, dirty=True):
            """Store the stack top into ``word_addr`` of the object ``holder``."""
            is_far = far(top, frame_of(ctx))
            with m.If(~is_far & ~crosses(top, ctx, holder)):
                m.d.comb += [addr.eq(word_addr), wdata.eq(top), we.eq(1)]
                updates = [sp.eq(stack_word(-instr.pop))]
                if dirty:
                    updates.append(self.dirty.bit_select(frame_of(holder), 1).eq(1))
                retire(*updates, top_kept=~instr.pop)
            with m.Else():
                m.d.sync += [store_addr.eq(word_addr), store_frame.eq(frame_of(holder)),
                             store_dirty.eq(dirty)]
                translate(top, frame_of(ctx), frame_of(holder), "STORE_WRITE", is_far)

        # --- sends and returns -------------------------------------------------
        selector = Signal(abits)
        new_rcvr = Signal(vbits)
        class_index = Signal(12)
        new_method = Signal(abits)
        method_word = Signal(16)
        m_ntemps = Signal(5)
        m_large = Signal()
        m_nlits = Signal(6)
        new_ctx = Signal(abits)
        rcvr_word = Signal(16)           # the receiver's word on the sender's stack
        rcvr_known = Signal()            # ... and its value (new_rcvr) held from EXECUTE
        # What the core knows of the active context when it activated it
        # (``ctx_fresh``): its size (``ctx_large``), and that it has not
        # escaped -- only thisContext and blockCopy: make it escape in hardware
        # -- so that its return need not read its size and receiver-map words.
        ctx_fresh = Signal()
        ctx_large = Signal()
        # The head of one free-context list (section 8) as the core last wrote
        # or read it: list (fc_frame, fc_large) starts with word fc_head (0:
        # empty), and when fc_link_valid that context's sender field holds
        # fc_link.  A send pops a context without reading either, a return
        # pushes one without reading the head.  Any write to the head word
        # or to that sender field by another path forgets them, and so does a
        # new run (the host may have written anything).
        fc_valid = Signal()
        fc_frame = Signal(self.fbits)
        fc_large = Signal()
        fc_head = Signal(16)
        fc_head_addr = Signal(abits - 1)
        fc_link_valid = Signal()
        fc_link = Signal(16)
        fc_link_addr = Signal(abits - 1)
        head_cached = Signal()           # a return took the head from fc_head
        # The sender of a context the core activated, as the activation left
        # it (``rs_valid``, for a MethodContext sender): its return needs none
        # of the sender's words.  A write into the sender's fields pc to
        # receiver forgets it (a method of ContextPart may store into them).
        rs_valid = Signal()
        r_sender = Signal(abits)
        r_method = Signal(abits)
        r_rcvr = Signal(vbits)
        r_pc = Signal(16)                # the sender's pc and stackp words
        r_stackp = Signal(16)
        r_self = Signal(16)              # the context's receiver word
        r_watch = Signal(abits - 1)      # SRAM word address of the sender's pc
        # The word a return answers: the stack top (124, 125), a constant, or
        # self (120), whose word is the context's receiver field: ``r_self``
        # when the core activated the context, else read in RET_SELF.
        return_value = Signal(16)
        return_constant = Signal(16)
        with m.Switch(instr.constant):
            for k, w in enumerate((0, F.TRUE, F.FALSE, F.NIL)):
                with m.Case(k):
                    m.d.comb += return_constant.eq(w if k else r_self)
        m.d.comb += return_value.eq(Mux(instr.top, top, return_constant))
        counter = Signal(6)
        selector_frame = Signal(self.fbits)
        special_nargs = Signal(2)
        with m.Switch(instr.special):
            for i, (_, n) in enumerate(F.SPECIAL_SELECTORS):
                with m.Case(i):
                    m.d.comb += special_nargs.eq(n)
        nargs = Mux(instr.kind == Kind.SEND_SPECIAL, special_nargs, instr.nargs[:3])
        is_class = (instr.kind == Kind.SEND_SPECIAL) & (instr.special == SPECIAL_CLASS)

        # --- allocation: Blue Book instantiateClass: through hw/allocator.py ------
        new_kind = Signal(3)
        new_obj = Signal(abits)
        block_home = Signal(abits)
        new_body = Signal(16)
        new_fmt = Signal(3)
        new_fill = Signal(16)
        # the identity hash after self.hash (F.next_identity_hash): h * 1105 + 2053
        hash_next = Signal(15)
        h = self.hash
        if self.allocation:
            m.d.comb += [hash_next.eq(h + (h << 4) + (h << 6) + (h << 10) + 2053),
                         allocator.frame.eq(alloc_frame), allocator.class_index.eq(class_index),
                         allocator.fmt.eq(new_fmt), allocator.body_words.eq(new_body),
                         allocator.fill.eq(new_fill), allocator.hash.eq(hash_next),
                         allocator.limit.eq(alloc_limit), allocator.mem_rdata.eq(rdata)]
        sender = Signal(abits)
        ret_home = Signal(abits)
        ret_pc = Signal(16)
        ret_stackp = Signal(16)
        value_word = Signal(16)
        recycle = Signal()
        old_size = Signal(16)
        ret_large = Signal()             # the returning context is a large one
        m.d.comb += ret_large.eq(old_size != F.SMALL_CONTEXT_FIELDS + 3)
        prim = Signal(8)
        obj_words = Signal(16)
        obj_fmt = Signal(3)
        named = Signal(11)
        element_addr = Signal(abits - 1)
        byte_low = Signal()
        answer_word = Signal(16)
        block_rcvr = Signal(vbits)
        ret_sp = Signal(abits - 1)
        put_byte = Signal(8)

        def dispatch_lookup(cls, sel=selector):
            m.d.comb += [dispatch.lookup_valid.eq(1), dispatch.lookup_class.eq(cls),
                         dispatch.lookup_selector.eq(sel)]
            m.d.sync += class_index.eq(cls)
            m.next = "SEND_LOOKUP"

        def special_send(reason=Halt.TRAP_BYTECODE):
            """Blue Book sendSpecialSelectorBytecode without a primitive answer:
            send the selector of the Firmware's specialSelectors Array."""
            with m.If(specials == 0):
                trap(reason)
            with m.Else():
                m.d.comb += addr.eq(word_address(specials, instr.special * 2))
                m.d.sync += selector_frame.eq(frame_of(specials))
                known_receiver()
                m.next = "SEND_SELECTOR"

        def known_receiver():
            """While the selector is read: the receiver of a send of 0 or 1
            arguments is the stack top or the word below it, if the core
            holds that word and it is near or immediate (``rcvr_known``), so
            the send need not read it."""
            if not self.caches:
                return
            word = Mux(nargs == 0, top, second)
            ok = Signal()
            m.d.comb += ok.eq(Mux(nargs == 0, top_valid, second_valid) & (nargs < 2) &
                              ~far(word, frame_of(ctx)))
            m.d.sync += rcvr_known.eq(ok)
            with m.If(ok):
                m.d.sync += [rcvr_word.eq(word), new_rcvr.eq(value_of(word, frame_of(ctx)))]

        def return_done():
            """Blue Book returnValue:to: completes: the sender is active."""
            retire(ctx.eq(sender), home.eq(ret_home), method.eq(new_method),
                   rcvr.eq(new_rcvr), sp.eq(ret_sp), ctx_fresh.eq(0), next_ip=(ret_pc >> 1) - 1)

        def fetch_context_registers(prefix, frame, reason, receiver, next_object, next_field,
                                    next_state):
            """The states of Blue Book ``fetchContextRegisters`` for a return
            (``RET_*``) and for a block's value (``VALUE_*``): from the home
            context's word (``<prefix>_HOME``, read from ``frame``), its method
            and receiver (into ``receiver``), then a read of ``next_field`` of
            ``next_object`` and on to ``next_state``.  Each user has its own
            states: sharing them with a continuation register cost 151 iCE40
            LUTs for six fewer states."""
            def home_found(value):
                m.d.sync += ret_home.eq(value)
                m.d.comb += addr.eq(word_address(value, F.CTX_METHOD))
                with m.If(immediate(value)):
                    trap(reason)
                with m.Else():
                    m.next = f"{prefix}_METHOD"

            def method_found(value):
                m.d.sync += new_method.eq(value)
                m.d.comb += addr.eq(word_address(ret_home, F.CTX_RECEIVER))
                m.next = f"{prefix}_RECEIVER"

            def receiver_found(value):
                m.d.sync += receiver.eq(value)
                m.d.comb += addr.eq(word_address(next_object, next_field))
                m.next = next_state

            with m.State(f"{prefix}_HOME"):
                decode(rdata, frame, f"{prefix}_HOME_FOUND", home_found)
            with m.State(f"{prefix}_HOME_FOUND"):
                home_found(t_value)
            with m.State(f"{prefix}_METHOD"):
                decode(rdata, frame_of(ret_home), f"{prefix}_METHOD_FOUND", method_found)
            with m.State(f"{prefix}_METHOD_FOUND"):
                method_found(t_value)
            with m.State(f"{prefix}_RECEIVER"):
                decode(rdata, frame_of(ret_home), f"{prefix}_RECEIVER_FOUND", receiver_found)
            with m.State(f"{prefix}_RECEIVER_FOUND"):
                receiver_found(t_value)

        def small(value):
            return Cat(Const(1, 1), value[:15])

        def write_state(name, obj, field, data, next_state, *updates):
            """A state that writes ``data`` into field ``field`` of ``obj`` and
            goes on (the chains of field writes of activation, block evaluation
            and blockCopy:).  The address is formed inside the state: the
            object-address adder is shared, each state sets its operands."""
            with m.State(name):
                m.d.comb += [addr.eq(word_address(obj, field)), wdata.eq(data), we.eq(1)]
                if updates:
                    m.d.sync += list(updates)
                m.next = next_state

        def allocator_drives_port():
            m.d.comb += [addr.eq(allocator.mem_addr), wdata.eq(allocator.mem_wdata),
                         we.eq(allocator.mem_we)]

        def await_allocation(reason, result, then):
            """While the allocator runs it has the SRAM port.  Full: stop with
            ``reason`` (nothing was written).  Done: the new object into
            ``result``, the hash stepped, the frame dirty, then ``then()``
            picks the next state; from there on nothing traps."""
            with m.If(allocator.done & allocator.full):
                trap(reason)
            with m.Elif(allocator.done):
                m.d.sync += [result.eq(allocator.obj), self.hash.eq(hash_next),
                             self.dirty.bit_select(alloc_frame, 1).eq(1)]
                then()
            with m.Else():
                allocator_drives_port()

        # primitives 70, 71, 80 allocate in the context's frame, so the new
        # object's word needs no export (which could trap after the writes)
        cannot_allocate = (alloc_limit == 0) | ~alloc_valid | (alloc_frame != frame_of(ctx))

        def fresh_context(large):
            """No recycled context: a fresh, nil-filled one from the
            allocator (else the software core allocates)."""
            if self.allocation:
                with m.If(alloc_limit == 0):
                    trap(Halt.TRAP_CONTEXT)
                with m.Else():
                    m.d.sync += [class_index.eq(F.CLASS_INDEX["MethodContext"]),
                                 new_body.eq(Mux(large, F.LARGE_CONTEXT_FIELDS,
                                                 F.SMALL_CONTEXT_FIELDS)),
                                 new_fmt.eq(F.FMT_POINTERS), new_fill.eq(F.NIL)]
                    m.next = "ACT_ALLOCATE"
            else:
                trap(Halt.TRAP_CONTEXT)

        with m.If(we & ((addr - r_watch)[:abits - 1] <= F.CTX_RECEIVER - F.CTX_PC)):
            m.d.sync += rs_valid.eq(0)
        with m.If(we & (addr == fc_head_addr)):
            m.d.sync += fc_valid.eq(0)
        with m.If(we & (addr == fc_link_addr)):
            m.d.sync += fc_link_valid.eq(0)

        def free_list(frame, large):
            """SRAM word address of ``frame``'s free-context list head."""
            return header_word(frame, Mux(large, F.BH_FREE_LARGE_CONTEXTS,
                                          F.BH_FREE_SMALL_CONTEXTS))

        def head_known(frame, large):
            return cached(fc_valid & (fc_frame == frame) & (fc_large == large))

        def remember_head(frame, large, word, head_addr):
            if not self.caches:
                return
            m.d.sync += [fc_valid.eq(1), fc_frame.eq(frame), fc_large.eq(large),
                         fc_head.eq(word), fc_head_addr.eq(head_addr), fc_link_valid.eq(0)]

        def recycle_fresh_context():
            """A returning context the core activated and saw no escape of is
            recycled: its size is known, and its receiver map is nil."""
            m.d.sync += [recycle.eq(1), old_size.eq(Mux(
                ctx_large, F.LARGE_CONTEXT_FIELDS + 3, F.SMALL_CONTEXT_FIELDS + 3))]
            free_list_head(ctx_large)

        def free_list_head(large):
            """The head of the returning context's free list: read, unless
            the core knows it."""
            with m.If(head_known(frame_of(ctx), large)):
                m.d.sync += head_cached.eq(1)
            with m.Else():
                m.d.sync += head_cached.eq(0)
                m.d.comb += addr.eq(free_list(frame_of(ctx), large))
            m.next = "RET_FREE_HEAD"

        with m.FSM():
            with m.State("HALTED"):
                with m.If(self.load):
                    m.d.sync += [ctx.eq(self.load_ctx), home.eq(self.load_home),
                                 method.eq(self.load_method), rcvr.eq(self.load_rcvr),
                                 ip.eq(self.load_ip), sp.eq(self.load_sp),
                                 alloc_frame.eq(self.load_alloc),
                                 alloc_valid.eq(self.load_alloc_valid),
                                 specials.eq(self.load_specials),
                                 formats.eq(self.load_formats),
                                 characters.eq(self.load_characters),
                                 alloc_limit.eq(self.load_alloc_limit),
                                 self.hash.eq(self.load_hash),
                                 self.reason.eq(Halt.RUNNING), self.cycles.eq(0),
                                 self.dirty.eq(0)]
                with m.Elif(self.run):
                    m.d.sync += [running.eq(1), self.reason.eq(Halt.RUNNING), fetched.eq(0),
                                 decoded.eq(0)]
                    with m.If(~self.keep):
                        m.d.sync += [code_latch_valid.eq(0), top_valid.eq(0), ctx_fresh.eq(0),
                                     second_valid.eq(0),
                                     rs_valid.eq(0),
                                     fc_valid.eq(0), fc_link_valid.eq(0)]
                    m.next = "EXECUTE"

            def binary(receiver):
                """Blue Book sendSpecialSelectorBytecode with a primitive
                answer: ``receiver`` is the word below the top (from SRAM or
                the ``second`` register); the argument is top."""
                with m.If(instr.special == SPECIAL_IDENTITY):
                    # both words are stored in the context's block: the same
                    # object is the same word (one OutPointer per target, section 4)
                    identical = Mux(receiver == top, F.TRUE, F.FALSE)
                    m.d.comb += [addr.eq(stack_word(-1)), wdata.eq(identical), we.eq(1)]
                    retire(sp.eq(stack_word(-1)), new_top=identical)
                if self.divider:
                    with m.Elif(is_divide):
                        m.d.comb += [divider.start.eq(1), divider.a.eq(receiver), divider.b.eq(top)]
                        with m.Switch(instr.special):
                            for index, op in SPECIAL_DIVIDE.items():
                                with m.Case(index):
                                    m.d.comb += divider.op.eq(op)
                        m.next = "DIVIDE"
                with m.Else():
                    m.d.comb += [alu.a.eq(receiver), alu.b.eq(top)]
                    with m.Switch(instr.special):
                        for index, op in SPECIAL_ALU.items():
                            with m.Case(index):
                                m.d.comb += alu.op.eq(op)
                    with m.If(alu.fail):
                        # Blue Book: the primitive failed, so the selector is sent
                        special_send(Halt.TRAP_PRIMITIVE)
                    with m.Else():
                        m.d.comb += [addr.eq(stack_word(-1)), wdata.eq(alu.result), we.eq(1)]
                        retire(sp.eq(stack_word(-1)), new_top=alu.result)

            with m.State("BINARY"):
                binary(rdata)

            def execute():
                """Blue Book dispatchOnThisBytecode: the action's first cycle."""
                with m.Switch(instr.kind):
                    with m.Case(Kind.PUSH_RECEIVER_VARIABLE):
                        with m.If(rcvr_is_object):
                            m.d.comb += addr.eq(word_address(rcvr, instr.index))
                            m.d.sync += source.eq(rcvr)
                            m.next = "PUSH_READ"
                        with m.Else():
                            trap(Halt.TRAP_BYTECODE)
                    with m.Case(Kind.PUSH_TEMPORARY):
                        m.d.comb += addr.eq(object_word(home, TEMP0 + instr.index))
                        m.d.sync += source.eq(home)
                        m.next = "PUSH_READ"
                    with m.Case(Kind.PUSH_LITERAL_CONSTANT):
                        m.d.comb += addr.eq(literal_word)
                        m.d.sync += source.eq(method)
                        m.next = "PUSH_READ"
                    with m.Case(Kind.PUSH_LITERAL_VARIABLE, Kind.STORE_LITERAL_VARIABLE):
                        m.d.comb += addr.eq(literal_word)
                        m.next = "ASSOCIATION"
                    with m.Case(Kind.PUSH_CONSTANT):
                        with m.If(instr.constant == 0):
                            # self: a register value, stored relative to the context's block
                            with m.If(~rcvr_is_object):
                                m.d.comb += [addr.eq(stack_word(1)), wdata.eq(rcvr[:16]), we.eq(1)]
                                retire(sp.eq(stack_word(1)), pushed=True, new_top=rcvr[:16])
                            with m.Elif(frame_of(rcvr) != frame_of(ctx)):
                                encode(rcvr, frame_of(ctx), "PUSH_WRITE")
                            with m.Else():
                                m.d.comb += [addr.eq(stack_word(1)), wdata.eq(rcvr[:lb]), we.eq(1)]
                                retire(sp.eq(stack_word(1)), pushed=True, new_top=rcvr[:lb])
                        with m.Else():
                            value = Signal(16)
                            with m.Switch(instr.constant):
                                for k, w in enumerate(CONSTANT_WORDS):
                                    with m.Case(k):
                                        m.d.comb += value.eq(w)
                            m.d.comb += [addr.eq(stack_word(1)), wdata.eq(value), we.eq(1)]
                            retire(sp.eq(stack_word(1)), pushed=True, new_top=value)
                    with m.Case(Kind.STORE_TEMPORARY):
                        store(object_word(home, TEMP0 + instr.index), home, dirty=False)
                    with m.Case(Kind.STORE_RECEIVER_VARIABLE):
                        with m.If(rcvr_is_object):
                            store(word_address(rcvr, instr.index), rcvr)
                        with m.Else():
                            trap(Halt.TRAP_BYTECODE)
                    with m.Case(Kind.POP):
                        retire(sp.eq(stack_word(-1)))
                    with m.Case(Kind.DUPLICATE):
                        m.d.comb += [addr.eq(stack_word(1)), wdata.eq(top), we.eq(1)]
                        retire(sp.eq(stack_word(1)), pushed=True, new_top=top)
                    with m.Case(Kind.JUMP):
                        retire(jump=instr.offset, top_kept=1)
                    with m.Case(Kind.JUMP_IF):
                        with m.If((top == F.TRUE) | (top == F.FALSE)):
                            taken = (top == F.TRUE) == instr.on_true
                            retire(sp.eq(stack_word(-1)), jump=Mux(taken, instr.offset, 0))
                        with m.Else():
                            trap(Halt.TRAP_NOT_BOOLEAN)
                    with m.Case(Kind.SEND_SPECIAL):
                        with m.If(Cat(*(instr.special == i for i in SPECIAL_ALU)).any() |
                                  is_divide |
                                  (instr.special == SPECIAL_IDENTITY)):
                            with m.If(cached(second_valid)):
                                binary(second)
                            with m.Else():
                                m.d.comb += addr.eq(stack_word(-1))
                                m.next = "BINARY"
                        with m.Elif(instr.special == SPECIAL_CLASS):
                            # Blue Book primitiveClass: the receiver's class index
                            # as for a send, then the dispatch table's entry
                            # (class index, 0), which holds the class object
                            m.d.sync += selector.eq(0)
                            decode(top, frame_of(ctx), "SEND_RECEIVER_FOUND")
                        with m.Else():
                            special_send()
                    with m.Case(Kind.SEND):
                        # Blue Book sendLiteralSelectorBytecode,
                        # singleExtendedSendBytecode, doubleExtendedSendBytecode
                        # and their super forms (133, 134), up to 7 arguments
                        with m.If(instr.nargs < 8):
                            m.d.comb += addr.eq(literal_word)
                            m.d.sync += selector_frame.eq(frame_of(method))
                            known_receiver()
                            m.next = "SEND_SELECTOR"
                        with m.Else():
                            trap(Halt.TRAP_BYTECODE)
                    with m.Case(Kind.PUSH_CONTEXT):
                        # Blue Book pushActiveContextBytecode: the context escapes
                        m.d.comb += addr.eq(object_word(ctx, 1))
                        m.next = "PUSH_CONTEXT_CLASS"
                    with m.Case(Kind.RETURN):
                        # Blue Book returnBytecode: 120-124 from a method
                        # (home is the context), 125 a block's value to its caller
                        with m.If(~instr.from_block & cached(ctx_fresh & rs_valid)):
                            # Blue Book returnValue:to: from a context the core
                            # activated, to the sender as that left it: the
                            # writes only (RET_FREE_HEAD on)
                            m.d.sync += [sender.eq(r_sender), ret_home.eq(r_sender),
                                         new_method.eq(r_method), new_rcvr.eq(r_rcvr),
                                         ret_pc.eq(r_pc), ret_stackp.eq(r_stackp),
                                         value_word.eq(return_value)]
                            recycle_fresh_context()
                        with m.Elif(instr.from_block | (home == ctx)):
                            m.d.comb += addr.eq(word_address(ctx, F.CTX_SENDER))
                            m.next = "RETURN"
                        with m.Else():
                            trap(Halt.TRAP_RETURN)
                    with m.Default():
                        trap(Halt.TRAP_BYTECODE)
            # EXECUTE: the first cycle of a bytecode, and the cycle its action
            # starts in.  Its bytecode comes from the code-word latch (no read),
            # from SRAM (a cycle for the read first) or from the registers
            # (after an extension or stack-top read).  Folding the decode into
            # the execute cycle this way keeps one copy of each bytecode's
            # logic, selected by two flags, instead of a copy per entry state.
            fresh = ~decoded & ~fetched
            with m.State("EXECUTE"):
                m.d.comb += [latch_hit.eq(fresh & code_latch_valid &
                                          (code_latch_addr == code_word)),
                             in_decode.eq(~decoded & (fetched | latch_hit))]
                with m.If(in_decode):
                    m.d.sync += [bytecode.eq(arriving), ext1.eq(code_data[:8])]
                    with m.If(fetched):
                        m.d.comb += latch_load.eq(1)
                        m.d.sync += [code_latch.eq(rdata), code_latch_addr.eq(code_word),
                                     code_latch_valid.eq(1)]
                # big-endian: an even ip is the word's high byte, and the
                # extension byte is then its low byte; an odd ip's is in the
                # next word, and so is a three-byte instruction's last byte
                with m.If(fresh & self.stop):
                    trap(Halt.STOPPED)
                with m.Elif(fresh & ~latch_hit):
                    m.d.comb += addr.eq(code_word)
                    m.d.sync += fetched.eq(1)
                with m.Elif(~decoded & ((ip[0] & (instr.length > 1)) | (instr.length > 2))):
                    m.d.comb += addr.eq(code_word + 1)
                    m.next = "EXTEND"
                with m.Elif(needs_top & ~top_valid):
                    m.d.comb += addr.eq(sp)
                    m.d.sync += decoded.eq(1)
                    m.next = "TOP"
                with m.Else():
                    execute()
            with m.State("EXTEND"):
                m.d.comb += in_extend.eq(1)
                m.d.sync += [ext1.eq(Mux(ip[0], rdata[8:], ext1)),
                             ext2.eq(Mux(ip[0], rdata[:8], rdata[8:])), code_latch.eq(rdata),
                             code_latch_addr.eq(code_word + 1), code_latch_valid.eq(1),
                             decoded.eq(1)]
                # a jump needs nothing more than its extension byte: it
                # completes here rather than in another EXECUTE cycle
                boolean = (top == F.TRUE) | (top == F.FALSE)
                with m.If(instr.kind == Kind.JUMP):
                    retire(jump=instr.offset, top_kept=1)
                with m.Elif((instr.kind == Kind.JUMP_IF) & top_valid & boolean):
                    taken = (top == F.TRUE) == instr.on_true
                    retire(sp.eq(stack_word(-1)), jump=Mux(taken, instr.offset, 0))
                with m.Elif(needs_top & ~top_valid):
                    m.d.comb += addr.eq(sp)
                    m.next = "TOP"
                with m.Else():
                    m.next = "EXECUTE"
            with m.State("TOP"):
                m.d.sync += [top.eq(rdata), top_valid.eq(1)]
                m.next = "EXECUTE"

            with m.State("PUSH_READ"):
                push(rdata, source)
            with m.State("PUSH_CONTEXT_CLASS"):
                m.d.sync += ctx_fresh.eq(0)
                # a MethodContext is marked escaped (receiver map true), so
                # that it is not recycled when it returns
                with m.If(rdata[:12] == F.CLASS_INDEX["MethodContext"]):
                    m.d.comb += [addr.eq(word_address(ctx, F.CTX_RECEIVER_MAP)),
                                 wdata.eq(F.TRUE), we.eq(1)]
                m.d.sync += t_word.eq(ctx[:lb])
                m.next = "PUSH_WRITE"
            with m.State("PUSH_WRITE"):
                m.d.comb += [addr.eq(stack_word(1)), wdata.eq(t_word), we.eq(1)]
                retire(sp.eq(stack_word(1)), pushed=True, new_top=t_word)
            with m.State("STORE_WRITE"):
                m.d.comb += [addr.eq(store_addr), wdata.eq(t_word), we.eq(1)]
                with m.If(store_dirty):
                    m.d.sync += self.dirty.bit_select(store_frame, 1).eq(1)
                retire(sp.eq(stack_word(-instr.pop)), top_kept=~instr.pop)
            with m.State("ASSOCIATION"):
                # the literal is the Association (Blue Book pushLiteralVariableBytecode)
                decode(rdata, frame_of(method), "ASSOCIATION_FOUND")
            with m.State("ASSOCIATION_FOUND"):
                a = t_value
                value_addr = word_address(a, F.ASSOC_VALUE)
                with m.If(immediate(a)):
                    trap(Halt.TRAP_BYTECODE)
                with m.Elif(instr.kind == Kind.STORE_LITERAL_VARIABLE):
                    store(value_addr, a)
                with m.Else():
                    m.d.comb += addr.eq(value_addr)
                    m.d.sync += source.eq(a)
                    m.next = "PUSH_READ"
            if self.divider:
                with m.State("DIVIDE"):
                    with m.If(divider.done & divider.fail):
                        special_send(Halt.TRAP_PRIMITIVE)
                    with m.Elif(divider.done):
                        m.d.comb += [addr.eq(stack_word(-1)), wdata.eq(divider.result), we.eq(1)]
                        retire(sp.eq(stack_word(-1)), new_top=divider.result)

            # --- send: Blue Book sendSelector:argumentCount: ----------------------
            def selector_found(value):
                m.d.sync += selector.eq(value)
                with m.If(immediate(value)):
                    trap(Halt.TRAP_BYTECODE)
                with m.Elif(cached(rcvr_known)):
                    receiver_class(new_rcvr, value)
                with m.Else():
                    m.d.comb += addr.eq(stack_word(-nargs))
                    m.next = "SEND_RECEIVER"

            def receiver_found(value):
                m.d.sync += new_rcvr.eq(value)
                receiver_class(value, selector)

            def receiver_class(value, sel):
                """Blue Book fetchClassOf: the receiver's class index, and the
                dispatch table's entry for it and ``sel``."""
                with m.If(instr.to_super & (instr.kind == Kind.SEND)):
                    # Blue Book sendSelectorToSuperclass: the method class's
                    # superclass index, from the dispatch table's entry
                    # (0, method), which the host fills on a miss
                    m.d.comb += [dispatch.lookup_valid.eq(1), dispatch.lookup_class.eq(0),
                                 dispatch.lookup_selector.eq(method)]
                    m.next = "SEND_SUPER"
                with m.Elif(value[0]):
                    dispatch_lookup(F.CLASS_INDEX["SmallInteger"], sel)
                with m.Elif(value == F.NIL):
                    dispatch_lookup(F.CLASS_INDEX["UndefinedObject"], sel)
                with m.Elif(value == F.TRUE):
                    dispatch_lookup(F.CLASS_INDEX["True"], sel)
                with m.Elif(value == F.FALSE):
                    dispatch_lookup(F.CLASS_INDEX["False"], sel)
                with m.Elif(immediate(value)):
                    trap(Halt.TRAP_BYTECODE)
                with m.Else():
                    m.d.comb += addr.eq(object_word(value, 1))
                    m.next = "SEND_CLASS"

            with m.State("SEND_SELECTOR"):
                decode(rdata, selector_frame, "SEND_RECEIVER_READ", selector_found)
            with m.State("SEND_RECEIVER_READ"):
                selector_found(t_value)
            with m.State("SEND_RECEIVER"):
                # the receiver's word is kept: activation copies it unchanged
                m.d.sync += rcvr_word.eq(rdata)
                decode(rdata, frame_of(ctx), "SEND_RECEIVER_FOUND", receiver_found)
            with m.State("SEND_RECEIVER_FOUND"):
                receiver_found(t_value)
            with m.State("SEND_CLASS"):
                dispatch_lookup(rdata[:12])
            with m.State("SEND_SUPER"):
                with m.If(dispatch.hit):
                    dispatch_lookup(dispatch.method[:12])
                with m.Else():
                    trap(Halt.TRAP_LOOKUP, 0, method)
            with m.State("SEND_LOOKUP"):
                with m.If(dispatch.hit & is_class):
                    encode(dispatch.method, frame_of(ctx), "CLASS_WRITE")
                with m.Elif(dispatch.hit):
                    m.d.sync += new_method.eq(dispatch.method)
                    m.d.comb += addr.eq(word_address(dispatch.method, 0))
                    # the method's word for the new context's field, looked up
                    # beside the header read (used only if the method activates)
                    m.d.comb += [exports.lookup_valid.eq(1),
                                 exports.lookup_class.eq(frame_of(ctx)),
                                 exports.lookup_selector.eq(dispatch.method)]
                    m.next = "SEND_HEADER"
                with m.Else():
                    trap(Halt.TRAP_LOOKUP, class_index, selector)
            with m.State("SEND_HEADER"):
                # Blue Book executeNewMethod; the header is a SmallInteger:
                # flag 14..12, temporaries 11..7, large context 6, literals 5..0
                hv = rdata[1:]
                flag = hv[12:15]
                m.d.sync += [m_ntemps.eq(hv[7:12]), m_large.eq(hv[6]), m_nlits.eq(hv[:6])]
                with m.If(flag == 5):
                    retire(sp.eq(stack_word(-nargs)))           # quick return of self
                with m.Elif(flag == 6):
                    # quick return of instance variable hv[7:12]
                    with m.If(immediate(new_rcvr)):
                        trap(Halt.TRAP_METHOD)
                    with m.Else():
                        m.d.comb += addr.eq(word_address(new_rcvr, hv[7:12]))
                        m.next = "QUICK_FIELD"
                with m.Elif(flag == 7):
                    m.next = "PRIM_EXTENSION_READ"
                with m.Elif(flag != nargs):
                    trap(Halt.TRAP_METHOD)
                with m.Elif(~alloc_valid | (alloc_frame != frame_of(ctx))):
                    trap(Halt.TRAP_CONTEXT)
                with m.Elif((frame_of(new_method) != frame_of(ctx)) & ~exports.hit):
                    trap(Halt.TRAP_EXPORT, frame_of(ctx), new_method)
                with m.Else():
                    # the new context is in the context's frame: its method
                    # field is the method encoded for that frame
                    m.d.sync += method_word.eq(Mux(frame_of(new_method) == frame_of(ctx),
                                                   new_method[:lb], exports.method[:16]))
                    large = hv[6]
                    known = head_known(alloc_frame, large)
                    head = object_at(alloc_frame, fc_head)
                    with m.If(known & (fc_head == 0)):
                        fresh_context(large)
                    with m.Elif(known & fc_link_valid):
                        # pop the known head: one write, no reads
                        m.d.sync += new_ctx.eq(head)
                        m.d.comb += [addr.eq(free_list(alloc_frame, large)),
                                     wdata.eq(fc_link), we.eq(1)]
                        remember_head(alloc_frame, large, fc_link, fc_head_addr)
                        m.next = "ACT_W_SENDER"
                    with m.Elif(known):
                        m.d.sync += new_ctx.eq(head)
                        m.d.comb += addr.eq(word_address(head, F.CTX_SENDER))
                        m.next = "ACT_LINK"
                    with m.Else():
                        m.d.comb += addr.eq(free_list(alloc_frame, large))
                        m.next = "ACT_HEAD"
            with m.State("CLASS_WRITE"):
                m.d.comb += [addr.eq(sp), wdata.eq(t_word), we.eq(1)]
                retire(new_top=t_word)
            with m.State("QUICK_FIELD"):
                translate(rdata, frame_of(new_rcvr), frame_of(ctx), "QUICK_WRITE")
            with m.State("QUICK_WRITE"):
                m.d.comb += [addr.eq(stack_word(-nargs)), wdata.eq(t_word), we.eq(1)]
                retire(sp.eq(stack_word(-nargs)), new_top=t_word)
            # --- primitives at: (60), at:put: (61), size (62) -----------------------
            # Blue Book primitiveAt / primitiveAtPut / primitiveSize on pointer,
            # word and byte objects.  The core answers only when it is sure the
            # primitive succeeds; anything else (a failure, a large object, an
            # index that is not a SmallInteger) is TRAP_METHOD, and the software
            # core runs the whole send.
            with m.State("PRIM_EXTENSION_READ"):
                # the primitive index is in the second-to-last literal
                m.d.comb += addr.eq(word_address(new_method, m_nlits - 1))
                m.next = "PRIM_EXTENSION"
            with m.State("PRIM_EXTENSION"):
                number = rdata[1:9]
                m.d.sync += prim.eq(number)
                supported = (((number == 60) & (nargs == 1)) | ((number == 61) & (nargs == 2)) |
                             ((number == 62) & (nargs == 0)) |
                             ((number == 63) & (nargs == 1) & (characters != 0)) |
                             ((number == 64) & (nargs == 2)))
                with m.If(immediate(new_rcvr)):
                    trap(Halt.TRAP_METHOD)
                with m.Elif(number == 81):
                    m.d.comb += addr.eq(object_word(new_rcvr, 1))
                    m.next = "VALUE_CLASS"
                if self.allocation:
                    with m.Elif((number == 80) & (nargs == 1)):
                        # Blue Book primitiveBlockCopy: the block, its home and the
                        # context all in one frame, so no word needs an export
                        with m.If(cannot_allocate | (frame_of(new_rcvr) != frame_of(ctx))):
                            trap(Halt.TRAP_METHOD)
                        with m.Else():
                            m.d.comb += addr.eq(sp)
                            m.next = "BLOCK_ARG"
                    with m.Elif(((number == 70) & (nargs == 0)) | ((number == 71) & (nargs == 1))):
                        # Blue Book primitiveNew / primitiveNewWithArg
                        with m.If(cannot_allocate | (formats == 0)):
                            trap(Halt.TRAP_METHOD)
                        with m.Else():
                            # the class's index: the dispatch table's entry (0, class)
                            m.d.comb += [dispatch.lookup_valid.eq(1), dispatch.lookup_class.eq(0),
                                         dispatch.lookup_selector.eq(new_rcvr[:abits])]
                            m.next = "NEW_INDEX"
                with m.Elif(supported):
                    m.d.comb += addr.eq(object_word(new_rcvr, 0))
                    m.next = "PRIM_SIZE"
                with m.Else():
                    trap(Halt.TRAP_METHOD)
            if self.allocation:
                with m.State("BLOCK_ARG"):
                    m.d.sync += answer_word.eq(rdata)            # the argument count
                    m.d.comb += addr.eq(object_word(new_rcvr, 1))
                    m.next = "BLOCK_CLASS"
                with m.State("BLOCK_CLASS"):
                    # the home context: the receiver, or a BlockContext's home
                    with m.If(rdata[:12] == F.CLASS_INDEX["MethodContext"]):
                        m.d.sync += block_home.eq(new_rcvr)
                        m.d.comb += addr.eq(object_word(new_rcvr, 0))
                        m.next = "BLOCK_SIZE"
                    with m.Elif(rdata[:12] == F.CLASS_INDEX["BlockContext"]):
                        m.d.comb += addr.eq(word_address(new_rcvr, F.CTX_HOME))
                        m.next = "BLOCK_HOME"
                    with m.Else():
                        trap(Halt.TRAP_METHOD)
                with m.State("BLOCK_HOME"):
                    # a home in another block is the software core's
                    with m.If(immediate(rdata) | far(rdata, frame_of(ctx))):
                        trap(Halt.TRAP_METHOD)
                    with m.Else():
                        m.d.sync += block_home.eq(object_at(frame_of(ctx), rdata))
                        m.d.comb += addr.eq(object_word(object_at(frame_of(ctx), rdata), 0))
                        m.next = "BLOCK_SIZE"
                with m.State("BLOCK_SIZE"):
                    # a BlockContext as big as its home, nil-filled
                    m.d.sync += [class_index.eq(F.CLASS_INDEX["BlockContext"]),
                                 new_body.eq(rdata - F.OBJ_HEADER_WORDS),
                                 new_fmt.eq(F.FMT_POINTERS), new_fill.eq(F.NIL)]
                    m.next = "NEW_ALLOCATE"
                write_state("BLOCK_W_NARGS", new_obj, F.CTX_NARGS, answer_word,
                            "BLOCK_W_STARTPC")
                # the block's code starts after this send and the 2-byte jump over it
                block_pc = small(ip + instr.length + 3)
                write_state("BLOCK_W_STARTPC", new_obj, F.CTX_STARTPC, block_pc,
                            "BLOCK_W_PC")
                write_state("BLOCK_W_PC", new_obj, F.CTX_PC, block_pc,
                            "BLOCK_W_STACKP")
                write_state("BLOCK_W_STACKP", new_obj, F.CTX_STACKP,
                            F.smallint(0), "BLOCK_W_HOME")
                write_state("BLOCK_W_HOME", new_obj, F.CTX_HOME, block_home[:lb],
                            "BLOCK_ESCAPED")
                # the home is held by the block: never recycled
                write_state("BLOCK_ESCAPED", block_home, F.CTX_RECEIVER_MAP,
                            F.TRUE, "NEW_ANSWER", ctx_fresh.eq(0))
                with m.State("NEW_ANSWER"):
                    m.d.comb += [addr.eq(stack_word(-nargs)), wdata.eq(new_obj[:lb]), we.eq(1)]
                    retire(sp.eq(stack_word(-nargs)), new_top=new_obj[:lb])
                with m.State("NEW_INDEX"):
                    with m.If(dispatch.hit):
                        m.d.sync += class_index.eq(dispatch.method[:12])
                        m.d.comb += addr.eq(word_address(formats, dispatch.method[:12]))
                        m.next = "NEW_FORMAT"
                    with m.Else():
                        trap(Halt.TRAP_LOOKUP, 0, new_rcvr[:abits])
                with m.State("NEW_FORMAT"):
                    # the formatTable's SmallInteger: kind 14..12, named fields 11..1
                    kind = rdata[1 + F.CLASS_KIND_SHIFT:]
                    m.d.sync += [named.eq(rdata[1:1 + F.CLASS_KIND_SHIFT]), new_kind.eq(kind)]
                    with m.If(~rdata[0]):
                        trap(Halt.TRAP_METHOD)
                    with m.Elif(prim == 70):
                        with m.If(kind != F.KIND_FIXED):
                            trap(Halt.TRAP_METHOD)
                        with m.Else():
                            m.d.sync += [new_body.eq(rdata[1:1 + F.CLASS_KIND_SHIFT]),
                                         new_fmt.eq(F.FMT_POINTERS), new_fill.eq(F.NIL)]
                            m.next = "NEW_ALLOCATE"
                    with m.Else():
                        m.d.comb += addr.eq(sp)
                        m.next = "NEW_SIZE"
                with m.State("NEW_SIZE"):
                    # basicNew: n, n a SmallInteger; a large (chunked) object is the
                    # software core's (docs/architecture.md section 10)
                    n = rdata[1:]
                    per = F.large_chunk_fields(self.block_size)
                    with m.If(~rdata[0] | rdata[15]):
                        trap(Halt.TRAP_METHOD)
                    with m.Else():
                        m.next = "NEW_ALLOCATE"
                        with m.Switch(new_kind):
                            with m.Case(F.KIND_POINTERS):
                                m.d.sync += [new_body.eq(named + n), new_fmt.eq(F.FMT_POINTERS),
                                             new_fill.eq(F.NIL)]
                                with m.If((named == 0) & (n > per)):
                                    trap(Halt.TRAP_METHOD)
                            with m.Case(F.KIND_BYTES):
                                m.d.sync += [new_body.eq((n + 1) >> 1),
                                             new_fmt.eq(F.FMT_BYTES + n[0]), new_fill.eq(0)]
                                with m.If((named == 0) & (n > 2 * per)):
                                    trap(Halt.TRAP_METHOD)
                            with m.Case(F.KIND_WORDS):
                                m.d.sync += [new_body.eq(n), new_fmt.eq(F.FMT_WORDS), new_fill.eq(0)]
                                with m.If((named == 0) & (n > per)):
                                    trap(Halt.TRAP_METHOD)
                            with m.Default():
                                trap(Halt.TRAP_METHOD)
                with m.State("NEW_ALLOCATE"):
                    # only large (chunked) objects may exceed half a block; the
                    # allocator's own check is the frame's room
                    with m.If((new_body + F.OBJ_HEADER_WORDS) * 2 > self.block_size // 2):
                        trap(Halt.TRAP_METHOD)
                    with m.Else():
                        m.d.comb += allocator.start.eq(1)
                        allocator_drives_port()
                        m.next = "NEW_FILL"

                def new_object_filled():
                    with m.If(prim == 80):
                        m.next = "BLOCK_W_NARGS"
                    with m.Else():
                        m.next = "NEW_ANSWER"
                with m.State("NEW_FILL"):
                    await_allocation(Halt.TRAP_METHOD, new_obj, new_object_filled)
            with m.State("PRIM_SIZE"):
                m.d.sync += obj_words.eq(rdata)
                m.d.comb += addr.eq(object_word(new_rcvr, 2))
                m.next = "PRIM_FORMAT"
            with m.State("PRIM_FORMAT"):
                fmt = rdata[F.FMT_SHIFT:]
                m.d.sync += [obj_fmt.eq(fmt), named.eq(0)]
                strings = (prim == 63) | (prim == 64)
                with m.If(strings & (fmt != F.FMT_BYTES) & (fmt != F.FMT_BYTES_ODD)):
                    trap(Halt.TRAP_METHOD)
                with m.Elif((fmt == F.FMT_POINTERS) & (formats != 0)):
                    m.d.comb += addr.eq(object_word(new_rcvr, 1))
                    m.next = "PRIM_CLASS"
                with m.Elif((fmt == F.FMT_WORDS) | (fmt == F.FMT_BYTES) |
                            (fmt == F.FMT_BYTES_ODD)):
                    m.d.comb += addr.eq(stack_word(-((prim == 61) | (prim == 64))))
                    m.next = "PRIM_INDEX"
                with m.Else():
                    trap(Halt.TRAP_METHOD)
            with m.State("PRIM_CLASS"):
                # named instance variables, from the Firmware's formatTable
                m.d.comb += addr.eq(word_address(formats, rdata[:12]))
                m.next = "PRIM_NAMED"
            with m.State("PRIM_NAMED"):
                with m.If(rdata[0]):
                    m.d.sync += named.eq(rdata[1:12])
                m.d.comb += addr.eq(stack_word(-((prim == 61) | (prim == 64))))
                m.next = "PRIM_INDEX"
            with m.State("PRIM_INDEX"):
                body = obj_words - F.OBJ_HEADER_WORDS
                limit = Signal(17)
                with m.Switch(obj_fmt):
                    with m.Case(F.FMT_POINTERS):
                        m.d.comb += limit.eq(body - named)
                    with m.Case(F.FMT_WORDS):
                        m.d.comb += limit.eq(body)
                    with m.Default():
                        m.d.comb += limit.eq(body * 2 - obj_fmt[0])
                index = rdata[1:]                # 1-based, when a positive SmallInteger
                zero = index - 1
                element = Signal(abits - 1)
                m.d.comb += element.eq(object_word(
                    new_rcvr, F.OBJ_HEADER_WORDS + Mux(obj_fmt[1], zero >> 1, named + zero)))
                m.d.sync += [element_addr.eq(element), byte_low.eq(zero[0])]
                with m.If(prim == 62):
                    with m.If(limit > F.SMALLINT_MAX):
                        trap(Halt.TRAP_METHOD)
                    with m.Else():
                        m.d.comb += [addr.eq(sp), wdata.eq(small(limit)), we.eq(1)]
                        retire(new_top=small(limit))
                with m.Elif(~rdata[0] | rdata[15] | (index == 0) | (index > limit)):
                    trap(Halt.TRAP_METHOD)
                with m.Elif((prim == 60) | (prim == 63)):
                    m.d.comb += addr.eq(element)
                    m.next = "PRIM_AT"
                with m.Else():
                    m.d.comb += addr.eq(sp)
                    m.next = "PRIM_PUT_VALUE"
            with m.State("PRIM_AT"):
                with m.Switch(obj_fmt):
                    with m.Case(F.FMT_POINTERS):
                        translate(rdata, frame_of(new_rcvr), frame_of(ctx), "QUICK_WRITE")
                    with m.Case(F.FMT_WORDS):
                        with m.If(rdata > F.SMALLINT_MAX):
                            trap(Halt.TRAP_METHOD)      # a LargePositiveInteger
                        with m.Else():
                            m.d.comb += [addr.eq(stack_word(-1)), wdata.eq(small(rdata)), we.eq(1)]
                            retire(sp.eq(stack_word(-1)), new_top=small(rdata))
                    with m.Default():
                        byte = Mux(byte_low, rdata[:8], rdata[8:])
                        with m.If(prim == 63):
                            # Blue Book primitiveStringAt: the unique Character
                            m.d.comb += addr.eq(word_address(characters, byte))
                            m.next = "PRIM_CHARACTER"
                        with m.Else():
                            m.d.comb += [addr.eq(stack_word(-1)), wdata.eq(small(byte)), we.eq(1)]
                            retire(sp.eq(stack_word(-1)), new_top=small(byte))
            with m.State("PRIM_CHARACTER"):
                translate(rdata, frame_of(characters), frame_of(ctx), "QUICK_WRITE")
            with m.State("PRIM_PUT_VALUE"):
                m.d.sync += [answer_word.eq(rdata), put_byte.eq(rdata[1:9])]
                with m.If(prim == 64):
                    # Blue Book primitiveStringAtPut: the Character's value
                    decode(rdata, frame_of(ctx), "PRIM_PUT_CHARACTER")
                with m.Switch(obj_fmt):
                    with m.Case(F.FMT_POINTERS):
                        translate(rdata, frame_of(ctx), frame_of(new_rcvr), "PRIM_PUT")
                    with m.Case(F.FMT_WORDS):
                        with m.If(~rdata[0] | rdata[15]):
                            trap(Halt.TRAP_METHOD)
                        with m.Else():
                            m.d.sync += t_word.eq(rdata[1:])
                            m.next = "PRIM_PUT"
                    with m.Default():
                        with m.If(prim == 64):
                            pass
                        with m.Elif(~rdata[0] | (rdata[1:] > 255)):
                            trap(Halt.TRAP_METHOD)
                        with m.Else():
                            m.d.comb += addr.eq(element_addr)
                            m.next = "PRIM_PUT_BYTE"
            with m.State("PRIM_PUT_CHARACTER"):
                with m.If(immediate(t_value)):
                    trap(Halt.TRAP_METHOD)
                with m.Else():
                    m.d.sync += source.eq(t_value)
                    m.d.comb += addr.eq(object_word(t_value, 1))
                    m.next = "PRIM_CHARACTER_CLASS"
            with m.State("PRIM_CHARACTER_CLASS"):
                m.d.comb += addr.eq(word_address(source, F.CHARACTER_VALUE))
                with m.If(rdata[:12] != F.CLASS_INDEX["Character"]):
                    trap(Halt.TRAP_METHOD)
                with m.Else():
                    m.next = "PRIM_CHARACTER_VALUE"
            with m.State("PRIM_CHARACTER_VALUE"):
                m.d.sync += put_byte.eq(rdata[1:9])
                m.d.comb += addr.eq(element_addr)
                with m.If(~rdata[0]):
                    trap(Halt.TRAP_METHOD)
                with m.Else():
                    m.next = "PRIM_PUT_BYTE"
            with m.State("PRIM_PUT_BYTE"):
                byte = put_byte
                m.d.sync += t_word.eq(Mux(byte_low, Cat(byte, rdata[8:]), Cat(rdata[:8], byte)))
                m.next = "PRIM_PUT"
            with m.State("PRIM_PUT"):
                m.d.comb += [addr.eq(element_addr), wdata.eq(t_word), we.eq(1)]
                m.d.sync += self.dirty.bit_select(frame_of(new_rcvr), 1).eq(1)
                m.next = "PRIM_ANSWER_VALUE"
            with m.State("PRIM_ANSWER_VALUE"):
                # at:put: answers the value: its word as the context's block holds it
                m.d.comb += [addr.eq(stack_word(-2)), wdata.eq(answer_word), we.eq(1)]
                retire(sp.eq(stack_word(-2)), new_top=answer_word)

            # --- Blue Book primitiveValue (81): a BlockContext of this frame -----
            with m.State("VALUE_CLASS"):
                m.d.comb += addr.eq(word_address(new_rcvr, F.CTX_NARGS))
                with m.If((rdata[:12] != F.CLASS_INDEX["BlockContext"]) |
                          (frame_of(new_rcvr) != frame_of(ctx))):
                    trap(Halt.TRAP_METHOD)
                with m.Else():
                    m.next = "VALUE_NARGS"
            with m.State("VALUE_NARGS"):
                m.d.comb += addr.eq(word_address(new_rcvr, F.CTX_HOME))
                with m.If(rdata != small(nargs)):
                    trap(Halt.TRAP_METHOD)
                with m.Else():
                    m.next = "VALUE_HOME"
            fetch_context_registers("VALUE", frame_of(new_rcvr), Halt.TRAP_METHOD,
                                    block_rcvr, new_rcvr, F.CTX_STARTPC, "VALUE_START")
            with m.State("VALUE_START"):
                # from here on nothing traps: the caller's registers first
                m.d.sync += ret_pc.eq(rdata)
                m.d.comb += [addr.eq(word_address(ctx, F.CTX_PC)), we.eq(1),
                             wdata.eq(small(ip + instr.length + 1))]
                m.next = "VALUE_W_SP"
            write_state("VALUE_W_SP", ctx, F.CTX_STACKP,
                        small(sp - nargs - 1 - (ctx >> 1) - CTX_WORD_OFFSET), "VALUE_W_CALLER")
            write_state("VALUE_W_CALLER", new_rcvr, F.CTX_SENDER, ctx[:lb],
                        "VALUE_W_PC")
            write_state("VALUE_W_PC", new_rcvr, F.CTX_PC, ret_pc, "VALUE_W_STACKP")
            with m.State("VALUE_W_STACKP"):
                m.d.comb += [addr.eq(word_address(new_rcvr, F.CTX_STACKP)), we.eq(1),
                             wdata.eq(small(nargs))]
                m.d.sync += [counter.eq(0),
                             self.dirty.bit_select(frame_of(new_rcvr), 1).eq(1)]
                with m.If(nargs == 0):
                    m.next = "VALUE_DONE"
                with m.Else():
                    m.next = "VALUE_ARG_READ"
            with m.State("VALUE_ARG_READ"):
                m.d.comb += addr.eq(stack_word((1 + counter - nargs).as_signed()))
                m.next = "VALUE_ARG_WRITE"
            with m.State("VALUE_ARG_WRITE"):
                m.d.comb += [addr.eq(object_word(new_rcvr, CTX_WORD_OFFSET + 1 + counter)),
                             wdata.eq(rdata), we.eq(1)]
                m.d.sync += counter.eq(counter + 1)
                with m.If(counter == nargs - 1):
                    m.next = "VALUE_DONE"
                with m.Else():
                    m.next = "VALUE_ARG_READ"
            with m.State("VALUE_DONE"):
                retire(ctx_fresh.eq(0), ctx.eq(new_rcvr), home.eq(ret_home), method.eq(new_method),
                       rcvr.eq(block_rcvr),
                       sp.eq(object_word(new_rcvr, CTX_WORD_OFFSET + nargs)),
                       next_ip=(ret_pc >> 1) - 1)

            # --- Blue Book activateNewMethod, with a recycled context -----------
            with m.State("ACT_HEAD"):
                with m.If(rdata == 0):
                    remember_head(alloc_frame, m_large, 0, free_list(alloc_frame, m_large))
                    fresh_context(m_large)
                with m.Else():
                    new = object_at(alloc_frame, rdata)
                    m.d.sync += new_ctx.eq(new)
                    m.d.comb += addr.eq(word_address(new, F.CTX_SENDER))
                    m.next = "ACT_LINK"
            if self.allocation:
                with m.State("ACT_ALLOCATE"):
                    m.d.comb += allocator.start.eq(1)
                    allocator_drives_port()
                    m.next = "ACT_FILL"

                def context_filled():
                    m.next = "ACT_W_SENDER"
                with m.State("ACT_FILL"):
                    await_allocation(Halt.TRAP_CONTEXT, new_ctx, context_filled)
            with m.State("ACT_LINK"):
                # from here on nothing traps: the writes begin.  The free list
                # is linked through the sender field; the header stays a
                # MethodContext's, so popping it is one write.
                m.d.comb += [addr.eq(free_list(alloc_frame, m_large)), wdata.eq(rdata), we.eq(1)]
                remember_head(alloc_frame, m_large, rdata, addr)
                m.next = "ACT_W_SENDER"
            # A recycled context is not cleared (docs/architecture.md, "Context
            # recycling"): only the fields a method reads are written.  Its
            # receiver-map slot is already nil (only unescaped contexts recycle)
            # and its stack pointer is written when it stops being active.
            write_state("ACT_W_SENDER", new_ctx, F.CTX_SENDER, ctx[:lb], "ACT_W_PC")
            write_state("ACT_W_PC", new_ctx, F.CTX_PC,
                        small((m_nlits + 1) * 2 + 1), "ACT_W_METHOD")
            write_state("ACT_W_METHOD", new_ctx, F.CTX_METHOD, method_word,
                        "ACT_COPY_WRITE", counter.eq(0))
            with m.State("ACT_COPY_READ"):
                # the receiver and arguments move unchanged: same frame
                m.d.comb += addr.eq(stack_word((counter - nargs).as_signed()))
                m.next = "ACT_COPY_WRITE"
            with m.State("ACT_COPY_WRITE"):
                # the receiver's word was read by the send (SEND_RECEIVER)
                m.d.comb += [addr.eq(word_address(new_ctx, F.CTX_RECEIVER + counter)),
                             wdata.eq(Mux(counter == 0, rcvr_word, rdata)), we.eq(1)]
                m.d.sync += counter.eq(counter + 1)
                with m.If(counter != nargs):
                    m.next = "ACT_COPY_READ"
                with m.Elif(m_ntemps != nargs):
                    m.next = "ACT_TEMPS"
                with m.Else():
                    m.next = "ACT_SAVE_PC"
            with m.State("ACT_TEMPS"):
                # Blue Book: temporaries start nil
                m.d.comb += [addr.eq(word_address(new_ctx, F.CTX_RECEIVER + counter)),
                             wdata.eq(F.NIL), we.eq(1)]
                m.d.sync += counter.eq(counter + 1)
                with m.If(counter == m_ntemps):
                    m.next = "ACT_SAVE_PC"
            with m.State("ACT_SAVE_PC"):
                # Blue Book storeContextRegisters of the sender
                m.d.comb += [addr.eq(word_address(ctx, F.CTX_PC)), we.eq(1),
                             wdata.eq(small(ip + instr.length + 1))]
                m.d.sync += [r_pc.eq(wdata), r_watch.eq(addr)]
                m.next = "ACT_SAVE_SP"
            with m.State("ACT_SAVE_SP"):
                m.d.comb += [addr.eq(word_address(ctx, F.CTX_STACKP)), we.eq(1),
                             wdata.eq(small(sp - nargs - 1 - (ctx >> 1) - CTX_WORD_OFFSET))]
                # the new context is fresh, and its sender as this leaves it
                known = [ctx_fresh.eq(1), ctx_large.eq(m_large), rs_valid.eq(home == ctx),
                         r_sender.eq(ctx), r_method.eq(method), r_rcvr.eq(rcvr),
                         r_stackp.eq(wdata), r_self.eq(rcvr_word)] if self.caches else []
                retire(ctx.eq(new_ctx), home.eq(new_ctx), method.eq(new_method),
                       rcvr.eq(new_rcvr), *known,
                       sp.eq((new_ctx >> 1) + CTX_WORD_OFFSET + m_ntemps),
                       next_ip=(m_nlits + 1) * 2)

            # --- return: Blue Book returnValue:to: -------------------------------
            def dying_context():
                """Blue Book: a context that never escaped dies on return.  One
                the core activated and saw no escape of is recycled without
                reading its size and receiver-map words."""
                with m.If(cached(ctx_fresh)):
                    recycle_fresh_context()
                with m.Else():
                    m.d.comb += addr.eq(object_word(ctx, 0))
                    m.next = "RET_SIZE"

            def sender_found(value):
                m.d.sync += sender.eq(value)
                m.d.comb += addr.eq(word_address(value, F.CTX_PC))
                with m.If(immediate(value) | (frame_of(value) != frame_of(ctx))):
                    trap(Halt.TRAP_RETURN)
                with m.Else():
                    m.next = "RET_PC"

            with m.State("RETURN"):
                with m.If(rdata == F.NIL):
                    with m.If(instr.top & ~instr.from_block):
                        # a base context returns: the machine's answer
                        m.d.sync += self.result.eq(top)
                        m.d.comb += [self.retire.eq(1), self.retire_ip.eq(ip),
                                     self.retire_bytecode.eq(bytecode)]
                        trap(Halt.RETURNED)
                    with m.Else():
                        trap(Halt.TRAP_RETURN)
                with m.Else():
                    decode(rdata, frame_of(ctx), "RET_SENDER", sender_found)
            with m.State("RET_SENDER"):
                sender_found(t_value)
            with m.State("RET_PC"):
                m.d.sync += ret_pc.eq(rdata)
                m.d.comb += addr.eq(word_address(sender, F.CTX_METHOD))
                with m.If(rdata == F.NIL):
                    trap(Halt.TRAP_RETURN)              # cannotReturn:
                with m.Else():
                    m.next = "RET_KIND"

            def sender_method_found(value):
                m.d.sync += new_method.eq(value)
                m.d.comb += addr.eq(word_address(sender, F.CTX_RECEIVER))
                m.next = "RET_RECEIVER"
            with m.State("RET_KIND"):
                # Blue Book isBlockContext: field 3 of a BlockContext is its
                # argument count, a SmallInteger; of a MethodContext, its method
                # (no read of the class word)
                with m.If(rdata[0]):
                    m.d.comb += addr.eq(word_address(sender, F.CTX_HOME))
                    m.next = "RET_HOME"
                with m.Else():
                    m.d.sync += ret_home.eq(sender)
                    decode(rdata, frame_of(sender), "RET_METHOD_FOUND", sender_method_found)
            fetch_context_registers("RET", frame_of(sender), Halt.TRAP_RETURN,
                                    new_rcvr, sender, F.CTX_STACKP, "RET_STACKP")
            with m.State("RET_STACKP"):
                m.d.sync += ret_stackp.eq(rdata)
                m.d.sync += value_word.eq(return_value)
                with m.If(~instr.top & (instr.constant == 0)):
                    m.d.comb += addr.eq(word_address(ctx, F.CTX_RECEIVER))
                    m.next = "RET_SELF"
                with m.Else():
                    dying_context()
            with m.State("RET_SELF"):
                m.d.sync += value_word.eq(rdata)
                dying_context()
            with m.State("RET_SIZE"):
                m.d.sync += old_size.eq(rdata)
                m.d.comb += addr.eq(word_address(ctx, F.CTX_RECEIVER_MAP))
                m.next = "RET_RECEIVER_MAP"
            with m.State("RET_RECEIVER_MAP"):
                # a MethodContext (its own home) that never escaped: thisContext,
                # blocks and exports all set the receiver-map slot
                size_ok = (old_size == F.SMALL_CONTEXT_FIELDS + 3) | \
                    (old_size == F.LARGE_CONTEXT_FIELDS + 3)
                m.d.sync += recycle.eq((ctx == home) & (rdata == F.NIL) & size_ok)
                free_list_head(ret_large)
            with m.State("RET_FREE_HEAD"):
                # the sender field: nil, or the free-list link if it is recycled
                head = Mux(head_cached, fc_head, rdata)
                m.d.comb += [addr.eq(word_address(ctx, F.CTX_SENDER)), we.eq(1),
                             wdata.eq(Mux(recycle, head, F.NIL))]
                with m.If(~head_cached):
                    remember_head(frame_of(ctx), ret_large, rdata, free_list(frame_of(ctx), ret_large))
                with m.If(recycle):
                    m.d.sync += [fc_link.eq(head), fc_link_addr.eq(addr), fc_link_valid.eq(0)]
                m.next = "RET_W_PC"
            with m.State("RET_W_PC"):
                m.d.comb += [addr.eq(word_address(ctx, F.CTX_PC)), wdata.eq(F.NIL), we.eq(1)]
                m.next = "RET_W_VALUE"
            with m.State("RET_W_VALUE"):
                m.d.sync += ret_sp.eq(addr)       # the pushed value is the new stack top
                m.d.comb += [addr.eq(object_word(sender, CTX_WORD_OFFSET + 1 + (ret_stackp >> 1))),
                             wdata.eq(value_word), we.eq(1)]
                m.next = "RET_W_STACKP"
            with m.State("RET_W_STACKP"):
                m.d.comb += [addr.eq(word_address(sender, F.CTX_STACKP)), we.eq(1),
                             wdata.eq(small((ret_stackp >> 1) + 1))]
                with m.If(recycle):
                    m.next = "RET_W_HEAD"
                with m.Else():
                    return_done()
            with m.State("RET_W_HEAD"):
                m.d.comb += [addr.eq(free_list(frame_of(ctx), ret_large)), wdata.eq(ctx[:lb]),
                             we.eq(1)]
                # the returned context is the head now, linked to the old head
                remember_head(frame_of(ctx), ret_large, ctx[:lb], addr)
                if self.caches:
                    m.d.sync += fc_link_valid.eq(1)
                return_done()

            # --- the translation caches -------------------------------------------
            with m.State("T_IMPORT"):
                with m.If(imports.hit):
                    target = imports.method
                    m.d.sync += t_value.eq(target)
                    with m.If(t_decode):
                        resume()
                    with m.Elif(frame_of(target) == t_dst):
                        m.d.sync += t_word.eq(target[:lb])
                        resume()
                    with m.Else():
                        m.d.comb += [exports.lookup_valid.eq(1), exports.lookup_class.eq(t_dst),
                                     exports.lookup_selector.eq(target)]
                        m.next = "T_EXPORT"
                with m.Else():
                    trap(Halt.TRAP_IMPORT, 0, t_key)
            with m.State("T_EXPORT"):
                with m.If(exports.hit):
                    m.d.sync += t_word.eq(exports.method[:16])
                    resume()
                with m.Else():
                    trap(Halt.TRAP_EXPORT, t_dst, t_value[:abits])
        # a write to the word in the latch (or being loaded into it) forgets it
        with m.If(we & ((addr == code_latch_addr) | (latch_load & (addr == code_word)))):
            m.d.sync += code_latch_valid.eq(0)
        return m


#: States a translation continues at (``t_cont``).
CONTINUATIONS = ["PUSH_WRITE", "STORE_WRITE", "ASSOCIATION_FOUND", "SEND_RECEIVER_READ", "PRIM_PUT",
                 "SEND_RECEIVER_FOUND", "QUICK_WRITE", "RET_SENDER",
                 "RET_HOME_FOUND", "RET_METHOD_FOUND", "RET_RECEIVER_FOUND", "PRIM_PUT_CHARACTER",
                 "VALUE_HOME_FOUND", "VALUE_METHOD_FOUND", "VALUE_RECEIVER_FOUND", "CLASS_WRITE"]
