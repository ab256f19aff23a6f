"""A multi-core blocktalk system: N cores, one master, Smalltalk processes
scheduled across the cores.

The cores are simulated one *quantum* (a few thousand bytecodes) at a time,
always the one whose simulated clock is furthest behind, so that their clocks
advance together; each core's clock counts the cycles of the bytecodes it ran
(:func:`work_cycles`) and the cycles it spent on block transfers and waiting
for blocks another core held (:mod:`.master`).  ``makespan_cycles`` is the
largest clock when the program ends.

Processes (docs/architecture.md section 15): each core runs one active
process (the scheduler's ``activeProcesses`` slots).  A core whose process
waits with nothing ready goes idle; a process made ready (``fork``,
``resume``, a Semaphore ``signal``) is taken by an idle core, at the simulated
time it became ready, through the same scheduler transaction the primitives
use.  Cores can be added and removed between quanta: a removed core's process
goes back to the ready lists and its blocks back to main memory.
"""

import sys
import time

from blocktalk.image.builder import build_image
from blocktalk.memory import format as F
from blocktalk.runner import Machine
from blocktalk.sim.processes import preempt_active_process, take_ready_process
from blocktalk.sim.traps import CoreIdle, Halt, VMError

from .master import HostPort, Master
from .store import BlockStore

#: bytecodes a core runs at most before the next core's turn ...
QUANTUM = 2000
#: ... and simulated cycles: a turn ends early once it has taken this many
#: (block transfers can make a few bytecodes long), so that the cores' clocks
#: stay close and a core waiting for a block another holds waits little
QUANTUM_CYCLES = 20000
#: bytecodes between checks of the cycle budget of a turn
CHUNK = 250
#: modelled cycles of a bytecode the RTL core does not execute (the trap into
#: the firmware and the handler's dispatch), and of each firmware bytecode:
#: the handlers still run on the software core, so they are charged what the
#: RTL core averages on the kernel benchmarks (3.5-4.0 cycles per bytecode,
#: ``make bench-rtl``; it was 6 when the core took 5.3-6.1)
FALLBACK_CYCLES = 50
FIRMWARE_CYCLES = 4


def work_cycles(core):
    """Simulated cycles of the bytecodes a core has run.  The software core
    counts one cycle per bytecode (its own and its firmware handlers'); the
    RTL engine counts the RTL core's cycles and models the rest."""
    st = core.stats
    if "rtl_cycles" not in st.engine:
        return st.bytecodes + st.firmware_bytecodes
    return (st.engine["rtl_cycles"] + FALLBACK_CYCLES * st.engine.get("fallback_bytecodes", 0)
            + FIRMWARE_CYCLES * st.firmware_bytecodes)


def read_mostly_blocks(image):
    """Block 0 and every block holding a method: the blocks cores replicate."""
    blocks = {0}
    for key in image.meta.get("methods", {}):
        blocks.add(int(key.split(":")[0]))
    return blocks


