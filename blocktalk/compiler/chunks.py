"""Reader for Smalltalk-80 chunk-format files ("file-ins").

A chunk is text up to a ``!``; a doubled ``!!`` inside a chunk stands for
one ``!``.  The reader classifies chunks:

* ``Sup subclass: #Name instanceVariableNames: '...' classVariableNames:
  '...' poolDictionaries: '...' category: '...'`` (and the variable,
  variableByte and variableWord forms) -> :class:`ClassDefinition`;
* ``Name class instanceVariableNames: '...'`` -> :class:`ClassInstanceVariables`;
* an empty chunk followed by ``Name methodsFor: 'cat'`` (or ``Name class
  methodsFor: 'cat'``) opens a method section: each following chunk is a
  method until an empty chunk -> :class:`MethodsFor`;
* any other non-blank chunk -> :class:`Doit`.

Definitions are recognised with the compiler's own parser (they are just
keyword messages with literal arguments), so a malformed one is reported as
a :class:`CompileError` at the right position.

Positions (``line``, ``column``) are those of a chunk's first non-blank
character; sources are stripped of surrounding blanks.  After a ``!!``
escape, columns later on the same line are one greater in the file than in
the unescaped source (errors there are reported one column early).
"""

import re
from dataclasses import dataclass

from .errors import CompileError
from .parser import Parser
from . import nodes as N

DEFINITION_KINDS = {
    'subclass:': 'pointers',
    'variableSubclass:': 'variable',
    'variableByteSubclass:': 'bytes',
    'variableWordSubclass:': 'words',
}
DEFINITION_TAIL = 'instanceVariableNames:classVariableNames:poolDictionaries:category:'

# Chunks that look like class definitions: parse errors in them are reported
# instead of the chunk silently becoming a doit.
_LOOKS_LIKE_DEFINITION = re.compile(
    r'\s*[A-Za-z]\w*\s+(subclass|variableSubclass|variableByteSubclass|variableWordSubclass):')


@dataclass
class ClassDefinition:
    superclass: object  # str or None
    name: str
    kind: str
    instance_variables: list
    class_variables: list
    pools: list
    category: str
    line: int
    column: int


@dataclass
class ClassInstanceVariables:
    class_name: str
    instance_variables: list
    line: int
    column: int


@dataclass
class MethodSource:
    source: str
    line: int
    column: int


@dataclass
class MethodsFor:
    class_name: str
    is_meta: bool
    category: str
    methods: list
    line: int
    column: int


@dataclass
class Doit:
    source: str
    line: int
    column: int


@dataclass
class _RawChunk:
    text: str
    line: int
    column: int

    @property
    def blank(self) -> bool:
        return not self.text


def split_chunks(text: str) -> list:
    """Split ``text`` at single ``!``; unescape ``!!``; note where each
    chunk's first non-blank character is.  A final unterminated chunk is
    kept."""
    chunks = []
    buf = []
    line = column = 1
    start = None          # (line, column) of the first non-blank character
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '!':
            if i + 1 < n and text[i + 1] == '!':
                if start is None:
                    start = (line, column)
                buf.append('!')
                i += 2
                column += 2
                continue
            chunks.append(_make_chunk(buf, start, line, column))
            buf, start = [], None
            i += 1
            column += 1
            continue
        if start is None and not ch.isspace():
            start = (line, column)
        buf.append(ch)
        i += 1
        if ch == '\n' or (ch == '\r' and text[i:i + 1] != '\n'):
            line += 1
            column = 1
        else:
            column += 1
    if ''.join(buf).strip():
        chunks.append(_make_chunk(buf, start, line, column))
    return chunks


def _make_chunk(buf, start, line, column) -> _RawChunk:
    body = ''.join(buf).strip()
    if start is None:
        start = (line, column)
    return _RawChunk(body, start[0], start[1])


