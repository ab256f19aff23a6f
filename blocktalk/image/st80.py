"""Import a Xerox Smalltalk-80 (Version 2) interchange-format image into blocks.

``import_st80(path, block_size)`` reads the image (layout in
``../shared/st80/PROVENANCE.md``: big-endian words, object space from byte 512,
the object table at the end), turns every object into a graph object of
blocktalk's format and lays the graph out in blocks like the builder does:

* nil/false/true become the immediates; SmallIntegers keep their tag;
* the class pointer of each header becomes a class index (the fixed indices of
  ``format.CLASS_INDEX`` for the classes the core knows, the others numbered
  from 32); the class table and the format table (Blue Book instance
  specifications converted to blocktalk class formats) are built here;
* each object's identity hash is its old ``asOop`` (oop >> 1), 15 bits, so the
  image's hashed collections and method dictionaries stay valid;
* method dictionaries keep the Blue Book layout (tally, method Array,
  selectors): the Firmware's ``methodDictionaryLayout`` field tells the lookup
  handler so;
* objects larger than a chunk become large objects (spine + chunks);
* the Firmware object, class and handler methods (``firmware/handlers``),
  compiled by blocktalk's compiler, go into block 0.

The image is test data only (never copied into the project); this module only
reads it at run time.
"""

import struct
from pathlib import Path

from blocktalk.memory import format as F
from blocktalk.image.errors import ImageError
from blocktalk.image.file import Image
from blocktalk.image.graph import Graph, Obj, NIL, TRUE, FALSE, sint, hashed_table_size, \
    literal_ref
from blocktalk.image import layout as L

# Blue Book special object pointers (ch. 27 "Special Objects").
ST_NIL, ST_FALSE, ST_TRUE = 2, 4, 6
SCHEDULER_ASSOCIATION = 8
DOES_NOT_UNDERSTAND = 42
CANNOT_RETURN = 44
SPECIAL_SELECTORS = 48
CHARACTER_TABLE = 50
MUST_BE_BOOLEAN = 52
CLASS_COMPILED_METHOD = 0x22

# Field indices of Behavior/Class/Metaclass in Version 2 (as in the Blue Book).
SUPERCLASS, METHOD_DICT, INST_SPEC, CLASS_NAME, THIS_CLASS = 0, 1, 2, 6, 6

LAYOUT_BLUE_BOOK = 1


class St80Reader:
    """Checked, read-only access to an interchange-format image."""

    def __init__(self, path):
        self.path = str(path)
        try:
            self.data = Path(path).read_bytes()
        except OSError as e:
            raise ImageError(f"{path}: cannot read: {e.strerror}") from None
        if len(self.data) < 512:
            raise ImageError(f"{path}: truncated: {len(self.data)} bytes, an interchange "
                             f"image has a 512-byte header")
        space_words, table_words = struct.unpack_from(">II", self.data, 0)
        if struct.unpack_from(">H", self.data, 8)[0] != 0:
            raise ImageError(f"{path}: not an interchange-format image (bytes 8-9 must be 0)")
        need = 512 + space_words * 2
        if table_words % 2 or len(self.data) < need + table_words * 2:
            raise ImageError(f"{path}: truncated: the header announces {space_words} words of "
                             f"objects and {table_words} of object table, "
                             f"{need + table_words * 2} bytes, but the file has "
                             f"{len(self.data)}")
        self.space_words = space_words
        self.table = self.data[len(self.data) - table_words * 2:]
        self.table_words = table_words
        self.words = struct.unpack_from(f">{space_words}H", self.data, 512)
        self.oops = []
        self._addr = {}
        for oop in range(0, table_words, 2):
            flags, loc = struct.unpack_from(">HH", self.table, oop * 2)
            if flags & 0x20:
                continue
            addr = ((flags & 15) << 16) + loc
            if addr + 2 > space_words or self.words[addr] < 2 or \
                    addr + self.words[addr] > space_words:
                raise ImageError(f"{path}: corrupt object table: oop {oop:#x} points at word "
                                 f"{addr}, outside the {space_words}-word object space")
            self.oops.append(oop)
            self._addr[oop] = (addr, flags)

    def live(self, oop):
        return oop in self._addr

    def size(self, oop):
        """Body words (after the 2-word header)."""
        return self.words[self._addr[oop][0]] - 2

    def class_of(self, oop):
        return self.words[self._addr[oop][0] + 1]

    def is_pointers(self, oop):
        return bool(self._addr[oop][1] & 0x40)

    def is_odd(self, oop):
        return bool(self._addr[oop][1] & 0x80)

    def body(self, oop):
        a = self._addr[oop][0] + 2
        return self.words[a:a + self.size(oop)]

    def field(self, oop, i):
        return self.words[self._addr[oop][0] + 2 + i]

    def bytes_of(self, oop):
        raw = struct.pack(f">{self.size(oop)}H", *self.body(oop))
        return raw[:-1] if self.is_odd(oop) else raw

    def string(self, oop):
        return self.bytes_of(oop).decode("latin-1")


