"""The RTL bytecode decoder against the software core's decoder, on every
bytecode with extension bytes that reach every field."""

import pytest

pytest.importorskip("amaranth")

from amaranth.sim import Simulator  # noqa: E402

from blocktalk.hw.decoder import BytecodeDecoder, Kind  # noqa: E402
from blocktalk.sim.decode import decode, KINDS  # noqa: E402

EXTENSIONS = [(0, 0), (1, 2), (31, 7), (32, 9), (63, 200), (64, 1), (100, 100), (127, 31),
              (128, 255), (191, 64), (192, 3), (255, 255)]


def test_every_bytecode_decodes_as_the_software_core_does():
    dut = BytecodeDecoder()
    mismatches = []
    fields = ("length", "index", "pop", "constant", "from_block", "top", "offset", "on_true",
              "nargs", "to_super", "special")

    async def bench(ctx):
        for b in range(256):
            for e1, e2 in EXTENSIONS:
                ctx.set(dut.bytecode, b)
                ctx.set(dut.ext1, e1)
                ctx.set(dut.ext2, e2)
                want = decode(b, e1, e2)
                got = ctx.get(dut.instruction)
                got_kind = KINDS[Kind(got.kind).value]
                if got_kind != want.kind:
                    mismatches.append((b, e1, e2, "kind", got_kind, want.kind))
                for f in fields:
                    g = int(getattr(got, f))
                    w = int(getattr(want, f))
                    if g != w:
                        mismatches.append((b, e1, e2, f, g, w))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert mismatches[:20] == []


def test_reference_agrees_with_the_software_cores_routines():
    """decode's kinds name the routines the software core runs for them."""
    from blocktalk.sim.bytecodes import BYTECODES
    routine_kinds = {
        "push_receiver_variable": {"push_receiver_variable"}, "push_temporary": {"push_temporary"},
        "push_literal_constant": {"push_literal_constant"},
        "push_literal_variable": {"push_literal_variable"},
        "pop_store_receiver_variable": {"store_receiver_variable"},
        "pop_store_temporary": {"store_temporary"}, "push_constant": {"push_constant"},
        "return_bytecode": {"return"}, "unused": {"unused"},
        "extended_push": {"push_receiver_variable", "push_temporary", "push_literal_constant",
                          "push_literal_variable"},
        "extended_store": {"store_receiver_variable", "store_temporary",
                           "store_literal_variable", "unused"},
        "single_extended_send": {"send"}, "double_extended_send": {"send"},
        "pop_stack": {"pop"}, "duplicate_top": {"duplicate"},
        "push_active_context": {"push_context"}, "short_jump": {"jump"},
        "short_conditional_jump": {"jump_if"}, "long_jump": {"jump"},
        "long_conditional_jump": {"jump_if"}, "send_special": {"send_special"},
        "send_literal": {"send"},
    }
    for b in range(256):
        for e1, e2 in EXTENSIONS:
            assert decode(b, e1, e2).kind in routine_kinds[BYTECODES[b].__name__], b
