"""The execution core: fetch, decode and execute Blue Book bytecodes from SRAM.

This slice of issue 4's core runs the bytecodes that touch only the active
context, its receiver and its method: pushes (receiver variables,
temporaries, literal constants and variables, self, constants), stores and
pops into receiver variables, temporaries and literal variables, pop,
duplicate, the jumps, the SmallInteger special sends through
:class:`~blocktalk.hw.alu.SmallIntegerALU`, and the return of a base
context's value.  Anything else -- another bytecode, an ALU failure, a
conditional jump on a non-Boolean, a word that is an OutPointer (an *import*),
a pointer that would have to be stored into another frame's block (an
*export*) -- **traps**: the core stops before the bytecode with every
register as it was (a precise trap) and reports the reason in ``reason``.
Whoever drives the core then executes that bytecode (the software core does,
for :mod:`blocktalk.hw.engine`) and lets the core go on.

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

Each bytecode takes a fetch cycle, a decode cycle (two for an instruction
with its extension byte in the next SRAM word), and one to three execute
cycles; docs/architecture.md section 14 gives the counts per class.
"""

from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import enum, wiring
from amaranth.lib.wiring import In, Out

from blocktalk.memory import format as F

from .alu import ALUOp, SmallIntegerALU
from .decoder import BytecodeDecoder, Kind
from .sram import SRAM, check_sram_size

__all__ = ["ExecutionCore", "Halt"]

#: Word offset of temporary 0 from a context's first word.
TEMP0 = F.OBJ_HEADER_WORDS + F.CTX_TEMP_FRAME_START
#: Special selectors 176-191 the ALU answers (index = bytecode - 176).
SPECIAL_ALU = {0: ALUOp.ADD, 1: ALUOp.SUB, 2: ALUOp.LT, 3: ALUOp.GT, 4: ALUOp.LE, 5: ALUOp.GE,
               6: ALUOp.EQ, 7: ALUOp.NE, 8: ALUOp.MUL, 12: ALUOp.SHIFT, 14: ALUOp.AND,
               15: ALUOp.OR}
#: Special selector ``==`` (bytecode 198): identity of two stack words.
SPECIAL_IDENTITY = 22
#: Words of push_constant 112-119 (112, self, is handled apart).
CONSTANT_WORDS = (0, F.TRUE, F.FALSE, F.NIL, 0xFFFF, F.smallint(0), F.smallint(1), F.smallint(2))


class Halt(enum.Enum, shape=4):
    """Why the core stopped."""
    RUNNING = 0
    RETURNED = 1            # the base context returned ``result``
    TRAP_BYTECODE = 2       # a bytecode this core does not execute
    TRAP_PRIMITIVE = 3      # the ALU failed (operand not a SmallInteger, overflow)
    TRAP_NOT_BOOLEAN = 4    # a conditional jump on a non-Boolean (mustBeBoolean)
    TRAP_IMPORT = 5         # a word read is an OutPointer (a far reference)
    TRAP_EXPORT = 6         # a pointer would be stored into another frame's block
    STOPPED = 7             # the host asked the core to stop (``stop``)


