"""Compare this compiler with the Xerox Smalltalk-80 Version 2 compiler.

Reads the Xerox virtual image (``st80/VirtualImage``) and its sources file
(``st80/Smalltalk-80.sources``) at run time -- nothing from them is copied
into the project -- recompiles every method whose source is available, and
compares bytecodes, literal frame and header with the image's method.

Usage::

    python -m blocktalk.compiler.xerox_check [--shared ../shared] [--limit N]
        [--show REASON] [--verbose]

Image format (see ``st80/PROVENANCE.md``): big-endian 16-bit words; object
space from byte 512; the object table (2 words per entry: flags/segment,
location) fills the end of the file.  Each object is ``size, class,
fields...``.  A Version 2 CompiledMethod ends with three bytes pointing into
the sources file (little-endian 24 bits: position in the low 22 bits).
"""

import argparse
import os
import struct
import sys
from collections import Counter

from .errors import CompileError
from .literals import Binding, Character, MethodClassBinding, Symbol
from .method import ClassScope, compile_method

# Well-known object pointers of the Blue Book / Version 2 image.
NIL, FALSE, TRUE = 2, 4, 6
CLASS_STRING, CLASS_ARRAY, CLASS_FLOAT = 0x0E, 0x10, 0x14
CLASS_LARGE_POSITIVE = 0x1C
CLASS_COMPILED_METHOD, CLASS_CHARACTER, CLASS_SYMBOL = 0x22, 0x28, 0x38
CLASS_METACLASS = 0x3C

# Field indexes of Behavior/ClassDescription/Class/Metaclass in Version 2.
SUPERCLASS, METHOD_DICT, INST_VARS, CLASS_NAME, THIS_CLASS = 0, 1, 4, 6, 6


