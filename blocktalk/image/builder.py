"""Build an image from Smalltalk sources: read, compile, make objects, lay out.

``build_image(files)`` files in the kernel (``firmware/kernel/MANIFEST`` order),
the firmware handlers (``firmware/handlers/*.st``) and then ``files``, and
returns an :class:`~blocktalk.image.file.Image`.  The steps:

1. read every chunk and replay the class definitions (:mod:`classes`);
2. compile every method and doit (cached per file, :mod:`cache`);
3. make the object graph (:mod:`graph`): classes, metaclasses, method
   dictionaries, CompiledMethods, globals, the Firmware instance;
4. cut it into blocks (:mod:`layout`) with the firmware closure in block 0.
"""

from pathlib import Path

from blocktalk.memory import format as F
from blocktalk.image import cache as C
from blocktalk.image.classes import ClassTable
from blocktalk.image.errors import ImageError, SourceError
from blocktalk.image.file import Image
from blocktalk.image.graph import Graph, Obj, NIL, sint, hashed_table_size, \
    literal_ref
from blocktalk.image import layout as L


def firmware_dir():
    """The directory holding ``kernel/`` and ``handlers/`` (repo or installed)."""
    here = Path(__file__).resolve().parents[2] / "firmware"
    if (here / "kernel").is_dir():
        return here
    try:
        import blocktalk.firmware as fw
        return Path(fw.__file__).parent
    except ImportError:
        return here


def kernel_sources():
    """(display name, text) of the kernel files then the firmware handlers."""
    root = firmware_dir()
    out = []
    manifest = root / "kernel" / "MANIFEST"
    if manifest.exists():
        for line in manifest.read_text().splitlines():
            name = line.split("#", 1)[0].strip()
            if name:
                p = root / "kernel" / name
                if not p.exists():
                    raise ImageError(f"{manifest}: lists {name}, which does not exist")
                out.append((f"firmware/kernel/{name}", p.read_text()))
    for p in sorted((root / "handlers").glob("*.st")):
        out.append((f"firmware/handlers/{p.name}", p.read_text()))
    return out


def _source(f):
    if isinstance(f, tuple):
        return str(f[0]), f[1]
    try:
        return str(f), Path(f).read_text()
    except OSError as e:
        raise ImageError(f"{f}: cannot read: {e.strerror or e}") from None


def build_image(files=(), block_size=F.DEFAULT_BLOCK_SIZE, include_kernel=True,
                use_cache=True, fill=0.75):
    """Build an image from the kernel (optional) and ``files`` (paths or (name, text))."""
    try:
        F.check_block_size(block_size)
    except ValueError as e:
        raise ImageError(str(e)) from None
    sources = (kernel_sources() if include_kernel else []) + [_source(f) for f in files]
    return _Builder(block_size, use_cache, fill).build(sources)


class _Method:
    """A compiled method waiting for its object."""
    __slots__ = ("spec", "cls", "is_meta", "filename", "line", "column", "obj")

    def __init__(self, spec, cls, is_meta, filename, line, column):
        self.spec, self.cls, self.is_meta = spec, cls, is_meta
        self.filename, self.line, self.column = filename, line, column
        self.obj = None

    @property
    def label(self):
        if self.cls is None:
            return "doit"
        return f"{self.cls.name}{' class' if self.is_meta else ''}>>{self.spec.selector}"


