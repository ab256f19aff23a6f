"""Parse-tree nodes for Smalltalk-80 methods.

Every node records the file position (``line``, ``column``) of the source it
came from so later phases can report errors there.  Names are resolved by the
code generator, not the parser, because the meaning of an identifier depends
on the enclosing blocks and the class.
"""

from dataclasses import dataclass


@dataclass
class Node:
    line: int
    column: int


@dataclass
class Literal(Node):
    """A literal constant (see :mod:`literals` for the value model)."""
    value: object


@dataclass
class Variable(Node):
    """Any identifier, including the pseudo-variables self, super, nil,
    true, false and thisContext."""
    name: str


@dataclass
class Assign(Node):
    target: Variable
    value: Node


@dataclass
class Send(Node):
    """A message send; ``line``/``column`` locate the selector."""
    receiver: Node
    selector: str
    args: list


@dataclass
class CascadePart(Node):
    selector: str
    args: list


@dataclass
class Cascade(Node):
    """``receiver m1; m2; m3``: the receiver is evaluated once."""
    receiver: Node
    messages: list  # of CascadePart


@dataclass
class Declared(Node):
    """A declared name (argument or temporary) with its position."""
    name: str


@dataclass
class Block(Node):
    args: list  # of Declared
    temps: list  # of Declared
    statements: list


@dataclass
class Return(Node):
    value: Node


@dataclass
class Method(Node):
    selector: str
    args: list  # of Declared
    temps: list  # of Declared
    primitive: int
    statements: list
    is_doit: bool = False
