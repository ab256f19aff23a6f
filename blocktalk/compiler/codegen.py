"""Code generation: parse tree -> Blue Book bytecodes and literal frame.

The bytecode set is exactly that of the Blue Book, chapter 28 (see
:mod:`bytecodes`).  The generator mirrors the choices of the Xerox
Smalltalk-80 compiler so that its output can be compared with the
methods in the Xerox Version 2 image:

* short forms whenever the index/offset fits, extended forms otherwise;
* the 32 special selectors are sent with their own bytecodes;
* ifTrue:/ifFalse:/and:/or:/whileTrue: (and friends) with literal
  zero-argument blocks are compiled into jumps;
* block arguments and temporaries live in the method's temporary frame
  (Blue Book contexts: a BlockContext shares its home context's temps);
* literals are added in the order the code first uses them; equal
  literals share one slot.

Code is produced bottom-up as lists of byte values: a jump can only be
emitted once the code it skips exists, and then its exact size (short or
long form) is known, so no relaxation pass is needed.  Generation order is
still source order, which keeps literal order and stack-depth tracking
simple.
"""

from .errors import CompileError
from .literals import (Binding, MethodClassBinding, Symbol, literal_key)
from . import bytecodes as B
from . import nodes as N

PSEUDO = {'self': B.PUSH_SELF, 'true': B.PUSH_TRUE, 'false': B.PUSH_FALSE,
          'nil': B.PUSH_NIL, 'super': B.PUSH_SELF, 'thisContext': B.PUSH_THIS_CONTEXT}
RETURN_PSEUDO = {'self': B.RETURN_SELF, 'true': B.RETURN_TRUE,
                 'false': B.RETURN_FALSE, 'nil': B.RETURN_NIL}

MAX_LITERALS = 63      # 6-bit literal count in the header
MAX_TEMPS = 31         # 5-bit temporary frame size in the header
SMALL_FRAME = 12       # stack + temps that fit a small context


class Options:
    """Code generation choices where compilers of the era differed."""
    #: inline to:do: / to:by:do: with literal blocks (the Xerox v2 compiler did not)
    inline_to_do = False


class _Var:
    """A resolved variable reference."""
    __slots__ = ('kind', 'index', 'name', 'is_arg')

    def __init__(self, kind, index=0, name='', is_arg=False):
        self.kind = kind      # 'temp', 'inst', 'global', 'pseudo'
        self.index = index
        self.name = name
        self.is_arg = is_arg


