"""Tokenizer for Smalltalk-80 method and doit source (Blue Book syntax).

Positions are reported in file coordinates: the caller says where the source
text starts (line and column) and every token carries the 1-based line and
column of its first character.  ``\\r``, ``\\n`` and ``\\r\\n`` all end a line,
because the Xerox sources file uses CR line ends.

A few lexical decisions need the parser's context and are left to it:

* ``-`` directly before a number is emitted as a separate binary token; the
  parser folds it into a negative literal where an operand is expected (so
  ``x-1`` is a subtraction but ``3 - -2`` and ``#(-1)`` hold negatives).
* ``|`` and ``||`` are binary-selector tokens; the parser treats them as
  temporary-list delimiters where those are expected.
"""

from dataclasses import dataclass
from fractions import Fraction

from .errors import CompileError
from .literals import Character

# Blue Book special characters that make up binary selectors.  '!' is left
# out because it delimits chunks in the file format.
BINARY_CHARS = frozenset('+-*/\\~<>=@%|&?,')


@dataclass
class Token:
    """One lexical token.

    ``kind`` is one of: ident, keyword, binary, number, string, symbol,
    char, assign, caret, colon, lparen, rparen, lbracket, rbracket,
    period, semicolon, hash_paren, hash_bracket, eof.
    ``start``/``end`` are offsets into the source text (end exclusive); the
    parser uses them to see whether two tokens touch (negative literals,
    merged keywords).
    """
    kind: str
    value: object
    text: str
    line: int
    column: int
    start: int
    end: int


