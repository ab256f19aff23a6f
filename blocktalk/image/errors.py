"""Errors of the image builder and the image file reader."""


class ImageError(Exception):
    """An image cannot be built, written or read; ``str()`` says why."""


class SourceError(ImageError):
    """Bad Smalltalk input found while building; ``str()`` is ``file:line:col: message``
    like the compiler's CompileError, so the CLI can print both the same way."""

    def __init__(self, message, filename="<input>", line=1, column=1):
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        super().__init__(f"{filename}:{line}:{column}: {message}")

    def __str__(self):
        return f"{self.filename}:{self.line}:{self.column}: {self.message}"
