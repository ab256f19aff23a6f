"""Exact bytecodes and literal frames for every syntax form (Blue Book
chapter 28 bytecode set, Xerox Version 2 code shapes)."""
import pytest

from blocktalk.compiler import (Binding, ClassScope, MethodClassBinding, Symbol,
                                compile_doit, compile_method)

SCOPE = ClassScope('Foo', ['a', 'b'])


def code(source, scope=SCOPE):
    """Bytecodes of ``source`` compiled in ``scope`` as a list of ints."""
    return list(compile_method(source, scope).bytecodes)


def method(source, scope=SCOPE):
    return compile_method(source, scope)


@pytest.mark.parametrize('source, expected', [
    # pushes and returns
    ('foo ^3 + 4', [32, 33, 176, 124]),
    ('foo ^self', []),                      # quick method: no bytecodes
    ('foo ^true', [121]),
    ('foo ^false', [122]),
    ('foo ^nil', [123]),
    ('foo ^thisContext', [137, 124]),
    ('foo ^-1', [116, 124]),
    ('foo ^0', [117, 124]),
    ('foo ^1', [118, 124]),
    ('foo ^2', [119, 124]),
    ('foo self bar', [112, 208, 135, 120]),
    ('foo: x ^x', [16, 124]),
    ('foo ^b', []),                         # quick instance variable return
    ('foo ^a + b', [0, 1, 176, 124]),
    ('foo ^Smalltalk', [64, 124]),
    # assignment
    ('foo a := 3', [32, 96, 120]),
    ('foo | t | t := 3. ^t', [32, 104, 16, 124]),
    ('foo ^a := b := 3', [32, 129, 1, 129, 0, 124]),
    ('foo X := 3. ^X', [32, 130, 193, 65, 124]),
    ('foo a _ 3', [32, 96, 120]),
    ('foo a \u2190 3', [32, 96, 120]),
    # sends
    ('foo ^self bar: 1 baz: 2', [112, 118, 119, 240, 124]),
    ('foo ^self with: 1 with: 2 with: 3', [112, 118, 119, 33, 131, 96, 124]),
    ('foo ^3 foo; bar: 1; baz', [32, 136, 209, 135, 136, 118, 226, 135, 211, 124]),
    ('foo ^super bar', [112, 133, 0, 124]),
    ('foo ^super + 1', [112, 118, 133, 32, 124]),
    ('foo ^(1 @ 2) x', [118, 119, 187, 206, 124]),
    ('foo ^a == b', [0, 1, 198, 124]),
    ('foo ^a class', [0, 199, 124]),
    ('foo ^a at: 1 put: b', [0, 118, 1, 193, 124]),
    # blocks
    ('foo ^[:x | x]', [137, 118, 200, 164, 3, 104, 16, 125, 124]),
    ('foo ^[]', [137, 117, 200, 164, 2, 115, 125, 124]),
    ('foo ^[:x]', [137, 118, 200, 164, 3, 104, 16, 125, 124]),
    ('foo [^3] value', [137, 117, 200, 164, 2, 32, 124, 201, 135, 120]),
    ('foo [:x :y | | t | t := x] value: 1 value: 2',
     [137, 119, 200, 164, 6, 105, 104, 16, 129, 66, 125, 118, 119, 240, 135, 120]),
    ('foo ^[:p :q :r | r]', [137, 32, 200, 164, 5, 106, 105, 104, 18, 125, 124]),
    # inlined conditionals
    ('foo ^a ifTrue: [1]', [0, 153, 118, 144, 115, 124]),
    ('foo ^a ifFalse: [1]', [0, 153, 115, 144, 118, 124]),
    ('foo ^a ifTrue: [1] ifFalse: [2]', [0, 153, 118, 144, 119, 124]),
    ('foo ^a ifFalse: [1] ifTrue: [2]', [0, 153, 119, 144, 118, 124]),
    ('foo a ifTrue: [b foo]', [0, 154, 1, 208, 135, 120]),
    ('foo a ifFalse: [b foo]', [0, 168, 3, 1, 208, 135, 120]),
    ('foo a ifTrue: [b foo] ifFalse: [b]', [0, 154, 1, 208, 144, 1, 135, 120]),
    ('foo a ifTrue: [^1] ifFalse: [^2]', [0, 153, 118, 124, 119, 124]),
    ('foo ^a ifTrue: []', [0, 153, 115, 144, 115, 124]),
    ('foo ^a and: [b]', [0, 153, 1, 144, 114, 124]),
    ('foo ^a or: [b]', [0, 153, 113, 144, 1, 124]),
    # loops
    ('foo [a] whileTrue: [b foo]', [0, 156, 1, 208, 135, 163, 249, 120]),
    ('foo [a] whileFalse: [b foo]', [0, 168, 5, 1, 208, 135, 163, 248, 120]),
    ('foo ^[a] whileTrue: [b foo]', [0, 156, 1, 208, 135, 163, 249, 115, 124]),
    ('foo [a] whileTrue', [137, 117, 200, 164, 2, 0, 125, 208, 135, 120]),
    # not inlined: non-literal-block arguments, block arguments, to:do:
    ('foo ^a ifTrue: b', [0, 1, 224, 124]),
    ('foo ^a ifTrue: [:x | x]', [0, 137, 118, 200, 164, 3, 104, 16, 125, 224, 124]),
    ('foo 1 to: 2 do: [:i | a]', [118, 119, 137, 118, 200, 164, 3, 104, 0, 125, 240, 135, 120]),
    ('foo ^super ifTrue: [1]', [112, 137, 117, 200, 164, 2, 118, 125, 133, 32, 124]),
])
def test_bytecodes(source, expected):
    assert code(source) == expected


