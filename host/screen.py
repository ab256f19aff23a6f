"""The host's view of the Smalltalk-80 display: the Form the image made the
screen with ``beDisplay`` (primitive 102), written as a PNG.

Forms are Blue Book ones: ``bits width height offset``, the bits a word
(or large) object of 16-pixel words, rows padded to whole words, bit 15 the
leftmost pixel, 1 = black.
"""

import struct
import zlib

from blocktalk.memory import format as F

FORM_BITS, FORM_WIDTH, FORM_HEIGHT = 0, 1, 2


def form_words(ins, ref):
    """All words of a (possibly large) words object."""
    block, off = ref
    fmt = ins.word(block, off + 4) >> F.FMT_SHIFT
    if fmt == F.FMT_LARGE:
        n = ins.word(block, off + 6) >> 1          # unsigned 15-bit count
        words = []
        k = 1
        while len(words) < n:
            words += form_words(ins, ins.field(ref, k))
            k += 1
        return words[:n]
    n = ins.size_words(ref) - 3
    return [ins.word(block, off + 6 + 2 * i) for i in range(n)]


def display_pixels(machine):
    """(width, height, rows of 0/1) of the current display Form."""
    core = machine.core
    display = core.host_io.get("display")
    if display is None:
        raise ValueError("the image has not made a display Form (no beDisplay yet)")
    ins = machine.inspector
    form = ins.loc(display)
    width = ins.field(form, FORM_WIDTH)
    height = ins.field(form, FORM_HEIGHT)
    if width[0] != "int" or height[0] != "int":
        raise ValueError("the display Form has no integer width and height")
    w, h = width[1], height[1]
    words = form_words(ins, ins.field(form, FORM_BITS))
    per_row = (w + 15) // 16
    rows = []
    for y in range(h):
        row = words[y * per_row:(y + 1) * per_row]
        bits = []
        for word in row:
            bits += [(word >> (15 - i)) & 1 for i in range(16)]
        rows.append(bits[:w])
    return w, h, rows


def write_png(path, width, height, rows):
    """A 1-bit grayscale PNG (black where a pixel is 1), no dependencies."""
    raw = bytearray()
    for bits in rows:
        raw.append(0)                      # filter: none
        line = bytearray((width + 7) // 8)
        for x, b in enumerate(bits):
            if not b:                      # PNG gray 1 = white
                line[x >> 3] |= 0x80 >> (x & 7)
        raw += line

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0,
                                                             0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