class System:
    """N cores of one engine sharing a master.

    :param cores: how many cores start (1 to :data:`blocktalk.memory.format.MAX_CORES`).
    :param engine: ``vm``, ``rtl`` or ``cosim`` (as :class:`~blocktalk.runner.Machine`).
    :param store: main memory of blocks (default: the image's, in memory).
    :param quantum: bytecodes per turn of a core.
    :param progress: called with a one-line summary about once a second.
    :param max_cores: cores that ever join (``cores`` and those added later):
        the RTL engines' cores are the cores of one
        :class:`~blocktalk.hw.cluster.CoreCluster` of that many, sharing its
        host port.
    """

    def __init__(self, files=(), cores=1, engine="vm", block_size=F.DEFAULT_BLOCK_SIZE,
                 sram_size=None, out=None, image=None, store=None, quantum=QUANTUM,
                 progress=None, max_cores=None):
        if not isinstance(cores, int) or not 1 <= cores <= F.MAX_CORES:
            raise ValueError(f"cores must be an int from 1 to {F.MAX_CORES}, not {cores!r}")
        max_cores = cores if max_cores is None else max_cores
        if not isinstance(max_cores, int) or not cores <= max_cores <= F.MAX_CORES:
            raise ValueError(f"max_cores must be an int from cores ({cores}) to "
                             f"{F.MAX_CORES}, not {max_cores!r}")
        self.max_cores = max_cores
        if not isinstance(quantum, int) or quantum < 1:
            raise ValueError(f"quantum must be a positive int, not {quantum!r}")
        self.image = image or build_image(list(files), block_size=block_size)
        self.store = BlockStore(self.image) if store is None else store
        self.engine = engine
        self.sram_size = sram_size
        self.out = out
        self.quantum = quantum
        self.progress = progress
        self.master = Master(self.store, read_mostly_blocks(self.image), self.clock, self.charge,
                             lambda index: self.turn_started.get(index, 0))
        self.turn_started = {}    # core index -> its clock when its last turn began
        self.machines = {}        # core index -> Machine
        self.cycles = {}          # core index -> simulated cycles at its last turn's end
        self.worked = {}          # core index -> work_cycles at its last turn's end
        self.idle = set()
        self.retired = {}         # index of a removed core -> (its Stats, its final clock)
        self.events = []          # (total bytecodes, "add" | "remove", core index or None)
        self.main = 0             # the core whose process runs the doits
        self.ready_posted = False
        self.ready_time = 0
        self.turns = 0
        self.cluster = None
        if engine in ("rtl", "cosim"):
            self.cluster = self._cluster()
        for _ in range(cores):
            self.add_core()
        self.idle.discard(0)      # core 0 runs the first Process

    def _cluster(self):
        """The Verilated cluster the RTL cores share (hw/cluster.py)."""
        try:
            from blocktalk.hw.verilated import VerilatedCluster, build_model
        except ImportError as e:
            raise ValueError(f"--engine rtl needs the HDL tools (pip install -e '.[hdl]'): "
                             f"{e}") from None
        block_size = self.image.block_size
        sram_size = self.sram_size or F.default_sram_size(block_size)
        library = build_model(sram_size, block_size, cores=self.max_cores)
        return VerilatedCluster(library, sram_size // 2, sram_size // block_size)

    # --- clocks --------------------------------------------------------------------------

    def clock(self, index):
        """Core ``index``'s simulated cycles now (also in the middle of its turn)."""
        core = self.machines[index].core
        return self.cycles[index] + work_cycles(core) - self.worked[index]

    def charge(self, index, cycles):
        self.cycles[index] += cycles

    def now(self):
        """The simulated time of the system: the clock of the core furthest behind."""
        busy = [self.clock(i) for i in self.machines if i not in self.idle]
        return min(busy) if busy else max((self.clock(i) for i in self.machines), default=0)

    # --- cores joining and leaving ---------------------------------------------------------

    def add_core(self):
        """A new idle core (it takes a ready process at its first turn); answers its index."""
        free = [i for i in range(self.max_cores)
                if i not in self.machines and i not in self.retired]
        if not free:
            raise ValueError(f"this system has room for {self.max_cores} cores (max_cores), "
                             "and they have all joined")
        index = free[0]
        start = self.now() if self.machines else 0
        self.cycles[index] = start
        self.worked[index] = 0
        port = HostPort(self.master, index)
        machine = Machine(image=self.image, store=port, engine=self.engine,
                          sram_size=self.sram_size, out=self.out, core_index=index,
                          cluster=self.cluster)
        core = machine.core
        self.worked[index] = work_cycles(core)
        core.on_ready = lambda index=index: self._posted(index)
        self.master.attach(index, core)
        self.machines[index] = machine
        self.idle.add(index)
        self.ready_posted = True
        return index

    def remove_core(self, index):
        """Core ``index`` leaves: its process goes back to the ready lists, its
        blocks to main memory."""
        if index not in self.machines:
            raise ValueError(f"there is no core {index}")
        if len(self.machines) == 1:
            raise ValueError("the last core cannot leave")
        machine = self.machines[index]
        core = machine.core
        self.master.restore(index)
        if index not in self.idle:
            core.pin_registers()
            machine._with_traps(lambda: preempt_active_process(core))
            self.master.sync_replicas(index)
        self._clear_registers(core)
        mem = core.mem
        mem.pinned = set()
        for frame, number in enumerate(mem.frame_block):
            if number is not None:
                mem.evict(frame)
        self.master.detach(index)
        self.retired[index] = (core.stats, self.clock(index))
        del self.machines[index]
        self.idle.discard(index)
        if self.main == index:
            self.main = None

    def at_bytecodes(self, count, action, index=None):
        """Between turns, once the cores together ran ``count`` bytecodes: ``add``
        a core or ``remove`` core ``index`` (the highest-numbered one if None)."""
        if action not in ("add", "remove"):
            raise ValueError(f"action must be 'add' or 'remove', not {action!r}")
        self.events.append((count, action, index))
        self.events.sort(key=lambda e: e[0])

    def _run_events(self):
        while self.events and self.events[0][0] <= self.total_bytecodes():
            _, action, index = self.events.pop(0)
            if action == "add":
                self.add_core()
            else:
                self.remove_core(max(self.machines) if index is None else index)

    # --- running -----------------------------------------------------------------------

    def _posted(self, index):
        self.ready_posted = True
        self.ready_time = max(self.ready_time, self.clock(index))

    @staticmethod
    def _clear_registers(core):
        core.ctx = core.home = core.method = core.rcvr = F.NIL
        core.ip = core.sp = 0
        core._pin_key = None
        core.pin_registers()

    def _wake_idle(self):
        """Idle cores take ready processes, the one furthest behind first."""
        if not self.ready_posted:
            return
        self.ready_posted = False
        for index in sorted(self.idle, key=self.clock):
            machine = self.machines[index]
            core = machine.core
            # an idle core's time passes until the process became ready
            self.cycles[index] += max(0, self.ready_time - self.clock(index))
            self.master.restore(index)
            took = machine._with_traps(lambda: take_ready_process(core))
            self.master.sync_replicas(index)      # it wrote its activeProcesses slot
            if not took:
                return
            self.idle.discard(index)

    def _turn(self, index):
        """One quantum of core ``index``; answers the doit's value if it ended."""
        machine = self.machines[index]
        core = machine.core
        self.turns += 1
        try:
            self.master.restore(index)
            core._pin_key = None
            core.pin_registers()
            start = self.clock(index)
            self.turn_started[index] = start
            end = core.stats.bytecodes + self.quantum
            while core.stats.bytecodes < end and self.clock(index) - start < QUANTUM_CYCLES:
                try:
                    core.run(min(end, core.stats.bytecodes + CHUNK))
                except Halt as h:
                    if h.value is not None:
                        raise
        except Halt as h:
            self.main = index
            return h.value
        except CoreIdle:
            self._clear_registers(core)
            self.idle.add(index)
        finally:
            work = work_cycles(core)
            self.cycles[index] += work - self.worked[index]
            self.worked[index] = work
            self.master.sync_replicas(index)
        return None

    def start(self, method_loc):
        if self.main is None or self.main not in self.machines:
            raise VMError("the core that ran the previous doit left the system")
        self.master.restore(self.main)
        self.machines[self.main].start(method_loc)
        self.master.sync_replicas(self.main)
        self.idle.discard(self.main)

    def run_method(self, method_loc, limit=None):
        """Run a doit on the main core, and every other process on any core,
        until the doit's base context returns; answers its value."""
        self.start(method_loc)
        last = time.monotonic()
        while True:
            self._run_events()
            self._wake_idle()
            busy = [i for i in self.machines if i not in self.idle]
            if not busy:
                raise VMError("every process is waiting: nothing can run (deadlock)")
            if limit is not None and self.total_bytecodes() >= limit:
                raise Halt(None)
            index = min(busy, key=lambda i: (self.clock(i), i))
            value = self._turn(index)
            if value is not None:
                return value
            if self.progress is not None and time.monotonic() - last >= 1.0:
                last = time.monotonic()
                self.progress(self.progress_line())

    def run_doits(self, limit=None):
        value = F.NIL
        for d in self.image.meta["doits"]:
            value = self.run_method((d["block"], d["offset"]), limit=limit)
        return value

    # --- figures -----------------------------------------------------------------------

    def all_stats(self):
        """(index, Stats, clock) of every core that ran, present or removed."""
        out = [(i, m.core.stats, self.clock(i)) for i, m in self.machines.items()]
        out += [(i, st, clk) for i, (st, clk) in self.retired.items()]
        return sorted(out, key=lambda e: e[0])

    def total_bytecodes(self):
        return sum(st.bytecodes for _, st, _ in self.all_stats())

    def makespan_cycles(self):
        return max(clk for _, _, clk in self.all_stats())

    def progress_line(self):
        return (f"[{len(self.machines)} cores] {self.total_bytecodes():,} bytecodes, "
                f"{self.makespan_cycles():,} cycles, {self.master.blocks_moved:,} blocks moved")

    def stats_lines(self):
        """``name: value`` lines (``--stats``)."""
        cores = self.all_stats()
        lines = [f"cores: {len(self.machines)}", f"cores_retired: {len(self.retired)}"]
        total = 0
        traps = {}
        engine = {}
        for i, st, clk in cores:
            lines.append(f"core{i}_bytecodes: {st.bytecodes}")
            lines.append(f"core{i}_cycles: {clk}")
            total += st.bytecodes
            for k, v in st.traps.items():
                traps[k] = traps.get(k, 0) + v
            for k, v in st.engine.items():
                engine[k] = engine.get(k, 0) + v
        lines.append(f"bytecodes: {total}")
        lines.append(f"makespan_cycles: {self.makespan_cycles()}")
        lines.append(f"traps: {sum(traps.values())}")
        lines += [f"traps_{k}: {traps[k]}" for k in sorted(traps)]
        counters = self.master.counters()
        lines += [f"{k}: {v}" for k, v in counters.items()]
        per_k = 1000.0 / total if total else 0.0
        lines.append(f"blocks_moved_per_1000_bytecodes: {counters['blocks_moved'] * per_k:.3f}")
        lines.append(f"host_service_ms_per_1000_bytecodes: "
                     f"{self.master.service_seconds * 1000 * per_k:.4f}")
        lines.append(f"host_service_cycles_per_1000_bytecodes: "
                     f"{counters['host_service_cycles'] * per_k:.1f}")
        lines.append(f"turns: {self.turns}")
        if self.cluster is not None:
            # clocks of the cluster's shared host port (hw/cluster.py): loading,
            # running, stopping and reading back the RTL cores, and table fills
            lines.append(f"host_port_cycles: {self.cluster.bus_cycles}")
        lines += [f"{k}: {v}" for k, v in engine.items()]
        return lines


def print_progress(line):
    """The progress display on a terminal's stderr (one line, rewritten)."""
    sys.stderr.write("\r" + line + "\x1b[K")
    sys.stderr.flush()