class CodeGenerator:
    def __init__(self, method: N.Method, instance_variables, filename: str, options=None):
        self.method = method
        self.filename = filename
        self.options = options or Options()
        self.inst_vars = {}
        for i, name in enumerate(instance_variables):
            self.inst_vars.setdefault(name, i)
        self.literals = []
        self.literal_slots = {}
        self.num_temps = 0
        self.scopes = [{}]
        self.depth = 0
        self.max_depth = 0
        self.uses_super = False

    # -- errors / bookkeeping -------------------------------------------------
    def error(self, message, node) -> CompileError:
        return CompileError(message, self.filename, node.line, node.column)

    def stack(self, delta: int) -> None:
        self.depth += delta
        if self.depth > self.max_depth:
            self.max_depth = self.depth

    def literal(self, value, node) -> int:
        """Index of ``value`` in the literal frame, adding it on first use."""
        key = literal_key(value)
        index = self.literal_slots.get(key)
        if index is None:
            index = len(self.literals)
            if index >= MAX_LITERALS:
                raise self.error("too many literals", node)
            self.literals.append(value)
            self.literal_slots[key] = index
        return index

    # -- scopes -----------------------------------------------------------------------
    def declare(self, decls, is_arg: bool, what: str) -> None:
        """Give each declared name the next slot of the method's temp frame."""
        scope = self.scopes[-1]
        for d in decls:
            if d.name in scope:
                raise self.error(f"duplicate {what} {d.name!r}", d)
            if self.num_temps >= MAX_TEMPS:
                raise self.error("too many temporaries", d)
            scope[d.name] = _Var('temp', self.num_temps, d.name, is_arg)
            self.num_temps += 1

    def lookup(self, node: N.Variable) -> _Var:
        name = node.name
        if name in PSEUDO:
            return _Var('pseudo', name=name)
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.inst_vars:
            return _Var('inst', self.inst_vars[name], name)
        return _Var('global', name=name)

    # -- method -------------------------------------------------------------------------
    def generate(self) -> list:
        m = self.method
        self.declare(m.args, True, 'argument')
        self.declare(m.temps, False, 'temporary')
        stmts = m.statements
        if m.is_doit:
            code = self.statements(stmts[:-1])
            if stmts:
                last = stmts[-1]
                code += self.gen_return(last.value if isinstance(last, N.Return) else last)
            else:
                code.append(B.RETURN_NIL)
            return code
        code = self.statements(stmts)
        if not stmts or not isinstance(stmts[-1], N.Return):
            code.append(B.RETURN_SELF)
        return code

    def statements(self, stmts, value_of_last: bool = False) -> list:
        """Code for a statement sequence; all values are discarded unless
        ``value_of_last`` (then the last value stays on the stack)."""
        code = []
        for i, stmt in enumerate(stmts):
            last = i == len(stmts) - 1
            if isinstance(stmt, N.Return):
                code += self.gen_return(stmt.value)
                if last and value_of_last:
                    self.stack(1)  # the branch "produces" a value nobody sees
            elif last and value_of_last:
                code += self.value(stmt)
            else:
                code += self.effect(stmt)
        if not stmts and value_of_last:
            code.append(B.PUSH_NIL)
            self.stack(1)
        return code

    def gen_return(self, expr) -> list:
        """``^expr``: the return-constant bytecodes where they apply."""
        if isinstance(expr, N.Variable) and expr.name in RETURN_PSEUDO:
            return [RETURN_PSEUDO[expr.name]]
        code = self.value(expr)
        self.stack(-1)
        return code + [B.RETURN_TOP]

    # -- expressions -------------------------------------------------------------------
    def value(self, node) -> list:
        """Code that leaves the node's value on the stack."""
        if isinstance(node, N.Literal):
            return self.push_literal(node.value, node)
        if isinstance(node, N.Variable):
            return self.push_variable(node)
        if isinstance(node, N.Assign):
            code = self.value(node.value)
            return code + self.store(node.target, pop=False)
        if isinstance(node, N.Send):
            return self.send(node, for_value=True)
        if isinstance(node, N.Cascade):
            return self.cascade(node)
        if isinstance(node, N.Block):
            return self.block(node)
        if isinstance(node, N.Return):
            raise self.error("'^' is only allowed at the start of a statement", node)
        raise TypeError(node)

    def effect(self, node) -> list:
        """Code that evaluates the node for its side effects only."""
        if isinstance(node, N.Assign):
            return self.value(node.value) + self.store(node.target, pop=True)
        if isinstance(node, N.Send):
            inlined = self.inline(node, for_value=False)
            if inlined is not None:
                return inlined
        code = self.value(node)
        self.stack(-1)
        return code + [B.POP]

    def push_literal(self, value, node) -> list:
        self.stack(1)
        if isinstance(value, int) and not isinstance(value, bool) and -1 <= value <= 2:
            return [B.PUSH_MINUS_ONE + value + 1]
        index = self.literal(value, node)
        if index < 32:
            return [B.PUSH_LITERAL_CONSTANT + index]
        return [B.EXTENDED_PUSH, 0x80 | index]

    def push_variable(self, node) -> list:
        var = self.lookup(node)
        self.stack(1)
        if var.kind == 'pseudo':
            return [PSEUDO[var.name]]
        if var.kind == 'temp':
            if var.index < 16:
                return [B.PUSH_TEMP + var.index]
            return [B.EXTENDED_PUSH, 0x40 | var.index]
        if var.kind == 'inst':
            if var.index < 16:
                return [B.PUSH_RECEIVER_VARIABLE + var.index]
            if var.index >= 64:
                raise self.error(f"instance variable {var.name!r} is out of reach "
                                 f"(index {var.index} > 63)", node)
            return [B.EXTENDED_PUSH, var.index]
        index = self.literal(Binding(var.name), node)
        if index < 32:
            return [B.PUSH_LITERAL_VARIABLE + index]
        return [B.EXTENDED_PUSH, 0xC0 | index]

    def store(self, target: N.Variable, pop: bool) -> list:
        var = self.lookup(target)
        if pop:
            self.stack(-1)
        if var.kind == 'pseudo':
            raise self.error(f"cannot store into {var.name!r}", target)
        if var.kind == 'temp':
            if var.is_arg:
                raise self.error(f"cannot store into argument {var.name!r}", target)
            if pop and var.index < 8:
                return [B.POP_STORE_TEMP + var.index]
            operand = 0x40 | var.index
        elif var.kind == 'inst':
            if pop and var.index < 8:
                return [B.POP_STORE_RECEIVER_VARIABLE + var.index]
            if var.index >= 64:
                raise self.error(f"instance variable {var.name!r} is out of reach "
                                 f"(index {var.index} > 63)", target)
            operand = var.index
        else:
            operand = 0xC0 | self.literal(Binding(var.name), target)
        return [B.EXTENDED_POP_STORE if pop else B.EXTENDED_STORE, operand]

    # -- sends ------------------------------------------------------------------------------
    def send(self, node: N.Send, for_value: bool) -> list:
        inlined = self.inline(node, for_value=True)
        if inlined is not None:
            return inlined
        is_super = isinstance(node.receiver, N.Variable) and node.receiver.name == 'super'
        code = self.value(node.receiver)
        for arg in node.args:
            code += self.value(arg)
        return code + self.send_bytes(node.selector, len(node.args), is_super, node)

    def send_bytes(self, selector: str, nargs: int, is_super: bool, node) -> list:
        self.stack(-nargs)
        if not is_super:
            special = B.SPECIAL_SELECTORS.get(selector)
            if special is not None:
                return [special]
        index = self.literal(Symbol(selector), node)
        if is_super:
            self.uses_super = True
        elif nargs <= 2 and index < 16:
            return [B.SEND_LITERAL_SELECTOR + 16 * nargs + index]
        if nargs < 8 and index < 32:
            return [B.SUPER_SEND if is_super else B.SINGLE_EXTENDED_SEND, (nargs << 5) | index]
        if nargs > 255:
            raise self.error("too many arguments", node)
        return [B.DOUBLE_EXTENDED_SUPER_SEND if is_super else B.DOUBLE_EXTENDED_SEND,
                nargs, index]

    def cascade(self, node: N.Cascade) -> list:
        is_super = isinstance(node.receiver, N.Variable) and node.receiver.name == 'super'
        code = self.value(node.receiver)
        last = len(node.messages) - 1
        for i, part in enumerate(node.messages):
            if i < last:
                code.append(B.DUP)
                self.stack(1)
            for arg in part.args:
                code += self.value(arg)
            code += self.send_bytes(part.selector, len(part.args), is_super, part)
            if i < last:
                code.append(B.POP)
                self.stack(-1)
        return code

    # -- blocks ---------------------------------------------------------------------------------
    def block(self, node: N.Block) -> list:
        """A real BlockContext: ``thisContext numArgs blockCopy:`` then a
        jump over the body, which the block's context runs by itself."""
        code = [B.PUSH_THIS_CONTEXT] + self.push_literal(len(node.args), node)
        self.stack(1)
        code += self.send_bytes('blockCopy:', 1, False, node)
        outer_depth = self.depth
        self.depth = len(node.args)     # the block's own stack holds its arguments
        self.stack(0)
        self.scopes.append({})
        self.declare(node.args, True, 'argument')
        self.declare(node.temps, False, 'temporary')
        body = []
        for decl in reversed(node.args):
            body.append(self.pop_store_temp(self.scopes[-1][decl.name].index))
            self.stack(-1)
        body = [b for part in body for b in part]
        stmts = node.statements
        body += self.statements(stmts, value_of_last=True)
        if not (stmts and isinstance(stmts[-1], N.Return)):
            body.append(B.BLOCK_RETURN_TOP)
        self.scopes.pop()
        self.depth = outer_depth
        return code + self.jump(len(body), node) + body

    @staticmethod
    def pop_store_temp(index: int) -> list:
        if index < 8:
            return [B.POP_STORE_TEMP + index]
        return [B.EXTENDED_POP_STORE, 0x40 | index]

    def inline_body(self, block: N.Block, for_value: bool) -> list:
        """The statements of a literal block compiled in line."""
        self.scopes.append({})
        self.declare(block.temps, False, 'temporary')
        code = self.statements(block.statements, value_of_last=for_value)
        self.scopes.pop()
        return code

    # -- jumps ----------------------------------------------------------------------------------
    def jump(self, distance: int, node) -> list:
        """Unconditional jump forward by ``distance`` bytes (or back if negative)."""
        if 1 <= distance <= 8:
            return [B.SHORT_JUMP + distance - 1]
        if not -1024 <= distance <= 1023:
            raise self.error("method too large: jump out of range", node)
        return [B.LONG_JUMP + 4 + (distance >> 8), distance & 0xFF]

    def jump_if(self, condition: bool, distance: int, node) -> list:
        """Pop the top of stack and jump forward if it is ``condition``."""
        if not condition and 1 <= distance <= 8:
            return [B.SHORT_JUMP_IF_FALSE + distance - 1]
        if not 0 <= distance <= 1023:
            raise self.error("method too large: jump out of range", node)
        base = B.LONG_JUMP_IF_TRUE if condition else B.LONG_JUMP_IF_FALSE
        return [base + (distance >> 8), distance & 0xFF]

    def jump_size(self, distance: int) -> int:
        return 1 if 1 <= distance <= 8 else 2

    # -- inlined control structures -------------------------------------------------------------
    @staticmethod
    def is_plain_block(node, nargs: int = 0) -> bool:
        return isinstance(node, N.Block) and len(node.args) == nargs

    def inline(self, node: N.Send, for_value: bool):
        """Jump code for the control messages the compiler open-codes, or
        None when the message must really be sent."""
        sel, args, rcv = node.selector, node.args, node.receiver
        if isinstance(rcv, N.Variable) and rcv.name == 'super':
            return None
        if sel in ('ifTrue:', 'ifFalse:', 'and:', 'or:') and self.is_plain_block(args[0]):
            return self.inline_if(node, for_value)
        if sel in ('ifTrue:ifFalse:', 'ifFalse:ifTrue:') and \
                self.is_plain_block(args[0]) and self.is_plain_block(args[1]):
            return self.inline_if_else(node, for_value)
        if sel in ('whileTrue:', 'whileFalse:') and self.is_plain_block(rcv) \
                and self.is_plain_block(args[0]):
            return self.inline_while(node, args[0], sel == 'whileTrue:', for_value)
        if sel in ('whileTrue', 'whileFalse') and self.is_plain_block(rcv):
            return self.inline_while(node, None, sel == 'whileTrue', for_value)
        return None

    def inline_if(self, node, for_value: bool) -> list:
        """``c ifTrue: [b]`` -> c; jumpFalse L1; b; jump L2; L1: push nil; L2:
        and: / or: push false / true instead of nil."""
        sel = node.selector
        code = self.value(node.receiver)
        self.stack(-1)
        base = self.depth
        body = self.inline_body(node.args[0], for_value=True)
        self.depth = base
        filler = {'ifTrue:': B.PUSH_NIL, 'ifFalse:': B.PUSH_NIL,
                  'and:': B.PUSH_FALSE, 'or:': B.PUSH_TRUE}[sel]
        self.stack(1)
        skip = self.jump(1, node)
        jump_on = sel in ('ifFalse:', 'or:')
        code += self.jump_if(jump_on, len(body) + len(skip), node) + body + skip + [filler]
        if not for_value:
            code.append(B.POP)
            self.stack(-1)
        return code

    def inline_if_else(self, node, for_value: bool) -> list:
        code = self.value(node.receiver)
        self.stack(-1)
        base = self.depth
        first = self.inline_body(node.args[0], for_value=True)
        self.depth = base
        second = self.inline_body(node.args[1], for_value=True)
        skip = self.jump(len(second), node)
        jump_on = node.selector == 'ifFalse:ifTrue:'
        code += self.jump_if(jump_on, len(first) + len(skip), node) + first + skip + second
        if not for_value:
            code.append(B.POP)
            self.stack(-1)
        return code

    def inline_while(self, node, body_block, while_true: bool, for_value: bool) -> list:
        """L1: cond; jumpIf(!while_true) L2; body; jump L1; L2: [push nil]."""
        cond = self.inline_body(node.receiver, for_value=True)
        self.stack(-1)
        body = self.inline_body(body_block, for_value=False) if body_block else []
        back_distance = len(cond) + len(body) + 2  # the exit jump, unknown yet
        exit_jump = self.jump_if(not while_true, len(body) + 2, node)
        back_distance += len(exit_jump)
        code = cond + exit_jump + body + self.jump(-back_distance, node)
        if for_value:
            code.append(B.PUSH_NIL)
            self.stack(1)
        return code