class Lexer:
    """Turns source text into a list of :class:`Token` (ending with eof)."""

    def __init__(self, source: str, filename: str = '<input>', line: int = 1, column: int = 1):
        self.src = source
        self.filename = filename
        self.pos = 0
        self.line = line
        self.column = column

    # -- position bookkeeping ---------------------------------------------
    def error(self, message: str, line: int, column: int) -> CompileError:
        return CompileError(message, self.filename, line, column)

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.src[i] if i < len(self.src) else ''

    def advance(self) -> str:
        """Consume one character, keeping line/column in step."""
        ch = self.src[self.pos]
        self.pos += 1
        if ch == '\n' or (ch == '\r' and self.peek() != '\n'):
            self.line += 1
            self.column = 1
        else:
            self.column += 1
        return ch

    # -- whitespace and comments ------------------------------------------
    def skip_blanks(self) -> None:
        while self.pos < len(self.src):
            ch = self.peek()
            if ch.isspace():
                self.advance()
            elif ch == '"':
                line, col = self.line, self.column
                self.advance()
                while True:
                    if self.pos >= len(self.src):
                        raise self.error("unterminated comment", line, col)
                    if self.advance() == '"':
                        break
            else:
                break

    # -- tokens -------------------------------------------------------------
    def tokens(self) -> list:
        out = []
        while True:
            tok = self.next_token()
            out.append(tok)
            if tok.kind == 'eof':
                return out

    def make(self, kind, value, start, line, col) -> Token:
        return Token(kind, value, self.src[start:self.pos], line, col, start, self.pos)

    def next_token(self) -> Token:
        self.skip_blanks()
        start, line, col = self.pos, self.line, self.column
        if self.pos >= len(self.src):
            return Token('eof', None, '', line, col, start, start)
        ch = self.peek()
        if ch.isalpha():
            return self.identifier(start, line, col)
        if ch.isdigit():
            value = self.number(start, line, col)
            return self.make('number', value, start, line, col)
        if ch == "'":
            return self.make('string', self.string_body(line, col), start, line, col)
        if ch == '$':
            self.advance()
            if self.pos >= len(self.src):
                raise self.error("expected character after '$'", line, col)
            return self.make('char', Character(ord(self.advance())), start, line, col)
        if ch == '#':
            return self.hash(start, line, col)
        if ch == ':':
            self.advance()
            if self.peek() == '=':
                self.advance()
                return self.make('assign', None, start, line, col)
            return self.make('colon', None, start, line, col)
        if ch in ('_', '\u2190'):  # ST-80 left arrow, written '_' in ASCII
            self.advance()
            return self.make('assign', None, start, line, col)
        if ch in ('^', '\u2191'):  # up arrow
            self.advance()
            return self.make('caret', None, start, line, col)
        simple = {'(': 'lparen', ')': 'rparen', '[': 'lbracket', ']': 'rbracket',
                  '.': 'period', ';': 'semicolon'}
        if ch in simple:
            self.advance()
            return self.make(simple[ch], None, start, line, col)
        if ch in BINARY_CHARS:
            return self.make('binary', self.binary_selector(), start, line, col)
        raise self.error(f"unexpected character {ch!r}", line, col)

    def binary_selector(self) -> str:
        """Scan a binary selector.  A '-' is only allowed as its first
        character so that ``3--2`` reads as ``3 - -2`` (Blue Book rule)."""
        text = self.advance()
        while self.peek() and self.peek() in BINARY_CHARS and self.peek() != '-':
            text += self.advance()
        return text

    def identifier(self, start, line, col) -> Token:
        self.scan_word()
        if self.peek() == ':' and self.peek(1) != '=':
            self.advance()
            # Run keywords together when written without spaces
            # (``#(at:put:)``, ``ifTrue:ifFalse:`` as a literal symbol).
            while self.keyword_follows():
                self.scan_word()
                self.advance()
            return self.make('keyword', self.src[start:self.pos], start, line, col)
        return self.make('ident', self.src[start:self.pos], start, line, col)

    def scan_word(self) -> None:
        while self.peek() and (self.peek().isalnum()):
            self.advance()

    def keyword_follows(self) -> bool:
        """True if an identifier immediately followed by ':' (not ':=') is next."""
        i = self.pos
        if i >= len(self.src) or not self.src[i].isalpha():
            return False
        while i < len(self.src) and self.src[i].isalnum():
            i += 1
        return i < len(self.src) and self.src[i] == ':' and self.src[i + 1:i + 2] != '='

    def string_body(self, line, col) -> str:
        """Scan a quoted string; a doubled quote stands for one quote."""
        self.advance()
        chars = []
        while True:
            if self.pos >= len(self.src):
                raise self.error("unterminated string", line, col)
            ch = self.advance()
            if ch == "'":
                if self.peek() == "'":
                    self.advance()
                    chars.append("'")
                    continue
                return ''.join(chars)
            chars.append(ch)

    def hash(self, start, line, col) -> Token:
        """``#sym``, ``#at:put:``, ``#+``, ``#'any text'``, ``#(`` and ``#[``."""
        from .literals import Symbol
        self.advance()
        ch = self.peek()
        if ch == '(':
            self.advance()
            return self.make('hash_paren', None, start, line, col)
        if ch == '[':
            self.advance()
            return self.make('hash_bracket', None, start, line, col)
        if ch == "'":
            return self.make('symbol', Symbol(self.string_body(line, col)), start, line, col)
        if ch.isalpha():
            name_start = self.pos
            while self.peek() and (self.peek().isalnum() or self.peek() == ':'):
                self.advance()
            return self.make('symbol', Symbol(self.src[name_start:self.pos]), start, line, col)
        if ch and ch in BINARY_CHARS:
            return self.make('symbol', Symbol(self.binary_selector()), start, line, col)
        raise self.error("expected symbol after '#'", line, col)

    def number(self, start, line, col):
        """Scan a Blue Book number: ``[radix 'r'] ['-'] digits ['.' digits]
        ['e' ['-'] digits]``.  Integers stay ``int`` (even with a positive
        exponent); anything with a fraction or negative exponent is a float."""
        radix = 10
        digits = self.scan_digits(10, line, col)
        negative = False
        if self.peek() == 'r' and (self.digit_value(self.peek(1)) is not None or
                                   (self.peek(1) == '-' and self.digit_value(self.peek(2)) is not None)):
            radix = int(digits)
            if not 2 <= radix <= 36:
                raise self.error("invalid radix", line, col)
            self.advance()
            if self.peek() == '-':
                self.advance()
                negative = True
            digits = self.scan_digits(radix, line, col)
        fraction = ''
        if self.peek() == '.' and self.digit_value(self.peek(1)) is not None \
                and self.digit_value(self.peek(1)) < radix:
            self.advance()
            fraction = self.scan_digits(radix, line, col)
        exponent = 0
        if self.peek() == 'e' and (self.peek(1).isdigit() or
                                   (self.peek(1) == '-' and self.peek(2).isdigit())):
            self.advance()
            sign = 1
            if self.peek() == '-':
                self.advance()
                sign = -1
            exponent = sign * int(self.scan_digits(10, line, col))
        mantissa = int(digits + fraction, radix)
        if negative:
            mantissa = -mantissa
        if not fraction and exponent >= 0:
            return mantissa * radix ** exponent
        return float(Fraction(mantissa) * Fraction(radix) ** (exponent - len(fraction)))

    @staticmethod
    def digit_value(ch: str):
        if ch and ch.isdigit():
            return ord(ch) - ord('0')
        if ch and 'A' <= ch <= 'Z':
            return ord(ch) - ord('A') + 10
        return None

    def scan_digits(self, radix, line, col) -> str:
        """Scan digits of ``radix`` (uppercase letters are digits above 9)."""
        text = ''
        while True:
            value = self.digit_value(self.peek())
            if value is None or (radix <= 10 and not self.peek().isdigit()):
                break
            if value >= radix:
                raise self.error(f"digit {self.peek()!r} is too large for radix {radix}",
                                 self.line, self.column)
            text += self.advance()
        return text
