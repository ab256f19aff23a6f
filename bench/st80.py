"""The Smalltalk-80 v2 image on the software core: ``python -m bench.st80``.

For each block size and placement: the placement figures of the import
(blocks, mean fill, far references, OutPointers per block), then the image
resumed for ``--bytecodes`` bytecodes (start-up, drawing the screen, then its
user interface polling for input): bytecodes/s of that run (wall clock, import
excluded), traps and far-reference traps per 1000 bytecodes, block loads per
1000 bytecodes.  Needs ``../shared/st80``.
"""

import argparse
import time
from pathlib import Path

from blocktalk.image.st80 import import_st80
from blocktalk.image.stats import placement_stats
from blocktalk.runner import Machine
from blocktalk.sim.traps import Halt

VIRTUAL_IMAGE = Path(__file__).resolve().parents[2] / "shared" / "st80" / "VirtualImage"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block-sizes", default="8192,16384,32768,65536")
    ap.add_argument("--placements", default="metis,dfs")
    ap.add_argument("--bytecodes", type=int, default=1_000_000)
    ap.add_argument("--sram-size", type=int, default=1 << 20)
    args = ap.parse_args(argv)
    print(f"{'block':>6} {'placement':>9} {'blocks':>6} {'fill':>5} {'far refs':>8} "
          f"{'OPs mean/max':>12} {'bc/s':>8} {'traps/1k':>8} {'far/1k':>7} {'loads/1k':>8}")
    for bs in [int(x) for x in args.block_sizes.split(",")]:
        for placement in args.placements.split(","):
            image = import_st80(VIRTUAL_IMAGE, bs, placement)
            st = placement_stats(image)
            m = Machine(image=image, sram_size=max(args.sram_size, 16 * bs))
            m.resume()
            t0 = time.perf_counter()
            try:
                m.core.run(args.bytecodes)
            except Halt:
                pass
            dt = time.perf_counter() - t0
            s = m.stats
            total = sum(s.traps.values())
            far = s.traps.get("import", 0) + s.traps.get("export", 0)
            k = 1000 / s.bytecodes
            print(f"{bs:>6} {placement:>9} {st['blocks']:>6} {st['mean_fill']:>5.0%} "
                  f"{st['far_share']:>8.1%} {st['outpointers_mean']:>6.0f}/{st['outpointers_max']:<5} "
                  f"{s.bytecodes / dt:>8.0f} {total * k:>8.1f} {far * k:>7.1f} "
                  f"{s.block_loads * k:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
