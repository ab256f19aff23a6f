"""An independent checker of built blocks: reads raw bytes with its own word
reader (only constants come from format.py), so a bug in layout.py or
block.py cannot hide itself."""

from blocktalk.memory import format as F


def rw(buf, off):
    return (buf[off] << 8) | buf[off + 1]


def hdr(buf, i):
    return rw(buf, 2 * i)


class Mem:
    """Raw view of a list of blocks."""

    def __init__(self, blocks, block_size):
        self.blocks = blocks
        self.size = block_size
        self.headers = []     # per block: {offset: (size, cls, flags)}
        for b, buf in enumerate(blocks):
            objs = {}
            off, alloc = F.FIRST_OBJECT, hdr(buf, F.BH_ALLOC)
            while off < alloc:
                size = rw(buf, off)
                assert size >= F.OBJ_HEADER_WORDS, (b, off, size)
                objs[off] = (size, rw(buf, off + 2), rw(buf, off + 4))
                off += 2 * size
            assert off == alloc, (b, off, alloc)
            self.headers.append(objs)

    def op_start(self, b):
        w = hdr(self.blocks[b], F.BH_OP_START)
        return w if w else self.size

    def fmt(self, b, off):
        return self.headers[b][off][2] >> F.FMT_SHIFT

    def cls(self, b, off):
        return self.headers[b][off][1] & F.CLASS_INDEX_MASK

    def hash(self, b, off):
        _, cls_w, flags = self.headers[b][off]
        return F.identity_hash(cls_w, flags)

    def field(self, b, off, i):
        return rw(self.blocks[b], off + 6 + 2 * i)

    def nfields(self, b, off):
        """Number of pointer fields (body words that are oops)."""
        size, _, flags = self.headers[b][off]
        fmt = flags >> F.FMT_SHIFT
        if fmt == F.FMT_POINTERS:
            return size - 3
        if fmt in (F.FMT_METHOD, F.FMT_METHOD_ODD):
            return 1 + F.method_literal_count(self.field(b, off, 0))
        return 0

    def byte_data(self, b, off):
        size, _, flags = self.headers[b][off]
        fmt = flags >> F.FMT_SHIFT
        start = off + 6 + 2 * self.nfields(b, off)
        n = 2 * (size - 3 - self.nfields(b, off))
        if fmt in (F.FMT_BYTES_ODD, F.FMT_METHOD_ODD):
            n -= 1
        return bytes(self.blocks[b][start:start + n])

    def deref(self, b, oop):
        """(block, offset) of the object an oop of block b names."""
        assert oop >= F.IMMEDIATE_LIMIT and not oop & 1, oop
        if oop >= self.op_start(b):
            buf = self.blocks[b]
            tb = rw(buf, oop) >> 1
            n = rw(buf, oop + 2) >> 1
            table = hdr(self.blocks[tb], F.BH_INPOINTERS)
            return tb, self.field(tb, table, 2 * n)
        return b, oop

    def fields(self, b, off):
        return [self.field(b, off, i) for i in range(self.nfields(b, off))]


