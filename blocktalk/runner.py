"""Boot a software core on a freshly built image and run doits on it.

:class:`Machine` is what the CLI, the tests and the benchmarks use: it builds
the image (kernel + firmware handlers + user files), gives it to a host block
store, loads block 0 into frame 0 of a core, and runs each doit chunk in file
order until its base context returns.
"""

from blocktalk.image.builder import build_image
from blocktalk.memory import format as F
from blocktalk.host.store import BlockStore
from blocktalk.sim.core import Core
from blocktalk.sim.firmware import FirmwareEngine
from blocktalk.sim.inspect import Inspector
from blocktalk.sim.memory import sram_words
from blocktalk.sim.traps import Trap, Halt

ENGINES = ("vm", "rtl", "cosim")


def make_core(engine, store, block_size, sram_size, out, cluster=None, slot=0):
    """A core of ``engine``: ``vm``, the software core; ``rtl``, the RTL core
    simulated by Verilator with the software core behind its traps
    (hw/engine.py); ``cosim``, ``rtl`` with every bytecode the RTL core
    retires checked against the software core (lockstep).  An RTL core is core
    ``slot`` of ``cluster`` (a :class:`~blocktalk.hw.verilated.VerilatedCluster`),
    or the only core of its own cluster.  Bad choices raise ValueError with
    the reason."""
    if engine == "vm":
        return Core(store, block_size, sram_size, out=out)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    try:
        from blocktalk.hw.engine import RTLCore
    except ImportError as e:
        raise ValueError(f"--engine rtl needs the HDL tools (pip install -e '.[hdl]'): "
                         f"{e}") from None
    return RTLCore(store, block_size, sram_size, out=out, lockstep=engine == "cosim",
                   cluster=cluster, slot=slot)


