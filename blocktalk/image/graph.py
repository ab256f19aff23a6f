"""An in-memory Smalltalk object graph, before it is cut into blocks.

An :class:`Obj` knows its class, its memory format, its pointer fields and (for
byte objects and CompiledMethods) its bytes.  A field is a *ref*: another
``Obj``, a SmallInteger ``('int', value)``, or one of the immediates
:data:`NIL`, :data:`TRUE`, :data:`FALSE`.  Layout (``layout.py``) turns refs into
near pointers, OutPointers and tagged words.

:class:`Graph` hands out identity hashes from ``identity_hash_sequence`` in
creation order (so the same build gives the same image) and keeps the unique
objects: one Symbol per name, the 256 Characters.
"""

from blocktalk.memory import format as F


class Immediate:
    """nil, true or false: an oop that is not an object."""
    __slots__ = ("name", "oop")

    def __init__(self, name, oop):
        self.name = name
        self.oop = oop

    def __repr__(self):
        return self.name


NIL = Immediate("nil", F.NIL)
TRUE = Immediate("true", F.TRUE)
FALSE = Immediate("false", F.FALSE)


def sint(value):
    """A SmallInteger ref; checks the 15-bit range now, not at serialisation."""
    if not F.fits_smallint(value):
        raise OverflowError(f"{value} is not a 15-bit SmallInteger")
    return ("int", value)


class Obj:
    """One object.  ``cls`` is a class Obj (with ``.index``) or a class index."""
    __slots__ = ("cls", "fmt", "fields", "data", "hash", "label", "index", "__weakref__")

    def __init__(self, cls, fmt, fields=(), data=b"", hash_=0, label=None):
        self.cls = cls
        self.fmt = fmt
        self.fields = list(fields)
        # bytes for byte objects and CompiledMethods, a list of ints for words
        self.data = data
        self.hash = hash_
        self.label = label
        self.index = None     # class index, set only on class and metaclass objects

    @property
    def class_index(self):
        c = self.cls
        return c if isinstance(c, int) else c.index

    def body_words(self):
        """Words after the 3-word header."""
        if self.fmt == F.FMT_WORDS:
            return len(self.fields) + len(self.data)
        return len(self.fields) + F.body_words_for_bytes(len(self.data))

    def size_words(self):
        return F.OBJ_HEADER_WORDS + self.body_words()

    def refs(self):
        """The Obj referents (fields that are objects)."""
        return [f for f in self.fields if isinstance(f, Obj)]

    def describe(self):
        return self.label or f"a {self.cls.label if isinstance(self.cls, Obj) else self.cls}" \
            f" ({self.size_words()} words)"

    def __repr__(self):
        return f"<Obj {self.describe()}>"


def bytes_format(nbytes):
    return F.byte_format(nbytes)


class Graph:
    """Creates objects with fresh identity hashes and interns Symbols/Characters."""

    def __init__(self, seed=1):
        self._hashes = F.identity_hash_sequence(seed)
        self.objects = []
        self.symbols = {}      # name -> Obj
        self._characters = {}  # value -> Obj

    def next_hash(self):
        """A fresh identity hash for an object created outside the graph (tables)."""
        return next(self._hashes)

    def new(self, cls, fmt, fields=(), data=b"", label=None):
        o = Obj(cls, fmt, fields, data, next(self._hashes), label)
        self.objects.append(o)
        return o

    # --- common shapes ---------------------------------------------------
    def array(self, refs, label=None):
        return self.new(F.CLASS_INDEX["Array"], F.FMT_POINTERS, refs, label=label)

    def class_table(self, classes):
        """The two-level class table (format.CLASS_TABLE_PAGE classes a page)."""
        n = F.CLASS_TABLE_PAGE
        pages = [self.array(classes[i:i + n], f"classTable page {i // n}")
                 for i in range(0, len(classes), n)]
        return self.array(pages, "classTable")

    def nil_array(self, n, label=None):
        return self.array([NIL] * n, label)

    def bytes_object(self, cls, data, label=None):
        data = bytes(data)
        return self.new(cls, F.byte_format(len(data)), (), data, label)

    def string(self, text, label=None):
        return self.bytes_object(F.CLASS_INDEX["String"], _latin1(text),
                                 label or f"'{text}'")

    def symbol(self, name):
        """The unique Symbol ``name``."""
        s = self.symbols.get(name)
        if s is None:
            s = self.bytes_object(F.CLASS_INDEX["Symbol"], _latin1(name), f"#{name}")
            self.symbols[name] = s
        return s

    def character(self, value):
        """The unique Character with code ``value`` (0..255)."""
        if not 0 <= value <= 255:
            raise ValueError(f"Character value {value} is outside 0..255")
        c = self._characters.get(value)
        if c is None:
            c = self.new(F.CLASS_INDEX["Character"], F.FMT_POINTERS, [sint(value)],
                         label=f"Character value: {value}")
            self._characters[value] = c
        return c

    def all_characters(self):
        return [self.character(v) for v in range(256)]

    def integer(self, value):
        """A SmallInteger ref or a Large(Positive|Negative)Integer object."""
        if F.fits_smallint(value):
            return sint(value)
        mag = abs(value)
        digits = mag.to_bytes((mag.bit_length() + 7) // 8, "little")
        name = "LargePositiveInteger" if value > 0 else "LargeNegativeInteger"
        return self.bytes_object(F.CLASS_INDEX[name], digits, f"{value}")

    def association(self, key, value, label=None):
        return self.new(F.CLASS_INDEX["Association"], F.FMT_POINTERS, [key, value],
                        label=label)


def _latin1(text):
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as e:
        raise ValueError(f"{text!r} has characters outside Latin-1") from e


def literal_ref(g, v, binding, error):
    """The graph ref for compiler literal ``v`` (shared by the builder and the
    image importer).  ``binding(v)`` answers the Association for a Binding or
    MethodClassBinding literal; ``error(message)`` raises for a literal the
    machine has no objects for."""
    from blocktalk.compiler import Symbol, Character, Binding, MethodClassBinding
    if v is None:
        return NIL
    if v is True:
        return TRUE
    if v is False:
        return FALSE
    if isinstance(v, int):
        return g.integer(v)
    if isinstance(v, float):
        error("Float literals are not supported")
    if isinstance(v, str):
        return g.string(v)
    if isinstance(v, Symbol):
        return g.symbol(v.name)
    if isinstance(v, Character):
        return g.character(v.value)
    if isinstance(v, tuple):
        return g.array([literal_ref(g, x, binding, error) for x in v])
    if isinstance(v, (bytes, bytearray)):
        return g.array([sint(b) for b in v])
    if isinstance(v, (Binding, MethodClassBinding)):
        return binding(v)
    error(f"unsupported literal {v!r}")


def hashed_table_size(count, minimum):
    """Smallest power of two >= max(minimum, 4/3 * count): at most 3/4 full, the
    kernel's own growth threshold, so probe sequences stay short."""
    n = max(minimum, (4 * count + 2) // 3)
    return 1 << (n - 1).bit_length()
