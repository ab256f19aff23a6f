"""``--engine rtl``: the RTL core (Verilator) executes, the software core
handles what the RTL core traps on.

:class:`RTLCore` is a software core (:class:`blocktalk.sim.core.Core`) whose
bytecode loop hands the registers to the Verilated execution core
(:class:`~blocktalk.hw.verilated.VerilatedCore`), which runs over the very
same SRAM buffer until it stops before a bytecode it does not execute (a
precise trap, :class:`~blocktalk.hw.core.Halt`).  That one bytecode then runs
on the software core's reference routine (``step``: the Blue Book semantics,
with its own traps into the firmware handlers and the host), and the RTL core
continues.  Everything else of the machine -- frames, the block store, the
firmware, the collector, processes and devices -- is the software core's, so
the two engines differ only in who executes each bytecode, and their output
must be identical (``tests/test_rtl_engine.py``).

Statistics (``--stats``): ``rtl_bytecodes`` retired by the RTL core,
``rtl_cycles`` it took for them, ``fallback_bytecodes`` executed by the
software core (``fallback_<kind>`` by instruction kind, ``sim/decode.py``),
and ``rtl_stop_<reason>`` per reason the RTL core stopped (a bytecode whose
software execution traps into the firmware stops the RTL core again when it
is retried).
"""

from blocktalk.memory import format as F
from blocktalk.sim.bytecodes import superclass_index
from blocktalk.sim.core import Core
from blocktalk.sim.decode import decode
from blocktalk.sim.memory import sram_words
from blocktalk.sim.inspect import Inspector
from blocktalk.sim.traps import Halt as SimHalt, Trap, VMError

from .core import Halt
from .verilated import DISPATCH, EXPORTS, IMPORTS, NO_FRAME, VerilatedCore, build_model

__all__ = ["RTLCore", "LockstepMismatch"]

SPECIALS_FIELD = F.FIRMWARE_FIELDS.index("specialSelectors")
FORMATS_FIELD = F.FIRMWARE_FIELDS.index("formatTable")
CHARACTERS_FIELD = F.FIRMWARE_FIELDS.index("characterTable")
#: bytecode -> its counter of bytecodes the software core executed
FALLBACK_COUNTER = ["fallback_" + decode(b, 0, 0).kind for b in range(256)]


class LockstepMismatch(VMError):
    """The RTL core and the software core disagreed on a bytecode."""


