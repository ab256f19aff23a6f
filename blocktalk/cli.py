"""The ``blocktalk`` command.

Exit status: 0 success, 1 an unhandled Smalltalk error (walkback on stderr),
2 bad input (syntax errors as ``FILE:LINE:COL: message``, bad options, missing
files), 3 a machine error (firmware fault, memory exhausted).
"""

import argparse
import os
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


def _int_type(not_a_number, accept, out_of_range, base=10):
    """An argparse type: an int (in ``base``; 0 takes 0x and the like) that
    ``accept`` takes; ``not_a_number`` (with ``{text}``, the argument's repr)
    and ``out_of_range`` are the errors."""
    def parse(text):
        try:
            value = int(text, base)
        except ValueError:
            raise argparse.ArgumentTypeError(not_a_number.format(text=repr(text))) from None
        if not accept(value):
            raise argparse.ArgumentTypeError(out_of_range)
        return value
    return parse


_sram_size = _int_type("SRAM size must be a number of bytes, not {text}", lambda v: v > 0,
                       "SRAM size must be positive", base=0)
_cores = _int_type("cores must be a number, not {text}", lambda v: 1 <= v <= F.MAX_CORES,
                   f"cores must be from 1 to {F.MAX_CORES}")
_bytecodes = _int_type("expected a number of bytecodes, not {text}", lambda v: v >= 0,
                       "a number of bytecodes must not be negative")
_memory_blocks = _int_type("expected a number of blocks, not {text}", lambda v: v >= 2,
                           "main memory must hold at least 2 blocks")


def _add_engine_option(p):
    p.add_argument("--engine", choices=("vm", "rtl", "cosim"), default="vm",
                   help="execution engine: vm = the software core (default); rtl = the "
                   "Amaranth core simulated by Verilator, the software core handling "
                   "what it traps on; cosim = rtl with every bytecode checked against "
                   "the software core in lockstep")


def _add_image_run_options(p, engine=True, stats=True):
    """The options of the commands that run a block image."""
    if engine:
        _add_engine_option(p)
    p.add_argument("--sram-size", type=_sram_size, default=None, metavar="BYTES",
                   help="core SRAM in bytes")
    if stats:
        p.add_argument("--stats", action="store_true", help="counters on stderr")


