# amaranth: UnusedElaboratable=no
"""The RTL allocator against the software core's ``CoreMemory.bump_allocate``.

Both start from the same SRAM (a real kernel image's block in a frame) and
make the same objects until the block is full; the answers, the cycle counts
and the frame's words afterwards must agree.
"""

import random

import pytest

pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from blocktalk.hw.allocator import Allocator  # noqa: E402
from blocktalk.memory import format as F  # noqa: E402
from blocktalk.sim.testing import fresh_machine  # noqa: E402


def requests(seed, n=200):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = rng.choice([0, 1, 2, 3, 7, 16, rng.randrange(0, 300)])
        out.append((rng.randrange(1, 4096), rng.randrange(8), body,
                    rng.choice([F.NIL, 0]), rng.randrange(1 << 15)))
    return out


@pytest.mark.parametrize("block_size, seed", [(4096, 1), (8192, 2)])
def test_rtl_allocates_as_the_software_core(block_size, seed):
    machine = fresh_machine(block_size)
    mem = machine.core.mem
    frame = 0                                   # block 0, the firmware block
    sram = list(mem.mem)                         # the RTL's copy of SRAM
    limit = mem.op_abs[frame] - (frame << mem.log2)
    reqs = requests(seed)
    want = [mem.bump_allocate(frame, c, f, body, fill, h) for c, f, body, fill, h in reqs]
    assert None in want and any(w is not None for w in want)   # it fills the block

    dut = Allocator(sram_size=len(sram) * 2, block_size=block_size)
    got = []
    cycles = []

    async def bench(ctx):
        rdata = 0
        for c, f, body, fill, h in reqs:
            ctx.set(dut.frame, frame)
            ctx.set(dut.class_index, c)
            ctx.set(dut.fmt, f)
            ctx.set(dut.body_words, body)
            ctx.set(dut.fill, fill)
            ctx.set(dut.hash, h)
            ctx.set(dut.limit, limit)
            ctx.set(dut.start, 1)
            n = 0
            while True:
                ctx.set(dut.mem_rdata, rdata)
                done, full, obj = ctx.get(dut.done), ctx.get(dut.full), ctx.get(dut.obj)
                addr, we, wdata = ctx.get(dut.mem_addr), ctx.get(dut.mem_we), ctx.get(dut.mem_wdata)
                if we:
                    sram[addr] = wdata
                rdata = sram[addr]
                await ctx.tick()
                ctx.set(dut.start, 0)
                n += 1
                if done:
                    got.append(None if full else obj)
                    cycles.append((body, full, n))
                    break

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got == want
    assert list(mem.mem) == sram
    for body, full, n in cycles:
        assert n == (3 if full else body + 6)


@pytest.mark.parametrize("sram_size, block_size", [(2048, 4096), (100000, 8192), ("64K", 8192)])
def test_sizes_are_checked(sram_size, block_size):
    with pytest.raises(ValueError, match="sram_size must be a power of two of at least one block"):
        Allocator(sram_size=sram_size, block_size=block_size)