def read_chunks(text: str, filename: str) -> list:
    """Read a chunk-format file into definition, method-section and doit objects."""
    raw = split_chunks(text)
    result = []
    after_empty = False
    i = 0
    while i < len(raw):
        chunk = raw[i]
        i += 1
        if chunk.blank:
            after_empty = True
            continue
        header = _methods_for(chunk, filename) if after_empty else None
        after_empty = False
        if header is not None:
            while i < len(raw) and not raw[i].blank:
                m = raw[i]
                header.methods.append(MethodSource(m.text, m.line, m.column))
                i += 1
            if i < len(raw):     # the empty chunk ending the section
                i += 1
                after_empty = True
            result.append(header)
            continue
        result.append(_classify(chunk, filename))
    return result


def _parse(chunk: _RawChunk, filename: str):
    return Parser(chunk.text, filename, chunk.line, chunk.column).parse_expression_only()


def _string_arg(node, what: str, filename: str) -> str:
    if not (isinstance(node, N.Literal) and isinstance(node.value, str)):
        raise CompileError(f"expected a string for {what}", filename, node.line, node.column)
    return node.value


def _methods_for(chunk: _RawChunk, filename: str):
    """A MethodsFor (without methods yet) if the chunk is ``X [class]
    methodsFor: 'cat'``, else None."""
    try:
        expr = _parse(chunk, filename)
    except CompileError:
        return None
    if not (isinstance(expr, N.Send) and expr.selector == 'methodsFor:'):
        return None
    rcv, is_meta = expr.receiver, False
    if isinstance(rcv, N.Send) and rcv.selector == 'class' and not rcv.args:
        rcv, is_meta = rcv.receiver, True
    if not isinstance(rcv, N.Variable):
        return None
    category = _string_arg(expr.args[0], "the method category", filename)
    return MethodsFor(rcv.name, is_meta, category, [], chunk.line, chunk.column)


def _classify(chunk: _RawChunk, filename: str):
    try:
        expr = _parse(chunk, filename)
    except CompileError:
        if _LOOKS_LIKE_DEFINITION.match(chunk.text):
            raise
        return Doit(chunk.text, chunk.line, chunk.column)
    if isinstance(expr, N.Send) and isinstance(expr.receiver, N.Variable):
        first_keyword = expr.selector.split(':')[0] + ':'
        if first_keyword in DEFINITION_KINDS and ':' in expr.selector:
            return _class_definition(expr, chunk, filename)
    if (isinstance(expr, N.Send) and expr.selector == 'instanceVariableNames:'
            and isinstance(expr.receiver, N.Send) and expr.receiver.selector == 'class'
            and isinstance(expr.receiver.receiver, N.Variable)):
        names = _string_arg(expr.args[0], "the instance variable names", filename)
        return ClassInstanceVariables(expr.receiver.receiver.name, names.split(),
                                      chunk.line, chunk.column)
    return Doit(chunk.text, chunk.line, chunk.column)


def _class_definition(expr: N.Send, chunk: _RawChunk, filename: str) -> ClassDefinition:
    first_keyword = expr.selector.split(':')[0] + ':'
    if expr.selector != first_keyword + DEFINITION_TAIL:
        expected = first_keyword + DEFINITION_TAIL
        raise CompileError(f"expected class definition message {expected!r}, "
                           f"found {expr.selector!r}", filename, expr.line, expr.column)
    superclass = expr.receiver.name
    if superclass in ('true', 'false', 'self', 'super', 'thisContext'):
        raise CompileError("expected a superclass name or nil", filename,
                           expr.receiver.line, expr.receiver.column)
    name_node = expr.args[0]
    from .literals import Symbol
    if not (isinstance(name_node, N.Literal) and isinstance(name_node.value, Symbol)):
        raise CompileError("expected a symbol for the class name", filename,
                           name_node.line, name_node.column)
    ivars = _string_arg(expr.args[1], "the instance variable names", filename)
    cvars = _string_arg(expr.args[2], "the class variable names", filename)
    pools = _string_arg(expr.args[3], "the pool dictionaries", filename)
    category = _string_arg(expr.args[4], "the category", filename)
    return ClassDefinition(None if superclass == 'nil' else superclass,
                           name_node.value.name, DEFINITION_KINDS[first_keyword],
                           ivars.split(), cvars.split(), pools.split(), category,
                           chunk.line, chunk.column)
