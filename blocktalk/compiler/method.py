"""CompiledMethod assembly: header, literal frame and the public entry points.

Header layout
-------------
``CompiledMethodSpec.header`` is the 15-bit *value* of the SmallInteger in
a CompiledMethod's header field (the object pointer is ``header << 1 | 1``).
From the most significant bit down (Blue Book chapter 27):

===========  =====  ========================================================
value bits   width  meaning
===========  =====  ========================================================
14-12        3      flag value: 0-4 argument count (no primitive);
                    5 quick return of self; 6 quick return of the
                    instance variable whose index is in the temp field;
                    7 primitive and/or more than 4 arguments -> header
                    extension
11-7         5      temporary frame size (arguments + temporaries, block
                    arguments/temporaries included)
6            1      large context flag
5-0          6      literal count
===========  =====  ========================================================

Header extension (flag value 7): a SmallInteger literal whose value holds
the argument count in bits 12-8 and the primitive index in bits 7-0.  As the
Blue Book's ``headerExtensionOf:`` reads it from the second-to-last literal,
the compiler then also appends the method-class literal as the last one
(:class:`MethodClassBinding`), exactly as for a method with a super send.
"""

from dataclasses import dataclass

from .codegen import CodeGenerator, MAX_LITERALS, SMALL_FRAME
from .errors import CompileError
from .literals import MethodClassBinding
from .parser import Parser
from . import nodes as N

FLAG_RETURN_SELF = 5
FLAG_RETURN_FIELD = 6
FLAG_EXTENDED = 7


@dataclass
class ClassScope:
    """What the compiler needs to know about the method's class.

    ``instance_variables`` lists all instance variable names, inherited ones
    first, so that a name's index is its field index in the receiver.
    """
    name: str
    instance_variables: list
    is_meta: bool = False


@dataclass
class CompiledMethodSpec:
    """Everything the image builder needs to create a CompiledMethod."""
    selector: str
    num_args: int
    num_temps: int
    literals: list
    bytecodes: bytes
    primitive: int
    large_context: bool
    header: int
    header_extension: object
    source_line: int
    category: str = ''

    @property
    def flag_value(self) -> int:
        return self.header >> 12


def compile_method(source: str, scope: ClassScope, *, filename: str = '<input>',
                   line: int = 1, column: int = 1, category: str = '') -> CompiledMethodSpec:
    """Compile one method (pattern, temporaries, primitive, statements)."""
    tree = Parser(source, filename, line, column).parse_method()
    return _assemble(tree, scope.instance_variables if scope else [], filename, line, category)


def compile_doit(source: str, scope: ClassScope = None, *, filename: str = '<input>',
                 line: int = 1, column: int = 1) -> CompiledMethodSpec:
    """Compile a doit as the unary method ``DoIt`` answering its last value."""
    tree = Parser(source, filename, line, column).parse_doit()
    return _assemble(tree, scope.instance_variables if scope else [], filename, line, '')


def _quick_flag(tree: N.Method, gen: CodeGenerator):
    """Flag value 5 (``^self``) or 6 (``^instVar``) for trivial unary methods,
    with the field index for flag 6; None otherwise."""
    if tree.is_doit or tree.args or tree.temps or tree.primitive:
        return None
    if not tree.statements:
        return FLAG_RETURN_SELF, 0      # an empty method answers self
    if len(tree.statements) != 1 or not isinstance(tree.statements[0], N.Return):
        return None
    value = tree.statements[0].value
    if not isinstance(value, N.Variable):
        return None
    if value.name == 'self':
        return FLAG_RETURN_SELF, 0
    if value.name in gen.inst_vars and gen.inst_vars[value.name] < 32:
        return FLAG_RETURN_FIELD, gen.inst_vars[value.name]
    return None


def _assemble(tree: N.Method, instance_variables, filename, line, category) -> CompiledMethodSpec:
    gen = CodeGenerator(tree, instance_variables, filename)
    code = gen.generate()
    nargs = len(tree.args)
    literals = list(gen.literals)
    extension = None
    large = gen.max_depth + gen.num_temps > SMALL_FRAME
    quick = _quick_flag(tree, gen)
    if quick:
        # Xerox quick methods carry no bytecodes: the VM answers self or the
        # field from the header alone (Blue Book primitiveResponse).  The
        # large-context flag is still set, as Xerox did, when the field index
        # in the temporary-count bits exceeds the small frame size.
        flag, temp_field = quick
        large = temp_field > SMALL_FRAME
        code = []
    else:
        temp_field = gen.num_temps
        if tree.primitive or nargs > 4:
            flag = FLAG_EXTENDED
            extension = (nargs << 8) | tree.primitive
            literals.append(extension)
            literals.append(MethodClassBinding())
        else:
            flag = nargs
            if gen.uses_super:
                literals.append(MethodClassBinding())
    if gen.uses_super and not isinstance(literals[-1], MethodClassBinding):
        literals.append(MethodClassBinding())
    if len(literals) > MAX_LITERALS:
        raise CompileError("too many literals", filename, tree.line, tree.column)
    header = (flag << 12) | (temp_field << 7) | (int(large) << 6) | len(literals)
    return CompiledMethodSpec(
        selector=tree.selector, num_args=nargs, num_temps=gen.num_temps,
        literals=literals, bytecodes=bytes(code), primitive=tree.primitive,
        large_context=large, header=header, header_extension=extension,
        source_line=line, category=category)
