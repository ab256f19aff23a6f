"""The core's local SRAM: one 16-bit read or write a cycle, reads answered the
cycle after (a registered read), as the iCE40 UP5K's SB_SPRAM256KA behaves.

In simulation (and for the ECP5, whose block RAM Yosys infers) it is an
``amaranth.lib.memory.Memory``, which can start with a software core's SRAM
contents.  For the iCE40 build (``spram=True``) it is a bank of
SB_SPRAM256KA instances, 16K words each: Amaranth's simulator ignores
instances, so the tests use the memory form and the synthesis the SPRAMs.
During a write the read data keeps its value in both forms.
"""

from amaranth.hdl import Array, ClockSignal, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from blocktalk.memory import format as F

__all__ = ["SRAM", "SPRAM_WORDS", "check_sram_size"]

#: Words of one SB_SPRAM256KA (16K x 16 bits, 32 KB).
SPRAM_WORDS = 16384


def check_sram_size(sram_size, block_size):
    """A core's SRAM: a power of two of at least one block (of a valid size)."""
    F.check_block_size(block_size)
    if not isinstance(sram_size, int) or sram_size < block_size \
            or sram_size & (sram_size - 1):
        raise ValueError(f"sram_size must be a power of two of at least one block "
                         f"({block_size} bytes), not {sram_size!r}")


class SRAM(wiring.Component):
    """Single-port SRAM.

    :param words: size in 16-bit words, a power of two.
    :param init: initial words (memory form only).
    :param spram: build from SB_SPRAM256KA banks (iCE40 UP5K; at most 4).
    """

    def __init__(self, words, init=(), spram=False):
        if not isinstance(words, int) or words < 1 or words & (words - 1):
            raise ValueError(f"words must be a power of two, not {words!r}")
        if spram and (words < SPRAM_WORDS or words > 4 * SPRAM_WORDS):
            raise ValueError(f"an SPRAM SRAM has 1 to 4 banks of {SPRAM_WORDS} words, "
                             f"not {words} words")
        if spram and any(init):
            raise ValueError("SB_SPRAM256KA cannot be initialised: load it through the host port")
        self.words = words
        self.init = list(init)
        self.spram = spram
        super().__init__({
            "addr": In(max(1, (words - 1).bit_length())),
            "wdata": In(16),
            "we": In(1),
            "rdata": Out(16),
        })

    def elaborate(self, platform):
        m = Module()
        if not self.spram:
            m.submodules.memory = memory = Memory(shape=16, depth=self.words, init=self.init)
            wr = memory.write_port()
            rd = memory.read_port()
            m.d.comb += [wr.addr.eq(self.addr), wr.data.eq(self.wdata), wr.en.eq(self.we),
                         rd.addr.eq(self.addr), rd.en.eq(~self.we), self.rdata.eq(rd.data)]
            return m
        banks = self.words // SPRAM_WORDS
        outputs = []
        bank = Signal(range(banks))
        for i in range(banks):
            out = Signal(16, name=f"bank{i}_data")
            select = (self.addr[14:] == i) if banks > 1 else 1
            m.submodules[f"spram{i}"] = Instance(
                "SB_SPRAM256KA",
                i_ADDRESS=self.addr[:14], i_DATAIN=self.wdata, i_MASKWREN=0b1111,
                i_WREN=self.we & select, i_CHIPSELECT=1, i_CLOCK=ClockSignal(),
                i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1, o_DATAOUT=out)
            outputs.append(out)
        if banks > 1:
            with m.If(~self.we):
                m.d.sync += bank.eq(self.addr[14:])
        m.d.comb += self.rdata.eq(Array(outputs)[bank])
        return m
