"""N execution cores behind one host port: the multi-core system's top level.

:class:`CoreCluster` holds ``cores`` :class:`~blocktalk.hw.core.ExecutionCore`\\ s,
each with its own SRAM port (``mem_*[k]``: the core's 64 KB local store, which
the simulators serve from the software core's SRAM buffer and a board from
block RAM), and one **host port**, a word-wide register bus that the host (the
Cell's master core) shares among them.  Through it the host loads a core's
registers, writes its OutPointer table, fills and flushes its tables, starts
and stops it, and reads back what it stopped on.  docs/architecture.md
section 15 has the register map (:class:`Reg`).

When a core halts (a trap, ``stop``, or its base context returned) it raises
its **pending** bit; :class:`AttentionArbiter` grants the pending cores in
round-robin order, and the host learns who needs service by reading the
``MAILBOX`` register, whose word (core, reason) is the core's request.
Reading it takes the request: the next pending core's word comes next.  So the
host serves N cores through one port, and none waits for ever behind another.

Writes take effect at the clock edge; a read presents its word on
``host_rdata`` after the edge (one cycle of latency, like the SRAM).  A write
of ``CONTROL`` with ``STOP`` also stops the core *in the cycle of the write*,
so that the host can stop a core exactly after a given bytecode retires.
"""

import enum

from amaranth import Cat, Const, Instance, Module, Mux, Signal, Value, ClockSignal, ResetSignal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .core import ExecutionCore
from .sram import SRAM

__all__ = ["CoreCluster", "AttentionArbiter", "Reg", "Control", "MAX_CORES", "MAILBOX_VALID"]

#: Cores a cluster holds at most (the pending vector is read as one word).
MAX_CORES = 16
#: Bit of the ``MAILBOX`` word that says a core's request is in it.
MAILBOX_VALID = 1 << 31


class Reg(enum.IntEnum):
    """Registers of the host port (its address is ``core << 5 | register``).

    ``CTX`` ... ``HASH`` and ``FILL_KEY_HI`` ... ``FILL_DATA`` are staging
    registers the cores share: the host writes them, then a ``CONTROL`` LOAD
    or a ``FILL`` of one core takes them.  Reading ``CTX`` ... ``SP`` and
    ``HASH`` answers the addressed core's own registers.
    """
    CTX = 0
    HOME = 1
    METHOD = 2
    RCVR = 3
    IP = 4
    SP = 5
    ALLOC = 6           # the allocation frame; bit 31 set: none
    SPECIALS = 7
    FORMATS = 8
    CHARACTERS = 9
    ALLOC_LIMIT = 10
    HASH = 11
    OP_TABLE = 12       # write: frame << 17 | OutPointer region start, into the core's table
    FILL_KEY_HI = 13
    FILL_KEY = 14
    FILL_DATA = 15
    FILL = 16           # write: the table (0 dispatch, 1 import, 2 export) takes the fill
    CONTROL = 17        # write: :class:`Control` bits
    STATUS = 18         # read: halted | reason << 1 | sweeping << 5 | pending << 6 | stop << 7
    RESULT = 19
    TRAP_KEY_HI = 20
    TRAP_KEY = 21
    DIRTY = 22
    CYCLES = 23
    MAILBOX = 24        # read (any core address): VALID | core << 8 | reason; takes the request
    CONFIG = 25         # read: cores | frames << 8 | log2(block bytes) << 16


class Control(enum.IntFlag):
    """Bits of a ``CONTROL`` write."""
    LOAD = 1            # the core takes the staging registers
    RUN = 2             # the core runs from its registers
    STOP = 4            # level: the core stops before its next bytecode while set
    FLUSH = 8           # invalidate the core's dispatch table and caches
    KEEP = 16           # with RUN: resume with the core's memory caches (nothing written since it stopped)


#: Registers the staging block holds, in :class:`Reg` order from ``CTX``.
STAGING = (Reg.CTX, Reg.HOME, Reg.METHOD, Reg.RCVR, Reg.IP, Reg.SP, Reg.ALLOC, Reg.SPECIALS,
           Reg.FORMATS, Reg.CHARACTERS, Reg.ALLOC_LIMIT, Reg.HASH,
           Reg.FILL_KEY_HI, Reg.FILL_KEY, Reg.FILL_DATA)