class Image:
    """Minimal read-only access to an interchange-format virtual image."""

    def __init__(self, path: str):
        with open(path, 'rb') as f:
            self.data = f.read()
        space_words, table_words = struct.unpack_from('>II', self.data, 0)
        self.table = self.data[len(self.data) - table_words * 2:]
        self.num_oops = table_words // 2 * 2  # oops are even: 2 per entry

    def entry(self, oop: int):
        return struct.unpack_from('>HH', self.table, oop * 2)

    def is_live(self, oop: int) -> bool:
        return oop * 2 + 4 <= len(self.table) and not self.entry(oop)[0] & 0x20

    def address(self, oop: int) -> int:
        flags, location = self.entry(oop)
        return 512 + (((flags & 15) << 16) + location) * 2

    def word(self, byte_address: int) -> int:
        return struct.unpack_from('>H', self.data, byte_address)[0]

    def size(self, oop: int) -> int:
        return self.word(self.address(oop)) - 2

    def class_of(self, oop: int) -> int:
        if oop & 1:
            return None
        return self.word(self.address(oop) + 2)

    def field(self, oop: int, i: int) -> int:
        return self.word(self.address(oop) + 4 + 2 * i)

    def fields(self, oop: int) -> list:
        return [self.field(oop, i) for i in range(self.size(oop))]

    def bytes_of(self, oop: int) -> bytes:
        start = self.address(oop) + 4
        n = self.size(oop) * 2 - (1 if self.entry(oop)[0] & 0x80 else 0)
        return self.data[start:start + n]

    def string(self, oop: int) -> str:
        return self.bytes_of(oop).decode('latin-1')

    @staticmethod
    def small_int(oop: int) -> int:
        value = oop >> 1
        return value - 0x8000 if value & 0x4000 else value

    # -- classes ------------------------------------------------------------------
    def classes(self):
        """Yield (class oop, is_meta) for every class and metaclass."""
        for oop in range(0, len(self.table) // 2, 2):
            if not self.is_live(oop):
                continue
            cls = self.class_of(oop)
            if cls == CLASS_METACLASS:
                yield oop, True
            elif cls is not None and self.is_live(cls) and self.class_of(cls) == CLASS_METACLASS:
                yield oop, False

    def class_name(self, cls: int, is_meta: bool) -> str:
        if is_meta:
            return self.class_name(self.field(cls, THIS_CLASS), False) + ' class'
        return self.string(self.field(cls, CLASS_NAME))

    def all_inst_var_names(self, cls: int) -> list:
        chain = []
        while cls != NIL:
            chain.append(cls)
            cls = self.field(cls, SUPERCLASS)
        names = []
        for c in reversed(chain):
            arr = self.field(c, INST_VARS)
            if arr != NIL:
                names += [self.string(n) for n in self.fields(arr)]
        return names

    def methods(self, cls: int):
        """Yield (selector, method oop) from the class's MethodDictionary."""
        md = self.field(cls, METHOD_DICT)
        methods = self.field(md, 1)
        for i in range(2, self.size(md)):
            sel = self.field(md, i)
            if sel != NIL:
                yield self.string(sel), self.field(methods, i - 2)

    # -- literal conversion --------------------------------------------------------------
    def literal(self, oop: int, method_class: int):
        """The image literal in the compiler's literal model."""
        if oop & 1:
            return self.small_int(oop)
        if oop == NIL:
            return None
        if oop == TRUE:
            return True
        if oop == FALSE:
            return False
        cls = self.class_of(oop)
        if cls == CLASS_SYMBOL:
            return Symbol(self.string(oop))
        if cls == CLASS_STRING:
            return self.string(oop)
        if cls == CLASS_CHARACTER:
            return Character(self.small_int(self.field(oop, 0)))
        if cls == CLASS_ARRAY:
            return tuple(self.literal(f, method_class) for f in self.fields(oop))
        if cls == CLASS_FLOAT:
            return struct.unpack('>f', self.bytes_of(oop))[0]
        if cls == CLASS_LARGE_POSITIVE or self.class_name_safe(cls) == 'LargeNegativeInteger':
            value = int.from_bytes(self.bytes_of(oop), 'little')
            return value if cls == CLASS_LARGE_POSITIVE else -value
        if self.size(oop) == 2 and self.class_name_safe(cls) == 'Association':
            key = self.field(oop, 0)
            value = self.field(oop, 1)
            if value == method_class:
                return ('assoc-to-method-class', self.literal(key, method_class))
            name = self.string(key) if self.class_of(key) == CLASS_SYMBOL else repr(key)
            return Binding(name)
        return ('unknown', self.class_name_safe(cls))

    def class_name_safe(self, cls) -> str:
        try:
            if self.class_of(cls) == CLASS_METACLASS:
                return self.class_name(cls, True)
            return self.class_name(cls, False)
        except Exception:
            return '?'


class XMethod:
    """A CompiledMethod read from the image."""

    def __init__(self, image: Image, oop: int):
        self.oop = oop
        fields_bytes = image.bytes_of(oop)
        self.header = image.small_int(image.field(oop, 0)) & 0x7FFF
        nlits = self.header & 63
        self.literal_oops = [image.field(oop, 1 + i) for i in range(nlits)]
        body = fields_bytes[2 + 2 * nlits:]
        self.bytecodes = body[:-3]
        trailer = body[-3:]
        self.source_pointer = trailer[0] | trailer[1] << 8 | trailer[2] << 16


def read_source(sources: bytes, position: int):
    """The chunk starting at ``position`` (``!!`` unescaped), or None."""
    if position >= len(sources) or position <= 0:
        return None
    out = bytearray()
    i = position
    while i < len(sources):
        b = sources[i]
        if b == 0x21:  # '!'
            if i + 1 < len(sources) and sources[i + 1] == 0x21:
                out.append(0x21)
                i += 2
                continue
            break
        out.append(b)
        i += 1
    return out.decode('latin-1')


def compare(image: Image, sources: bytes, cls: int, is_meta: bool, selector: str, moop: int):
    """Return (reason, detail): reason 'ok' when the compilers agree."""
    xm = XMethod(image, moop)
    src = read_source(sources, xm.source_pointer & 0x3FFFFF)
    if src is None:
        return 'no source', ''
    scope = ClassScope(image.class_name(cls, is_meta), image.all_inst_var_names(cls), is_meta)
    try:
        spec = compile_method(src, scope)
    except CompileError as e:
        return 'compile error', str(e)
    except RecursionError:
        return 'compile error', 'recursion'
    if spec.selector != selector:
        return 'selector differs', f'{spec.selector} vs {selector}'
    if bytes(spec.bytecodes) != xm.bytecodes:
        return 'bytecodes differ', f'ours {list(spec.bytecodes)}\nxerox {list(xm.bytecodes)}'
    theirs = [image.literal(o, cls) for o in xm.literal_oops]
    if not literals_equal(spec.literals, theirs):
        return 'literals differ', f'ours {spec.literals}\nxerox {theirs}'
    if spec.header != xm.header:
        return 'header differs', f'ours {spec.header:#06x} xerox {xm.header:#06x}'
    return 'ok', ''


def literal_equal(x, y, in_array=False) -> bool:
    """Our literal ``x`` against the image's (converted) literal ``y``."""
    to_class = isinstance(y, tuple) and y[:1] == ('assoc-to-method-class',)
    if isinstance(x, MethodClassBinding):
        return to_class
    if isinstance(x, Binding) and to_class:
        return y[1] == Symbol(x.name)
    if to_class:
        return False
    if isinstance(x, (bool, type(None))) and isinstance(y, Symbol) and in_array:
        # Version 2 read true/false/nil in literal arrays as Symbols; the
        # blocktalk compiler reads them as the constants (as later Smalltalks).
        return y.name == {True: 'true', False: 'false', None: 'nil'}[x]
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) <= 1e-6 * max(1.0, abs(x))
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(literal_equal(a, b, True) for a, b in zip(x, y))
    return type(x) is type(y) and x == y


