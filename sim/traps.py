"""Trap and error signals of the software core.

A :class:`Trap` aborts the current bytecode before it has changed anything
visible (registers are committed only at the end of a bytecode, memory writes
come after every check that can trap); the core then runs the firmware handler
for ``kind`` and executes the bytecode again.  See docs/architecture.md section 7.
"""


class Trap(Exception):
    """A precise trap: ``kind`` names the Firmware handler, ``args`` its arguments."""

    def __init__(self, kind, *args):
        super().__init__(kind, *args)
        self.kind = kind
        self.args_ = args


class VMError(Exception):
    """The machine itself failed (a firmware fault, no frame to evict, ...)."""


class SmalltalkError(Exception):
    """An unhandled Smalltalk error: ``primitiveError:`` or a halt.

    ``walkback`` is a list of ``"Class>>selector"`` lines, innermost first.
    """

    def __init__(self, message, walkback):
        super().__init__(message)
        self.message = message
        self.walkback = walkback


class Halt(Exception):
    """The program finished: the base context returned ``value``."""

    def __init__(self, value):
        super().__init__(value)
        self.value = value


class CoreIdle(Exception):
    """A core of a multi-core system has no process to run: its process waited
    or suspended and no other is ready.  The host gives it one later
    (host/system.py); a single core in this state is deadlocked instead."""