class Machine:
    """One software core with its host.

    :param files: user source files, as paths or ``(name, text)`` pairs.
    :param out: called with the bytes of Transcript output.
    :param store: the core's host: a :class:`~blocktalk.host.store.BlockStore`
        of the image's blocks by default, or a port of a multi-core system's
        master (``host/system.py``), with ``core_index`` its slot there.
    :param cluster: the RTL cores' cluster of that system (``rtl``, ``cosim``).
    """

    def __init__(self, files=(), block_size=F.DEFAULT_BLOCK_SIZE, sram_size=None, out=None,
                 image=None, engine="vm", store=None, core_index=None, cluster=None):
        self.image = image or build_image(list(files), block_size=block_size)
        self.store = BlockStore(self.image) if store is None else store
        self.core = make_core(engine, self.store, self.image.block_size, sram_size, out,
                              cluster, core_index or 0)
        self.core.core_index = core_index
        mem = self.core.mem
        frame = mem.load_block(0)
        assert frame == 0
        mem.pinned = {0}
        meta = self.image.meta
        fw = meta["firmware"]
        self.engine = FirmwareEngine(
            self.core, fw["offset"],
            {int(k): v for k, v in meta["class_names"].items()},
            meta["methods"])
        self.core.attach_firmware(self.engine)
        self.inspector = Inspector(self.core)

    @property
    def stats(self):
        return self.core.stats

    # --- running -------------------------------------------------------------

    def core_address(self, block, offset):
        mem = self.core.mem
        frame = mem.load_block(block, busy=mem.pinned)
        return (frame << mem.log2) + offset

    def _with_traps(self, fn):
        """Run a set-up step, servicing its traps like a bytecode's (with
        allocation replay, so objects it makes survive its re-executions)."""
        core = self.core
        while True:
            try:
                value = fn()
                core.allocs = []
                core.replay = []
                return value
            except Trap as trap:
                core.service_trap(trap)

    def start(self, method_loc, receiver=F.NIL):
        """Make a base context (sender nil) for a method and make it active."""
        core = self.core
        method = self.core_address(*method_loc)
        core.method = method
        core.rcvr = receiver
        core.pin_registers()

        def setup():
            # the registers, not the locals: a collection may have moved them
            info = core.method_info(core.method)
            ctx = core.new_context(info.large)
            mem = core.mem
            base = ctx & ~mem.mask
            mw = mem.encode(core.method, base)
            rw = mem.encode(core.rcvr, base)
            a = ctx >> 1
            m = mem.mem
            m[a + 3 + F.CTX_SENDER] = F.NIL
            m[a + 3 + F.CTX_PC] = F.smallint(info.initial_ip + 1)
            m[a + 3 + F.CTX_STACKP] = F.smallint(info.ntemps)
            m[a + 3 + F.CTX_METHOD] = mw
            m[a + 3 + F.CTX_RECEIVER] = rw
            mem.dirty[ctx >> mem.log2] = True
            core.load_registers(ctx)
        self._with_traps(setup)

    def run_method(self, method_loc, receiver=F.NIL, limit=None):
        """Run a method in a base context; answers the returned core value."""
        self.start(method_loc, receiver)
        try:
            self.core.run(limit)
        except Halt as h:
            return h.value
        return None

    def run_doits(self, limit=None):
        """Run every doit chunk of the image in order; answers the last value."""
        value = F.NIL
        for d in self.image.meta["doits"]:
            value = self.run_method((d["block"], d["offset"]), limit=limit)
        return value

    def eval_in_image(self, source, filename="<eval>"):
        """Compile ``source`` as a doit with blocktalk's compiler against the
        image's globals, run it with the image's own classes (nil receiver),
        and answer the resulting core value.  For imported images, whose
        CompiledMethods and globals are not the builder's."""
        from blocktalk.compiler import compile_doit
        from blocktalk.image.image_literals import LiteralMaker
        spec = compile_doit(source, None, filename=filename)
        maker = LiteralMaker(self)
        core = self.core

        def make():
            literals = [maker.value(v) for v in spec.literals]
            code = bytes(spec.bytecodes)
            nlits = len(literals)
            method = core.instantiate(F.CLASS_INDEX["CompiledMethod"],
                                      F.byte_format(len(code), True),
                                      1 + nlits + (len(code) + 1) // 2, fill=0)
            mem = core.mem
            base = method & ~mem.mask
            words = [mem.encode(v, base) for v in literals]
            m = mem.mem
            a = (method >> 1) + 3
            header = spec.header - 0x8000 if spec.header > F.SMALLINT_MAX else spec.header
            m[a] = F.smallint(header)
            m[a + 1:a + 1 + nlits] = sram_words(words)
            padded = code + b"\0" * (len(code) & 1)
            for i in range(0, len(padded), 2):
                m[a + 1 + nlits + i // 2] = (padded[i] << 8) | padded[i + 1]
            return method
        method = self._with_traps(make)
        self.start(self.inspector.loc(method))
        try:
            core.run()
        except Halt as h:
            return h.value
        return F.NIL

    def resume(self):
        """Make the scheduler's active process's suspended context active (an
        imported image continues where it was saved)."""
        core = self.core

        def setup():
            sched = core.firmware_field_value("scheduler")
            process = core.mem.fetch(sched, F.SCHED_ACTIVE)
            ctx = core.mem.fetch(process, F.PROCESS_SUSPENDED_CONTEXT)
            core.load_registers(ctx)
        self._with_traps(setup)

    def print_string(self, value):
        """``value printString``, computed by the image's own printOn: methods."""
        core = self.core
        sel_loc = self.image.meta["selectors"]["printString"]
        selector = self.core_address(*sel_loc)
        core.rcvr = value
        core.method = selector
        core.pin_registers()

        def find():
            cidx = core.mem.class_index(value)
            key = (cidx, selector)
            if key not in core.mem.dispatch:
                raise Trap("lookup", selector, cidx)
            return core.mem.dispatch[key]
        method = self._with_traps(find)
        if method is None:
            return "<no printString>"
        loc = self.inspector.loc(method)
        result = self.run_method(loc, receiver=value)
        return self.inspector.bytes(self.inspector.loc(result)).decode("latin-1")
