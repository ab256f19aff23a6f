"""The literal value model shared by the compiler and the image builder.

Smalltalk literals are represented with plain Python values wherever one
fits, so callers can compare and hash them freely:

==========================  =================================================
Smalltalk                   Python
==========================  =================================================
``3``, ``16r1F``, ``1e3``   ``int`` of any size (the VM decides SmallInteger
                            versus LargeInteger)
``3.14``, ``2.5e-3``        ``float``
``'text'``                  ``str``
``#sym``, ``#at:put:``      :class:`Symbol`
``$a``                      :class:`Character`
``#(1 $a foo)``             ``tuple`` (nested arrays are nested tuples)
``#[1 2 3]``                ``bytes``
``true false nil``          ``True False None`` (only inside literal arrays)
global / class variable     :class:`Binding` (resolved to an Association by
                            the image builder)
method class (super sends)  :class:`MethodClassBinding`
==========================  =================================================
"""

from dataclasses import dataclass

# blocktalk SmallIntegers are 15-bit two's complement (one bit is the tag).
SMALL_INT_MIN = -16384
SMALL_INT_MAX = 16383


@dataclass(frozen=True)
class Symbol:
    """An interned Smalltalk Symbol such as ``#at:put:``."""
    name: str

    def __repr__(self) -> str:
        return f"Symbol({self.name!r})"


@dataclass(frozen=True)
class Character:
    """A Smalltalk Character; ``value`` is its code point (0-255 in ST-80)."""
    value: int

    def __repr__(self) -> str:
        return f"Character({self.value!r})"


@dataclass(frozen=True)
class Binding:
    """A reference to a global or class variable by name.

    The compiler cannot know which globals exist; it records the name and the
    image builder replaces it with the Association from the right dictionary.
    Bytecodes address it as a *literal variable* (push/store its value).
    """
    name: str


@dataclass(frozen=True)
class MethodClassBinding:
    """The literal naming the class a method is installed in.

    The Blue Book finds the class for super sends in the method's last
    literal (an Association whose value is the class); the image builder
    supplies it when installing the method.
    """


def literal_key(value):
    """Return a key under which equal literals (and only those) collide.

    Python says ``1 == 1.0 == True``, but the literal frame must keep an
    Integer, a Float and ``true`` apart, so the key includes the type.
    Tuples are compared element by element with the same rule.
    """
    if isinstance(value, tuple):
        return ('tuple', tuple(literal_key(v) for v in value))
    return (type(value).__name__, value)


def is_small_integer(value) -> bool:
    """True for ints that fit a blocktalk SmallInteger (15-bit signed)."""
    return (isinstance(value, int) and not isinstance(value, bool)
            and SMALL_INT_MIN <= value <= SMALL_INT_MAX)
