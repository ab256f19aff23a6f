"""The execution core: fetch, decode and execute Blue Book bytecodes from SRAM.

This is the first slice of issue 4's core: the context's own bytecodes --
pushes of temporaries, constants and SmallInteger-or-near literals, stores
and pops into temporaries, pop, duplicate, the jumps, the SmallInteger
special sends through :class:`~blocktalk.hw.alu.SmallIntegerALU`, and the
return of a base context's value.  Any other bytecode, an ALU failure, a
conditional jump on a non-Boolean, or a literal that is a far reference
*traps*: the core stops before the bytecode with every register as it was (a
precise trap), and reports the reason; the firmware (or, for now, the test)
takes it from there.

Registers are those of the software core (``sim/core.py``): ``ctx`` and
``home`` (core byte addresses of the active and home contexts), ``method``,
``ip`` (byte index into the method's body, as ``CompiledMethod`` bytes count:
the first bytecode is at ``(1 + literals) * 2``) and ``sp`` (SRAM word
address of the stack top).  The host sets them with ``load`` and reads and
writes SRAM through the host port while the core is halted.

The SRAM is used as a single-port RAM (one address a cycle, read or write),
so that the iCE40 build can map it onto SB_SPRAM256KA.  Each bytecode takes a fetch cycle, a decode cycle (two for an instruction
with an extension byte in the next SRAM word), and one or two execute
cycles; the cycle counts per bytecode class are reported by the tests.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
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


class Halt(enum.Enum, shape=3):
    """Why the core stopped."""
    RUNNING = 0
    RETURNED = 1            # the base context returned ``result``
    TRAP_BYTECODE = 2       # a bytecode this core does not execute
    TRAP_PRIMITIVE = 3      # the ALU failed (operand not a SmallInteger, overflow)
    TRAP_NOT_BOOLEAN = 4    # a conditional jump on a non-Boolean (mustBeBoolean)
    TRAP_FAR_LITERAL = 5    # a literal that is an object (translation: next slice)


class ExecutionCore(wiring.Component):
    """The bytecode execution core over its own SRAM.

    :param sram_size: bytes of SRAM (a power of two, 64 KB by default).
    :param block_size: block (frame) bytes.
    :param sram_init: initial SRAM words (simulation: a software core's SRAM).
    :param spram: SRAM of SB_SPRAM256KA banks (the iCE40 UP5K build, :mod:`.sram`).
    """

    def __init__(self, sram_size=65536, block_size=F.DEFAULT_BLOCK_SIZE, sram_init=(),
                 spram=False):
        check_sram_size(sram_size, block_size)
        self.sram_size = sram_size
        self.block_size = block_size
        self.sram_init = list(sram_init)
        self.spram = spram
        if len(self.sram_init) > sram_size // 2:
            raise ValueError(f"sram_init has {len(self.sram_init)} words; the SRAM holds "
                             f"{sram_size // 2}")
        abits = sram_size.bit_length() - 1
        self.abits = abits
        super().__init__({
            # host port (while halted)
            "host_addr": In(abits - 1),
            "host_wdata": In(16),
            "host_we": In(1),
            "host_rdata": Out(16),
            "load": In(1),
            "load_ctx": In(abits),
            "load_home": In(abits),
            "load_method": In(abits),
            "load_ip": In(16),
            "load_sp": In(abits - 1),
            "run": In(1),
            # state
            "halted": Out(1),
            "reason": Out(Halt),
            "result": Out(16),
            "ip": Out(16),
            "sp": Out(abits - 1),
            # retire port: one pulse per executed bytecode
            "retire": Out(1),
            "retire_ip": Out(16),
            "retire_bytecode": Out(8),
            "cycles": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        abits = self.abits
        # One address a cycle, for reading or for writing: a single-port RAM,
        # which is what the iCE40 UP5K's SB_SPRAM256KA is.
        m.submodules.sram = sram = SRAM(self.sram_size // 2, self.sram_init, spram=self.spram)
        addr = sram.addr
        m.submodules.alu = alu = SmallIntegerALU()
        m.submodules.decoder = dec = BytecodeDecoder()

        ctx = Signal(abits)
        home = Signal(abits)
        method = Signal(abits)
        ip, sp = self.ip, self.sp
        bytecode = Signal(8)
        ext1 = Signal(8)
        top = Signal(16)                 # the stack top, read before EXECUTE
        instr = dec.instruction
        # In DECODE the decoder already sees the byte arriving from SRAM, so
        # that the state machine skips the extension and stack-top reads an
        # instruction does not need.
        in_decode = Signal()
        arriving = Signal(8)
        m.d.comb += [
            arriving.eq(Mux(ip[0], sram.rdata[:8], sram.rdata[8:])),
            dec.bytecode.eq(Mux(in_decode, arriving, bytecode)),
            dec.ext1.eq(Mux(in_decode, sram.rdata[:8], ext1)),
            dec.ext2.eq(0),
        ]
        needs_top = Signal()
        m.d.comb += needs_top.eq(
            (instr.kind == Kind.STORE_TEMPORARY) | (instr.kind == Kind.DUPLICATE) |
            (instr.kind == Kind.JUMP_IF) | (instr.kind == Kind.SEND_SPECIAL) |
            (instr.kind == Kind.RETURN))
        top_needed = Signal()            # registered in DECODE, for EXTEND

        code_word = Signal(abits - 1)    # the SRAM word holding byte ip of the method
        m.d.comb += code_word.eq((method >> 1) + F.OBJ_HEADER_WORDS + (ip >> 1))
        temp_word = Signal(abits - 1)
        m.d.comb += temp_word.eq((home >> 1) + TEMP0 + instr.index)
        literal_word = Signal(abits - 1)
        m.d.comb += literal_word.eq((method >> 1) + F.OBJ_HEADER_WORDS + 1 + instr.index)

        running = Signal()
        m.d.comb += [self.halted.eq(~running), self.host_rdata.eq(sram.rdata)]
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

        with m.FSM():
            with m.State("HALTED"):
                m.d.comb += [addr.eq(self.host_addr),
                             sram.wdata.eq(self.host_wdata), sram.we.eq(self.host_we)]
                with m.If(self.load):
                    m.d.sync += [ctx.eq(self.load_ctx), home.eq(self.load_home),
                                 method.eq(self.load_method), ip.eq(self.load_ip),
                                 sp.eq(self.load_sp), self.reason.eq(Halt.RUNNING),
                                 self.cycles.eq(0)]
                with m.Elif(self.run):
                    m.d.sync += [running.eq(1), self.reason.eq(Halt.RUNNING)]
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += addr.eq(code_word)
                m.next = "DECODE"
            with m.State("DECODE"):
                # big-endian: an even ip is the word's high byte, and the
                # extension byte is then its low byte; an odd ip's is in the next word
                m.d.comb += in_decode.eq(1)
                m.d.sync += [bytecode.eq(arriving), ext1.eq(sram.rdata[:8]),
                             top_needed.eq(needs_top)]
                with m.If(ip[0] & (instr.length > 1)):
                    m.d.comb += addr.eq(code_word + 1)
                    m.next = "EXTEND"
                with m.Elif(needs_top):
                    m.d.comb += addr.eq(sp)
                    m.next = "TOP"
                with m.Else():
                    m.next = "EXECUTE"
            with m.State("EXTEND"):
                m.d.sync += ext1.eq(sram.rdata[8:])
                m.d.comb += addr.eq(sp)
                with m.If(top_needed):
                    m.next = "TOP"
                with m.Else():
                    m.next = "EXECUTE"
            with m.State("TOP"):
                m.d.sync += top.eq(sram.rdata)
                m.next = "EXECUTE"
            with m.State("EXECUTE"):
                with m.Switch(instr.kind):
                    with m.Case(Kind.PUSH_TEMPORARY):
                        m.d.comb += addr.eq(temp_word)
                        m.next = "PUSH_READ"
                    with m.Case(Kind.PUSH_LITERAL_CONSTANT):
                        m.d.comb += addr.eq(literal_word)
                        m.next = "PUSH_READ"
                    with m.Case(Kind.PUSH_CONSTANT):
                        with m.If(instr.constant == 0):
                            trap(Halt.TRAP_BYTECODE)        # self: not in this slice
                        with m.Else():
                            value = Signal(16)
                            with m.Switch(instr.constant):
                                for k, w in enumerate((0, F.TRUE, F.FALSE, F.NIL, 0xFFFF,
                                                       F.smallint(0), F.smallint(1),
                                                       F.smallint(2))):
                                    with m.Case(k):
                                        m.d.comb += value.eq(w)
                            m.d.comb += [addr.eq(sp + 1), sram.wdata.eq(value), sram.we.eq(1)]
                            retire(sp.eq(sp + 1))
                    with m.Case(Kind.STORE_TEMPORARY):
                        m.d.comb += [addr.eq(temp_word), sram.wdata.eq(top), sram.we.eq(1)]
                        retire(sp.eq(sp - instr.pop))
                    with m.Case(Kind.POP):
                        retire(sp.eq(sp - 1))
                    with m.Case(Kind.DUPLICATE):
                        m.d.comb += [addr.eq(sp + 1), sram.wdata.eq(top), sram.we.eq(1)]
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
                        with m.If(Cat(*(instr.special == i for i in SPECIAL_ALU)).any()):
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
                pointer = ~sram.rdata[0] & (sram.rdata >= 16)
                with m.If((instr.kind == Kind.PUSH_LITERAL_CONSTANT) & pointer):
                    # literals that are objects need translating into the
                    # context's block: not in this slice
                    trap(Halt.TRAP_FAR_LITERAL)
                with m.Else():
                    m.d.comb += [addr.eq(sp + 1), sram.wdata.eq(sram.rdata), sram.we.eq(1)]
                    retire(sp.eq(sp + 1))
            with m.State("BINARY"):
                # the receiver (below the top) is on sram.rdata; the argument is top
                m.d.comb += [alu.a.eq(sram.rdata), alu.b.eq(top)]
                with m.Switch(instr.special):
                    for index, op in SPECIAL_ALU.items():
                        with m.Case(index):
                            m.d.comb += alu.op.eq(op)
                with m.If(alu.fail):
                    trap(Halt.TRAP_PRIMITIVE)
                with m.Else():
                    m.d.comb += [addr.eq(sp - 1), sram.wdata.eq(alu.result), sram.we.eq(1)]
                    retire(sp.eq(sp - 1))
            with m.State("RETURN"):
                with m.If(sram.rdata == F.NIL):
                    # a base context returns: the machine's answer
                    m.d.sync += self.result.eq(top)
                    m.d.comb += [self.retire.eq(1), self.retire_ip.eq(ip),
                                 self.retire_bytecode.eq(bytecode)]
                    trap(Halt.RETURNED)
                with m.Else():
                    trap(Halt.TRAP_BYTECODE)        # returning to a sender: next slice
        return m
