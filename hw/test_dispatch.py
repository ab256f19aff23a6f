# amaranth: UnusedElaboratable=no
"""The dispatch table against its cycle model, and the model against a dict."""

import random

import pytest

pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from blocktalk.hw.dispatch import DispatchTable, DispatchModel, dispatch_index  # noqa: E402


def random_cycles(n, entries, seed):
    """Lookups, fills and flushes over keys that collide in the table."""
    rng = random.Random(seed)
    classes = [rng.randrange(1, 4096) for _ in range(6)]
    selectors = [2 * rng.randrange(8, 32768) for _ in range(12)]
    keys = [(c, s) for c in classes for s in selectors]
    cycles = []
    for _ in range(n):
        lookup = rng.choice(keys) if rng.random() < 0.7 else None
        fill = (*rng.choice(keys), 2 * rng.randrange(8, 32768)) if rng.random() < 0.3 else None
        if fill is not None and lookup is not None and rng.random() < 0.2:
            fill = (*lookup, fill[2])            # fill what is looked up, same cycle
        flush = rng.random() < 0.02
        cycles.append((lookup, fill, flush))
    return cycles


def run_rtl(cycles, entries):
    dut = DispatchTable(entries)
    seen = []

    async def bench(ctx):
        for lookup, fill, flush in cycles:
            ctx.set(dut.lookup_valid, lookup is not None)
            if lookup is not None:
                ctx.set(dut.lookup_class, lookup[0])
                ctx.set(dut.lookup_selector, lookup[1])
            ctx.set(dut.fill_valid, fill is not None)
            if fill is not None:
                ctx.set(dut.fill_class, fill[0])
                ctx.set(dut.fill_selector, fill[1])
                ctx.set(dut.fill_method, fill[2])
            ctx.set(dut.flush, flush)
            hit = ctx.get(dut.hit)
            seen.append((hit, ctx.get(dut.method) if hit else None))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return seen


@pytest.mark.parametrize("entries, seed", [(16, 1), (64, 2), (256, 3)])
def test_rtl_equals_model(entries, seed):
    cycles = random_cycles(3000, entries, seed)
    model = DispatchModel(entries)
    want = [model.cycle(*c) for c in cycles]
    got = run_rtl(cycles, entries)
    assert sum(h for h, _ in want) > 100            # the run does hit
    mismatches = [(i, cycles[i - 1] if i else None, g, w)
                  for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert mismatches == []


def test_model_hits_only_what_was_filled_since_the_last_flush():
    cycles = random_cycles(5000, 16, 7)
    model = DispatchModel(16)
    filled = {}
    pending = None
    for lookup, fill, flush in cycles:
        hit, method = model.cycle(lookup, fill, flush)
        if pending is not None and hit:
            assert pending == method
        # what the lookup of this cycle must answer next cycle, if it hits
        if fill is not None and not flush:
            filled[fill[:2]] = fill[2]
        pending = filled.get(lookup) if lookup is not None and not flush else None
        if flush:
            filled = {}


def test_lookup_after_fill_hits_and_flush_clears():
    cycles = [(None, (5, 100, 2000), False), ((5, 100), None, False), (None, None, False),
              (None, None, True), ((5, 100), None, False), (None, None, False)]
    assert run_rtl(cycles, 16) == [(0, None), (0, None), (1, 2000), (0, None), (0, None),
                                   (0, None)]


def test_colliding_keys_replace_each_other():
    a = (5, 100)
    b = (5 ^ 16, 100)                   # same entry in a 16-entry table
    assert dispatch_index(*a, 16) == dispatch_index(*b, 16)
    cycles = [(None, (*a, 1000), False), (None, (*b, 2000), False), (a, None, False),
              (b, None, False), (None, None, False)]
    assert run_rtl(cycles, 16)[3:] == [(0, None), (1, 2000)]


@pytest.mark.parametrize("entries", [0, 8, 100, 8192, "256"])
def test_entries_are_checked(entries):
    with pytest.raises(ValueError, match="entries must be a power of two from 16 to 4096"):
        DispatchTable(entries)


@pytest.mark.parametrize("bits", [7, 25, 16.0])
def test_address_bits_are_checked(bits):
    with pytest.raises(ValueError, match=f"address_bits must be an integer from 8 to 24, "
                                         f"not {bits!r}"):
        DispatchTable(64, address_bits=bits)


def test_every_fifteenth_flush_sweeps_the_table():
    """Generations 1..15, then a sweep of one cycle per entry (lookups miss,
    fills dropped), then the table works again."""
    dut = DispatchTable(16)
    log = []

    async def bench(ctx):
        async def cycle(lookup=None, fill=None, flush=False):
            ctx.set(dut.lookup_valid, lookup is not None)
            if lookup:
                ctx.set(dut.lookup_class, lookup[0])
                ctx.set(dut.lookup_selector, lookup[1])
            ctx.set(dut.fill_valid, fill is not None)
            if fill:
                ctx.set(dut.fill_class, fill[0])
                ctx.set(dut.fill_selector, fill[1])
                ctx.set(dut.fill_method, fill[2])
            ctx.set(dut.flush, flush)
            log.append((ctx.get(dut.sweeping), ctx.get(dut.hit)))
            await ctx.tick()
        for _ in range(14):
            await cycle(flush=True)
        await cycle(fill=(3, 40, 500))
        await cycle(lookup=(3, 40))
        await cycle()
        assert log[-1] == (0, 1)              # generation 15 still works
        await cycle(flush=True)               # the fifteenth: sweep
        for _ in range(16):
            await cycle(lookup=(3, 40), fill=(3, 40, 600))
        await cycle(fill=(3, 40, 700))
        await cycle(lookup=(3, 40))
        await cycle()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    sweep = log[18:34]
    assert all(s == 1 for s, _ in sweep) and not any(h for _, h in sweep[1:])
    assert log[34][0] == 0 and log[-1] == (0, 1)


def test_the_index_mixes_in_the_frame_bits():
    """The k-th OutPointer of each frame sits at one offset from the frame's
    end; folding the whole address keeps those keys of the import cache
    (class 0) apart instead of all on one entry."""
    block = 8192
    for offset in (block - 4, block - 8, block - 132):
        entries = {dispatch_index(0, frame * block + offset, 64) for frame in range(8)}
        assert len(entries) == 8
