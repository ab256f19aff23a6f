"""The ``blocktalk`` command.

Exit status: 0 success, 1 an unhandled Smalltalk error (walkback on stderr),
2 bad input (syntax errors as ``FILE:LINE:COL: message``, bad options, missing
files), 3 a machine error (firmware fault, memory exhausted).
"""

import argparse
import sys
from pathlib import Path

from blocktalk.memory import format as F

EXIT_SMALLTALK_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_VM_ERROR = 3


def _block_size(text):
    try:
        return F.check_block_size(int(text, 0))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _sram_size(text):
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"SRAM size must be a number of bytes, not {text!r}") \
            from None
    if value <= 0:
        raise argparse.ArgumentTypeError("SRAM size must be positive")
    return value


def _add_machine_options(p):
    p.add_argument("--engine", choices=("vm",), default="vm",
                   help="execution engine: vm = the software core (default)")
    p.add_argument("--block-size", type=_block_size, default=F.DEFAULT_BLOCK_SIZE,
                   metavar="BYTES", help="block size, a power of two from 4096 to 65536 "
                   f"(default {F.DEFAULT_BLOCK_SIZE})")
    p.add_argument("--sram-size", type=_sram_size, default=None, metavar="BYTES",
                   help="core SRAM in bytes, a multiple of the block size "
                   "(default: 128 KB or 8 blocks, whichever is larger)")
    p.add_argument("--stats", action="store_true",
                   help="print the core's counters on stderr as 'name: value' lines")


def make_parser():
    parser = argparse.ArgumentParser(
        prog="blocktalk",
        description="A Smalltalk-80 machine with a block-structured object memory.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("eval", help="evaluate an expression and print its printString",
                       description="Compile EXPR as a doit (optionally starting with "
                       "'| temps |'), run it, print the result's printString.")
    p.add_argument("expression", metavar="EXPR")
    p.add_argument("files", nargs="*", metavar="FILE.st", help="files to file in first")
    _add_machine_options(p)
    p = sub.add_parser("run", help="file in Smalltalk files and run their doits",
                       description="File in FILE.st (chunk format) after the kernel and "
                       "run every doit chunk in order; Transcript output goes to stdout.")
    p.add_argument("files", nargs="+", metavar="FILE.st")
    _add_machine_options(p)
    return parser


def _write_out(data):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def main(argv=None):
    parser = make_parser()
    args = parser.parse_args(argv)
    from blocktalk.compiler import CompileError
    from blocktalk.image.errors import ImageError
    from blocktalk.sim.traps import SmalltalkError, VMError
    from blocktalk.runner import Machine

    sources = []
    for name in args.files:
        path = Path(name)
        try:
            sources.append((name, path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            print(f"blocktalk: {name}: no such file", file=sys.stderr)
            return EXIT_BAD_INPUT
        except (OSError, UnicodeDecodeError) as e:
            print(f"blocktalk: {name}: cannot read: {e}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if args.command == "eval":
        sources.append(("<eval>", args.expression.replace("!", "!!") + "!\n"))

    machine = None
    try:
        machine = Machine(sources, block_size=args.block_size, sram_size=args.sram_size,
                          out=_write_out)
        if args.command == "eval":
            value = machine.run_doits()
            text = machine.print_string(value)
            _write_out((text + "\n").encode("latin-1", "replace"))
        else:
            machine.run_doits()
        status = 0
    except (CompileError, ImageError) as e:
        print(str(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as e:
        print(f"blocktalk: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SmalltalkError as e:
        sys.stdout.flush()
        print(f"Error: {e.message}", file=sys.stderr)
        for line in e.walkback:
            print(f"  {line}", file=sys.stderr)
        status = EXIT_SMALLTALK_ERROR
    except (VMError, MemoryError, RecursionError) as e:
        print(f"blocktalk: machine error: {e}", file=sys.stderr)
        status = EXIT_VM_ERROR
    if args.stats and machine is not None:
        for line in machine.stats.lines():
            print(line, file=sys.stderr)
        print(f"blocks: {len(machine.store.blocks)}", file=sys.stderr)
        print(f"block_size: {machine.image.block_size}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
