"""The image file: a magic line, a JSON header, then the blocks.

Layout::

    b"BLOCKTALK-IMAGE 1\\n"
    4-byte big-endian length N
    N bytes of UTF-8 JSON: the meta dict (with block_size and block_count)
    block_count * block_size bytes: block 0, block 1, ...
"""

import json
import os
import struct
from pathlib import Path

from blocktalk.memory import format as F
from blocktalk.memory import block as B
from blocktalk.image.errors import ImageError

MAGIC = b"BLOCKTALK-IMAGE 1\n"


class Image:
    """A built image: ``blocks[n]`` is block n; ``meta`` is JSON-able."""

    def __init__(self, block_size, blocks, meta=None):
        self.block_size = block_size
        self.blocks = blocks
        self.meta = dict(meta or {})
        self.meta["block_size"] = block_size
        self.meta["block_count"] = len(blocks)

    @property
    def warnings(self):
        return self.meta.get("warnings", [])

    def __repr__(self):
        return f"<Image {len(self.blocks)} blocks of {self.block_size} bytes>"


def write_image(path, image):
    """Write ``image`` to ``path`` (atomically: a temp file, then a rename)."""
    meta = dict(image.meta, block_size=image.block_size, block_count=len(image.blocks))
    header = json.dumps(meta, sort_keys=True).encode("utf-8")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack(">I", len(header)))
        f.write(header)
        for blk in image.blocks:
            if len(blk) != image.block_size:
                raise ImageError(f"{path}: a block has {len(blk)} bytes, "
                                 f"not {image.block_size}")
            f.write(blk)
    os.replace(tmp, path)


def read_image(path):
    """Read an image file; any problem is an ImageError naming the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ImageError(f"{path}: cannot read image: {e.strerror or e}") from None
    if not data.startswith(MAGIC):
        raise ImageError(f"{path}: not a blocktalk image (bad magic; expected "
                         f"{MAGIC.strip().decode()!r})")
    pos = len(MAGIC)
    if len(data) < pos + 4:
        raise ImageError(f"{path}: truncated image (no header length)")
    (n,) = struct.unpack(">I", data[pos:pos + 4])
    pos += 4
    if len(data) < pos + n:
        raise ImageError(f"{path}: truncated image (header needs {n} bytes, "
                         f"{len(data) - pos} present)")
    try:
        meta = json.loads(data[pos:pos + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ImageError(f"{path}: corrupt image header (bad JSON: {e})") from None
    pos += n
    if not isinstance(meta, dict):
        raise ImageError(f"{path}: corrupt image header (not a JSON object)")
    size, count = meta.get("block_size"), meta.get("block_count")
    try:
        F.check_block_size(size)
    except ValueError as e:
        raise ImageError(f"{path}: bad block size in header: {e}") from None
    if not isinstance(count, int) or count < 1:
        raise ImageError(f"{path}: bad block count in header: {count!r}")
    body = data[pos:]
    if len(body) != size * count:
        what = "truncated image" if len(body) < size * count else "trailing data in image"
        raise ImageError(f"{path}: {what}: {count} blocks of {size} bytes need "
                         f"{size * count} bytes, {len(body)} present")
    blocks = [bytearray(body[i * size:(i + 1) * size]) for i in range(count)]
    log2 = size.bit_length() - 1
    for i, blk in enumerate(blocks):
        num = B.header_word(blk, F.BH_BLOCK_NUMBER)
        lg = B.header_word(blk, F.BH_LOG2_SIZE)
        if num != i or lg != log2:
            raise ImageError(f"{path}: block {i} has a bad header (block number {num}, "
                             f"log2 size {lg}; expected {i} and {log2})")
    return Image(size, blocks, meta)
