"""Code generation: parse tree -> Blue Book bytecodes and literal frame.

The bytecode set is exactly that of the Blue Book, chapter 28 (see
:mod:`bytecodes`).  The generator mirrors the choices of the Xerox
Smalltalk-80 compiler so that its output can be compared with the
methods in the Xerox Version 2 image:

* short forms whenever the index/offset fits, extended forms otherwise;
* the 32 special selectors are sent with their own bytecodes;
* ifTrue:/ifFalse:/and:/or:/ifTrue:ifFalse:/ifFalse:ifTrue: and
  whileTrue:/whileFalse: with literal zero-argument blocks are compiled
  into jumps (Version 2 did not open-code to:do: or the unary
  whileTrue/whileFalse, and neither does this compiler);
* block arguments and temporaries live in the method's temporary frame
  (Blue Book contexts: a BlockContext shares its home context's temps);
  a block variable whose name already has a slot shares it;
* literals are numbered in the order of the Xerox compiler's sizing walk
  (see :meth:`CodeGenerator.reserve`); equal literals share one slot.

Code is produced bottom-up as lists of byte values: a jump can only be
emitted once the code it skips exists, and then its exact size (short or
long form) is known, so no relaxation pass is needed.  Literal slots are
fixed by a first walk over the tree, so generation order does not matter
for them; stack depth is tracked during generation for the large-context
flag.
"""

from .errors import CompileError
from .literals import Binding, Symbol, literal_key
from . import bytecodes as B
from . import nodes as N

PSEUDO = {'self': B.PUSH_SELF, 'true': B.PUSH_TRUE, 'false': B.PUSH_FALSE,
          'nil': B.PUSH_NIL, 'super': B.PUSH_SELF, 'thisContext': B.PUSH_THIS_CONTEXT}
RETURN_PSEUDO = {'self': B.RETURN_SELF, 'true': B.RETURN_TRUE,
                 'false': B.RETURN_FALSE, 'nil': B.RETURN_NIL}

MAX_LITERALS = 63      # 6-bit literal count in the header
MAX_TEMPS = 31         # 5-bit temporary frame size in the header
SMALL_FRAME = 12       # stack + temps that fit a small context


class _Var:
    """A resolved variable reference."""
    __slots__ = ('kind', 'index', 'name', 'is_arg')

    def __init__(self, kind, index=0, name='', is_arg=False):
        self.kind = kind      # 'temp', 'inst', 'global', 'pseudo'
        self.index = index
        self.name = name
        self.is_arg = is_arg