class AttentionArbiter(wiring.Component):
    """Round-robin grant among the pending requests.

    ``grant`` is the first pending index after the last one taken (cyclically),
    ``valid`` whether any is pending; a ``take`` pulse makes the granted index
    the last one taken.

    :param n: requesters (1 to :data:`MAX_CORES`).
    """

    def __init__(self, n):
        if not isinstance(n, int) or not 1 <= n <= MAX_CORES:
            raise ValueError(f"n must be an int from 1 to {MAX_CORES}, not {n!r}")
        self.n = n
        self.bits = max(1, (n - 1).bit_length())
        super().__init__({"pending": In(n), "take": In(1), "valid": Out(1),
                          "grant": Out(self.bits)})

    def elaborate(self, platform):
        m = Module()
        n = self.n
        last = Signal(self.bits, init=n - 1)     # so that index 0 goes first after reset
        m.d.comb += self.valid.eq(self.pending.any())
        with m.Switch(last):
            for previous in range(n):
                with m.Case(previous):
                    # the priority chain starts after ``previous``: the
                    # assignment made last wins, so walk it backwards
                    for step in reversed(range(1, n + 1)):
                        k = (previous + step) % n
                        with m.If(self.pending[k]):
                            m.d.comb += self.grant.eq(k)
        with m.If(self.take & self.valid):
            m.d.sync += last.eq(self.grant)
        return m


