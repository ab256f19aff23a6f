"""The Foundation issue's acceptance workloads, run in-process on the software core.

The default run keeps each under a few seconds; ``make test-slow`` runs the
full-size ones (marked ``slow``).  Speed is measured by ``make bench``, never here.
"""

import pytest

from blocktalk.memory import format as F
from blocktalk.runner import Machine

RECURSION = """Object subclass: #Deep
	instanceVariableNames: ''
	classVariableNames: ''
	poolDictionaries: ''
	category: 'Acceptance'!
!Deep methodsFor: 'recursion'!
down: n
	n = 0 ifTrue: [^0].
	^(self down: n - 1) + 1! !
"""


def run(source, block_size=F.DEFAULT_BLOCK_SIZE, sram_size=None, files=()):
    out = []
    m = Machine(list(files) + [("<test>", source)], block_size=block_size,
                sram_size=sram_size, out=out.append)
    value = m.run_doits()
    return m, m.print_string(value), b"".join(out).decode()


@pytest.mark.parametrize("expr, expected", [
    ("3 + 4", "7"),
    ("100 factorial printString size", "158"),
    ("(1 to: 100) inject: 0 into: [:a :b | a + b]", "5050"),
    ("#(3 1 2) asSortedCollection first", "1"),
])
@pytest.mark.parametrize("block_size", [4096, 8192, 65536])
def test_eval_examples(expr, expected, block_size):
    assert run(expr + "!", block_size)[1] == expected


def test_bench_fib_25():
    m, value, _ = run("25 benchFib!")
    assert value == "242785"
    assert m.stats.sends > 240_000


def test_benchmark_sieve_uses_a_large_object_at_8k():
    m, value, _ = run("1 benchmark!")
    assert value == "1028"                      # Array new: 8190 is 4 chunks at 8 KB


@pytest.mark.parametrize("block_size", [4096, 8192])
def test_recursion_10000_deep_spreads_contexts_over_blocks(block_size):
    m, value, _ = run("(Deep new down: 10000)!", block_size, files=[("deep.st", RECURSION)])
    assert value == "10000"
    assert m.stats.blocks_created > 10           # the contexts needed many blocks
    assert m.stats.block_evictions > 0           # more than the SRAM holds


GARBAGE = "| a | 1 to: {outer} do: [:i | 1 to: 300 do: [:j | a := Array new: 200]]. a size!"


def _garbage(outer, block_size, sram_size):
    m, value, _ = run(GARBAGE.format(outer=outer), block_size, sram_size)
    assert value == "200"
    return m


def test_garbage_many_times_the_sram():
    # 20 x 300 Arrays of 406 bytes = 2.4 MB, 18x the default 128 KB SRAM
    m = _garbage(20, 8192, None)
    assert m.stats.allocated_bytes > 18 * F.default_sram_size(8192)
    assert m.stats.gcs > 100
    assert m.stats.blocks_created <= 2           # collected, not just given new blocks


@pytest.mark.slow
@pytest.mark.parametrize("block_size", [4096, 8192, 65536])
def test_garbage_100_times_the_sram(block_size):
    sram = F.default_sram_size(block_size)
    outer = 100 * sram // (300 * 406) + 1
    m = _garbage(outer, block_size, None)
    assert m.stats.allocated_bytes > 100 * sram
    assert m.stats.blocks_created <= 2


def test_far_references_trap_at_4k():
    m, value, _ = run("(Deep new down: 300) printString size!", 4096,
                      files=[("deep.st", RECURSION)])
    assert value == "3"
    assert m.stats.traps.get("import", 0) + m.stats.traps.get("export", 0) > 0


def test_processes_and_semaphores():
    src = """| s r | s := Semaphore new. r := OrderedCollection new.
[r add: 1. s signal] fork. [r add: 2. s signal] fork.
s wait. s wait. r add: 3. r printString!"""
    for bs in (4096, 8192):
        assert run(src, bs)[1] == "'OrderedCollection (1 2 3 )'"