def _add_machine_options(p):
    _add_engine_option(p)
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
    p.add_argument("--image", metavar="IMAGE", default=None,
                   help="evaluate in this block image (made by 'image import-st80') with "
                   "its own classes and printString")
    _add_machine_options(p)
    p = sub.add_parser("run", help="file in Smalltalk files and run their doits",
                       description="File in FILE.st (chunk format) after the kernel and "
                       "run every doit chunk in order; Transcript output goes to stdout.")
    p.add_argument("files", nargs="+", metavar="FILE.st")
    _add_machine_options(p)
    p.add_argument("--cores", type=_cores, default=None, metavar="N",
                   help=f"run on a system of N cores (1 to {F.MAX_CORES}) sharing a master "
                   "that moves blocks between them; Smalltalk processes run on any core")
    p.add_argument("--add-core-at", type=_bytecodes, action="append", default=[],
                   metavar="BYTECODES", help="with --cores: a core joins once the cores "
                   "ran this many bytecodes (repeatable)")
    p.add_argument("--remove-core-at", type=_bytecodes, action="append", default=[],
                   metavar="BYTECODES", help="with --cores: the highest-numbered core "
                   "leaves once the cores ran this many bytecodes (repeatable)")
    p.add_argument("--disk", metavar="PATH", default=None,
                   help="keep the image's blocks in a disk image at PATH (created; "
                   "main memory holds --memory-blocks of them) and save it at the end")
    p.add_argument("--memory-blocks", type=_memory_blocks, default=None, metavar="N",
                   help="with --disk: blocks main memory holds (default: all)")
    p = sub.add_parser("image", help="image conversion tools",
                       description="Convert images into blocktalk block images.")
    isub = p.add_subparsers(dest="image_command", metavar="IMAGE-COMMAND")
    isub.required = True
    q = isub.add_parser("import-st80", help="convert a Smalltalk-80 interchange image",
                        description="Read a Xerox Smalltalk-80 (Version 2) interchange-format "
                        "virtual image and write a blocktalk block image; print the placement "
                        "figures (blocks, fill, far references, OutPointers per block).")
    q.add_argument("virtual_image", metavar="VIRTUALIMAGE")
    q.add_argument("-o", "--output", required=True, metavar="OUT")
    q.add_argument("--block-size", type=_block_size, default=F.DEFAULT_BLOCK_SIZE,
                   metavar="BYTES", help="block size, a power of two from 4096 to 65536")
    q.add_argument("--placement", choices=("metis", "dfs"), default="metis",
                   help="metis: METIS graph partitioning of the reference graph (default); "
                   "dfs: depth-first order from the classes")
    p = sub.add_parser("trace", help="run a block image and print one line per bytecode",
                       description="Resume a block image (made by 'image import-st80') and "
                       "print each executed bytecode: its number, and for a send the selector. "
                       "Bytecodes of firmware trap handlers are not lines of the trace.")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--count", type=int, default=499, metavar="N",
                   help="bytecodes to execute (default 499)")
    _add_image_run_options(p)
    p = sub.add_parser("screenshot", help="run a block image, then write its display as a PNG",
                       description="Resume a block image (made by 'image import-st80'), "
                       "execute N bytecodes and write the display Form (the one the image "
                       "made the screen with beDisplay) as a 1-bit PNG.")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-o", "--output", required=True, metavar="PNG")
    p.add_argument("--bytecodes", type=int, default=1_000_000, metavar="N",
                   help="bytecodes to execute first (default 1000000)")
    _add_image_run_options(p, engine=False, stats=False)
    p = sub.add_parser("resume", help="run a block image for N bytecodes and report its state",
                       description="Resume a block image (made by 'image import-st80'), "
                       "execute N bytecodes and report: bytecodes, the active process's "
                       "priority, the processes waiting for input, the sends of error "
                       "selectors (the image's own error handling) and unimplemented "
                       "primitives. Exit status 1 if an error selector was sent.")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--bytecodes", type=int, default=1_000_000, metavar="N",
                   help="bytecodes to execute (default 1000000)")
    _add_image_run_options(p)
    return parser


#: Selectors whose send means the image met an error (its notifier opens).
ERROR_SELECTORS = ("error:", "doesNotUnderstand:", "primitiveFailed", "halt",
                   "cannotReturn:", "mustBeBoolean", "openContext:label:contents:")


