"""The message dispatch table: a cache of (class index, selector) -> method.

Seed 003's "message dispatch table in hardware".  A send looks up the
receiver's class index (12 bits, from its header) and the selector's core
address; a hit gives the CompiledMethod's core address the next cycle, a miss
traps to the firmware's ``lookup:class:``, whose answer the core then writes
with a fill.  Direct-mapped: the index is the class index XOR the selector's
word address, folded to the table size.  Everything about an entry is in one
block RAM word: class index, selector, method and a 4-bit *generation*.

A flush takes one cycle: it advances the current generation, and an entry
hits only if it was written in the current one.  Generation 0 means "never
valid" (the RAM's reset value); after generation 15 the table sweeps itself,
writing generation 0 into every entry, one per cycle, before it starts again
at 1.  During the sweep (one cycle per entry, once every 15 flushes) lookups
miss and fills are dropped.  Valid bits in flip-flops would make the flush
free too, but cost a flip-flop per entry and wide multiplexers: 256 entries
took 926 LUTs on the iCE40 that way, 186 this way
(``python -m blocktalk.hw.synth dispatch``).

The table is flushed whole when what it caches may be stale: a block leaves
SRAM (its selectors and methods are no longer at those addresses), a
collection moves objects, or the image changes a method dictionary (Blue Book
``flushCache``, primitive 89).  The software core keeps its entries across
those events by relocating them; hardware does the simple thing.

:class:`DispatchModel` is the Python reference the tests compare it with.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["DispatchTable", "DispatchModel", "dispatch_index"]

CLASS_BITS = 12
ADDRESS_BITS = 16


def dispatch_index(class_index, selector, entries):
    """The entry a key maps to: the class index XOR the selector's word address
    folded to the index width (selectors are word addresses: bit 0 is 0).
    The fold mixes in the frame bits: without it the k-th OutPointer of every
    frame -- they sit at the same offset from each frame's end -- shares one
    entry of the import cache."""
    bits = entries.bit_length() - 1
    index = class_index
    word = selector >> 1
    while word:
        index ^= word
        word >>= bits
    return index & (entries - 1)


GENERATION_BITS = 4
LAST_GENERATION = (1 << GENERATION_BITS) - 1


def entry_layout(address_bits):
    return data.StructLayout({"class_index": CLASS_BITS, "selector": address_bits,
                              "method": address_bits, "generation": GENERATION_BITS})


class DispatchTable(wiring.Component):
    """Direct-mapped dispatch table with one-cycle flush.

    :param entries: number of entries, a power of two from 16 to 4096.
    :param address_bits: width of selectors and methods (core addresses: 16
        for 64 KB of SRAM, 17 for 128 KB).  The core's import and export
        caches are tables of this construction too, with other keys
        (:mod:`blocktalk.hw.core`).

    Ports
    -----
    lookup_valid, lookup_class, lookup_selector : In
        Look a key up; the answer is on ``hit``/``method`` the next cycle.
    hit : Out(1)
        The key looked up last cycle is in the table.
    method : Out(16)
        Its method's core address (meaningless without ``hit``).
    fill_valid, fill_class, fill_selector, fill_method : In
        Enter a key and its method, replacing what shared its entry.
    flush : In(1)
        Invalidate every entry (this cycle's fill is dropped too).
    sweeping : Out(1)
        The table is clearing old generations: lookups miss, fills are dropped.
    """

    def __init__(self, entries=256, address_bits=ADDRESS_BITS):
        if not isinstance(entries, int) or entries < 16 or entries > 4096 \
                or entries & (entries - 1):
            raise ValueError(f"entries must be a power of two from 16 to 4096, not {entries!r}")
        if not isinstance(address_bits, int) or not 8 <= address_bits <= 24:
            raise ValueError(f"address_bits must be an integer from 8 to 24, "
                             f"not {address_bits!r}")
        self.entries = entries
        self.address_bits = address_bits
        super().__init__({
            "lookup_valid": In(1),
            "lookup_class": In(CLASS_BITS),
            "lookup_selector": In(address_bits),
            "hit": Out(1),
            "method": Out(address_bits),
            "fill_valid": In(1),
            "fill_class": In(CLASS_BITS),
            "fill_selector": In(address_bits),
            "fill_method": In(address_bits),
            "flush": In(1),
            "sweeping": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        bits = self.entries.bit_length() - 1
        m.submodules.table = table = Memory(shape=entry_layout(self.address_bits),
                                            depth=self.entries, init=[])
        write = table.write_port()
        read = table.read_port(transparent_for=(write,))
        generation = Signal(GENERATION_BITS, init=1)
        sweep = Signal(bits + 1)           # entries left to clear while sweeping
        m.d.comb += self.sweeping.eq(sweep != 0)

        def index(class_index, selector):
            folded = class_index[:bits]
            for lo in range(1, len(selector), bits):
                folded = folded ^ selector[lo:lo + bits]
            return folded[:bits]

        with m.If(self.sweeping):
            m.d.comb += [write.addr.eq(sweep - 1), write.data.eq(0), write.en.eq(1)]
            m.d.sync += sweep.eq(sweep - 1)
        with m.Else():
            m.d.comb += [
                write.addr.eq(index(self.fill_class, self.fill_selector)),
                write.data.class_index.eq(self.fill_class),
                write.data.selector.eq(self.fill_selector),
                write.data.method.eq(self.fill_method),
                write.data.generation.eq(generation),
                write.en.eq(self.fill_valid & ~self.flush),
            ]
            with m.If(self.flush):
                with m.If(generation == LAST_GENERATION):
                    m.d.sync += [generation.eq(1), sweep.eq(self.entries)]
                with m.Else():
                    m.d.sync += generation.eq(generation + 1)
        m.d.comb += [
            read.addr.eq(index(self.lookup_class, self.lookup_selector)),
            read.en.eq(self.lookup_valid),
        ]

        # The key and the generation it must have, registered beside the read.
        key_class = Signal(CLASS_BITS)
        key_selector = Signal(self.address_bits)
        key_generation = Signal(GENERATION_BITS)
        key_valid = Signal()
        with m.If(self.lookup_valid):
            m.d.sync += [key_class.eq(self.lookup_class),
                         key_selector.eq(self.lookup_selector),
                         key_generation.eq(generation)]
        m.d.sync += key_valid.eq(self.lookup_valid & ~self.flush & ~self.sweeping)
        m.d.comb += [
            self.hit.eq(key_valid & (read.data.generation == key_generation) &
                        (read.data.class_index == key_class) &
                        (read.data.selector == key_selector)),
            self.method.eq(read.data.method),
        ]
        return m


class DispatchModel:
    """The table's behaviour in Python, cycle for cycle: the reference of the
    tests, and the software core's model of a hardware table's hit rate."""

    def __init__(self, entries=256):
        self.entries = entries
        self.slots = [None] * entries        # (class, selector, method, generation)
        self.generation = 1
        self.sweep = 0
        self.answer = (0, None)

    @property
    def sweeping(self):
        return self.sweep != 0

    def cycle(self, lookup=None, fill=None, flush=False):
        """One clock: ``lookup`` (class, selector), ``fill`` (class, selector,
        method).  Answers (hit, method) seen during this cycle (last cycle's
        lookup)."""
        seen = self.answer
        write = None                         # (index, slot) written this cycle
        if self.sweeping:
            write = (self.sweep - 1, None)
        elif fill is not None and not flush:
            c, s, meth = fill
            write = (dispatch_index(c, s, self.entries), (c, s, meth, self.generation))
        if lookup is not None and not flush and not self.sweeping:
            i = dispatch_index(*lookup, self.entries)
            got = write[1] if write is not None and write[0] == i else self.slots[i]
            if got is not None and got[:2] == tuple(lookup) and got[3] == self.generation:
                self.answer = (1, got[2])
            else:
                self.answer = (0, None)
        else:
            self.answer = (0, None)
        if write is not None:
            self.slots[write[0]] = write[1]
        if self.sweeping:
            self.sweep -= 1
        elif flush:
            if self.generation == LAST_GENERATION:
                self.generation = 1
                self.sweep = self.entries
            else:
                self.generation += 1
        return seen
