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
