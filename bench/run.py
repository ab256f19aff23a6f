"""Benchmarks of the software core: ``python -m bench.run [--block-sizes 4096,65536]``.

For each workload and block size: bytecodes/s and sends/s (wall clock of the
run only, image build excluded), traps per 1000 bytecodes, far-reference
(import + export) traps per 1000 bytecodes, and the share of far references in
the built image.  Speed is measured here, never asserted in tests.
"""

import argparse
import time

from blocktalk.runner import Machine
from blocktalk.image.stats import placement_stats

WORKLOADS = {
    "benchFib": "25 benchFib",
    "benchmark": "3 benchmark",
    "factorial": "200 factorial printString size",
}


def measure(expr, block_size):
    m = Machine([("<bench>", expr + "!\n")], block_size=block_size)
    t0 = time.perf_counter()
    value = m.run_doits()
    dt = time.perf_counter() - t0
    s = m.stats
    far = s.traps.get("import", 0) + s.traps.get("export", 0)
    total = sum(s.traps.values())
    return {
        "result": m.print_string(value),
        "seconds": dt,
        "bytecodes": s.bytecodes,
        "bc_per_s": s.bytecodes / dt,
        "sends_per_s": s.sends / dt,
        "traps_per_1000": 1000 * total / s.bytecodes,
        "far_traps_per_1000": 1000 * far / s.bytecodes,
        "firmware_bytecodes": s.firmware_bytecodes,
        "image": m.image,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block-sizes", default="4096,8192,65536")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.block_sizes.split(",")]
    print(f"{'workload':<10} {'block':>6} {'result':>8} {'bytecodes':>10} {'bc/s':>10} "
          f"{'sends/s':>9} {'traps/1k':>9} {'far/1k':>8} {'fw bc':>9} {'far refs':>8}")
    for name in args.workloads.split(","):
        for bs in sizes:
            r = measure(WORKLOADS[name], bs)
            st = placement_stats(r["image"])
            far_share = st["far_share"]
            print(f"{name:<10} {bs:>6} {r['result'][:8]:>8} {r['bytecodes']:>10} "
                  f"{r['bc_per_s']:>10.0f} {r['sends_per_s']:>9.0f} {r['traps_per_1000']:>9.3f} "
                  f"{r['far_traps_per_1000']:>8.3f} {r['firmware_bytecodes']:>9} "
                  f"{far_share:>8.1%}", flush=True)


if __name__ == "__main__":
    main()
