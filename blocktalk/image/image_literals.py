"""Literals of a doit compiled against a running image (``eval --image``).

The builder makes literals as graph objects before layout; a doit evaluated in
an imported image needs them as live objects instead: Symbols and globals are
looked up in the image (by the host, as a compiler would), new Strings, Arrays
and Characters are made by the core's allocator.  Each call runs inside the
runner's trap loop, so reads and allocations may trap and be replayed.
"""

from blocktalk.memory import format as F
from blocktalk.sim.memory import sram_words


class LiteralMaker:
    def __init__(self, machine):
        self.machine = machine
        self.core = machine.core
        self._symbols = None

    def symbols(self):
        """name -> (block, offset) of every Symbol in the image (one scan)."""
        if self._symbols is None:
            ins = self.machine.inspector
            store = self.machine.store
            found = {}
            for number in range(len(store.blocks)):
                off = F.FIRST_OBJECT
                alloc = ins.word(number, 2 * F.BH_ALLOC)
                while off < alloc:
                    size = ins.word(number, off)
                    if size < 3:
                        break
                    if ins.word(number, off + 2) & F.CLASS_INDEX_MASK == F.CLASS_INDEX["Symbol"]:
                        found.setdefault(ins.bytes((number, off)).decode("latin-1"),
                                         (number, off))
                    off += 2 * size
            self._symbols = found
        return self._symbols

    def symbol(self, name):
        loc = self.symbols().get(name)
        if loc is None:
            raise ValueError(f"the image has no Symbol #{name}")
        return self.machine.core_address(*loc)

    def value(self, v):
        from blocktalk.compiler import Symbol, Character, Binding
        core = self.core
        mem = core.mem
        if v is None:
            return F.NIL
        if v is True:
            return F.TRUE
        if v is False:
            return F.FALSE
        if isinstance(v, int):
            if F.fits_smallint(v):
                return F.smallint(v)
            mag = abs(v)
            name = "LargePositiveInteger" if v > 0 else "LargeNegativeInteger"
            return self.bytes(F.CLASS_INDEX[name],
                              mag.to_bytes((mag.bit_length() + 7) // 8, "little"))
        if isinstance(v, float):
            from blocktalk.sim.floats import single_words
            f = core.instantiate(F.CLASS_INDEX["Float"], F.FMT_WORDS, 2, fill=0)
            mem.mem[(f >> 1) + 3:(f >> 1) + 5] = sram_words(single_words(v))
            return f
        if isinstance(v, Symbol):
            return self.symbol(v.name)
        if isinstance(v, Character):
            return mem.fetch(core.firmware_field_value("characterTable"), v.value)
        if isinstance(v, str):
            return self.bytes(F.CLASS_INDEX["String"], v.encode("latin-1"))
        if isinstance(v, tuple):
            items = [self.value(x) for x in v]
            a = core.instantiate(F.CLASS_INDEX["Array"], F.FMT_POINTERS, len(items))
            words = [mem.encode(x, a & ~mem.mask) for x in items]
            mem.mem[(a >> 1) + 3:(a >> 1) + 3 + len(words)] = sram_words(words)
            return a
        if isinstance(v, Binding):
            return self.global_association(v.name)
        raise ValueError(f"literal {v!r} is not supported in an image doit")

    def bytes(self, class_index, data):
        """A new byte object of ``class_index`` holding ``data``."""
        core = self.core
        obj = core.instantiate(class_index, F.byte_format(len(data)), (len(data) + 1) // 2,
                               fill=0)
        for i, b in enumerate(data):
            core.mem.set_byte_at(obj, i, b)
        return obj

    def global_association(self, name):
        """The Association for ``name`` in the image's Smalltalk (a Blue Book
        Dictionary: Associations in its indexed fields)."""
        core = self.core
        mem = core.mem
        smalltalk = core.firmware_field_value("smalltalk")
        sym = self.symbol(name)
        for i in range(1, mem.body_words(smalltalk)):
            assoc = mem.fetch(smalltalk, i)
            if assoc & 1 or assoc < 16:
                continue
            if mem.fetch(assoc, F.ASSOC_KEY) == sym:
                return assoc
        raise ValueError(f"{name} is not a global of the image")