def literals_equal(a, b) -> bool:
    return len(a) == len(b) and all(literal_equal(x, y) for x, y in zip(a, b))


def all_methods(image: Image):
    for cls, is_meta in image.classes():
        for selector, moop in image.methods(cls):
            yield cls, is_meta, selector, moop


def run(shared: str, limit: int = None, sample_every: int = 1, verbose: bool = False,
        show: str = None, out=None):
    """Compare the methods; print a summary to ``out``; return (agree, compared, reasons)."""
    out = out or sys.stdout
    st80 = os.path.join(shared, 'st80')
    image = Image(os.path.join(st80, 'VirtualImage'))
    with open(os.path.join(st80, 'Smalltalk-80.sources'), 'rb') as f:
        sources = f.read()
    reasons = Counter()
    examples = {}
    methods = sorted(all_methods(image), key=lambda m: m[3])
    methods = methods[::sample_every]
    if limit:
        methods = methods[:limit]
    for cls, is_meta, selector, moop in methods:
        reason, detail = compare(image, sources, cls, is_meta, selector, moop)
        reasons[reason] += 1
        label = f'{image.class_name(cls, is_meta)}>>{selector} ({moop:#x})'
        examples.setdefault(reason, []).append((label, detail))
        if show and reason == show:
            print(f'--- {label}\n{detail}', file=out)
    compared = sum(n for r, n in reasons.items() if r != 'no source')
    agree = reasons['ok']
    print(f'methods: {sum(reasons.values())}, with source: {compared}, agree: {agree} '
          f'({100.0 * agree / max(compared, 1):.2f}%)', file=out)
    for reason, n in reasons.most_common():
        print(f'  {reason}: {n}', file=out)
        if verbose and reason != 'ok':
            for label, detail in examples[reason][:5]:
                print(f'    {label}: {detail}'.replace('\n', '\n      '), file=out)
    return agree, compared, reasons


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default=os.path.join('..', 'shared'))
    parser.add_argument('--limit', type=int, default=None)
    parser.add_argument('--every', type=int, default=1, help='compare every Nth method')
    parser.add_argument('--verbose', action='store_true')
    parser.add_argument('--show', default=None, help='print all mismatches of this reason')
    args = parser.parse_args(argv)
    if not os.path.exists(os.path.join(args.shared, 'st80', 'VirtualImage')):
        print(f'no Xerox image under {args.shared}/st80', file=sys.stderr)
        return 2
    run(args.shared, args.limit, args.every, args.verbose, args.show)
    return 0


if __name__ == '__main__':
    sys.exit(main())