class ExecutionCore(wiring.Component):
    """The bytecode execution core.

    :param sram_size: bytes of SRAM (a power of two, 64 KB by default).
    :param block_size: block (frame) bytes.
    :param memory: ``"internal"`` (the core's own :class:`SRAM`, host port
        ``host_*``) or ``"external"`` (the ``mem_*`` port).
    :param sram_init: initial SRAM words (internal memory, simulation only).
    :param spram: SRAM of SB_SPRAM256KA banks (the iCE40 UP5K build).
    """

    def __init__(self, sram_size=65536, block_size=F.DEFAULT_BLOCK_SIZE, sram_init=(),
                 spram=False, memory="internal"):
        check_sram_size(sram_size, block_size)
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
            "run": In(1),
            "stop": In(1),
            # the OutPointer table: frame -> byte offset of its OutPointer region
            "op_we": In(1),
            "op_frame": In(self.fbits),
            "op_start": In(17),
            # state
            "halted": Out(1),
            "reason": Out(Halt),
            "result": Out(16),
            "ctx": Out(abits),
            "home": Out(abits),
            "method": Out(abits),
            "rcvr": Out(vbits),
            "ip": Out(16),
            "sp": Out(abits - 1),
            "dirty": Out(self.nframes),     # frames whose objects the core stored into
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

        ctx, home, method, rcvr = self.ctx, self.home, self.method, self.rcvr
        ip, sp = self.ip, self.sp
        bytecode = Signal(8)
        ext1 = Signal(8)
        top = Signal(16)                 # the stack top, read before EXECUTE
        instr = dec.instruction

        # --- frames and the OutPointer table ----------------------------------
        op_start = Array(Signal(17, name=f"op_start_{f}", init=65536)
                         for f in range(1 << self.fbits))
        with m.If(self.op_we):
            m.d.sync += op_start[self.op_frame].eq(self.op_start)

        def frame_of(value):
            return value[lb:abits] if abits > lb else 0

        def immediate(word):
            """A SmallInteger or nil/false/true: the same word in every block."""
            return word[0] | (word < F.IMMEDIATE_LIMIT)

        def far(word, frame):
            """A stored word that is one of ``frame``'s OutPointers."""
            return ~immediate(word) & (word >= op_start[frame])

        def crosses(word, src, dst):
            """Moving a stored word from frame ``src`` into frame ``dst`` needs a
            translation the core does not have (an import or an export)."""
            return ~immediate(word) & (frame_of(src) != frame_of(dst))

        def object_at(frame_base, word):
            """The core address of near pointer ``word`` in the frame at ``frame_base``."""
            return Cat(word[:lb], frame_of(frame_base)) if abits > lb else word

        # In DECODE the decoder already sees the byte arriving from SRAM, so
        # that the state machine skips the extension and stack-top reads an
        # instruction does not need.
        # In EXTEND it sees the extension byte arriving from the next word.
        in_decode = Signal()
        in_extend = Signal()
        arriving = Signal(8)
        m.d.comb += [
            arriving.eq(Mux(ip[0], rdata[:8], rdata[8:])),
            dec.bytecode.eq(Mux(in_decode, arriving, bytecode)),
            dec.ext1.eq(Mux(in_decode, rdata[:8], Mux(in_extend, rdata[8:], ext1))),
            dec.ext2.eq(0),
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
        rcvr_is_object = ~immediate(rcvr[:16]) & (rcvr < self.sram_size)
        source = Signal(abits)           # a value in the frame the pushed word comes from

        m.d.comb += self.halted.eq(~running)
        with m.If(running):
            m.d.sync += self.cycles.eq(self.cycles + 1)

        def trap(reason):
            """Stop before the bytecode: registers as they were (precise)."""
            m.d.sync += [self.reason.eq(reason), running.eq(0)]
            m.next = "HALTED"

        def retire(*updates, jump=None):
            m.d.sync += [*updates, ip.eq(ip + instr.length + (jump if jump is not None else 0))]
            m.d.comb += [self.retire.eq(1), self.retire_ip.eq(ip),
                         self.retire_bytecode.eq(bytecode)]
            m.next = "FETCH"

        def push(word, src):
            """Push stored ``word`` of the frame holding ``src`` onto the stack."""
            with m.If(far(word, frame_of(src))):
                trap(Halt.TRAP_IMPORT)
            with m.Elif(crosses(word, src, ctx)):
                trap(Halt.TRAP_EXPORT)
            with m.Else():
                m.d.comb += [addr.eq(sp + 1), wdata.eq(word), we.eq(1)]
                retire(sp.eq(sp + 1))

        def store(word_addr, holder, dirty=True):
            """Store the stack top into ``word_addr`` of the object ``holder``."""
            with m.If(far(top, frame_of(ctx))):
                trap(Halt.TRAP_IMPORT)
            with m.Elif(crosses(top, ctx, holder)):
                trap(Halt.TRAP_EXPORT)
            with m.Else():
                m.d.comb += [addr.eq(word_addr), wdata.eq(top), we.eq(1)]
                updates = [sp.eq(sp - instr.pop)]
                if dirty:
                    updates.append(self.dirty.bit_select(frame_of(holder), 1).eq(1))
                retire(*updates)

        with m.FSM():
            with m.State("HALTED"):
                with m.If(self.load):
                    m.d.sync += [ctx.eq(self.load_ctx), home.eq(self.load_home),
                                 method.eq(self.load_method), rcvr.eq(self.load_rcvr),
                                 ip.eq(self.load_ip), sp.eq(self.load_sp),
                                 self.reason.eq(Halt.RUNNING), self.cycles.eq(0),
                                 self.dirty.eq(0)]
                with m.Elif(self.run):
                    m.d.sync += [running.eq(1), self.reason.eq(Halt.RUNNING)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                with m.If(self.stop):
                    trap(Halt.STOPPED)
                with m.Else():
                    m.d.comb += addr.eq(code_word)
                    m.next = "DECODE"
            with m.State("DECODE"):
                # big-endian: an even ip is the word's high byte, and the
                # extension byte is then its low byte; an odd ip's is in the next word
                m.d.comb += in_decode.eq(1)
                m.d.sync += [bytecode.eq(arriving), ext1.eq(rdata[:8])]
                with m.If(ip[0] & (instr.length > 1)):
                    m.d.comb += addr.eq(code_word + 1)
                    m.next = "EXTEND"
                with m.Elif(needs_top):
                    m.d.comb += addr.eq(sp)
                    m.next = "TOP"
                with m.Else():
                    m.next = "EXECUTE"
            with m.State("EXTEND"):
                m.d.comb += in_extend.eq(1)
                m.d.sync += ext1.eq(rdata[8:])
                m.d.comb += addr.eq(sp)
                with m.If(needs_top):
                    m.next = "TOP"
                with m.Else():
                    m.next = "EXECUTE"
            with m.State("TOP"):
                m.d.sync += top.eq(rdata)
                m.next = "EXECUTE"
            with m.State("EXECUTE"):
                with m.Switch(instr.kind):
                    with m.Case(Kind.PUSH_RECEIVER_VARIABLE):
                        with m.If(rcvr_is_object):
                            m.d.comb += addr.eq((rcvr >> 1) + F.OBJ_HEADER_WORDS + instr.index)
                            m.d.sync += source.eq(rcvr)
                            m.next = "PUSH_READ"
                        with m.Else():
                            trap(Halt.TRAP_BYTECODE)
                    with m.Case(Kind.PUSH_TEMPORARY):
                        m.d.comb += addr.eq((home >> 1) + TEMP0 + instr.index)
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
                                m.d.comb += [addr.eq(sp + 1), wdata.eq(rcvr[:16]), we.eq(1)]
                                retire(sp.eq(sp + 1))
                            with m.Elif(frame_of(rcvr) != frame_of(ctx)):
                                trap(Halt.TRAP_EXPORT)
                            with m.Else():
                                m.d.comb += [addr.eq(sp + 1), wdata.eq(rcvr[:lb]), we.eq(1)]
                                retire(sp.eq(sp + 1))
                        with m.Else():
                            value = Signal(16)
                            with m.Switch(instr.constant):
                                for k, w in enumerate(CONSTANT_WORDS):
                                    with m.Case(k):
                                        m.d.comb += value.eq(w)
                            m.d.comb += [addr.eq(sp + 1), wdata.eq(value), we.eq(1)]
                            retire(sp.eq(sp + 1))
                    with m.Case(Kind.STORE_TEMPORARY):
                        store((home >> 1) + TEMP0 + instr.index, home, dirty=False)
                    with m.Case(Kind.STORE_RECEIVER_VARIABLE):
                        with m.If(rcvr_is_object):
                            store((rcvr >> 1) + F.OBJ_HEADER_WORDS + instr.index, rcvr)
                        with m.Else():
                            trap(Halt.TRAP_BYTECODE)
                    with m.Case(Kind.POP):
                        retire(sp.eq(sp - 1))
                    with m.Case(Kind.DUPLICATE):
                        m.d.comb += [addr.eq(sp + 1), wdata.eq(top), we.eq(1)]
                        retire(sp.eq(sp + 1))
                    with m.Case(Kind.JUMP):
                        retire(jump=instr.offset)
                    with m.Case(Kind.JUMP_IF):
                        with m.If((top == F.TRUE) | (top == F.FALSE)):
                            taken = (top == F.TRUE) == instr.on_true
                            retire(sp.eq(sp - 1), jump=Mux(taken, instr.offset, 0))
                        with m.Else():
                            trap(Halt.TRAP_NOT_BOOLEAN)
                    with m.Case(Kind.SEND_SPECIAL):
                        with m.If(Cat(*(instr.special == i for i in SPECIAL_ALU)).any() |
                                  (instr.special == SPECIAL_IDENTITY)):
                            m.d.comb += addr.eq(sp - 1)
                            m.next = "BINARY"
                        with m.Else():
                            trap(Halt.TRAP_BYTECODE)
                    with m.Case(Kind.RETURN):
                        with m.If(instr.top & ~instr.from_block):
                            m.d.comb += addr.eq((ctx >> 1) + F.OBJ_HEADER_WORDS +
                                                F.CTX_SENDER)
                            m.next = "RETURN"
                        with m.Else():
                            trap(Halt.TRAP_BYTECODE)
                    with m.Default():
                        trap(Halt.TRAP_BYTECODE)
            with m.State("PUSH_READ"):
                push(rdata, source)
            with m.State("ASSOCIATION"):
                # the literal is the Association: a near pointer of the method's block
                with m.If(immediate(rdata)):
                    trap(Halt.TRAP_BYTECODE)
                with m.Elif(far(rdata, frame_of(method))):
                    trap(Halt.TRAP_IMPORT)
                with m.Else():
                    a = object_at(method, rdata)
                    value_word = (a >> 1) + F.OBJ_HEADER_WORDS + F.ASSOC_VALUE
                    with m.If(instr.kind == Kind.STORE_LITERAL_VARIABLE):
                        store(value_word, a)
                    with m.Else():
                        m.d.comb += addr.eq(value_word)
                        m.d.sync += source.eq(method)
                        m.next = "PUSH_READ"
            with m.State("BINARY"):
                # the receiver (below the top) is on rdata; the argument is top
                with m.If(instr.special == SPECIAL_IDENTITY):
                    # both words are stored in the context's block: the same
                    # object is the same word (one OutPointer per target, section 4)
                    m.d.comb += [addr.eq(sp - 1), wdata.eq(Mux(rdata == top, F.TRUE, F.FALSE)),
                                 we.eq(1)]
                    retire(sp.eq(sp - 1))
                with m.Else():
                    m.d.comb += [alu.a.eq(rdata), alu.b.eq(top)]
                    with m.Switch(instr.special):
                        for index, op in SPECIAL_ALU.items():
                            with m.Case(index):
                                m.d.comb += alu.op.eq(op)
                    with m.If(alu.fail):
                        trap(Halt.TRAP_PRIMITIVE)
                    with m.Else():
                        m.d.comb += [addr.eq(sp - 1), wdata.eq(alu.result), we.eq(1)]
                        retire(sp.eq(sp - 1))
            with m.State("RETURN"):
                with m.If(rdata == F.NIL):
                    # a base context returns: the machine's answer
                    m.d.sync += self.result.eq(top)
                    m.d.comb += [self.retire.eq(1), self.retire_ip.eq(ip),
                                 self.retire_bytecode.eq(bytecode)]
                    trap(Halt.RETURNED)
                with m.Else():
                    trap(Halt.TRAP_BYTECODE)        # returning to a sender: next slice
        return m