class CoreCluster(wiring.Component):
    """``cores`` execution cores sharing one host port.

    :param cores: execution cores (1 to :data:`MAX_CORES`).
    :param sram_size: bytes of each core's SRAM.
    :param block_size: block (frame) bytes.
    :param core_module: ``None`` to elaborate the cores here (simulation with
        Amaranth, synthesis), or the name of a Verilog module of
        :class:`~blocktalk.hw.core.ExecutionCore` with ``memory="external"``
        to instantiate instead (the Verilator model: one module compiled once,
        instantiated ``cores`` times).
    :param local_sram: each core's SRAM is inside the cluster
        (:class:`~blocktalk.hw.sram.SRAM`; SB_SPRAM256KA banks if ``spram``)
        instead of behind the ``mem_*`` ports: the cluster as a board holds it.
    """

    def __init__(self, cores, sram_size=65536, block_size=None, core_module=None,
                 local_sram=False, spram=False):
        if not isinstance(cores, int) or not 1 <= cores <= MAX_CORES:
            raise ValueError(f"cores must be an int from 1 to {MAX_CORES}, not {cores!r}")
        if core_module is not None and not (isinstance(core_module, str) and
                                            core_module.isidentifier()):
            raise ValueError(f"core_module must be a Verilog module name, not {core_module!r}")
        if spram and not local_sram:
            raise ValueError("spram describes a local SRAM (local_sram=True)")
        kwargs = {} if block_size is None else {"block_size": block_size}
        self.cores = [ExecutionCore(sram_size, memory="external", **kwargs)
                      for _ in range(cores)]
        self.core_module = core_module
        self.local_sram = local_sram
        self.spram = spram
        self.sram_size = sram_size
        if core_module is not None:
            for core in self.cores:     # they are described by the Instances instead
                core._MustUse__silence = True
        first = self.cores[0]
        self.n = cores
        self.abits = first.abits
        self.nframes = first.nframes
        self.log2_block = first.log2_block
        self.cbits = max(1, (cores - 1).bit_length())
        ports = {
            "host_addr": In(self.cbits + 5),
            "host_wdata": In(32),
            "host_we": In(1),
            "host_re": In(1),
            "host_rdata": Out(32),
            "attention": Out(1),        # a request waits in the mailbox
            "retire": Out(1).array(cores),
            "retire_bytecode": Out(8).array(cores),
        }
        if not local_sram:
            ports.update({
                "mem_addr": Out(self.abits - 1).array(cores),
                "mem_wdata": Out(16).array(cores),
                "mem_we": Out(1).array(cores),
                "mem_rdata": In(16).array(cores),
            })
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        n = self.n
        reg = self.host_addr[:5]
        who = self.host_addr[5:]
        write = {r: self.host_we & (reg == r) for r in Reg}
        staging = {r: Signal(32, name=f"staging_{r.name.lower()}") for r in STAGING}
        for r, s in staging.items():
            with m.If(write[r]):
                m.d.sync += s.eq(self.host_wdata)

        m.submodules.arbiter = arbiter = AttentionArbiter(n)
        pending = Signal(n)             # requests, including one raised this cycle
        requested = Signal(n)           # requests raised before this cycle
        stop = Signal(n)
        was_halted = Signal(n, init=(1 << n) - 1)
        take = self.host_re & (reg == Reg.MAILBOX) & arbiter.valid
        m.d.comb += [arbiter.pending.eq(pending), arbiter.take.eq(take),
                     self.attention.eq(arbiter.valid)]
        control = self.host_wdata[:5]

        for k, core in enumerate(self.cores):
            if self.core_module is None:
                m.submodules[f"core{k}"] = core
            else:
                ports = {}
                for name, member in core.signature.members.items():
                    prefix = "i_" if member.flow == In else "o_"
                    ports[prefix + name] = Value.cast(getattr(core, name))
                m.submodules[f"core{k}"] = Instance(self.core_module, i_clk=ClockSignal(),
                                                     i_rst=ResetSignal(), **ports)
            mine = who == k
            control_k = write[Reg.CONTROL] & mine
            stop_now = Mux(control_k, control & Control.STOP != 0, stop[k])
            with m.If(control_k):
                m.d.sync += stop[k].eq(control & Control.STOP != 0)
            if self.local_sram:
                m.submodules[f"sram{k}"] = sram = SRAM(self.sram_size // 2, spram=self.spram)
                m.d.comb += [sram.addr.eq(core.mem_addr), sram.wdata.eq(core.mem_wdata),
                             sram.we.eq(core.mem_we), core.mem_rdata.eq(sram.rdata)]
            else:
                m.d.comb += [self.mem_addr[k].eq(core.mem_addr),
                             self.mem_wdata[k].eq(core.mem_wdata),
                             self.mem_we[k].eq(core.mem_we), core.mem_rdata.eq(self.mem_rdata[k])]
            m.d.comb += [
                self.retire[k].eq(core.retire), self.retire_bytecode[k].eq(core.retire_bytecode),
                core.load_ctx.eq(staging[Reg.CTX]), core.load_home.eq(staging[Reg.HOME]),
                core.load_method.eq(staging[Reg.METHOD]), core.load_rcvr.eq(staging[Reg.RCVR]),
                core.load_ip.eq(staging[Reg.IP]), core.load_sp.eq(staging[Reg.SP]),
                core.load_alloc.eq(staging[Reg.ALLOC]),
                core.load_alloc_valid.eq(~staging[Reg.ALLOC][31]),
                core.load_specials.eq(staging[Reg.SPECIALS]),
                core.load_formats.eq(staging[Reg.FORMATS]),
                core.load_characters.eq(staging[Reg.CHARACTERS]),
                core.load_alloc_limit.eq(staging[Reg.ALLOC_LIMIT]),
                core.load_hash.eq(staging[Reg.HASH]),
                core.load.eq(control_k & (control & Control.LOAD != 0)),
                core.run.eq(control_k & (control & Control.RUN != 0)),
                core.keep.eq(control & Control.KEEP != 0),
                core.stop.eq(stop_now),
                core.flush.eq(control_k & (control & Control.FLUSH != 0)),
                core.op_we.eq(write[Reg.OP_TABLE] & mine),
                core.op_frame.eq(self.host_wdata[17:]),
                core.op_start.eq(self.host_wdata[:17]),
                core.fill_valid.eq(write[Reg.FILL] & mine),
                core.fill_cache.eq(self.host_wdata[:2]),
                core.fill_key_hi.eq(staging[Reg.FILL_KEY_HI]),
                core.fill_key.eq(staging[Reg.FILL_KEY]),
                core.fill_data.eq(staging[Reg.FILL_DATA]),
            ]
            # a request is a halt the host has not taken: raised in the cycle
            # the core stops running (so the host sees it at once), dropped
            # when the host takes it or runs the core again
            m.d.sync += was_halted[k].eq(core.halted)
            m.d.comb += pending[k].eq(requested[k] | (core.halted & ~was_halted[k]))
            m.d.sync += requested[k].eq(pending[k] & ~(take & (arbiter.grant == k)) & ~core.run)

        of_who = {name: self._select(m, name, who, "who")
                  for name in ("halted", "reason", "sweeping", "ctx", "home", "method", "rcvr",
                               "ip", "sp", "hash", "result", "trap_key_hi", "trap_key",
                               "dirty", "cycles")}
        granted_reason = self._select(m, "reason", arbiter.grant, "granted")
        read = {
            Reg.MAILBOX: Mux(arbiter.valid,
                             Const(MAILBOX_VALID, 32) | (arbiter.grant << 8) | granted_reason, 0),
            Reg.CONFIG: Const(n | (self.nframes << 8) | (self.log2_block << 16), 32),
            Reg.STATUS: Cat(of_who["halted"], of_who["reason"], of_who["sweeping"],
                            pending.bit_select(who, 1), stop.bit_select(who, 1)),
        }
        for r in (Reg.CTX, Reg.HOME, Reg.METHOD, Reg.RCVR, Reg.IP, Reg.SP, Reg.HASH, Reg.RESULT,
                  Reg.TRAP_KEY_HI, Reg.TRAP_KEY, Reg.DIRTY, Reg.CYCLES):
            read[r] = of_who[r.name.lower()]
        with m.If(self.host_re):
            with m.Switch(reg):
                for r, value in read.items():
                    with m.Case(r):
                        m.d.sync += self.host_rdata.eq(value)
                with m.Default():
                    m.d.sync += self.host_rdata.eq(0)
        return m

    def _select(self, m, name, index, label):
        """Output ``name`` of core ``index`` (a multiplexer over the cores)."""
        outputs = [Value.cast(getattr(core, name)) for core in self.cores]
        out = Signal(len(outputs[0]), name=f"{name}_of_{label}")
        with m.Switch(index):
            for k, v in enumerate(outputs):
                with m.Case(k):
                    m.d.comb += out.eq(v)
        return out