def _kind(spec_word):
    """Blue Book instance specification (raw oop word) -> (kind, fixed fields)."""
    pointers, words, indexable = spec_word & 0x8000, spec_word & 0x4000, spec_word & 0x2000
    fixed = (spec_word >> 1) & 0x7FF
    if pointers:
        return (F.KIND_POINTERS if indexable else F.KIND_FIXED), fixed
    return (F.KIND_WORDS if words else F.KIND_BYTES), fixed


class _Importer:
    def __init__(self, reader, block_size, placement="metis"):
        self.r = reader
        self.bs = F.check_block_size(block_size)
        self.placement = placement
        self.g = Graph()
        self.objs = {}

    def error(self, message):
        raise ImageError(f"{self.r.path}: {message}")

    # --- classes ------------------------------------------------------------
    def find_classes(self):
        r = self.r
        metaclass_class = None
        # Metaclass is the class of every metaclass; it is the class of the
        # class of any class: find it from SmallInteger-free objects.
        counts = {}
        for oop in r.oops:
            c = r.class_of(oop)
            if r.live(c):
                cc = r.class_of(c)
                counts[cc] = counts.get(cc, 0) + 1
        # the class of metaclasses is the most common class-of-class-of-class
        candidates = {}
        for mc, n in counts.items():
            if r.live(mc):
                candidates[r.class_of(mc)] = candidates.get(r.class_of(mc), 0) + n
        metaclass_class = max(candidates, key=candidates.get)
        self.metaclasses = [o for o in r.oops if r.class_of(o) == metaclass_class]
        self.classes = [r.field(m, THIS_CLASS) for m in self.metaclasses
                        if r.live(r.field(m, THIS_CLASS))]
        self.metaclass_class = metaclass_class

    def class_name(self, c):
        r = self.r
        if r.class_of(c) == self.metaclass_class:
            return self.class_name(r.field(c, THIS_CLASS)) + " class"
        name = r.field(c, CLASS_NAME)
        return r.string(name) if r.live(name) and not r.is_pointers(name) else f"class{c:#x}"

    def assign_indices(self):
        index = {}
        used = set()
        names = {c: self.class_name(c) for c in self.classes}
        for c, name in names.items():
            if name in F.CLASS_INDEX and name != "Firmware":
                index[c] = F.CLASS_INDEX[name]
                used.add(index[c])
        nxt = F.FIRST_FREE_CLASS_INDEX
        for c in self.classes + self.metaclasses:
            if c not in index:
                index[c] = nxt
                nxt += 1
        if nxt > F.MAX_CLASS_INDEX:
            self.error(f"{nxt} classes and metaclasses: more than the {F.MAX_CLASS_INDEX} "
                       f"class indices")
        self.index = index
        self.names = names
        self.next_index = nxt
        self.firmware_index = F.CLASS_INDEX["Firmware"]
        self.firmware_meta_index = nxt
        self.max_index = nxt

    def format_of(self, c):
        if c == CLASS_COMPILED_METHOD:
            return F.class_format(F.KIND_METHOD, 0)
        spec = self.r.field(c, INST_SPEC)
        kind, fixed = _kind(spec)
        return F.class_format(kind, fixed)

    # --- objects -------------------------------------------------------------
    def ref(self, oop):
        if oop & 1:
            return sint(F.smallint_value(oop))
        if oop == ST_NIL:
            return NIL
        if oop == ST_FALSE:
            return FALSE
        if oop == ST_TRUE:
            return TRUE
        o = self.objs.get(oop)
        if o is None:
            self.error(f"dangling pointer {oop:#x}")
        return o

    def make_objects(self):
        r = self.r
        chunk = F.large_chunk_fields(self.bs)
        for oop in r.oops:
            if oop in (ST_NIL, ST_FALSE, ST_TRUE):
                continue
            c = r.class_of(oop)
            if c not in self.index:
                self.error(f"object {oop:#x} has class {c:#x}, which is not a class")
            o = Obj(self.index[c], F.FMT_POINTERS, (), b"", oop >> 1, None)
            self.objs[oop] = o
        for oop, o in self.objs.items():
            c = r.class_of(oop)
            body = r.body(oop)
            if c == CLASS_COMPILED_METHOD:
                nlits = (body[0] >> 1) & 0x3F
                o.fields = list(body[:1 + nlits])
                raw = struct.pack(f">{len(body)}H", *body)[2 + 2 * nlits:]
                if r.is_odd(oop):
                    raw = raw[:-1]
                o.data = raw
                o.fmt = F.byte_format(len(raw), True)
            elif r.is_pointers(oop):
                o.fields = list(body)
            else:
                kind, _ = _kind(r.field(c, INST_SPEC))
                if kind == F.KIND_WORDS:
                    o.fmt = F.FMT_WORDS
                    o.data = list(body)
                else:
                    o.data = r.bytes_of(oop)
                    o.fmt = F.byte_format(len(o.data))
        for oop, o in self.objs.items():
            if o.fmt in (F.FMT_POINTERS, F.FMT_METHOD, F.FMT_METHOD_ODD):
                o.fields = [self.ref(w) if i or o.fmt == F.FMT_POINTERS else sint(F.smallint_value(w))
                            for i, w in enumerate(o.fields)]
        # objects larger than a chunk become spines with chunks
        self.large = 0
        for oop, o in list(self.objs.items()):
            n = len(o.fields) if o.fmt == F.FMT_POINTERS else \
                len(o.data) if o.fmt == F.FMT_WORDS else (len(o.data) + 1) // 2
            if n <= chunk or o.fmt in (F.FMT_METHOD, F.FMT_METHOD_ODD):
                continue
            self.large += 1
            per = chunk if o.fmt in (F.FMT_POINTERS, F.FMT_WORDS) else 2 * chunk
            items = o.fields if o.fmt == F.FMT_POINTERS else o.data
            chunks = []
            for k in range(0, len(items), per):
                part = items[k:k + per]
                if o.fmt == F.FMT_POINTERS:
                    chunks.append(self.g.new(o.cls, F.FMT_POINTERS, part))
                elif o.fmt == F.FMT_WORDS:
                    chunks.append(self.g.new(o.cls, F.FMT_WORDS, (), list(part)))
                else:
                    chunks.append(self.g.new(o.cls, F.byte_format(len(part)), (), bytes(part)))
            n = len(items)     # an unsigned 15-bit count under the tag
            o.fields = [sint(n if n <= F.SMALLINT_MAX else n - 0x8000)] + chunks
            o.data = b""
            o.fmt = F.FMT_LARGE

    # --- firmware ------------------------------------------------------------
    def make_firmware(self):
        from blocktalk.compiler import read_chunks, compile_method, ClassScope, \
            ClassDefinition, MethodsFor
        from blocktalk.image.builder import firmware_dir
        g = self.g
        # Symbols: the image's own, so firmware selectors are the same objects
        for oop, o in self.objs.items():
            if o.cls == F.CLASS_INDEX["Symbol"]:
                g.symbols.setdefault(self.r.string(oop), o)
        ivars, methods = None, []
        for p in sorted((firmware_dir() / "handlers").glob("*.st")):
            text = p.read_text()
            for ch in read_chunks(text, f"firmware/handlers/{p.name}"):
                if isinstance(ch, ClassDefinition) and ch.name == "Firmware":
                    ivars = ch.instance_variables
                elif isinstance(ch, MethodsFor) and ch.class_name == "Firmware":
                    for ms in ch.methods:
                        methods.append(compile_method(
                            ms.source, ClassScope("Firmware", ivars),
                            filename=f"firmware/handlers/{p.name}", line=ms.line,
                            column=ms.column))
        if ivars is None or list(ivars[:len(F.FIRMWARE_FIELDS)]) != list(F.FIRMWARE_FIELDS):
            self.error("firmware/handlers do not define the Firmware class's fields")
        object_class = next(c for c in self.classes if self.names[c] == "Object")
        meta = g.new(self.index[self.metaclass_class], F.FMT_POINTERS, [NIL] * 7,
                     label="Firmware class")
        meta.index = self.firmware_meta_index
        fw_class = g.new(meta, F.FMT_POINTERS,
                         [self.objs[object_class], NIL,
                          sint(F.class_format(F.KIND_FIXED, len(ivars)) & 0x3FFF),
                          NIL, NIL, NIL, g.string("Firmware"), NIL, NIL], label="Firmware")
        fw_class.index = self.firmware_index
        meta.fields[F.METACLASS_THIS_CLASS] = fw_class
        binding = g.association(g.symbol("Firmware"), fw_class, label="#Firmware")
        method_objs = {}
        for spec in methods:
            header = spec.header - 0x8000 if spec.header > F.SMALLINT_MAX else spec.header
            fields = [sint(header)] + [self._literal(v, binding) for v in spec.literals]
            method_objs[spec.selector] = g.new(
                F.CLASS_INDEX["CompiledMethod"], F.byte_format(len(spec.bytecodes), True),
                fields, bytes(spec.bytecodes), label=f"Firmware>>{spec.selector}")
        size = hashed_table_size(len(method_objs), 4)
        keys, values = [NIL] * size, [NIL] * size
        for sel, m in method_objs.items():
            s = g.symbol(sel)
            i = s.hash % size
            while keys[i] is not NIL:
                i = (i + 1) % size
            keys[i], values[i] = s, m
        mdict = g.new(F.CLASS_INDEX["MethodDictionary"], F.FMT_POINTERS,
                      [sint(len(method_objs)), g.array(keys), g.array(values)],
                      label="Firmware methodDict")
        fw_class.fields[METHOD_DICT] = mdict
        self.fw_class, self.fw_meta, self.fw_methods = fw_class, meta, method_objs
        # the class and format tables
        table = [NIL] * (self.max_index + 1)
        formats = [NIL] * (self.max_index + 1)
        for c in self.classes + self.metaclasses:
            table[self.index[c]] = self.objs[c]
            formats[self.index[c]] = sint(self.format_of(c))
        table[self.firmware_index] = fw_class
        formats[self.firmware_index] = sint(F.class_format(F.KIND_FIXED, len(ivars)))
        table[self.firmware_meta_index] = meta
        formats[self.firmware_meta_index] = sint(F.class_format(F.KIND_FIXED, 7))
        sched_assoc = self.objs[SCHEDULER_ASSOCIATION]
        smalltalk = next((o for oop, o in self.objs.items()
                          if self.names.get(self.r.class_of(oop)) == "SystemDictionary"), NIL)
        values = {
            "classTable": g.class_table(table),
            "formatTable": g.array(formats, "formatTable"),
            "specialSelectors": self.objs[SPECIAL_SELECTORS],
            "dnuSelector": self.objs[DOES_NOT_UNDERSTAND],
            "mustBeBooleanSelector": self.objs[MUST_BE_BOOLEAN],
            "cannotReturnSelector": self.objs[CANNOT_RETURN],
            "scheduler": sched_assoc.fields[1],
            "smalltalk": smalltalk,
            "characterTable": self.objs[CHARACTER_TABLE],
            "handlers": mdict,
            "methodDictionaryLayout": sint(LAYOUT_BLUE_BOOK),
        }
        fw = g.new(fw_class, F.FMT_POINTERS, [NIL] * len(ivars), label="the Firmware")
        for i, name in enumerate(ivars):
            if name in values:
                fw.fields[i] = values[name]
        self.fw = fw

    def _literal(self, v, binding):
        from blocktalk.compiler import Binding

        def method_class(b):
            if isinstance(b, Binding):
                self.error(f"firmware method refers to the global {b.name}")
            return binding
        return literal_ref(self.g, v, method_class,
                           lambda message: self.error(f"firmware literal: {message}"))

    # --- layout --------------------------------------------------------------
    def firmware_closure(self):
        out, seen = [], set()

        def add(o):
            if isinstance(o, Obj) and id(o) not in seen:
                seen.add(id(o))
                out.append(o)
        add(self.fw)
        add(self.fw_class)
        add(self.fw_meta)
        stack = [self.fw_class.fields[METHOD_DICT]]
        while stack:
            o = stack.pop()
            if not isinstance(o, Obj) or id(o) in seen:
                continue
            add(o)
            stack.extend(f for f in reversed(o.fields) if isinstance(f, Obj))
        return out

    def build(self):
        self.find_classes()
        self.assign_indices()
        self.make_objects()
        self.make_firmware()
        first = self.firmware_closure()
        # name the big objects by class, for the layout's "too large" message
        for oop, o in self.objs.items():
            if not o.label and 2 * o.size_words() > self.bs // 4:
                o.label = f"{self.class_name(self.r.class_of(oop))} {oop:#x} " \
                    f"({o.size_words()} words)"
        roots = [self.objs[c] for c in self.classes] + \
            [o for oop, o in sorted(self.objs.items())]
        class_ids = {id(self.objs[c]) for c in self.classes + self.metaclasses}
        try:
            blocks, addr, placement = L.layout(first, roots, self.bs, self.g.next_hash,
                                               stop=lambda o: id(o) in class_ids,
                                               placement=self.placement)
        except L.LayoutError as e:
            raise ImageError(f"{self.r.path}: cannot lay out the image in {self.bs}-byte "
                             f"blocks: {e}") from None
        at = addr.__getitem__
        meta = {
            "firmware": {"block": 0, "offset": at(id(self.fw))[1]},
            "doits": [],
            "resume": True,
            "source": "Smalltalk-80 Version 2 interchange image",
            "class_names": {str(self.index[c]): self.class_name(c)
                            for c in self.classes + self.metaclasses},
            "methods": self.method_labels(at),
            "globals": {},
            "selectors": {},
            "warnings": [],
            "large_objects": self.large,
        }
        meta["class_names"][str(self.firmware_index)] = "Firmware"
        meta["class_names"][str(self.firmware_meta_index)] = "Firmware class"
        for sel, m in self.fw_methods.items():
            b, o = at(id(m))
            meta["methods"][f"{b}:{o}"] = f"Firmware>>{sel}"
        if "printString" in self.g.symbols:
            meta["selectors"]["printString"] = list(at(id(self.g.symbols["printString"])))
        image = Image(self.bs, blocks, meta)
        image.placement = placement
        image.addresses = addr
        return image

    def method_labels(self, at):
        """'block:offset' -> 'Class>>selector' for walkbacks and traces."""
        r = self.r
        labels = {}
        for c in self.classes + self.metaclasses:
            d = r.field(c, METHOD_DICT)
            if not r.live(d) or not r.is_pointers(d):
                continue
            size = r.size(d)
            arr = r.field(d, 1)
            if not r.live(arr):
                continue
            for i in range(2, size):
                sel = r.field(d, i)
                if sel == ST_NIL or not r.live(sel):
                    continue
                m = r.field(arr, i - 2) if i - 2 < r.size(arr) else ST_NIL
                if m in self.objs:
                    b, o = at(id(self.objs[m]))
                    labels[f"{b}:{o}"] = f"{self.class_name(c)}>>{r.string(sel)}"
        return labels


def import_st80(path, block_size=F.DEFAULT_BLOCK_SIZE, placement="metis"):
    """The Version 2 image at ``path`` as a blocktalk :class:`Image`; objects
    are placed by ``placement`` (``layout.PLACEMENTS``)."""
    return _Importer(St80Reader(path), block_size, placement).build()
