"""Synthesis smoke (the figures themselves: ``python -m blocktalk.hw.synth``)."""

import pytest

pytest.importorskip("amaranth")

from blocktalk.hw.alu import SmallIntegerALU  # noqa: E402
from blocktalk.hw import synth  # noqa: E402


@pytest.mark.parametrize("target", ["ice40", "ecp5"])
def test_alu_synthesises_with_a_dsp_multiplier(target):
    try:
        synth.yosys_command()
    except RuntimeError as e:
        pytest.skip(str(e))
    figures = synth.synthesize(SmallIntegerALU(), target)
    assert figures["dsps"] == 1                    # the 15x15 multiply, not LUTs
    assert 100 < figures["luts"] < 600             # a tenth of the 4,000-LUT core budget
    assert figures["flip_flops"] == 0              # combinational


def test_dispatch_table_is_in_block_ram():
    from blocktalk.hw.dispatch import DispatchTable
    try:
        synth.yosys_command()
    except RuntimeError as e:
        pytest.skip(str(e))
    figures = synth.synthesize(DispatchTable(256), "ice40")
    assert figures["brams"] == 3                   # 256 x 48 bits: three 256 x 16 SB_RAM40_4K
    assert figures["luts"] < 400                   # no per-entry valid flip-flops