def _write_out(data):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def main(argv=None):
    """The ``blocktalk`` command; answers the exit status."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (``blocktalk run ... | head``): not an error of
        # the program; stop quietly, as Unix tools do
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


def _main(argv=None):
    parser = make_parser()
    args = parser.parse_args(argv)
    from blocktalk.runner import Machine

    if args.command == "image":
        return _import_st80(args)
    if args.command == "trace":
        return _trace(args)
    if args.command == "screenshot":
        return _screenshot(args)
    if args.command == "resume":
        return _resume(args)
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
    if args.command == "eval" and args.image:
        return _eval_in_image(args)
    if args.command == "eval":
        sources.append(("<eval>", args.expression.replace("!", "!!") + "!\n"))

    if args.command == "run":
        if (args.add_core_at or args.remove_core_at) and args.cores is None:
            print("blocktalk: --add-core-at and --remove-core-at need --cores", file=sys.stderr)
            return EXIT_BAD_INPUT
        if args.memory_blocks is not None and args.disk is None:
            print("blocktalk: --memory-blocks needs --disk", file=sys.stderr)
            return EXIT_BAD_INPUT
        if args.cores is not None or args.disk is not None:
            return _run_system(args, sources)
    machine = None

    def work():
        nonlocal machine
        machine = Machine(sources, block_size=args.block_size, sram_size=args.sram_size,
                          out=_write_out, engine=args.engine)
        if args.command == "eval":
            value = machine.run_doits()
            text = machine.print_string(value)
            _write_out((text + "\n").encode("latin-1", "replace"))
        else:
            machine.run_doits()
    status = _report_failures(work)
    if status == EXIT_BAD_INPUT:
        return status
    if args.stats and machine is not None:
        _print_stats(args, machine)
        print(f"blocks: {len(machine.store.blocks)}", file=sys.stderr)
        print(f"block_size: {machine.image.block_size}", file=sys.stderr)
    return status


def _report_failures(work, bad_input=(ValueError,)):
    """Run ``work()``; answers the exit status, any failure reported on stderr:
    bad input (compile and image errors as they are, ``bad_input`` errors after
    ``blocktalk:``), a Smalltalk error with its walkback, a machine error."""
    from blocktalk.compiler import CompileError
    from blocktalk.image.errors import ImageError
    from blocktalk.sim.traps import SmalltalkError, VMError
    try:
        work()
        return 0
    except (CompileError, ImageError) as e:
        print(str(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except bad_input as e:
        print(f"blocktalk: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SmalltalkError as e:
        sys.stdout.flush()
        print(f"Error: {e.message}", file=sys.stderr)
        for line in e.walkback:
            print(f"  {line}", file=sys.stderr)
        return EXIT_SMALLTALK_ERROR
    except (VMError, MemoryError, RecursionError) as e:
        print(f"blocktalk: machine error: {e}", file=sys.stderr)
        return EXIT_VM_ERROR


def _run_system(args, sources):
    """``run --cores N`` (or ``--disk``): the doits on a multi-core system
    (host/system.py)."""
    from blocktalk.image.builder import build_image
    from blocktalk.host.system import System, print_progress
    system = None
    disk = None
    progress = print_progress if sys.stderr.isatty() else None

    def work():
        nonlocal system, disk
        image = build_image(sources, block_size=args.block_size)
        store = None
        if args.disk is not None:
            from blocktalk.host.disk import DiskImage
            from blocktalk.host.store import BlockStore
            disk = DiskImage.create(args.disk, image)
            store = BlockStore(disk=disk, memory_blocks=args.memory_blocks)
        system = System(image=image, cores=args.cores or 1, engine=args.engine,
                        sram_size=args.sram_size, out=_write_out, store=store,
                        progress=progress,
                        max_cores=(args.cores or 1) + len(args.add_core_at))
        for at in args.add_core_at:
            system.at_bytecodes(at, "add")
        for at in args.remove_core_at:
            system.at_bytecodes(at, "remove")
        system.run_doits()
        if disk is not None:
            for machine in system.machines.values():
                machine.core.mem.write_back_all()
            store.save()
    try:
        status = _report_failures(work, bad_input=(ValueError, OSError))
    finally:
        if progress is not None and system is not None:
            sys.stderr.write("\r\x1b[K")
        if disk is not None:
            disk.close()
    if status == EXIT_BAD_INPUT:
        return status
    if args.stats and system is not None:
        for line in system.stats_lines():
            print(line, file=sys.stderr)
        print(f"blocks: {system.store.count}", file=sys.stderr)
        print(f"block_size: {system.image.block_size}", file=sys.stderr)
        if disk is not None:
            print(f"disk_reads: {system.store.disk_reads}", file=sys.stderr)
            print(f"disk_writes: {system.store.disk_writes}", file=sys.stderr)
    return status


def _import_st80(args):
    from blocktalk.image.errors import ImageError
    from blocktalk.image.st80 import import_st80
    from blocktalk.image.file import write_image
    from blocktalk.image.stats import placement_stats
    try:
        image = import_st80(args.virtual_image, args.block_size, args.placement)
        write_image(args.output, image)
    except ImageError as e:
        print(f"blocktalk: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as e:
        print(f"blocktalk: {args.output}: cannot write: {e.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for key, value in placement_stats(image).items():
        print(f"{key}: {value}")
    print(f"large_objects: {image.meta.get('large_objects', 0)}")
    return 0


def _run_image(args, option, count, run):
    """Resume the block image ``args.image`` and call ``run(core, count)``.
    Answers (machine, exit status); machine is None when there is none (a
    negative count, a bad image file), and errors are already reported."""
    from blocktalk.sim.traps import SmalltalkError, VMError, Halt
    if count < 0:
        print(f"blocktalk: {option} must not be negative", file=sys.stderr)
        return None, EXIT_BAD_INPUT
    machine = _image_machine(args)
    if isinstance(machine, int):
        return None, machine
    status = 0
    try:
        machine.resume()
        run(machine.core, count)
    except Halt:
        pass
    except SmalltalkError as e:
        print(f"Error: {e.message}", file=sys.stderr)
        status = EXIT_SMALLTALK_ERROR
    except (VMError, MemoryError, RecursionError) as e:
        print(f"blocktalk: machine error: {e}", file=sys.stderr)
        status = EXIT_VM_ERROR
    return machine, status


def _print_stats(args, machine):
    """With ``--stats``: the core's counters on stderr, as ``name: value`` lines."""
    if args.stats:
        for line in machine.stats.lines():
            print(line, file=sys.stderr)