def check_blocks(blocks, block_size):
    """Structural invariants of every block; returns the Mem view."""
    m = Mem(blocks, block_size)
    log2 = block_size.bit_length() - 1
    for b, buf in enumerate(blocks):
        assert len(buf) == block_size
        assert hdr(buf, F.BH_BLOCK_NUMBER) == b
        assert hdr(buf, F.BH_LOG2_SIZE) == log2
        assert hdr(buf, F.BH_FREE_LIST) == 0 and hdr(buf, F.BH_OP_FREE) == 0
        assert hdr(buf, F.BH_FLAGS) == (F.BF_PINNED if b == 0 else 0)
        ops = m.op_start(b)
        assert hdr(buf, F.BH_ALLOC) <= ops
        assert (block_size - ops) % F.OUTPOINTER_BYTES == 0
        entries = {}
        for e in range(ops, block_size, F.OUTPOINTER_BYTES):
            tb, n = rw(buf, e), rw(buf, e + 2)
            assert tb & 1 and n & 1, (b, e)
            tb, n = tb >> 1, n >> 1
            assert tb != b and 0 <= tb < len(blocks), (b, e, tb)
            assert (tb, n) not in entries, f"block {b}: two OutPointers to {(tb, n)}"
            entries[(tb, n)] = e
            # the InPointer it names
            table = hdr(blocks[tb], F.BH_INPOINTERS)
            assert m.cls(tb, table) == F.CLASS_INDEX["Array"]
            assert 2 * n + 1 < m.nfields(tb, table)
            local, back = m.field(tb, table, 2 * n), m.field(tb, table, 2 * n + 1)
            assert local in m.headers[tb], (tb, n, local)
            assert m.headers[tb][local][2] & F.EXPORTED_BIT
            if back & 1:
                assert back >> 1 == b
            else:
                assert m.cls(tb, back) == F.CLASS_INDEX["Array"]
                assert F.smallint(b) in m.fields(tb, back), (b, tb, n)
        # OutPointer hash table finds every entry
        oph = hdr(buf, F.BH_OP_HASH)
        assert oph in m.headers[b] and m.cls(b, oph) == F.CLASS_INDEX["Array"]
        slots = m.nfields(b, oph)
        assert slots >= 16 and slots & (slots - 1) == 0 and slots >= 2 * len(entries)
        for (tb, n), e in entries.items():
            s = F.outpointer_hash(tb, n, slots)
            for _ in range(slots):
                v = m.field(b, oph, s)
                assert v != F.NIL, f"block {b}: OutPointer {(tb, n)} not in its hash table"
                if v == e:
                    break
                s = (s + 1) % slots
            else:
                raise AssertionError("hash table full")
        # InPointer table: pairs, >= 8 free, exported bits agree
        table = hdr(buf, F.BH_INPOINTERS)
        npairs = m.nfields(b, table) // 2
        used = set()
        free = 0
        for i in range(npairs):
            local, back = m.field(b, table, 2 * i), m.field(b, table, 2 * i + 1)
            if local == F.NIL:
                assert back == F.NIL
                free += 1
            else:
                assert local in m.headers[b]
                used.add(local)
        assert free >= 8
        exported = {o for o, (_, _, fl) in m.headers[b].items() if fl & F.EXPORTED_BIT}
        assert exported == used, f"block {b}: EXPORTED bits differ from InPointers"
        # every pointer field is an immediate, a SmallInteger, a header or an OutPointer
        for off in m.headers[b]:
            assert m.fmt(b, off) != F.FMT_FREE
            for i, v in enumerate(m.fields(b, off)):
                if v & 1 or v in (F.NIL, F.TRUE, F.FALSE):
                    continue
                if off == oph and v >= ops:
                    continue
                if v >= ops:
                    assert v in entries.values(), (b, off, i, v)
                else:
                    assert v in m.headers[b], f"block {b} object {off} field {i}: {v}"
    return m


def symbol_name(m, b, off):
    assert m.cls(b, off) == F.CLASS_INDEX["Symbol"]
    return m.byte_data(b, off).decode("latin-1")


def check_hashed(m, b, arr, hash_of, what):
    """Every non-nil slot is found by probing from hash_of(element) % size."""
    size = m.nfields(b, arr)
    assert size & (size - 1) == 0
    found = 0
    for i in range(size):
        v = m.field(b, arr, i)
        if v == F.NIL:
            continue
        found += 1
        s = hash_of(v) % size
        while s != i:
            assert m.field(b, arr, s) != F.NIL, f"{what}: slot {i} unreachable"
            s = (s + 1) % size
    return found


