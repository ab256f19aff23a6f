"""Test helpers for the software core: run CompiledMethods made of *raw* bytecodes.

In the style of RSqueak's interpreter tests, a test writes the bytecodes of a
tiny method by hand, names its literals with Python values, runs it on a core
booted from a real kernel image, and checks the answer (or the stack).

The kernel image (kernel + firmware handlers + :data:`FIXTURE`) is built once
per block size per test session (:func:`kernel_image`); every run gets a fresh
:class:`~blocktalk.runner.Machine` on a private copy of its blocks, so tests
never see each other's side effects.  The raw method is not in the image: it is
allocated at run time in the core's allocation block (a ``blockFull:`` trap
makes one), and its literals are stored with the core's own ``store``, so a
literal that lives in another block goes through the export handler and becomes
an OutPointer, exactly as for a method the builder made.

Literal and receiver specs (:func:`run_raw`):

* Python ``int`` (15-bit), ``True``, ``False``, ``None``;
* :class:`Sym` -- the image's Symbol of that name (found in the SymbolTable);
* :class:`Str` -- a fresh String; :class:`Arr` -- a fresh Array of specs;
* :class:`Assoc` -- a fresh Association (for push/store literal variable);
* :class:`Cls` -- a class object; :class:`Char` -- the unique Character;
* :class:`New` -- a fresh instance of a class with the given field specs;
* :class:`Method` -- another raw method object (e.g. to install or inspect).
"""

from dataclasses import dataclass, field

from blocktalk.image.builder import build_image
from blocktalk.memory import format as F
from blocktalk.runner import Machine
from blocktalk.sim.primitives import SMALLINTEGER_FUNCTIONS, PrimitiveFailed
from blocktalk.sim.traps import Halt

NIL, FALSE, TRUE = F.NIL, F.FALSE, F.TRUE

#: Extra source built into every test image: classes with known shapes.
FIXTURE = """Object subclass: #BtFixture
	instanceVariableNames: 'f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 f13 f14 f15 f16 f17'
	classVariableNames: ''
	poolDictionaries: ''
	category: 'Tests'!
BtFixture subclass: #BtSub
	instanceVariableNames: ''
	classVariableNames: ''
	poolDictionaries: ''
	category: 'Tests'!
Object subclass: #BtNode
	instanceVariableNames: 'next value'
	classVariableNames: ''
	poolDictionaries: ''
	category: 'Tests'!

!BtFixture methodsFor: 'tests'!
who
	^#fixture!
whoAndArg: x
	^x!
add: a to: b
	^a + b!
a: a b: b c: c d: d e: e
	^(((a * 10 + b) * 10 + c) * 10 + d) * 10 + e!
f0
	^f0! !

!BtSub methodsFor: 'tests'!
who
	^#sub!
superWho
	^super who! !

!BtNode methodsFor: 'accessing'!
next
	^next!
next: aNode
	next := aNode!
value
	^value!
value: v
	value := v! !
"""

_IMAGES = {}


def kernel_image(block_size=F.DEFAULT_BLOCK_SIZE):
    """The kernel + firmware + :data:`FIXTURE` image, built once per block size."""
    image = _IMAGES.get(block_size)
    if image is None:
        image = build_image([("fixture.st", FIXTURE)], block_size=block_size)
        _IMAGES[block_size] = image
    return image


def fresh_machine(block_size=F.DEFAULT_BLOCK_SIZE, sram_size=None, out=None):
    """A new core on a private copy of the cached kernel image."""
    return Machine(image=kernel_image(block_size), sram_size=sram_size, out=out)


# --- literal specs -------------------------------------------------------------------

class Sym(str):
    """The image's Symbol ``#name``."""


class Str(str):
    """A fresh String."""


class Arr(list):
    """A fresh Array whose elements are specs."""


class Cls(str):
    """The class object named ``name`` (``Cls('Array')``; ``Cls('Array class')`` is
    the metaclass)."""


class Char(str):
    """The unique Character of a one-character string."""


@dataclass
class Assoc:
    """A fresh Association ``key -> value`` (specs)."""
    key: object = None
    value: object = None