def _trace(args):
    def emit(b, selector):
        sys.stdout.write(f"{b} {selector}\n" if selector else f"{b}\n")
    machine, status = _run_image(args, "--count", args.count,
                                 lambda core, n: core.run_traced(n, emit))
    if machine is not None:
        _print_stats(args, machine)
    return status


def _image_machine(args):
    """A software core on the block image ``args.image``, or the exit status
    of a clear error."""
    from blocktalk.image.errors import ImageError
    from blocktalk.image.file import read_image
    from blocktalk.runner import Machine
    try:
        image = read_image(args.image)
    except ImageError as e:
        print(f"blocktalk: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return Machine(image=image, sram_size=args.sram_size, out=_write_out,
                       engine=getattr(args, "engine", "vm"))
    except ValueError as e:
        print(f"blocktalk: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _eval_in_image(args):
    from blocktalk.compiler import CompileError
    from blocktalk.sim.traps import SmalltalkError, VMError
    machine = _image_machine(args)
    if isinstance(machine, int):
        return machine
    try:
        value = machine.eval_in_image(args.expression)
        text = machine.print_string(value)
    except CompileError as e:
        print(str(e), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValueError as e:
        print(f"blocktalk: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SmalltalkError as e:
        print(f"Error: {e.message}", file=sys.stderr)
        return EXIT_SMALLTALK_ERROR
    except (VMError, MemoryError, RecursionError) as e:
        print(f"blocktalk: machine error: {e}", file=sys.stderr)
        return EXIT_VM_ERROR
    _write_out((text + "\n").encode("latin-1", "replace"))
    _print_stats(args, machine)
    return 0


def _screenshot(args):
    from blocktalk.host.screen import display_pixels, write_png
    machine, status = _run_image(args, "--bytecodes", args.bytecodes,
                                 lambda core, n: core.run(n))
    if status:
        return status
    try:
        width, height, rows = display_pixels(machine)
        write_png(args.output, width, height, rows)
    except ValueError as e:
        print(f"blocktalk: {e}", file=sys.stderr)
        return EXIT_VM_ERROR
    except OSError as e:
        print(f"blocktalk: {args.output}: cannot write: {e.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{args.output}: {width}x{height}, {sum(map(sum, rows))} black pixels")
    return 0


def _resume(args):
    import time
    from blocktalk.sim.processes import image_process_state
    errors = {}

    def emit(b, selector):
        if selector in ERROR_SELECTORS:
            errors[selector] = errors.get(selector, 0) + 1
    start = time.perf_counter()
    machine, status = _run_image(args, "--bytecodes", args.bytecodes,
                                 lambda core, n: core.run_traced(n, emit))
    if machine is None:
        return status
    seconds = time.perf_counter() - start
    stats = machine.stats
    print(f"bytecodes: {stats.bytecodes}")
    print(f"seconds: {seconds:.1f}")
    if status != EXIT_VM_ERROR:
        for key, value in image_process_state(machine).items():
            print(f"{key}: {value}")
    print(f"error_sends: {sum(errors.values())}" + (
        " (" + ", ".join(f"#{k} {v}" for k, v in sorted(errors.items())) + ")" if errors else ""))
    missing = stats.unimplemented_primitives
    print("unimplemented_primitives: " + (", ".join(f"{k} ({v} calls)" for k, v in
                                                   sorted(missing.items())) or "none"))
    _print_stats(args, machine)
    if errors and status == 0:
        status = EXIT_SMALLTALK_ERROR
    return status


if __name__ == "__main__":
    sys.exit(main())
