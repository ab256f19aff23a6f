"""The blocktalk Smalltalk-80 compiler.

Compiles Smalltalk-80 source into Blue Book CompiledMethods (bytecodes,
literal frame and header as in "Smalltalk-80: The Language and its
Implementation", chapters 26-28) and reads the chunk file format.

Modules: :mod:`errors` (CompileError), :mod:`literals` (literal value
model), :mod:`lexer`, :mod:`nodes` (parse tree), :mod:`parser`,
:mod:`bytecodes` (opcode numbers), :mod:`codegen` (tree -> bytecodes),
:mod:`method` (header, literal frame, public compile functions) and
:mod:`chunks` (chunk-format files).
"""

from .errors import CompileError
from .literals import Symbol, Character, Binding, MethodClassBinding
from .method import CompiledMethodSpec, ClassScope, compile_method, compile_doit
from .chunks import (read_chunks, ClassDefinition, MethodsFor, MethodSource, Doit,
                     ClassInstanceVariables)

__all__ = [
    'CompileError', 'Symbol', 'Character', 'Binding', 'MethodClassBinding',
    'CompiledMethodSpec', 'ClassScope', 'compile_method', 'compile_doit', 'read_chunks',
    'ClassDefinition', 'MethodsFor', 'MethodSource', 'Doit', 'ClassInstanceVariables',
]
