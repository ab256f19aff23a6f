"""The RTL core on the kernel benchmarks: ``python -m bench.rtl [--block-size 8192]``.

Runs each workload of :mod:`bench.run` with ``--engine rtl`` (the Amaranth core
simulated by Verilator, the software core executing the bytecodes it traps
on) and reports:

* the share of bytecodes the RTL core retired, and what the software core
  executed instead, by instruction kind;
* cycles per bytecode of the RTL core, overall and per bytecode class, from
  its retire port (each bytecode's cycles run from the previous retirement to
  its own); ``trap`` is the cycles of attempts that stopped before a bytecode
  the core does not execute;
* simulated cycles per second of the Verilator model (time inside the C++
  harness only) and bytecodes per second of the whole engine.

Speed is measured here, never asserted in tests.
"""

import argparse
import time

from blocktalk.memory import format as F
from blocktalk.runner import Machine
from blocktalk.sim.decode import decode
from blocktalk.hw.core import SPECIAL_ALU, SPECIAL_DIVIDE, SPECIAL_IDENTITY

from .run import WORKLOADS as KERNEL_WORKLOADS

#: The kernel benchmarks, and one that allocates (primitives 70, 71, 80); its sum
#: stays a SmallInteger (below 16384).
WORKLOADS = dict(KERNEL_WORKLOADS, objects="| s | s := 0. 1 to: 3000 do: [:i | "
                 "s := s + (Array new: i \\\\ 8) size + ([:x | x] value: 1)]. s")
#: Special selectors whose primitive allocates: blockCopy:, new, new:.
ALLOCATING = {200, 204, 205}

#: Bytecode classes of the acceptance list (issue 4), by kind.
CLASSES = {
    "push_receiver_variable": "push/store/pop", "push_temporary": "push/store/pop",
    "push_literal_constant": "push/store/pop", "push_literal_variable": "push/store/pop",
    "store_receiver_variable": "push/store/pop", "store_temporary": "push/store/pop",
    "store_literal_variable": "push/store/pop", "push_constant": "push/store/pop",
    "pop": "push/store/pop", "duplicate": "push/store/pop", "jump": "jump",
    "jump_if": "conditional jump", "return": "return", "send": "send",
}


def bytecode_class(b):
    ins = decode(b, 0, 0)
    if b in ALLOCATING:
        return "allocation (blockCopy:, new, new:)"
    if ins.kind == "send_special":
        if ins.special in SPECIAL_ALU or ins.special in SPECIAL_DIVIDE:
            return "SmallInteger arithmetic"
        return "== (identity)" if ins.special == SPECIAL_IDENTITY else "special send"
    return CLASSES.get(ins.kind, ins.kind)


def measure(expr, block_size):
    m = Machine([("<bench>", expr + "!\n")], block_size=block_size, engine="rtl")
    rtl = m.core.rtl
    rtl.take_histogram()
    inside = [0.0]
    run = rtl.run

    def timed(*args, **kw):
        t = time.perf_counter()
        try:
            return run(*args, **kw)
        finally:
            inside[0] += time.perf_counter() - t
    rtl.run = timed
    t0 = time.perf_counter()
    value = m.run_doits()
    dt = time.perf_counter() - t0
    hist = rtl.take_histogram()
    classes = {}
    for b, (n, c) in hist.items():
        key = "trap" if b == "trap" else bytecode_class(b)
        cn, cc = classes.get(key, (0, 0))
        classes[key] = (cn + (n if b != "trap" else 0), cc + c)
    e = m.stats.engine
    return {"result": m.print_string(value), "seconds": dt, "inside": inside[0],
            "bytecodes": m.stats.bytecodes, "stats": e, "classes": classes}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block-size", type=int, default=F.DEFAULT_BLOCK_SIZE)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    args = ap.parse_args(argv)
    for name in args.workloads.split(","):
        r = measure(WORKLOADS[name], args.block_size)
        e = r["stats"]
        rtl_bc, rtl_cyc = e["rtl_bytecodes"], e["rtl_cycles"]
        print(f"== {name} ({WORKLOADS[name]}), {args.block_size}-byte blocks: {r['result']}")
        print(f"bytecodes {r['bytecodes']}, RTL {rtl_bc} ({rtl_bc / r['bytecodes']:.1%}), "
              f"software {e['fallback_bytecodes']}")
        stops = sum(v for k, v in e.items() if k.startswith(("rtl_fill_", "rtl_stop_")))
        trap_cycles = r['classes'].get('trap', (0, 0))[1]
        fills = ", ".join(f"{k[9:]} {v}" for k, v in sorted(e.items())
                          if k.startswith("rtl_fill_"))
        print(f"RTL cycles {rtl_cyc}: {rtl_cyc / max(1, rtl_bc):.2f} per RTL bytecode, "
              f"{trap_cycles} in {stops} attempts that trapped "
              f"({trap_cycles / max(1, stops):.1f} each; host fills: {fills})")
        print(f"Verilator {rtl_cyc / r['inside'] / 1e6:.2f} M cycles/s; engine "
              f"{r['bytecodes'] / r['seconds']:.0f} bytecodes/s")
        print(f"  {'class':<26} {'retired':>10} {'cycles/bc':>9}")
        for key, (n, c) in sorted(r["classes"].items(), key=lambda kv: -kv[1][0]):
            if key != "trap":
                print(f"  {key:<26} {n:>10} {c / n:>9.2f}")
        soft = {k[9:]: v for k, v in e.items() if k.startswith("fallback_") and
                k != "fallback_bytecodes"}
        print("  software:", ", ".join(f"{k} {v}" for k, v in
                                      sorted(soft.items(), key=lambda kv: -kv[1])), flush=True)


if __name__ == "__main__":
    main()