class CodeGenerator:
    def __init__(self, method: N.Method, instance_variables, filename: str):
        self.method = method
        self.filename = filename
        self.inst_vars = {}
        for i, name in enumerate(instance_variables):
            self.inst_vars.setdefault(name, i)
        self.literals = []
        self.literal_slots = {}
        self.num_temps = 0
        self.scopes = [{}]
        self.slots = {}       # every temp slot of the method by name
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

    def selector_literal(self, selector: str, is_super: bool, node):
        """Literal index of a send's selector (None for special selectors).
        Like Xerox: a super send reuses a slot already holding its selector,
        but a super send's own slot is invisible to later ordinary sends
        (which then add the selector again).  Selectors are also kept apart
        from Symbol constants: ``#foo`` and a send of ``foo`` take two slots."""
        if is_super:
            shared = self.literal_slots.get(('super', selector),
                                            self.literal_slots.get(('selector', selector)))
            if shared is not None:
                return shared
            return self.literal(Symbol(selector), node, key=('super', selector))
        if selector in B.SPECIAL_SELECTORS:
            return None
        return self.literal(Symbol(selector), node, key=('selector', selector))

    def literal(self, value, node, key=None) -> int:
        """Index of ``value`` in the literal frame, adding it on first use."""
        key = key or literal_key(value)
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
        """Give each declared name a slot of the method's temp frame.

        Like the Xerox compiler, a block argument or temporary whose name
        already has a slot in this method (a method temporary, or a block
        variable of an earlier block) shares that slot; other names get the
        next free slot."""
        scope = self.scopes[-1]
        in_block = len(self.scopes) > 1
        for d in decls:
            if d.name in scope:
                raise self.error(f"duplicate {what} {d.name!r}", d)
            shared = self.slots.get(d.name) if in_block else None
            if shared is not None and not shared.is_arg:
                index = shared.index
            else:
                if self.num_temps >= MAX_TEMPS:
                    raise self.error("too many temporaries", d)
                index = self.num_temps
                self.num_temps += 1
            var = _Var('temp', index, d.name, is_arg and not in_block)
            scope[d.name] = var
            self.slots.setdefault(d.name, var)

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

    # -- literal order -------------------------------------------------------------------
    def reserve(self, node, names) -> None:
        """Add the literals of ``node`` to the frame in the Xerox compiler's
        order: a walk of the tree in which a message's selector comes
        before its receiver and arguments.  ``names`` is the set of
        declared names in scope (they are not globals)."""
        if isinstance(node, N.Literal):
            if not (isinstance(node.value, int) and -1 <= node.value <= 2):
                self.literal(node.value, node)
        elif isinstance(node, N.Variable):
            if (node.name not in PSEUDO and node.name not in names
                    and node.name not in self.inst_vars):
                self.literal(Binding(node.name), node)
        elif isinstance(node, N.Assign):
            self.reserve(node.value, names)
            self.reserve(node.target, names)
        elif isinstance(node, N.Return):
            self.reserve(node.value, names)
        elif isinstance(node, N.Send):
            if self.inline_kind(node) is None:
                self.selector_literal(node.selector, self.is_super(node.receiver), node)
                self.reserve(node.receiver, names)
                for arg in node.args:
                    self.reserve(arg, names)
            elif self.inline_kind(node) == 'while':
                self.reserve(node.args[0], names)
                self.reserve(node.receiver, names)
            else:
                # Xerox sizes a conditional from the end backwards (a jump's
                # size depends on the code it skips): else, then, condition.
                then_part, else_part = self.branches(node)
                for part in (else_part, then_part):
                    if isinstance(part, N.Block):
                        self.reserve(part, names)
                self.reserve(node.receiver, names)
        elif isinstance(node, N.Cascade):
            self.reserve(node.receiver, names)
            for part in node.messages:
                self.selector_literal(part.selector, self.is_super(node.receiver), part)
                for arg in part.args:
                    self.reserve(arg, names)
        elif isinstance(node, N.Block):
            inner = names | {d.name for d in node.args} | {d.name for d in node.temps}
            for stmt in node.statements:
                self.reserve(stmt, inner)
            if len(node.args) > 2:
                self.literal(len(node.args), node)

    @staticmethod
    def is_super(node) -> bool:
        return isinstance(node, N.Variable) and node.name == 'super'

    # -- method -------------------------------------------------------------------------
    def generate(self) -> list:
        m = self.method
        names = {d.name for d in m.args} | {d.name for d in m.temps}
        for stmt in m.statements:
            self.reserve(stmt, names)
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
        if not stmts or not self.always_returns(stmts[-1]):
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
        if self.always_returns(node):
            return code    # control never gets here: no pop
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
        index = self.selector_literal(selector, is_super, node)
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
        if not stmts and node.args:
            # Xerox: an empty block with arguments answers its last argument.
            stmts = [N.Variable(node.line, node.column, node.args[-1].name)]
        body += self.statements(stmts, value_of_last=True)
        if not (stmts and isinstance(stmts[-1], N.Return)):
            body.append(B.BLOCK_RETURN_TOP)
        self.scopes.pop()
        self.depth = outer_depth
        # Xerox always jumps over a block body with the long form.
        return code + self.long_jump(len(body), node) + body

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

    def long_jump(self, distance: int, node) -> list:
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

    # -- inlined control structures -------------------------------------------------------------
    @staticmethod
    def is_plain_block(node, nargs: int = 0) -> bool:
        return isinstance(node, N.Block) and len(node.args) == nargs

    def inline_kind(self, node: N.Send):
        """'if', 'if-else', 'while' or None: how a send is open-coded.
        (The Xerox v2 compiler sends the unary whileTrue/whileFalse.)"""
        sel, args, rcv = node.selector, node.args, node.receiver
        if self.is_super(rcv):
            return None
        if sel in ('ifTrue:', 'ifFalse:', 'and:', 'or:') and self.is_plain_block(args[0]):
            return 'if'
        if sel in ('ifTrue:ifFalse:', 'ifFalse:ifTrue:') and \
                self.is_plain_block(args[0]) and self.is_plain_block(args[1]):
            return 'if-else'
        if sel in ('whileTrue:', 'whileFalse:') and self.is_plain_block(rcv) \
                and self.is_plain_block(args[0]):
            return 'while'
        return None

    def branches(self, node: N.Send):
        """(then, else) of a conditional, each a Block or a constant
        pseudo-variable name: Xerox rewrites every conditional as
        ifTrue:ifFalse: -- ``a and: [b]`` is ``a ifTrue: [b] ifFalse: [false]``."""
        sel, args = node.selector, node.args
        if sel == 'ifTrue:':
            return args[0], 'nil'
        if sel == 'ifFalse:':
            return 'nil', args[0]
        if sel == 'and:':
            return args[0], 'false'
        if sel == 'or:':
            return 'true', args[0]
        if sel == 'ifTrue:ifFalse:':
            return args[0], args[1]
        return args[1], args[0]          # ifFalse:ifTrue:

    def always_returns(self, node) -> bool:
        """True if control never continues after ``node`` (a return, or a
        conditional whose branches all return)."""
        if isinstance(node, N.Return):
            return True
        if isinstance(node, N.Send) and self.inline_kind(node) in ('if', 'if-else'):
            return all(isinstance(b, N.Block) and b.statements and
                       self.always_returns(b.statements[-1]) for b in self.branches(node))
        return False

    def inline(self, node: N.Send, for_value: bool):
        """Jump code for the control messages the compiler open-codes, or
        None when the message must really be sent."""
        kind = self.inline_kind(node)
        if kind in ('if', 'if-else'):
            return self.inline_conditional(node, for_value)
        if kind == 'while':
            return self.inline_while(node, node.selector == 'whileTrue:', for_value)
        return None

    def branch(self, part, for_value: bool) -> list:
        if isinstance(part, N.Block):
            return self.inline_body(part, for_value)
        if not for_value:
            return []
        self.stack(1)
        return [PSEUDO[part]]

    def inline_conditional(self, node, for_value: bool) -> list:
        """For value: c; jumpFalse L1; then; jump L2; L1: else; L2:
        (no jump after a branch that returns).  A one-armed ifTrue: or
        ifFalse: for effect just jumps over its block: c; jumpFalse/True L1;
        block; L1:.  Everything else for effect is the value form + pop."""
        sel = node.selector
        code = self.value(node.receiver)
        self.stack(-1)
        if not for_value and sel in ('ifTrue:', 'ifFalse:'):
            body = self.inline_body(node.args[0], for_value=False)
            return code + self.jump_if(sel == 'ifFalse:', len(body), node) + body
        then_part, else_part = self.branches(node)
        base = self.depth
        then_code = self.branch(then_part, True)
        self.depth = base
        else_code = self.branch(else_part, True)
        returns = isinstance(then_part, N.Block) and then_part.statements \
            and self.always_returns(then_part.statements[-1])
        skip = [] if returns else self.jump(len(else_code), node)
        code += self.jump_if(False, len(then_code) + len(skip), node) + then_code + skip + else_code
        if not for_value and not self.always_returns(node):
            code.append(B.POP)
            self.stack(-1)
        return code

    def inline_while(self, node, while_true: bool, for_value: bool) -> list:
        """L1: cond; jumpIf(!while_true) L2; body; jump L1; L2: [push nil]."""
        cond = self.inline_body(node.receiver, for_value=True)
        self.stack(-1)
        body = self.inline_body(node.args[0], for_value=False)
        exit_jump = self.jump_if(not while_true, len(body) + 2, node)
        back_distance = len(cond) + len(exit_jump) + len(body) + 2
        code = cond + exit_jump + body + self.jump(-back_distance, node)
        if for_value:
            code.append(B.PUSH_NIL)
            self.stack(1)
        return code