@dataclass
class New:
    """A fresh instance of class ``cls`` (a pointer class) with ``fields`` (specs);
    missing fields are nil."""
    cls: str
    fields: list = field(default_factory=list)
    indexed: int = 0


@dataclass
class Method:
    """A raw CompiledMethod (see :func:`make_method`)."""
    code: bytes
    literals: list = field(default_factory=list)
    temps: int = 0
    nargs: int = 0
    primitive: int = 0
    large: bool = False


def header_word(nlits, temps=0, nargs=0, primitive=0, large=False):
    """The header oop of a CompiledMethod (compiler/method.py layout).  A primitive
    or more than 4 arguments need flag 7 and the extension literal: the caller
    must then pass it as the second-to-last literal (:func:`make_method` does)."""
    flag = 7 if (primitive or nargs > 4) else nargs
    value = (flag << 12) | (temps << 7) | (int(large) << 6) | nlits
    return ((value << 1) | 1) & 0xFFFF


class RawRun:
    """One machine with helpers to build objects from specs and run raw methods."""

    def __init__(self, block_size=F.DEFAULT_BLOCK_SIZE, sram_size=None, machine=None):
        self.m = machine or fresh_machine(block_size, sram_size)
        self.core = self.m.core
        self.mem = self.core.mem
        meta = self.m.image.meta
        self.class_index = {name: int(i) for i, name in meta["class_names"].items()}
        self.output = bytearray()
        self.core.out = self.output.extend

    # --- objects ------------------------------------------------------------------

    def traps(self, fn):
        """Run ``fn`` servicing its traps (as the core does for a bytecode)."""
        return self.m._with_traps(fn)

    def _pin(self, *values):
        core = self.core
        core.pin_registers()
        for v in values:
            if not (v & 1) and v >= 16:
                self.mem.pinned.add(v >> self.mem.log2)

    def allocate(self, class_index, fmt, body_words, fill=NIL):
        obj = self.traps(lambda: self.core.instantiate(class_index, fmt, body_words, fill))
        self.core.pin_registers()
        return obj

    def store(self, obj, index, value):
        """Field ``index`` (0-based) of ``obj`` := core value (export trap if far)."""
        self.traps(lambda: self.mem.store(obj, index, value))
        self.mem.dirty[obj >> self.mem.log2] = True

    def fetch(self, obj, index):
        return self.traps(lambda: self.mem.fetch(obj, index))

    def address(self, ref):
        """Core address of an object named (block, offset), loading its block."""
        block, offset = ref
        mem = self.mem
        frame = mem.load_block(block, busy=set(mem.pinned))
        return (frame << mem.log2) + offset

    def symbol(self, name):
        ins = self.m.inspector
        data = name.encode("latin-1")
        table = tuple(self.m.image.meta["globals"]["SymbolTable"])
        bucket = ins.field(table, F.symbol_hash(data) % F.SYMBOL_TABLE_BUCKETS)
        if bucket[0] in ("int", "imm"):
            raise KeyError(f"no Symbol #{name} in the image")
        for i in range(ins.size_words(bucket) - 3):
            sym = ins.field(bucket, i)
            if sym[0] not in ("int", "imm") and ins.bytes(sym) == data:
                return self.address(sym)
        raise KeyError(f"no Symbol #{name} in the image")

    def class_object(self, name):
        return self.traps(lambda: self.core.class_object(self.class_index[name]))

    def string(self, text, cls="String"):
        data = text.encode("latin-1")
        n = len(data)
        obj = self.allocate(self.class_index[cls], F.FMT_BYTES + (n & 1), (n + 1) // 2, 0)
        for i, b in enumerate(data):
            self.mem.set_byte_at(obj, i, b)
        return obj

    def character(self, ch):
        table = self.traps(lambda: self.core.firmware_field_value("characterTable"))
        return self.fetch(table, ord(ch))

    def instance(self, cls, fields=(), indexed=0):
        fmt = F.smallint_value(self.fetch(self.traps(self.core.format_table),
                                          self.class_index[cls]))
        named = F.class_format_named(fmt)
        obj = self.allocate(self.class_index[cls], F.FMT_POINTERS, named + indexed)
        for i, f in enumerate(fields):
            self._store_spec(obj, i, f)
        return obj

    def _store_spec(self, obj, index, spec):
        value = self.value(spec)
        self._pin(obj)
        self.store(obj, index, value)

    def value(self, spec):
        """The core value of a spec (module docstring)."""
        if spec is None:
            return NIL
        if spec is True:
            return TRUE
        if spec is False:
            return FALSE
        if isinstance(spec, int):
            return F.smallint(spec)
        if isinstance(spec, Sym):
            return self.symbol(str(spec))
        if isinstance(spec, Str):
            return self.string(str(spec))
        if isinstance(spec, Char):
            return self.character(str(spec))
        if isinstance(spec, Cls):
            return self.class_object(str(spec))
        if isinstance(spec, Arr):
            obj = self.allocate(F.CLASS_INDEX["Array"], F.FMT_POINTERS, len(spec))
            for i, s in enumerate(spec):
                self._store_spec(obj, i, s)
            return obj
        if isinstance(spec, Assoc):
            obj = self.allocate(F.CLASS_INDEX["Association"], F.FMT_POINTERS, 2)
            self._store_spec(obj, F.ASSOC_KEY, spec.key)
            self._store_spec(obj, F.ASSOC_VALUE, spec.value)
            return obj
        if isinstance(spec, New):
            return self.instance(spec.cls, spec.fields, spec.indexed)
        if isinstance(spec, Method):
            return self.method(spec.code, spec.literals, spec.temps, spec.nargs,
                               spec.primitive, spec.large)
        if isinstance(spec, CoreValue):
            return spec.value
        raise TypeError(f"not a literal spec: {spec!r}")

    def method(self, code, literals=(), temps=0, nargs=0, primitive=0, large=False):
        """A CompiledMethod with bytecodes ``code`` and literal specs ``literals``
        (with flag 7 the extension and a method-class literal are appended)."""
        code = bytes(code)
        lits = list(literals)
        if primitive or nargs > 4:
            lits += [(nargs << 8) | primitive, Assoc(None, None)]
        nlits = len(lits)
        n = len(code)
        obj = self.allocate(F.CLASS_INDEX["CompiledMethod"], F.FMT_METHOD + (n & 1),
                            1 + nlits + (n + 1) // 2, 0)
        self.mem.mem[(obj >> 1) + 3] = header_word(nlits, temps, nargs, primitive, large)
        for i, spec in enumerate(lits):
            self._store_spec(obj, 1 + i, spec)
        base = (1 + nlits) * 2
        for i, b in enumerate(code):
            self.mem.set_byte_at(obj, base + i, b)
        return obj

    def install(self, cls, selector, method):
        """Make sends of ``selector`` to instances of ``cls`` run ``method`` (a
        :class:`Method` spec): the entry goes straight into the core's dispatch
        table, as the lookup handler would put it.  The raw method is not in any
        MethodDictionary, so this lasts only until the next collection or eviction
        of its block (fine for tiny tests)."""
        obj = self.value(method)
        self._pin(obj)
        self.mem.dispatch[(self.class_index[cls], self.symbol(selector))] = obj
        return obj

    # --- running ------------------------------------------------------------------

    def start(self, code, literals=(), receiver=None, temps=0, large=False):
        method = self.method(code, literals, temps=temps, large=large)
        self._pin(method)
        rcvr = self.value(receiver)
        self.m.start(self.m.inspector.loc(method), rcvr)
        return method

    def run(self, code, literals=(), receiver=None, temps=0, large=False, limit=200000):
        """Run the raw method in a base context; answers the returned core value.
        ``limit`` bytecodes at most (a runaway test fails instead of hanging)."""
        self.start(code, literals, receiver, temps, large)
        return self.resume(limit)

    def resume(self, limit=200000):
        stats = self.core.stats
        try:
            self.core.run(stats.bytecodes + limit)
        except Halt as h:
            if h.value is None:
                raise AssertionError(f"no answer after {limit} bytecodes") from None
            return h.value
        raise AssertionError("the core stopped without a Halt")

    def steps(self, n):
        """Execute ``n`` more bytecodes of the active method (traps included)."""
        stats = self.core.stats
        try:
            self.core.run(stats.bytecodes + n)
        except Halt as h:
            if h.value is not None:
                return h.value
        return None

    def stack_words(self):
        """Raw words of the active context's stack (temporaries included)."""
        core = self.core
        lo = (core.ctx >> 1) + 3 + F.CTX_TEMP_FRAME_START
        return self.mem.mem[lo:core.sp + 1]

    def stack(self, convert=True):
        """The active context's stack as core values (or Python values), bottom
        first, temporaries included."""
        base = self.core.ctx & ~self.mem.mask
        values = [self.traps(lambda w=w: self.mem.decode(w, base)) for w in self.stack_words()]
        return [self.py(v) for v in values] if convert else values

    # --- values -------------------------------------------------------------------

    def class_name_of(self, value):
        return self.m.image.meta["class_names"].get(str(self.mem.class_index(value)))

    def py(self, value):
        """A Python value for a core value: int, True/False/None, a LargeInteger as
        an int, otherwise the printString."""
        if value & 1:
            return F.smallint_value(value)
        if value == NIL:
            return None
        if value == TRUE:
            return True
        if value == FALSE:
            return False
        cidx = self.mem.class_index(value)
        if cidx in (F.CLASS_INDEX["LargePositiveInteger"], F.CLASS_INDEX["LargeNegativeInteger"]):
            n = int.from_bytes(self.mem.bytes_of(value), "little")
            return -n if cidx == F.CLASS_INDEX["LargeNegativeInteger"] else n
        return self.m.print_string(value)


@dataclass
class CoreValue:
    """A spec that is already a core value (an object made earlier in the run)."""
    value: int


def run_raw(code, literals=(), receiver=None, temps=0, block_size=F.DEFAULT_BLOCK_SIZE,
            large=False, limit=200000):
    """Run raw bytecodes on a fresh core; answers the result as a Python value."""
    r = RawRun(block_size)
    return r.py(r.run(code, literals, receiver, temps, large, limit))


def send_code(nargs, selector_index=0, first_push=1):
    """Bytecodes that push literals ``first_push`` .. ``first_push + nargs`` (the
    receiver and the arguments), send literal ``selector_index`` and return top."""
    code = [32 + first_push + i for i in range(nargs + 1)]
    if nargs <= 2:
        code.append(208 + 16 * nargs + selector_index)
    else:
        code += [131, (nargs << 5) | selector_index]
    return code + [124]


def run_send(receiver, selector, *args, block_size=F.DEFAULT_BLOCK_SIZE):
    """``receiver selector: args...`` as a literal send (a real lookup, never the
    special-selector shortcut) from a raw method; answers a Python value."""
    return run_raw(send_code(len(args)), [Sym(selector), receiver, *args],
                   block_size=block_size)


def run_doit(source, block_size=F.DEFAULT_BLOCK_SIZE, sram_size=None, files=()):
    """Build an image with ``source`` as a doit (plus the fixture), run it and answer
    (machine, Python value of the last doit)."""
    image = build_image([("fixture.st", FIXTURE), *files, ("doit.st", source)],
                        block_size=block_size)
    m = Machine(image=image, sram_size=sram_size)
    value = m.run_doits()
    r = RawRun(machine=m)
    return m, r.py(value)


def smallinteger_answer(primitive, a, b):
    """What the software core's SmallInteger primitive ``primitive`` (1-17)
    answers for the core words ``a`` and ``b``: (result word, fail), the
    reference of the RTL ALU's and divider's tests."""
    if not (a & 1 and b & 1):
        return None, True
    try:
        r = SMALLINTEGER_FUNCTIONS[primitive](F.smallint_value(a), F.smallint_value(b))
    except PrimitiveFailed:
        return None, True
    if r is True or r is False:
        return (F.TRUE if r else F.FALSE), False
    if not F.fits_smallint(r):
        return None, True
    return F.smallint(r), False
