"""The object allocator: bump allocation in a frame of the core's SRAM.

Blue Book ``instantiateClass:...`` for ``basicNew``/``basicNew:`` and for new
contexts: read the frame's bump pointer (block header word ``BH_ALLOC``), check
that the object fits below the OutPointer region, advance the pointer, write
the three header words (size, class index with the hash's high bits, format
with the hash's low bits) and fill the body with nil or zero, one word per
cycle.  A full frame answers ``full``, and the core traps to the firmware's
``blockFull:`` (which collects, or asks the host for a fresh block); first-fit
allocation from the free list is the firmware's too.

Its reference is the software core's ``CoreMemory.bump_allocate``.

Timing, from ``start`` to ``done`` inclusive: 1 cycle to read the pointer, 1
to check and write it back, 3 header words, one per body word, 1 for
``done``: ``6 + body`` cycles (3 when full; the tests check both).
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from blocktalk.memory import format as F

from .sram import check_sram_size

__all__ = ["Allocator"]


class Allocator(wiring.Component):
    """Bump allocator over a word-wide SRAM port.

    :param sram_size: SRAM bytes (a power of two, at least one block).
    :param block_size: block (frame) bytes.

    Ports
    -----
    start : In(1)
        Begin an allocation with the request inputs (held while ``busy``).
    frame, class_index, fmt, body_words, fill, hash : In
        The request: the frame, the new object's class index, format, body
        size in words, fill word (nil or 0) and identity hash.
    limit : In(16)
        Byte offset in the block where the OutPointer region begins.
    busy, done, full : Out(1)
        ``done`` pulses for one cycle at the end; with ``full`` set nothing was
        written.
    obj : Out
        The new object's core (byte) address, valid with ``done``.
    mem_addr, mem_wdata, mem_we : Out;  mem_rdata : In(16)
        The SRAM port, word-addressed; reads answer the cycle after the address.
    """

    def __init__(self, sram_size=65536, block_size=F.DEFAULT_BLOCK_SIZE):
        check_sram_size(sram_size, block_size)
        self.sram_size = sram_size
        self.block_size = block_size
        self.addr_bits = sram_size.bit_length() - 1            # byte address bits
        self.frame_bits = max(1, (sram_size // block_size - 1).bit_length())
        super().__init__({
            "start": In(1),
            "frame": In(self.frame_bits),
            "class_index": In(12),
            "fmt": In(3),
            "body_words": In(15),
            "fill": In(16),
            "hash": In(15),
            "limit": In(17),
            "busy": Out(1),
            "done": Out(1),
            "full": Out(1),
            "obj": Out(self.addr_bits),
            "mem_addr": Out(self.addr_bits - 1),
            "mem_wdata": Out(16),
            "mem_we": Out(1),
            "mem_rdata": In(16),
        })

    def elaborate(self, platform):
        m = Module()
        block_word_bits = self.block_size.bit_length() - 2     # word offset bits in a block
        base = Signal(self.addr_bits - 1)                       # the frame's first word
        m.d.comb += base.eq(self.frame << block_word_bits)

        words = Signal(16)
        m.d.comb += words.eq(self.body_words + F.OBJ_HEADER_WORDS)
        obj_word = Signal(self.addr_bits - 1)
        left = Signal(15)                                       # body words still to fill
        m.d.comb += self.obj.eq(obj_word << 1)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.comb += [self.busy.eq(1), self.mem_addr.eq(base + F.BH_ALLOC)]
                    m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += self.busy.eq(1)
                alloc = self.mem_rdata
                end = Signal(18)
                m.d.comb += end.eq(alloc + (words << 1))
                with m.If(end > self.limit):
                    m.next = "FULL"
                with m.Else():
                    m.d.comb += [self.mem_addr.eq(base + F.BH_ALLOC),
                                 self.mem_wdata.eq(end[:16]), self.mem_we.eq(1)]
                    m.d.sync += obj_word.eq(base + (alloc >> 1))
                    m.next = "SIZE"
            with m.State("FULL"):
                m.d.comb += [self.done.eq(1), self.full.eq(1)]
                m.next = "IDLE"
            with m.State("SIZE"):
                m.d.comb += [self.busy.eq(1), self.mem_addr.eq(obj_word),
                             self.mem_wdata.eq(words), self.mem_we.eq(1)]
                m.next = "CLASS"
            with m.State("CLASS"):
                m.d.comb += [self.busy.eq(1), self.mem_addr.eq(obj_word + 1), self.mem_we.eq(1),
                             self.mem_wdata.eq(self.class_index |
                                               (self.hash[11:15] << F.HASH_HIGH_SHIFT))]
                m.next = "FLAGS"
            with m.State("FLAGS"):
                m.d.comb += [self.busy.eq(1), self.mem_addr.eq(obj_word + 2), self.mem_we.eq(1),
                             self.mem_wdata.eq((self.fmt << F.FMT_SHIFT) | self.hash[:11])]
                m.d.sync += left.eq(self.body_words)
                m.next = "BODY"
            with m.State("BODY"):
                with m.If(left == 0):
                    m.d.comb += self.done.eq(1)
                    m.next = "IDLE"
                with m.Else():
                    m.d.comb += [self.busy.eq(1), self.mem_we.eq(1), self.mem_wdata.eq(self.fill),
                                 self.mem_addr.eq(obj_word + F.OBJ_HEADER_WORDS + self.body_words
                                                  - left)]
                    m.d.sync += left.eq(left - 1)
        return m