class _Builder:
    def __init__(self, block_size, use_cache, fill):
        self.block_size = block_size
        self.use_cache = use_cache
        self.fill = fill
        self.warnings = []
        self.classes = ClassTable(self.warnings)
        self.g = Graph()
        self.globals = {}          # name -> Association (insertion order = slot order tie-break)
        self.methods = {}          # (ClassInfo, is_meta) -> {selector: _Method}
        self.doits = []            # _Method with cls None

    # --- 1. read -----------------------------------------------------------
    def build(self, sources):
        from blocktalk.compiler import read_chunks, ClassDefinition, \
            ClassInstanceVariables, MethodsFor, Doit
        parsed = []
        for filename, text in sources:
            chunks = read_chunks(text, filename)
            parsed.append((filename, text, chunks))
            for ch in chunks:
                if isinstance(ch, ClassDefinition):
                    self.classes.define(ch, filename)
                elif isinstance(ch, ClassInstanceVariables):
                    self.classes.set_class_ivars(ch, filename)
                elif isinstance(ch, MethodsFor):
                    self.classes.need(ch.class_name, filename, ch.line, ch.column)
        for name in ("Object", "Class", "Metaclass", "Array", "String", "Symbol",
                     "Character", "Association", "MethodDictionary", "CompiledMethod",
                     "SystemDictionary", "Dictionary", "LinkedList", "Process",
                     "ProcessorScheduler", "TextCollector", "Firmware", "UndefinedObject",
                     "True", "False", "SmallInteger", "LargePositiveInteger",
                     "LargeNegativeInteger"):
            self.classes.need(name)
        self._check_kernel_shapes()
        self.max_index = self.classes.assign_indices()
        # --- 2. compile ----------------------------------------------------
        for filename, text, chunks in parsed:
            self._compile_file(filename, text, chunks, MethodsFor, Doit)
        # --- 3. objects ----------------------------------------------------
        self._make_classes()
        self._make_globals()
        for (c, meta), table in self.methods.items():
            for m in table.values():
                m.obj = self._method_object(m)
        for m in self.doits:
            m.obj = self._method_object(m)
        for (c, meta), table in self.methods.items():
            self._install(c, meta, table)
        firmware = self._make_firmware()
        self._finish_globals()
        # --- 4. layout -----------------------------------------------------
        return self._layout(firmware)

    def _check_kernel_shapes(self):
        """The fixed field indices of format.py must match the kernel's classes."""
        expect = {"Class": {"superclass": F.BEHAVIOR_SUPERCLASS,
                            "methodDict": F.BEHAVIOR_METHOD_DICT,
                            "format": F.BEHAVIOR_FORMAT,
                            "classIndex": F.BEHAVIOR_CLASS_INDEX, "name": F.CLASS_NAME},
                  "Metaclass": {"thisClass": F.METACLASS_THIS_CLASS},
                  "MethodDictionary": {"tally": F.MDICT_TALLY, "keys": F.MDICT_KEYS,
                                       "values": F.MDICT_VALUES},
                  "Association": {"key": F.ASSOC_KEY, "value": F.ASSOC_VALUE},
                  "Process": {"suspendedContext": F.PROCESS_SUSPENDED_CONTEXT,
                              "priority": F.PROCESS_PRIORITY},
                  "ProcessorScheduler": {"quiescentProcessLists": F.SCHED_LISTS,
                                         "activeProcess": F.SCHED_ACTIVE}}
        for cname, fields in expect.items():
            c = self.classes[cname]
            ivars = c.all_ivars()
            for field, index in fields.items():
                if index >= len(ivars) or ivars[index] != field:
                    f, l, col = c.where
                    raise SourceError(f"{cname} must have instance variable '{field}' "
                                      f"at index {index} (format.py); it has {ivars}",
                                      f, l, col)
        fw = self.classes["Firmware"]
        if fw.all_ivars()[:len(F.FIRMWARE_FIELDS)] != list(F.FIRMWARE_FIELDS):
            f, l, col = fw.where
            raise SourceError("Firmware must begin with the instance variables "
                              f"{' '.join(F.FIRMWARE_FIELDS)}", f, l, col)

    # --- 2. compile ---------------------------------------------------------
    def _scope(self, c, is_meta):
        from blocktalk.compiler import ClassScope
        if is_meta:
            ivars = self.classes["Class"].all_ivars() + c.all_class_ivars()
        else:
            ivars = c.all_ivars()
        return ClassScope(c.name, ivars, is_meta)

    def _compile_file(self, filename, text, chunks, MethodsFor, Doit):
        from blocktalk.compiler import compile_method, compile_doit
        scopes = [(ch.class_name, ch.is_meta,
                   tuple(self._scope(self.classes[ch.class_name], ch.is_meta)
                         .instance_variables))
                  for ch in chunks if isinstance(ch, MethodsFor)]
        key = C.cache_key(filename, text, scopes) if self.use_cache else None
        cached = C.load(key) if key else None
        specs = {}
        for i, ch in enumerate(chunks):
            if isinstance(ch, MethodsFor):
                c = self.classes[ch.class_name]
                scope = self._scope(c, ch.is_meta)
                table = self.methods.setdefault((c, ch.is_meta), {})
                for j, ms in enumerate(ch.methods):
                    spec = cached[(i, j)] if cached else compile_method(
                        ms.source, scope, filename=filename, line=ms.line,
                        column=ms.column, category=ch.category)
                    specs[(i, j)] = spec
                    # a later definition of a selector replaces the earlier one
                    table[spec.selector] = _Method(spec, c, ch.is_meta, filename,
                                                   ms.line, ms.column)
            elif isinstance(ch, Doit):
                spec = cached[(i, 0)] if cached else compile_doit(
                    ch.source, None, filename=filename, line=ch.line, column=ch.column)
                specs[(i, 0)] = spec
                self.doits.append(_Method(spec, None, False, filename, ch.line, ch.column))
        if key and not cached:
            C.store(key, specs)

    # --- 3. objects -----------------------------------------------------------
    def _set(self, obj, info, field, value):
        obj.fields[info.all_ivars().index(field)] = value

    def _instance(self, cname, label=None):
        """A pointers instance of the named class with all named fields nil."""
        c = self.classes[cname]
        return self.g.new(c.index, F.FMT_POINTERS, [NIL] * len(c.all_ivars()),
                          label=label or f"a {cname}")

    def _make_classes(self):
        g = self.g
        class_info = self.classes["Class"]
        meta_info = self.classes["Metaclass"]
        for c in self.classes:
            c.obj = g.new(c.meta_index, F.FMT_POINTERS,
                          [NIL] * (len(class_info.all_ivars()) + len(c.all_class_ivars())),
                          label=c.name)
            c.obj.index = c.index
            c.meta_obj = g.new(meta_info.index, F.FMT_POINTERS,
                               [NIL] * len(meta_info.all_ivars()), label=f"{c.name} class")
            c.meta_obj.index = c.meta_index
            self.globals[c.name] = g.association(g.symbol(c.name), c.obj,
                                                 label=f"#{c.name}->{c.name}")
        self.class_pools = {}      # ClassInfo -> {name: Association}
        for c in self.classes:
            o, m = c.obj, c.meta_obj
            self._set(o, class_info, "superclass", c.superclass.obj if c.superclass else NIL)
            self._set(o, class_info, "format", sint(c.format()))
            self._set(o, class_info, "classIndex", sint(c.index))
            self._set(o, class_info, "instanceVariables",
                      g.array([g.string(v) for v in c.ivars], label=f"{c.name} ivars"))
            self._set(o, class_info, "name", g.string(c.name))
            pool = {v: g.association(g.symbol(v), NIL, label=f"#{v}") for v in c.cvars}
            self.class_pools[c] = pool
            if pool:
                self._set(o, class_info, "classPool",
                          self._dictionary("Dictionary", pool, f"{c.name} classPool"))
            msup = c.superclass.meta_obj if c.superclass else class_info.obj
            self._set(m, meta_info, "superclass", msup)
            self._set(m, meta_info, "format", sint(F.class_format(
                F.KIND_FIXED, len(class_info.all_ivars()) + len(c.all_class_ivars()))))
            self._set(m, meta_info, "classIndex", sint(c.meta_index))
            self._set(m, meta_info, "instanceVariables",
                      g.array([g.string(v) for v in c.class_ivars],
                              label=f"{c.name} class ivars"))
            self._set(m, meta_info, "thisClass", o)

    def _dictionary(self, cname, assocs, label):
        """A 'tally array' dictionary of Associations hashed by key identity hash."""
        arr = self._hashed_array(list(assocs.values()), lambda a: a.fields[0].hash,
                                 hashed_table_size(len(assocs), 4), f"{label} array")
        d = self._instance(cname, label)
        if len(d.fields) < 2:
            raise SourceError(f"{cname} needs the instance variables 'tally array'",
                              *self.classes[cname].where)
        d.fields[0] = sint(len(assocs))      # Smalltalk's 'tally array' layout
        d.fields[1] = arr
        return d

    def _hashed_array(self, items, hash_of, size, label):
        """An Array with each item at hash % size, linear probing (0-based)."""
        fields = [NIL] * size
        for it in items:
            slot = hash_of(it) % size
            while fields[slot] is not NIL:
                slot = (slot + 1) % size
            fields[slot] = it
        return self.g.array(fields, label)

    def _make_globals(self):
        """The well-known globals, created before methods so bindings find them."""
        g = self.g
        for name in ("Smalltalk", "Transcript", "Processor", "CharacterTable", "SymbolTable"):
            if name not in self.globals:
                self.globals[name] = g.association(g.symbol(name), NIL, label=f"#{name}")
        self.transcript = self._instance("TextCollector", "Transcript")
        self.globals["Transcript"].fields[1] = self.transcript
        lists = [self._instance("LinkedList") for _ in range(8)]
        proc = self._instance("Process", "the first Process")
        self._set(proc, self.classes["Process"], "priority", sint(4))
        sched = self._instance("ProcessorScheduler", "Processor")
        info = self.classes["ProcessorScheduler"]
        self._set(sched, info, "quiescentProcessLists", g.array(lists, "quiescentProcessLists"))
        self._set(sched, info, "activeProcess", proc)
        # one slot per core of a multi-core system (host/system.py); core 0
        # starts with the first Process, the others idle
        # (a kernel without the slots runs on one core only)
        if "activeProcesses" in info.all_ivars():
            slots = [proc] + [NIL] * (F.MAX_CORES - 1)
            self._set(sched, info, "activeProcesses", g.array(slots, "activeProcesses"))
        self.processor = sched
        self.globals["Processor"].fields[1] = sched
        self.char_table = g.array(g.all_characters(), "CharacterTable")
        self.globals["CharacterTable"].fields[1] = self.char_table

    def _binding(self, name, m):
        """The Association a Binding literal of method ``m`` stands for."""
        c = m.cls
        while c is not None:
            a = self.class_pools[c].get(name)
            if a is not None:
                return a
            c = c.superclass
        a = self.globals.get(name)
        if a is None:
            a = self.g.association(self.g.symbol(name), NIL, label=f"#{name}")
            self.globals[name] = a
            self.warnings.append(f"{m.filename}:{m.line}:{m.column}: undeclared "
                                 f"variable {name} in {m.label} (created as a nil global)")
        return a

    def _literal(self, v, m):
        def binding(b):
            from blocktalk.compiler import Binding
            if isinstance(b, Binding):
                return self._binding(b.name, m)
            return self._method_class_binding(m)

        def error(message):
            raise SourceError(message, m.filename, m.line, m.column)
        return literal_ref(self.g, v, binding, error)

    def _method_class_binding(self, m):
        """The last literal of a method with super sends or a primitive."""
        g = self.g
        if m.cls is None:
            return g.association(NIL, NIL, label="doit method class")
        if not m.is_meta:
            return self.globals[m.cls.name]
        if not hasattr(m.cls, "meta_binding"):
            m.cls.meta_binding = g.association(g.symbol(m.cls.name), m.cls.meta_obj,
                                               label=f"#{m.cls.name}->{m.cls.name} class")
        return m.cls.meta_binding

    def _method_object(self, m):
        spec = m.spec
        header = spec.header - 0x8000 if spec.header > F.SMALLINT_MAX else spec.header
        fields = [sint(header)] + [self._literal(v, m) for v in spec.literals]
        code = bytes(spec.bytecodes)
        return self.g.new(F.CLASS_INDEX["CompiledMethod"], F.byte_format(len(code), True),
                          fields, code, label=m.label)

    def _install(self, c, is_meta, table):
        g = self.g
        size = hashed_table_size(len(table), 4)
        sels = [g.symbol(s) for s in table]
        keys = self._hashed_array(sels, lambda s: s.hash, size, f"{c.name} selectors")
        values = [NIL] * size
        by_sym = {id(g.symbol(s)): m for s, m in table.items()}
        for i, k in enumerate(keys.fields):
            if k is not NIL:
                values[i] = by_sym[id(k)].obj
        owner = c.meta_obj if is_meta else c.obj
        label = f"{c.name}{' class' if is_meta else ''} methodDict"
        d = g.new(F.CLASS_INDEX["MethodDictionary"], F.FMT_POINTERS,
                  [sint(len(table)), keys, g.array(values, f"{label} values")], label=label)
        owner.fields[F.BEHAVIOR_METHOD_DICT] = d

    def _make_firmware(self):
        g = self.g
        for c in self.classes:
            for is_meta in (False, True):
                if (c, is_meta) not in self.methods:
                    self._install(c, is_meta, {})
        table = [NIL] * (self.max_index + 1)
        formats = [NIL] * (self.max_index + 1)
        for c in self.classes:
            table[c.index] = c.obj
            formats[c.index] = c.obj.fields[F.BEHAVIOR_FORMAT]
            table[c.meta_index] = c.meta_obj
            formats[c.meta_index] = c.meta_obj.fields[F.BEHAVIOR_FORMAT]
        specials = []
        for sel, nargs in F.SPECIAL_SELECTORS:
            specials += [g.symbol(sel), sint(nargs)]
        fw = self._instance("Firmware", "the Firmware")
        values = {
            "classTable": g.class_table(table),
            "formatTable": g.array(formats, "formatTable"),
            "specialSelectors": g.array(specials, "specialSelectors"),
            "dnuSelector": g.symbol("doesNotUnderstand:"),
            "mustBeBooleanSelector": g.symbol("mustBeBoolean"),
            "cannotReturnSelector": g.symbol("cannotReturn:"),
            "scheduler": self.processor,
            "characterTable": self.char_table,
            # the trap vector: the Firmware class's MethodDictionary (block 0)
            "handlers": self.classes["Firmware"].obj.fields[F.BEHAVIOR_METHOD_DICT],
            "methodDictionaryLayout": sint(0),
        }
        for i, name in enumerate(F.FIRMWARE_FIELDS):
            if name in values:
                fw.fields[i] = values[name]
        self.firmware_fields = fw
        return fw

    def _finish_globals(self):
        """Smalltalk and SymbolTable last: they must see every global and Symbol."""
        g = self.g
        self.symbol_table = g.nil_array(F.SYMBOL_TABLE_BUCKETS, "SymbolTable")
        self.globals["SymbolTable"].fields[1] = self.symbol_table
        smalltalk = self._dictionary("SystemDictionary", self.globals, "Smalltalk")
        self.globals["Smalltalk"].fields[1] = smalltalk
        self.smalltalk = smalltalk
        self.firmware_fields.fields[F.FIRMWARE_FIELDS.index("smalltalk")] = smalltalk
        # every Symbol exists now (the dictionary above made none)
        buckets = {}
        for name, s in g.symbols.items():
            buckets.setdefault(F.symbol_hash(s.data) % F.SYMBOL_TABLE_BUCKETS, []).append(s)
        for i, syms in sorted(buckets.items()):
            self.symbol_table.fields[i] = g.array(syms, f"SymbolTable bucket {i}")

    # --- 4. layout ------------------------------------------------------------
    def _firmware_closure(self, fw):
        """Block 0: the Firmware instance and class and everything their code needs,
        stopping at other classes and at global values (those live elsewhere)."""
        fwc = self.classes["Firmware"]
        stop = {id(c.obj) for c in self.classes} | {id(c.meta_obj) for c in self.classes}
        stop |= {id(a.fields[1]) for a in self.globals.values() if isinstance(a.fields[1], Obj)}
        stop |= {id(self.symbol_table)}
        stop -= {id(fwc.obj), id(fwc.meta_obj)}
        out, seen = [], set()

        def add(o):
            if isinstance(o, Obj) and id(o) not in seen and id(o) not in stop:
                seen.add(id(o))
                out.append(o)

        # The instance only: its tables (classTable, formatTable,
        # specialSelectors) live in other blocks, named by OutPointers, so
        # that block 0 fits in 4 KB; the core reaches them through its import
        # cache like any far object.
        add(fw)
        # The class, metaclass and everything their methods reference: the
        # firmware never resolves a far reference for its own code.
        add(fwc.obj)
        add(fwc.meta_obj)
        stack = [fwc.meta_obj.fields[F.BEHAVIOR_METHOD_DICT], fwc.obj.fields[F.BEHAVIOR_METHOD_DICT]]
        while stack:
            o = stack.pop()
            if not isinstance(o, Obj) or id(o) in seen or id(o) in stop:
                continue
            add(o)
            stack.extend(f for f in reversed(o.fields) if isinstance(f, Obj))
        return out

    def _layout(self, fw):
        first = self._firmware_closure(fw)
        roots = []
        for c in self.classes:
            roots += [c.obj, self.globals[c.name], c.meta_obj]
        roots += [self.smalltalk, self.transcript, self.processor, self.char_table]
        roots += [m.obj for m in self.doits]
        roots += [self.symbol_table]
        class_ids = {id(c.obj) for c in self.classes} | {id(c.meta_obj) for c in self.classes}
        try:
            blocks, addr, placement = L.layout(first, roots, self.block_size, self.g.next_hash,
                                               stop=lambda o: id(o) in class_ids,
                                               fill=self.fill)
        except L.LayoutError as e:
            raise ImageError(f"cannot lay out the image in {self.block_size}-byte "
                             f"blocks: {e}") from None
        if placement.cost_bytes(0) > self.block_size * self.fill:
            self.warnings.append(f"the firmware block is {placement.cost_bytes(0)} bytes "
                                 f"full, over {int(self.fill * 100)}% of {self.block_size}")

        def at(o):
            return list(addr[id(o)])

        meta = {
            "firmware": {"block": addr[id(fw)][0], "offset": addr[id(fw)][1]},
            "doits": [{"block": addr[id(m.obj)][0], "offset": addr[id(m.obj)][1],
                       "file": m.filename, "line": m.line} for m in self.doits],
            "class_names": {},
            "methods": {},
            "globals": {n: at(self.globals[n].fields[1]) for n in
                        ("Smalltalk", "Transcript", "Processor", "SymbolTable",
                         "CharacterTable")},
            "warnings": self.warnings,
            # selectors the runner sends from outside (eval prints a printString)
            "selectors": {n: at(self.g.symbols[n]) for n in ("printString",)
                          if n in self.g.symbols and id(self.g.symbols[n]) in addr},
        }
        for c in self.classes:
            meta["class_names"][str(c.index)] = c.name
            meta["class_names"][str(c.meta_index)] = f"{c.name} class"
        for table in self.methods.values():
            for m in table.values():
                b, o = addr[id(m.obj)]
                meta["methods"][f"{b}:{o}"] = m.label
        for m in self.doits:
            b, o = addr[id(m.obj)]
            meta["methods"][f"{b}:{o}"] = f"doit ({m.filename}:{m.line})"
        image = Image(self.block_size, blocks, meta)
        image.placement = placement        # for statistics; not saved
        image.addresses = addr
        return image
