"""Compile errors carrying a position in file coordinates.

Every error the compiler reports is a :class:`CompileError`; its position is
the 1-based line and column in the *file* the source came from (callers pass
the source's starting position, so chunk-relative offsets never leak out).
"""


class CompileError(Exception):
    """A syntax or semantic error in Smalltalk source.

    ``str(error)`` is ``"filename:line:column: message"`` so that editors and
    terminals can jump straight to the offending spot.
    """

    def __init__(self, message: str, filename: str = '<input>', line: int = 1, column: int = 1):
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        super().__init__(f"{filename}:{line}:{column}: {message}")

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}:{self.column}: {self.message}"
