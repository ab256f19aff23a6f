# amaranth: UnusedElaboratable=no
"""The core's SRAM: the memory form against a Python list; the SPRAM form's
construction (Amaranth's simulator cannot run SB_SPRAM256KA instances)."""

import random

import pytest

pytest.importorskip("amaranth")

from amaranth.back import rtlil  # noqa: E402
from amaranth.sim import Simulator  # noqa: E402

from blocktalk.hw.sram import SRAM  # noqa: E402


def test_reads_answer_next_cycle_and_hold_during_writes():
    rng = random.Random(4)
    init = [rng.randrange(1 << 16) for _ in range(64)]
    dut = SRAM(64, init)
    model = list(init)
    mismatches = []

    async def bench(ctx):
        expect = None                   # what rdata must show this cycle
        for _ in range(2000):
            addr, we, data = rng.randrange(64), rng.random() < 0.4, rng.randrange(1 << 16)
            if expect is not None and ctx.get(dut.rdata) != expect:
                mismatches.append((addr, ctx.get(dut.rdata), expect))
            ctx.set(dut.addr, addr)
            ctx.set(dut.we, we)
            ctx.set(dut.wdata, data)
            await ctx.tick()
            if we:
                model[addr] = data      # the read data keeps its old value
            else:
                expect = model[addr]
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert mismatches == []


def test_spram_form_has_one_instance_per_16k_words():
    text = rtlil.convert(SRAM(32768, spram=True))
    assert text.count("SB_SPRAM256KA") == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(words=1000), "words must be a power of two"),
    (dict(words=8192, spram=True), "an SPRAM SRAM has 1 to 4 banks of 16384 words"),
    (dict(words=131072, spram=True), "an SPRAM SRAM has 1 to 4 banks"),
    (dict(words=16384, init=[1], spram=True), "SB_SPRAM256KA cannot be initialised"),
])
def test_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SRAM(**kwargs)