@pytest.mark.parametrize('source, literals', [
    ('foo ^3 + 4', [3, 4]),
    ("foo ^'a' , 'a'", [Symbol(','), 'a']),
    ('foo ^Transcript show: 3 printString', [Symbol('show:'), Binding('Transcript'),
                                             Symbol('printString'), 3]),
    ('foo X := Y', [Binding('Y'), Binding('X')]),
    ('foo ^a ifTrue: [self x: 3] ifFalse: [self y: 4]',
     [Symbol('y:'), 4, Symbol('x:'), 3]),
    ('foo ^super bar', [Symbol('bar'), MethodClassBinding()]),
    ('foo super bar. self bar', [Symbol('bar'), Symbol('bar'), MethodClassBinding()]),
    ('foo self bar. super bar', [Symbol('bar'), MethodClassBinding()]),
    ('foo ^#foo -> #foo', [Symbol('->'), Symbol('foo')]),
    ('foo ^100000 + 100000', [100000]),
    ('foo ^3.0 + 3', [3.0, 3]),
    ('foo ^#(1 $a)', [(1, __import__('blocktalk.compiler').compiler.Character(97))]),
])
def test_literal_frames(source, literals):
    assert method(source).literals == literals


def test_short_and_extended_forms():
    # 17 instance variables: the 17th needs the extended push.
    scope = ClassScope('Big', [f'v{i}' for i in range(20)])
    assert code('foo ^v15', scope) == []
    assert code('foo ^v16 + v15', scope) == [128, 16, 15, 176, 124]
    assert code('foo v7 := 1. v8 := 1', scope) == [118, 103, 118, 130, 8, 120]
    temps = ' '.join(f't{i}' for i in range(17))
    assert code(f'foo | {temps} | t8 := t16', scope) == [128, 80, 130, 72, 120]
    assert code(f'foo | {temps} | t7 := t15', scope) == [31, 111, 120]


def test_extended_literal_pushes():
    consts = '. '.join(f'a := {i + 10}' for i in range(32))
    bc = code(f'foo {consts}. a := 99. a := G')
    assert bc[:2] == [32, 96]                       # literal 0: short form
    assert bc[-7:] == [128, 160, 96, 128, 225, 96, 120]  # literals 32 and 33


def test_send_forms_by_literal_index():
    many = '. '.join(f'self m{i}' for i in range(17))
    bc = code(f'foo {many}')
    # first 16 selectors use 208-223, the 17th the single extended send
    assert bc[0:3] == [112, 208, 135]
    assert bc[-5:] == [112, 131, 16, 135, 120]
    kw = '. '.join(f'self k{i}: 1' for i in range(17))
    assert code(f'foo {kw}')[-6:] == [112, 118, 131, 48, 135, 120]
    args = ' '.join(f'a{i}: 1' for i in range(8))
    assert code(f'foo ^self {args}') == [112] + [118] * 8 + [132, 8, 0, 124]


def test_long_jumps():
    body = '. '.join('a foo' for _ in range(3))
    assert code(f'foo a ifTrue: [{body}]') == [0, 172, 9] + [0, 208, 135] * 3 + [120]
    big = '. '.join('a foo' for _ in range(300))
    bc = code(f'foo [a] whileTrue: [{big}]')
    assert bc[:3] == [0, 175, 134]       # jump if false by 3*256 + 134 = 902
    assert bc[-3:-1] == [160, 119]       # back by (0-4)*256 + 119 = -905
    assert bc[-1] == 120


