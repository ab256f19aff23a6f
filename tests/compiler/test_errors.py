"""Every compile error: exact message and file position.

Sources are compiled as if they started at line 10, column 5 of ``t.st`` so
that the tests also check the translation to file coordinates."""
import pytest

from blocktalk.compiler import ClassScope, CompileError, compile_doit, compile_method

SCOPE = ClassScope('Foo', ['a', 'b'])


def error_of(source, doit=False):
    with pytest.raises(CompileError) as info:
        if doit:
            compile_doit(source, SCOPE, filename='t.st', line=10, column=5)
        else:
            compile_method(source, SCOPE, filename='t.st', line=10, column=5)
    return info.value


@pytest.mark.parametrize('source, line, column, message', [
    # lexical
    ("foo ^'abc", 10, 10, "unterminated string"),
    ("foo ^#'abc", 10, 10, "unterminated string"),
    ('foo "comment', 10, 9, "unterminated comment"),
    ('foo ^$', 10, 10, "expected character after '$'"),
    ('foo ^1r0', 10, 10, "invalid radix"),
    ('foo ^37r1', 10, 10, "invalid radix"),
    ('foo ^2r102', 10, 14, "digit '2' is too large for radix 2"),
    ('foo ^#', 10, 10, "expected symbol after '#'"),
    ('foo ^{', 10, 10, "unexpected character '{'"),
    # brackets
    ('foo ^[1', 10, 12, "expected ']' to close the block opened at 10:10"),
    ('foo\n\t^[:x |\n\t\tx foo', 12, 8, "expected ']' to close the block opened at 11:3"),
    ('foo ^(1 + 2', 10, 16, "expected ')' to close the parenthesis opened at 10:10"),
    ('foo ^(1 + 2]', 10, 16, "expected ')' to close the parenthesis opened at 10:10"),
    ('foo ^#(1 2', 10, 15, "expected ')' to close the literal array opened at 10:10"),
    ('foo ^#(1 ])', 10, 14, "unexpected ']' in literal array"),
    ('foo ^#[1 2', 10, 15, "expected ']' to close the byte array opened at 10:10"),
    ('foo ^#[1 256]', 10, 14, "byte array elements must be integers 0-255"),
    ('foo ^#[1 a]', 10, 14, "byte array elements must be integers 0-255"),
    # expressions
    ('foo ^', 10, 10, "expected expression"),
    ('foo a := ', 10, 14, "expected expression"),
    ('foo ^3 at:put: 4', 10, 12, "expected expression"),
    ('foo ^3)', 10, 11, "unexpected ')'"),
    ('foo ^3]', 10, 11, "unexpected ']'"),
    ('foo ^3 4', 10, 12, "unexpected '4'"),
    ('foo ^a := ]', 10, 15, "unexpected ']'"),
    ('foo ^3; bar', 10, 11, "a cascade must follow a message send"),
    ('foo ^3 bar; 4', 10, 17, "expected message after ';'"),
    ('foo ^a foo ^b', 10, 16, "unexpected '^'"),
    ('foo ^[:x ^x]', 10, 14, "expected '|' after block arguments"),
    ('foo ^[: 3]', 10, 13, "expected block argument name after ':'"),
    # patterns, temporaries, primitives
    ('3', 10, 5, "expected message pattern"),
    ('foo: 3', 10, 10, "expected argument name"),
    ('+ ^1', 10, 7, "expected argument name"),
    ('foo | a', 10, 12, "expected '|' to end the temporaries declared at 10:9"),
    ('foo | self | ^1', 10, 11, "cannot use 'self' as a name"),
    ('foo: nil ^1', 10, 10, "cannot use 'nil' as a name"),
    ('foo <primitive: x>', 10, 21, "expected primitive number"),
    ('foo <primitive: 60', 10, 23, "expected '>' after primitive number"),
    ('foo <primitive: 0>', 10, 21, "primitive number must be 1-255, not 0"),
    ('foo <primitive: 256>', 10, 21, "primitive number must be 1-255, not 256"),
    # names and stores
    ('foo | a a | ^a', 10, 13, "duplicate temporary 'a'"),
    ('foo: x bar: x ^x', 10, 17, "duplicate argument 'x'"),
    ('foo: x | x | ^x', 10, 14, "duplicate temporary 'x'"),
    ('foo ^[:x :x | x]', 10, 15, "duplicate argument 'x'"),
    ('foo ^[| t t | t]', 10, 15, "duplicate temporary 't'"),
    ('foo: x x := 3', 10, 12, "cannot store into argument 'x'"),
    ('foo: x ^[x := 3]', 10, 14, "cannot store into argument 'x'"),
    ('foo self := 3', 10, 9, "cannot store into 'self'"),
    ('foo super := 3', 10, 9, "cannot store into 'super'"),
    ('foo nil := 3', 10, 9, "cannot store into 'nil'"),
    ('foo thisContext := 3', 10, 9, "cannot store into 'thisContext'"),
    ('foo true _ 3', 10, 9, "cannot store into 'true'"),
])
def test_method_errors(source, line, column, message):
    e = error_of(source)
    assert (e.message, e.line, e.column, e.filename) == (message, line, column, 't.st')
    assert str(e) == f"t.st:{line}:{column}: {message}"


@pytest.mark.parametrize('source, line, column, message', [
    ('| t', 10, 8, "expected '|' to end the temporaries declared at 10:5"),
    ('3 +', 10, 8, "expected expression"),
    ('foo bar)', 10, 12, "unexpected ')'"),
    ('self := 1', 10, 5, "cannot store into 'self'"),
])
def test_doit_errors(source, line, column, message):
    e = error_of(source, doit=True)
    assert (e.message, e.line, e.column) == (message, line, column)


def test_too_many_temporaries():
    temps = ' '.join(f't{i}' for i in range(32))
    e = error_of(f'foo | {temps} | ^t0')
    assert (e.message, e.line, e.column) == ("too many temporaries", 10, 11 + 3 * 10 + 4 * 21)


def test_too_many_temporaries_counts_block_variables():
    temps = ' '.join(f't{i}' for i in range(31))
    e = error_of(f'foo | {temps} | ^[:z | z]')
    assert e.message == "too many temporaries"
    assert (e.line, e.column) == (10, 5 + len(f'foo | {temps} | ^[:'))


def test_too_many_literals():
    sends = '. '.join(f'self m{i}' for i in range(64))
    e = error_of(f'foo {sends}')
    assert e.message == "too many literals"
    # the 64th distinct literal is the selector of the last send
    assert (e.line, e.column) == (10, 5 + len(f'foo {sends}') - len('m63'))


def test_too_many_literals_with_super():
    sends = '. '.join(f'self m{i}' for i in range(62))
    compile_method(f'foo {sends}. ^1000', SCOPE)          # 63 literals: fine
    e = error_of(f'foo {sends}. super zork')   # + selector + class binding
    assert (e.message, e.line, e.column) == ("too many literals", 10, 5)


def test_jump_out_of_range():
    body = '. '.join('a foo' for _ in range(400))
    e = error_of(f'foo a ifTrue: [{body}]')
    assert (e.message, e.line, e.column) == ("method too large: jump out of range", 10, 11)


def test_error_positions_follow_line_ends():
    e = error_of("foo\r\t^ 'abc\r\n\tdef")
    assert (e.line, e.column) == (11, 4)
    e = error_of("foo\n\n   ^ #(1 2")
    assert (e.line, e.column, e.message) == (
        12, 11, "expected ')' to close the literal array opened at 12:6")
