"""A disk cache of compiled methods, one entry per source file.

Compiling the kernel (about a thousand methods) on every build is slow, so the
CompiledMethodSpecs of a file are pickled under
``${XDG_CACHE_HOME:-~/.cache}/blocktalk/``.  The key is a sha256 of the
compiler's own source files, the file name and text, and the class scopes the
file's methods were compiled in (instance variables come from other files), so
any change that could change the output misses the cache.

Writes go to a temp file and ``os.replace`` so parallel test workers never see a
half-written entry; an unreadable entry is treated as a miss.
"""

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

_compiler_digest = None


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "blocktalk"


def compiler_digest():
    """sha256 over the compiler package's .py files (computed once per process)."""
    global _compiler_digest
    if _compiler_digest is None:
        import blocktalk.compiler as C
        h = hashlib.sha256()
        for p in sorted(Path(C.__file__).parent.glob("*.py")):
            h.update(p.name.encode())
            h.update(p.read_bytes())
        _compiler_digest = h.hexdigest()
    return _compiler_digest


def cache_key(filename, text, scopes):
    h = hashlib.sha256()
    h.update(compiler_digest().encode())
    h.update(b"\0" + str(filename).encode("utf-8", "replace") + b"\0")
    h.update(text.encode("utf-8", "replace"))
    h.update(b"\0" + repr(scopes).encode("utf-8", "replace"))
    return h.hexdigest()


def load(key):
    """The cached value for ``key``, or None (missing or unreadable)."""
    try:
        with open(cache_dir() / f"{key}.pickle", "rb") as f:
            return pickle.load(f)
    except Exception:      # any unreadable entry is just a miss
        return None


def store(key, value):
    """Store ``value``; failures (read-only home, full disk) are ignored."""
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=f".{key[:16]}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, d / f"{key}.pickle")
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass
