"""The primitive table: Blue Book primitive index -> function(core, nargs).

Each module implements one group of chapter 29 (a function raises
:class:`~.primitives.PrimitiveFailed` to run the method's Smalltalk code); this
module puts the groups together, so that none of them imports another's table.
"""

from .become import prim_become
from .floats import FLOAT_PRIMITIVES
from .io import IO_PRIMITIVES
from .primitives import CORE_PRIMITIVES
from .processes import PROCESS_PRIMITIVES
from .system import SYSTEM_PRIMITIVES

PRIMITIVES = {**CORE_PRIMITIVES, **PROCESS_PRIMITIVES, **IO_PRIMITIVES, **FLOAT_PRIMITIVES,
              **SYSTEM_PRIMITIVES, 72: prim_become}