class RTLCore(Core):
    """A core whose bytecodes the RTL core executes where it can.

    Same parameters as :class:`blocktalk.sim.core.Core`, and

    :param cluster, slot: the RTL core is core ``slot`` of ``cluster`` (a
        :class:`~blocktalk.hw.verilated.VerilatedCluster` the cores of a
        multi-core system share); by default a cluster of its own.
    :param lockstep: co-simulate: the RTL core runs one bytecode at a time,
        and each one it retires is executed again by the software core from
        the same state; registers and every SRAM word must agree, or
        :class:`LockstepMismatch` says where they differ (``--engine cosim``).
    """

    def __init__(self, store, block_size, sram_size=None, out=None, lockstep=False,
                 cluster=None, slot=0):
        super().__init__(store, block_size, sram_size, out)
        self.lockstep = lockstep
        self._rtl_left = None     # the registers the RTL core stopped with
        mem = self.mem
        if cluster is None:
            self.rtl = VerilatedCore.alone(build_model(mem.nframes * mem.bs, mem.bs), mem.mem,
                                           mem.nframes)
        else:
            self.rtl = cluster.core(slot, mem.mem)
        for name in ("rtl_bytecodes", "rtl_cycles", "fallback_bytecodes"):
            self.stats.count(name, 0)
        if lockstep:
            self.stats.count("lockstep_checked", 0)
        self._tables = None       # the software core's tables the RTL core's copies mirror

    def _mirror_tables(self):
        """The RTL core's dispatch table and import and export caches hold
        entries of the software core's dictionaries; when those are replaced
        (a frame evicted or collected, primitive 89), the RTL core's are
        flushed."""
        mem = self.mem
        tables = (mem.dispatch, mem.import_cache, mem.export_cache)
        old = self._tables
        if old is None or any(a is not b for a, b in zip(tables, old)):
            self.rtl.flush()
            self._tables = tables

    def _firmware_array(self, field):
        """Core address of the Firmware's specialSelectors, formatTable or
        characterTable Array if it is resident and known without a trap, else
        0 (the RTL core then leaves special sends, primitives on pointer
        objects, or String at:, to the software core)."""
        mem = self.mem
        fw = self.firmware.object
        word = mem.mem[(fw >> 1) + F.OBJ_HEADER_WORDS + field]
        base = fw & ~mem.mask
        if word & 1 or word < F.IMMEDIATE_LIMIT:
            return 0
        if base + word < mem.op_abs[fw >> mem.log2]:
            return base + word
        return mem.import_cache.get(base + word, 0)

    def _fill(self, reason, key_hi, key):
        """Fill the RTL core's table that missed from the software core's, if it
        has the entry (else the software core executes the bytecode, trapping
        into the firmware to make it)."""
        mem = self.mem
        if reason == Halt.TRAP_IMPORT:
            target = mem.import_cache.get(key)
            if target is not None:
                self.rtl.fill(IMPORTS, 0, key, target)
                return True
        elif reason == Halt.TRAP_EXPORT:
            word = mem.export_cache.get((key_hi << mem.log2, key))
            if word is not None:
                self.rtl.fill(EXPORTS, key_hi, key, word)
                return True
        elif reason == Halt.TRAP_LOOKUP and key == 0:
            # ``class`` (199): the entry (class index, 0) holds the class object
            # while it is resident (the entries go with the tables when a frame
            # is evicted or collected)
            try:
                cls = self.class_object(key_hi)
            except Trap:
                return False
            if cls & 1 or cls < F.IMMEDIATE_LIMIT:
                return False
            self.rtl.fill(DISPATCH, key_hi, 0, cls)
            return True
        elif reason == Halt.TRAP_LOOKUP and key_hi == 0:
            # the entry (0, object) holds, for a method, its class's superclass
            # index (super sends); for a class, its own index (basicNew)
            try:
                if mem.fmt(key) in (F.FMT_METHOD, F.FMT_METHOD_ODD):
                    index = superclass_index(self, key)
                else:
                    index = self.class_index_of(key)
            except Trap:
                return False
            if index is None:
                return False
            self.rtl.fill(DISPATCH, 0, key, index)
            return True
        elif reason == Halt.TRAP_LOOKUP:
            method = mem.dispatch.get((key_hi, key))
            if method is not None:
                self.rtl.fill(DISPATCH, key_hi, key, method)
                return True
        return False

    def _alloc_limit(self):
        """Where objects the RTL core allocates must end in the allocation
        frame (``Memory.bump_allocate``'s bound), or 0: no allocation while the
        software core replays the objects of a trapped attempt or builds a
        large object (``Core.instantiate``)."""
        mem = self.mem
        f = mem.alloc_frame
        if f is None or self.replay or self.pending_large is not None:
            return 0
        return max(0, mem.op_abs[f] - (f << mem.log2) - mem.reserve)

    def _op_starts(self):
        """Each frame's OutPointer region start, as the core's table holds it."""
        mem = self.mem
        return [(a - (f << mem.log2)) if mem.frame_block[f] is not None else 65536
                for f, a in enumerate(mem.op_abs)]

    def run_bytecodes(self, limit=None):
        """The software core's loop contract (see ``Core.run``): execute until
        ``limit`` bytecodes have run (:class:`~blocktalk.sim.traps.Halt` with
        no value), the program ends, or a bytecode traps into the firmware."""
        stats = self.stats
        count = 0
        fills = 0                 # fills since the last retirement
        # The core may resume with its caches of SRAM words (Control.KEEP)
        # when nothing but a table fill (or, in lockstep, the software core's
        # check, which leaves the RTL core's memory) came between its stop and
        # this run: its registers and SRAM are as it left them.  In lockstep
        # the SRAM is compared to be sure, so that co-simulation checks the
        # caches too.
        keep = False
        left = None               # lockstep: the SRAM as the RTL core left it
        try:
            while True:
                budget = 1 << 62 if limit is None else limit - stats.bytecodes - count
                if budget <= 0:
                    raise SimHalt(None)
                registers = (self.ctx, self.home, self.method, self.rcvr, self.ip, self.sp)
                if self.lockstep:
                    budget = 1
                    before = sram_words(self.mem.mem)
                    keep = keep and before == left
                keep = keep and registers == self._rtl_left
                self._mirror_tables()
                alloc = self.mem.alloc_frame
                reason, regs, retired, cycles, dirty, _, (key_hi, key) = self.rtl.run(
                    registers + (NO_FRAME if alloc is None else alloc,
                                 self._firmware_array(SPECIALS_FIELD),
                                 self._firmware_array(FORMATS_FIELD),
                                 self._firmware_array(CHARACTERS_FIELD),
                                 self._alloc_limit(), self.hash_state),
                    self._op_starts(), budget, keep=keep)
                if keep:
                    stats.count("rtl_runs_kept")
                keep = False
                rtl_hash = regs[11]
                regs = regs[:6]
                self._rtl_left = tuple(regs)
                if self.lockstep and reason == Halt.STOPPED and retired:
                    left = self._check_against_software(before, regs, rtl_hash)
                    keep = True
                elif self.lockstep:
                    left = sram_words(self.mem.mem)
                self.hash_state = rtl_hash
                if reason == Halt.RETURNED:
                    retired -= 1          # the software core performs the final return
                count += retired
                stats.count("rtl_bytecodes", retired)
                stats.count("rtl_cycles", cycles)
                self._take_registers(regs, dirty)
                if reason == Halt.STOPPED:
                    continue
                fills = 0 if retired else fills
                # Two keys of one bytecode sharing an entry would evict each
                # other for ever: after a few fills the software core steps in.
                if fills < 4 and self._fill(reason, key_hi, key):
                    # the fills from the software core's dictionaries alone
                    # (not those that read objects) leave SRAM as it was
                    keep = reason in (Halt.TRAP_IMPORT, Halt.TRAP_EXPORT) or (
                        reason == Halt.TRAP_LOOKUP and key != 0 and key_hi != 0)
                    fills += 1
                    stats.count("rtl_fill_" + reason.name[5:].lower())
                    continue
                fills = 0
                stats.count("rtl_stop_" + reason.name.lower())
                b = self.info.code[self.ip]
                self.step()
                count += 1
                stats.count("fallback_bytecodes")
                stats.count(FALLBACK_COUNTER[b])
        finally:
            stats.bytecodes += count

    def run_traced(self, count, emit):
        """``Core.run_traced`` on this engine: ``count`` bytecodes, one at a
        time, each by the RTL core where it can (its traps serviced as the
        software core's are), ``emit(bytecode, selector or None)`` after each."""
        ins = Inspector(self)
        for _ in range(count):
            b = self.info.code[self.ip]
            selector = self.selector_name(ins, b, self.ip)
            target = self.stats.bytecodes + 1
            while True:
                try:
                    self.run_bytecodes(target)
                except Trap as trap:
                    self.service_trap(trap)
                    continue
                except SimHalt as h:
                    if h.value is not None:
                        raise
                break
            emit(b, selector)

    def _check_against_software(self, before, regs, rtl_hash):
        """Execute the bytecode the RTL core just retired again on the software
        core, from the state before it, and compare.  A bytecode the software
        core traps on (say ``==`` on a far reference, which it resolves while
        the RTL core compares words) is left as the RTL core did it.  Answers the SRAM as the RTL core
        left it (which it is again afterwards)."""
        m = self.mem.mem
        rtl_mem = sram_words(m)
        m[:] = before
        start = (self.ctx, self.home, self.method, self.rcvr, self.ip, self.sp)
        b = self.info.code[self.ip]
        try:
            self.step()
        except Trap:
            m[:] = rtl_mem
            self.stats.count("lockstep_software_trapped")
            return rtl_mem
        soft = (self.ctx, self.home, self.method, self.rcvr, self.ip, self.sp, self.hash_state)
        regs = tuple(regs) + (rtl_hash,)
        if soft != regs or m != rtl_mem:
            names = ("ctx", "home", "method", "rcvr", "ip", "sp", "hash")
            problems = [f"{n} RTL {r:#x} software {s:#x}"
                        for n, r, s in zip(names, regs, soft) if r != s]
            words = [i for i in range(len(m)) if m[i] != rtl_mem[i]]
            problems += [f"SRAM word {i * 2:#x}: RTL {rtl_mem[i]:#06x} software {m[i]:#06x}"
                         for i in words[:8]]
            if len(words) > 8:
                problems.append(f"... {len(words) - 8} more words")
            raise LockstepMismatch(
                f"lockstep: bytecode {b} at ip {start[4]} of method {start[2]:#x} "
                f"(ctx {start[0]:#x}): " + "; ".join(problems))
        # the software core's own state stands; only the step counter differs
        self.ctx, self.home, self.method, self.rcvr, self.ip, self.sp = start
        self.stats.count("lockstep_checked")
        m[:] = rtl_mem
        return rtl_mem

    def _take_registers(self, regs, dirty):
        ctx, home, method, rcvr, ip, sp = regs
        mem = self.mem
        if method != self.method:
            self.info = self.method_info(method)
        if (ctx, home, method, rcvr) != (self.ctx, self.home, self.method, self.rcvr):
            self.ctx, self.home, self.method, self.rcvr = ctx, home, method, rcvr
            mem.touch(ctx >> mem.log2)
            self.pin_registers()
        self.ip, self.sp = ip, sp
        f = 0
        while dirty:
            if dirty & 1:
                mem.dirty[f] = True
            dirty >>= 1
            f += 1
