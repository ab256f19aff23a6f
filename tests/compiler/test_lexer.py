"""Literal syntax: every literal form reaches the literal frame as the
documented Python value."""
import pytest

from blocktalk.compiler import Character, Symbol, compile_doit
from blocktalk.compiler.lexer import Lexer


def lit(text):
    """The value of a single literal expression (a doit ``^text``)."""
    spec = compile_doit('^' + text)
    return spec.literals[0]


@pytest.mark.parametrize('text, value', [
    ('42', 42),
    ('16r1F', 31),
    ('2r1010', 10),
    ('36rZZ', 1295),
    ('-16r1F', -31),
    ('16r-1F', -31),
    ('-5', -5),
    ('1e3', 1000),
    ('2r1e4', 16),
    ('3.14', 3.14),
    ('2.5e-3', 0.0025),
    ('1.0e10', 1.0e10),
    ('-3.5', -3.5),
    ('123456789012345678901234567890', 123456789012345678901234567890),
    ('-100000', -100000),
    ('$a', Character(97)),
    ('$ ', Character(32)),
    ('$\'', Character(39)),
    ("'it''s'", "it's"),
    ("''", ''),
    ('#sym', Symbol('sym')),
    ('#with:with:', Symbol('with:with:')),
    ('#+', Symbol('+')),
    ('#->', Symbol('->')),
    ("#'hello world'", Symbol('hello world')),
    ('#[1 2 255]', bytes([1, 2, 255])),
    ('#()', ()),
])
def test_literal_values(text, value):
    got = lit(text)
    assert got == value and type(got) is type(value)


def test_literal_array_elements():
    got = lit("#(#a b $c 'd' 1 2.0 (3 4) #(5) true false nil foo:bar: + -7 #[9] #'x y')")
    assert got == (Symbol('a'), Symbol('b'), Character(99), 'd', 1, 2.0, (3, 4), (5,),
                   True, False, None, Symbol('foo:bar:'), Symbol('+'), -7, bytes([9]),
                   Symbol('x y'))
    assert type(got[5]) is float and got[8] is True and got[10] is None


def test_small_integer_boundaries_are_literals():
    # -1, 0, 1, 2 have their own push bytecodes; everything else is a literal.
    assert compile_doit('^16383').literals == [16383]
    assert compile_doit('^-16384').literals == [-16384]
    assert compile_doit('^3').literals == [3]
    assert compile_doit('^2').literals == []


def test_comments_and_line_ends_are_skipped():
    toks = Lexer('"c" a\r"d"\r\nb\nc', 'f', 3, 7).tokens()
    assert [(t.value, t.line, t.column) for t in toks[:3]] == [
        ('a', 3, 11), ('b', 5, 1), ('c', 6, 1)]


def test_keywords_and_assignment_tokens():
    kinds = [(t.kind, t.value) for t in Lexer('x:=y _ z \u2190 at:put: a: b ^ \u2191').tokens()]
    assert kinds == [('ident', 'x'), ('assign', None), ('ident', 'y'), ('assign', None),
                     ('ident', 'z'), ('assign', None), ('keyword', 'at:put:'),
                     ('keyword', 'a:'), ('ident', 'b'), ('caret', None), ('caret', None),
                     ('eof', None)]


def test_binary_selectors_do_not_swallow_a_minus():
    values = [t.value for t in Lexer('a->b <= c ~= d == e // f \\\\ g --2 h ,i').tokens()]
    assert values == ['a', '->', 'b', '<=', 'c', '~=', 'd', '==', 'e', '//', 'f', '\\\\',
                      'g', '-', '-', 2, 'h', ',', 'i', None]