def test_header_fields():
    m = method('foo: x bar: y | t | ^x')
    assert (m.num_args, m.num_temps, m.primitive, m.large_context) == (2, 3, 0, False)
    assert m.header == (2 << 12) | (3 << 7) | 0
    assert m.header_extension is None
    m = method('foo ^b')
    assert m.header == (6 << 12) | (1 << 7) and m.bytecodes == b''
    m = method('foo')
    assert m.header == 5 << 12 and m.bytecodes == b''
    m = method('foo "just a comment"')
    assert m.header == 5 << 12


def test_primitive_header_extension():
    m = method('at: i <primitive: 60> ^self error')
    assert m.primitive == 60
    assert m.header_extension == (1 << 8) | 60
    assert m.literals == [Symbol('error'), (1 << 8) | 60, MethodClassBinding()]
    assert m.header == (7 << 12) | (1 << 7) | 3
    assert list(m.bytecodes) == [112, 208, 124]
    m = method('a: p b: q c: r d: s e: t ^t')
    assert m.header_extension == 5 << 8 and m.header >> 12 == 7
    # primitive before or after the temporaries
    assert method('foo | t | <primitive: 1> ^t').primitive == 1
    assert method('foo <primitive: 2> | t | ^t').primitive == 2


def test_large_context_flag():
    # Xerox rule: temporaries + maximum stack depth > 12 needs a large context.
    temps = ' '.join(f't{i}' for i in range(11))
    assert not method(f'foo | {temps} | ^t0').large_context          # 11 + 1
    assert method(f'foo | {temps} | ^t0 + t1').large_context          # 11 + 2
    assert method(f'foo | {temps} | ^t0 + t1').header & 0x40
    assert method('foo ^self a: 1 b: 2 c: 3 d: 4 e: 5 f: 6 g: 7 h: 8 i: 9 j: 10 k: 11 l: 12')\
        .large_context


def test_block_variables_share_slots_by_name():
    # Xerox: block variables with a name already used share its slot.
    m = method('foo | x | #() do: [:x | x]. #() do: [:y | y]. #() do: [:y | y]')
    assert m.num_temps == 2
    assert code('foo | x | ^[:x | x]') == [137, 118, 200, 164, 3, 104, 16, 125, 124]


def test_block_argument_may_be_assigned():
    assert code('foo ^[:x | x := 1]') == [137, 118, 200, 164, 5, 104, 118, 129, 64, 125, 124]


def test_statements_after_conditional_return():
    # a final conditional whose branches both return needs no return self
    assert code('foo a ifTrue: [^1] ifFalse: [^2]')[-1] == 124
    assert code('foo a ifTrue: [^1]. ^2') == [0, 153, 118, 124, 119, 124]
    assert code('foo . . a foo. . ') == [0, 208, 135, 120]


def test_negative_literals_and_binary_minus():
    assert code('foo ^3 - -2') == [32, 33, 177, 124]
    assert method('foo ^3 - -2').literals == [3, -2]
    assert code('foo ^3--2') == [32, 33, 177, 124]
    assert code('foo ^a-1') == [0, 118, 177, 124]
    assert code('foo ^a -1') == [0, 118, 177, 124]
    assert method('foo ^a - 5').literals == [5]


def test_doit():
    d = compile_doit('3 + 4')
    assert (d.selector, d.num_args, list(d.bytecodes)) == ('DoIt', 0, [32, 33, 176, 124])
    assert list(compile_doit('').bytecodes) == [123]
    assert list(compile_doit('   "nothing"  ').bytecodes) == [123]
    assert list(compile_doit('self').bytecodes) == [120]
    assert list(compile_doit('^nil').bytecodes) == [123]
    assert list(compile_doit('| t | t := 3. t').bytecodes) == [32, 104, 16, 124]
    assert list(compile_doit('Smalltalk foo. ^2').bytecodes) == [65, 208, 135, 119, 124]
    scoped = compile_doit('a', ClassScope('Foo', ['a']))
    assert list(scoped.bytecodes) == [0, 124]
    assert compile_doit('a').literals == [Binding('a')]


def test_source_line_and_category():
    m = compile_method('foo ^1', SCOPE, line=40, category='accessing')
    assert (m.source_line, m.category, m.selector) == (40, 'accessing', 'foo')
    assert method('+ other ^other').selector == '+'
    assert method('at: i put: v ^v').selector == 'at:put:'