def check_image(image):
    """Structure plus the Smalltalk-level invariants of a built image."""
    m = check_blocks(image.blocks, image.block_size)
    meta = image.meta
    fb, fo = meta["firmware"]["block"], meta["firmware"]["offset"]
    assert fb == 0 and m.cls(0, fo) == F.CLASS_INDEX["Firmware"]
    fw = m.fields(0, fo)
    names = list(F.FIRMWARE_FIELDS)
    # The tables live in other blocks (architecture.md section 5): follow the
    # OutPointers.
    ctb, ct = m.deref(0, fw[names.index("classTable")])
    classes = []                      # (block of the page, class word)
    for page in m.fields(ctb, ct):
        pb, po = m.deref(ctb, page)
        classes += [(pb, w) for w in m.fields(pb, po)]
    formats = m.fields(*m.deref(0, fw[names.index("formatTable")]))
    assert len(classes) == len(formats)
    spb, sp = m.deref(0, fw[names.index("specialSelectors")])
    specials = m.fields(spb, sp)
    assert [symbol_name(m, *m.deref(spb, s)) for s in specials[0::2]] == \
        [s for s, _ in F.SPECIAL_SELECTORS]
    assert [v >> 1 for v in specials[1::2]] == [n for _, n in F.SPECIAL_SELECTORS]
    for sel in ("dnuSelector", "mustBeBooleanSelector", "cannotReturnSelector"):
        symbol_name(m, *m.deref(0, fw[names.index(sel)]))
    # classes: index, format and method dictionaries
    nmethods = 0
    for index, (pb, oop) in enumerate(classes):
        if oop == F.NIL:
            assert formats[index] == F.NIL
            continue
        b, c = m.deref(pb, oop)
        assert m.field(b, c, F.BEHAVIOR_CLASS_INDEX) == F.smallint(index)
        assert m.field(b, c, F.BEHAVIOR_FORMAT) == formats[index]
        assert str(index) in meta["class_names"]
        db, d = m.deref(b, m.field(b, c, F.BEHAVIOR_METHOD_DICT))
        assert m.cls(db, d) == F.CLASS_INDEX["MethodDictionary"]
        kb, keys = m.deref(db, m.field(db, d, F.MDICT_KEYS))
        vb, vals = m.deref(db, m.field(db, d, F.MDICT_VALUES))
        assert m.nfields(kb, keys) == m.nfields(vb, vals)
        n = check_hashed(m, kb, keys, lambda k: m.hash(*m.deref(kb, k)), "methodDict")
        assert m.field(db, d, F.MDICT_TALLY) == F.smallint(n)
        for i, k in enumerate(m.fields(kb, keys)):
            if k != F.NIL:
                symbol_name(m, *m.deref(kb, k))
                mb, mo = m.deref(vb, m.field(vb, vals, i))
                assert m.cls(mb, mo) == F.CLASS_INDEX["CompiledMethod"]
                assert f"{mb}:{mo}" in meta["methods"]
                nmethods += 1
    # The trap vector (the Firmware class's MethodDictionary), its selectors,
    # methods and their literals are all in block 0, all near.
    d = fw[names.index("handlers")]
    assert d < m.op_start(0) and m.cls(0, d) == F.CLASS_INDEX["MethodDictionary"]
    fwb, fwc = m.deref(*classes[F.CLASS_INDEX["Firmware"]])
    assert fwb == 0 and m.field(0, fwc, F.BEHAVIOR_METHOD_DICT) == d
    for dict_ in (d,):
        keys, vals = m.field(0, dict_, F.MDICT_KEYS), m.field(0, dict_, F.MDICT_VALUES)
        assert keys < m.op_start(0) and vals < m.op_start(0)
        for k, v in zip(m.fields(0, keys), m.fields(0, vals)):
            if k == F.NIL:
                continue
            assert k < m.op_start(0) and v < m.op_start(0)
            check_near_literals(m, v)
    # SymbolTable
    sb, st = meta["globals"]["SymbolTable"]
    assert m.nfields(sb, st) == F.SYMBOL_TABLE_BUCKETS
    in_table = set()
    for i, bucket in enumerate(m.fields(sb, st)):
        if bucket == F.NIL:
            continue
        bb, bo = m.deref(sb, bucket)
        for s in m.fields(bb, bo):
            xb, xo = m.deref(bb, s)
            data = m.byte_data(xb, xo)
            assert m.cls(xb, xo) == F.CLASS_INDEX["Symbol"]
            assert F.symbol_hash(data) % 256 == i
            assert (xb, xo) not in in_table
            in_table.add((xb, xo))
    all_symbols = {(b, o) for b, objs in enumerate(m.headers) for o, (_, c, _) in objs.items()
                   if c & F.CLASS_INDEX_MASK == F.CLASS_INDEX["Symbol"]}
    assert all_symbols == in_table
    # Smalltalk: key identity hash probing; every global listed in meta exists
    smb, sm = meta["globals"]["Smalltalk"]
    ab, arr = m.deref(smb, m.field(smb, sm, 1))
    names = {}

    def key_hash(a):
        xb, xo = m.deref(ab, a)
        kb, ko = m.deref(xb, m.field(xb, xo, F.ASSOC_KEY))
        names[symbol_name(m, kb, ko)] = m.deref(xb, m.field(xb, xo, F.ASSOC_VALUE)) \
            if not m.field(xb, xo, F.ASSOC_VALUE) & 1 and \
            m.field(xb, xo, F.ASSOC_VALUE) >= F.IMMEDIATE_LIMIT else None
        return m.hash(kb, ko)
    n = check_hashed(m, ab, arr, key_hash, "Smalltalk")
    assert m.field(smb, sm, 0) == F.smallint(n)
    for g, (b, o) in meta["globals"].items():
        assert names[g] == (b, o), g
    return m, nmethods


def check_near_literals(m, method):
    """A block-0 method whose literals (and their Array contents) are all near."""
    assert m.cls(0, method) == F.CLASS_INDEX["CompiledMethod"]
    todo = m.fields(0, method)[1:]
    seen = set()
    while todo:
        v = todo.pop()
        if v & 1 or v < F.IMMEDIATE_LIMIT or v in seen:
            continue
        assert v < m.op_start(0), "firmware literal is an OutPointer"
        seen.add(v)
        if m.cls(0, v) == F.CLASS_INDEX["Array"]:
            todo += m.fields(0, v)
