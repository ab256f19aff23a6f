"""Recursive-descent parser for Smalltalk-80 methods and doits.

Grammar (Blue Book chapter 2 / the syntax diagrams of the appendix)::

    method     = pattern [temps] [primitive] [temps] statements
    pattern    = unarySel | binarySel arg | (keyword arg)+
    temps      = '|' ident* '|'
    primitive  = '<' 'primitive:' number '>'
    statements = [statement ('.' statement)* ['.']]
    statement  = ['^'] expression
    expression = (ident ':=')* (primary messages cascade*)
    cascade    = ';' message
    primary    = ident | literal | block | '(' expression ')'
    block      = '[' [(':' ident)+ '|'] [temps] statements ']'
"""

from .errors import CompileError
from .lexer import Lexer, Token
from .literals import Symbol
from . import nodes as N

PSEUDO_VARIABLES = ('self', 'super', 'nil', 'true', 'false', 'thisContext')


class Parser:
    def __init__(self, source: str, filename: str = '<input>', line: int = 1, column: int = 1):
        self.filename = filename
        self.toks = Lexer(source, filename, line, column).tokens()
        self.i = 0

    # -- token helpers --------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != 'eof':
            self.i += 1
        return tok

    def error(self, message: str, tok: Token = None) -> CompileError:
        tok = tok or self.tok
        return CompileError(message, self.filename, tok.line, tok.column)

    def at_bar(self) -> bool:
        return self.tok.kind == 'binary' and self.tok.value in ('|', '||')

    def take_bar(self) -> None:
        """Consume one '|'; a '||' token is split into two bars."""
        tok = self.tok
        if tok.value == '||':
            self.toks[self.i] = Token('binary', '|', '|', tok.line, tok.column + 1,
                                      tok.start + 1, tok.end)
        else:
            self.next()

    def unexpected(self) -> CompileError:
        tok = self.tok
        if tok.kind == 'eof':
            return self.error("unexpected end of input")
        return self.error(f"unexpected {tok.text!r}")

    # -- top level --------------------------------------------------------------
    def parse_method(self) -> N.Method:
        start = self.tok
        selector, args = self.pattern()
        temps, primitive = self.temps_and_primitive()
        statements = self.statements()
        self.expect_end()
        return N.Method(start.line, start.column, selector, args, temps, primitive, statements)

    def parse_doit(self) -> N.Method:
        start = self.tok
        temps = self.temporaries() if self.at_bar() else []
        statements = self.statements()
        self.expect_end()
        return N.Method(start.line, start.column, 'DoIt', [], temps, 0, statements, is_doit=True)

    def parse_expression_only(self) -> N.Node:
        """Parse a single expression filling the whole input (for chunks)."""
        expr = self.expression()
        if self.tok.kind == 'period':
            self.next()
        self.expect_end()
        return expr

    def expect_end(self) -> None:
        if self.tok.kind != 'eof':
            raise self.unexpected()

    def pattern(self):
        tok = self.tok
        if tok.kind == 'ident':
            self.next()
            return tok.value, []
        if tok.kind == 'binary':
            self.next()
            return tok.value, [self.declared_name("expected argument name")]
        if tok.kind == 'keyword':
            selector, args = '', []
            while self.tok.kind == 'keyword':
                kw = self.next()
                if kw.value.count(':') != 1:
                    raise self.error("expected argument name", self.toks[self.i - 1])
                selector += kw.value
                args.append(self.declared_name("expected argument name"))
            return selector, args
        raise self.error("expected message pattern")

    def declared_name(self, message: str) -> N.Declared:
        tok = self.tok
        if tok.kind != 'ident':
            raise self.error(message)
        if tok.value in PSEUDO_VARIABLES:
            raise self.error(f"cannot use {tok.value!r} as a name")
        self.next()
        return N.Declared(tok.line, tok.column, tok.value)

    def temps_and_primitive(self):
        temps, primitive = [], 0
        seen_temps = seen_prim = False
        while True:
            if self.at_bar() and not seen_temps:
                temps = self.temporaries()
                seen_temps = True
            elif (self.tok.kind == 'binary' and self.tok.value == '<' and not seen_prim
                  and self.toks[self.i + 1].kind == 'keyword'
                  and self.toks[self.i + 1].value == 'primitive:'):
                primitive = self.primitive()
                seen_prim = True
            else:
                return temps, primitive

    def primitive(self) -> int:
        self.next()  # '<'
        self.next()  # 'primitive:'
        tok = self.tok
        if tok.kind != 'number' or not isinstance(tok.value, int):
            raise self.error("expected primitive number")
        if not 1 <= tok.value <= 255:
            raise self.error(f"primitive number must be 1-255, not {tok.value}")
        self.next()
        if not (self.tok.kind == 'binary' and self.tok.value == '>'):
            raise self.error("expected '>' after primitive number")
        self.next()
        return tok.value

    def temporaries(self) -> list:
        """``| a b c |`` (the opening bar is current)."""
        open_tok = self.tok
        self.take_bar()
        names = []
        while self.tok.kind == 'ident':
            names.append(self.declared_name("expected temporary name"))
        if not self.at_bar():
            raise self.error(f"expected '|' to end the temporaries declared at "
                             f"{open_tok.line}:{open_tok.column}")
        self.take_bar()
        return names

    # -- statements and expressions -----------------------------------------------
    def statements(self, closer: str = 'eof') -> list:
        stmts = []
        while self.tok.kind == 'period':   # Xerox accepts empty statements
            self.next()
        while self.tok.kind != closer:
            if self.tok.kind == 'caret':
                caret = self.next()
                stmts.append(N.Return(caret.line, caret.column, self.expression()))
            else:
                stmts.append(self.expression())
            if self.tok.kind == 'period':
                while self.tok.kind == 'period':
                    self.next()
                continue
            break
        return stmts

    def expression(self) -> N.Node:
        tok = self.tok
        if tok.kind == 'ident' and self.toks[self.i + 1].kind == 'assign':
            self.next()
            self.next()
            target = N.Variable(tok.line, tok.column, tok.value)
            return N.Assign(tok.line, tok.column, target, self.expression())
        receiver = self.primary()
        expr = self.messages(receiver)
        if self.tok.kind == 'semicolon':
            expr = self.cascade(expr)
        return expr

    def cascade(self, first) -> N.Cascade:
        if not isinstance(first, N.Send):
            raise self.error("a cascade must follow a message send")
        parts = [N.CascadePart(first.line, first.column, first.selector, first.args)]
        while self.tok.kind == 'semicolon':
            self.next()
            parts.append(self.one_message())
        return N.Cascade(first.line, first.column, first.receiver, parts)

    def one_message(self) -> N.CascadePart:
        """A single message after ';' (unary, binary with argument, or keyword)."""
        tok = self.tok
        if tok.kind == 'ident':
            self.next()
            return N.CascadePart(tok.line, tok.column, tok.value, [])
        if tok.kind == 'binary':
            self.next()
            return N.CascadePart(tok.line, tok.column, tok.value, [self.binary_argument()])
        if tok.kind == 'keyword':
            selector, args = self.keyword_message()
            return N.CascadePart(tok.line, tok.column, selector, args)
        raise self.error("expected message after ';'")

    def messages(self, receiver) -> N.Node:
        """Unary messages, then binary, then one keyword message."""
        expr = self.unary_chain(receiver)
        while self.tok.kind == 'binary':
            tok = self.next()
            expr = N.Send(tok.line, tok.column, expr, tok.value, [self.binary_argument()])
        if self.tok.kind == 'keyword':
            first = self.tok
            selector, args = self.keyword_message()
            expr = N.Send(first.line, first.column, expr, selector, args)
        return expr

    def binary_argument(self) -> N.Node:
        return self.unary_chain(self.primary())

    def keyword_message(self):
        selector, args = '', []
        while self.tok.kind == 'keyword':
            kw = self.next()
            if kw.value.count(':') != 1:
                raise self.error("expected expression", self.toks[self.i - 1])
            selector += kw.value
            arg = self.binary_argument()
            while self.tok.kind == 'binary':
                op = self.next()
                arg = N.Send(op.line, op.column, arg, op.value, [self.binary_argument()])
            args.append(arg)
        return selector, args

    def unary_chain(self, expr) -> N.Node:
        while self.tok.kind == 'ident':
            tok = self.next()
            expr = N.Send(tok.line, tok.column, expr, tok.value, [])
        return expr

    def primary(self) -> N.Node:
        tok = self.tok
        kind = tok.kind
        if kind == 'ident':
            self.next()
            return N.Variable(tok.line, tok.column, tok.value)
        if kind in ('number', 'string', 'symbol', 'char'):
            self.next()
            return N.Literal(tok.line, tok.column, tok.value)
        if kind == 'binary' and tok.value == '-' and self.negative_number_follows():
            self.next()
            num = self.next()
            return N.Literal(tok.line, tok.column, -num.value)
        if kind == 'hash_paren':
            self.next()
            return N.Literal(tok.line, tok.column, self.literal_array(tok))
        if kind == 'hash_bracket':
            self.next()
            return N.Literal(tok.line, tok.column, self.byte_array(tok))
        if kind == 'lbracket':
            return self.block()
        if kind == 'lparen':
            self.next()
            expr = self.expression()
            if self.tok.kind != 'rparen':
                raise self.error(f"expected ')' to close the parenthesis opened at "
                                 f"{tok.line}:{tok.column}")
            self.next()
            return expr
        if kind in ('rparen', 'rbracket'):
            raise self.error(f"unexpected {tok.text!r}")
        raise self.error("expected expression")

    def negative_number_follows(self) -> bool:
        """A '-' touching the number after it is a negative literal."""
        nxt = self.toks[self.i + 1]
        return nxt.kind == 'number' and nxt.start == self.tok.end

    def block(self) -> N.Block:
        open_tok = self.next()
        args = []
        if self.tok.kind == 'colon':
            while self.tok.kind == 'colon':
                self.next()
                args.append(self.declared_name("expected block argument name after ':'"))
            if self.at_bar():
                self.take_bar()
            elif self.tok.kind != 'rbracket':
                raise self.error("expected '|' after block arguments")
        temps = self.temporaries() if self.at_bar() else []
        statements = self.statements('rbracket')
        if self.tok.kind != 'rbracket':
            if self.tok.kind == 'eof' or self.tok.kind == 'rparen':
                raise self.error(f"expected ']' to close the block opened at "
                                 f"{open_tok.line}:{open_tok.column}")
            raise self.error(f"expected ']' to close the block opened at "
                             f"{open_tok.line}:{open_tok.column}")
        self.next()
        return N.Block(open_tok.line, open_tok.column, args, temps, statements)

    # -- literal arrays ---------------------------------------------------------------
    def literal_array(self, open_tok) -> tuple:
        """Elements of ``#( ... )`` up to the matching ')'; bare words and
        binary selectors are Symbols, true/false/nil are Python constants."""
        items = []
        while True:
            tok = self.tok
            kind = tok.kind
            if kind == 'rparen':
                self.next()
                return tuple(items)
            if kind == 'eof':
                raise self.error(f"expected ')' to close the literal array opened at "
                                 f"{open_tok.line}:{open_tok.column}")
            self.next()
            if kind in ('number', 'string', 'symbol', 'char'):
                items.append(tok.value)
            elif kind == 'ident':
                constants = {'true': True, 'false': False, 'nil': None}
                items.append(constants[tok.value] if tok.value in constants
                             else Symbol(tok.value))
            elif kind == 'keyword':
                items.append(Symbol(tok.value))
            elif kind == 'binary':
                nxt = self.tok
                if tok.value == '-' and nxt.kind == 'number' and nxt.start == tok.end:
                    self.next()
                    items.append(-nxt.value)
                else:
                    items.append(Symbol(tok.value))
            elif kind in ('lparen', 'hash_paren'):
                items.append(self.literal_array(tok))
            elif kind == 'hash_bracket':
                items.append(self.byte_array(tok))
            else:
                raise self.error(f"unexpected {tok.text!r} in literal array", tok)

    def byte_array(self, open_tok) -> bytes:
        values = []
        while self.tok.kind != 'rbracket':
            tok = self.tok
            if tok.kind == 'eof':
                raise self.error(f"expected ']' to close the byte array opened at "
                                 f"{open_tok.line}:{open_tok.column}")
            if tok.kind != 'number' or not isinstance(tok.value, int) or not 0 <= tok.value <= 255:
                raise self.error("byte array elements must be integers 0-255")
            values.append(self.next().value)
        self.next()
        return bytes(values)
