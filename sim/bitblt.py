"""BitBlt ``copyBits`` (Blue Book ch. 18 and 29, primitive 96), done by the host.

Forms are Blue Book Forms (``bits width height offset``): rows of 16-pixel
words, bit 15 leftmost, 1 = black.  The BitBlt object is the Blue Book's
(``destForm sourceForm halftoneForm combinationRule destX destY width height
sourceX sourceY clipX clipY clipWidth clipHeight``).  The work is done a row
at a time on Python integers, by the host: it reads and writes the Forms'
blocks wherever they are (a frame or its own memory), so a screen bitmap larger
than the core's free frames can still be drawn on.
"""

from blocktalk.memory import format as F

DEST_FORM, SOURCE_FORM, HALFTONE_FORM, RULE, DEST_X, DEST_Y, WIDTH, HEIGHT, \
    SOURCE_X, SOURCE_Y, CLIP_X, CLIP_Y, CLIP_WIDTH, CLIP_HEIGHT = range(14)
FORM_BITS, FORM_WIDTH, FORM_HEIGHT = 0, 1, 2


class BitBltFailed(Exception):
    pass


def _int(ins, ref, i, default=None):
    v = ins.field(ref, i)
    if v == ("imm", F.NIL) and default is not None:
        return default
    if v[0] != "int":
        raise BitBltFailed()
    return v[1]


class FormBits:
    """The words of a Form's bits (ordinary or large words object)."""

    def __init__(self, ins, form):
        self.ins = ins
        self.width = _int(ins, form, FORM_WIDTH)
        self.height = _int(ins, form, FORM_HEIGHT)
        bits = ins.field(form, FORM_BITS)
        if bits[0] in ("int", "imm"):
            raise BitBltFailed()
        self.raster = (self.width + 15) // 16
        block, off = bits
        fmt = ins.word(block, off + 4) >> F.FMT_SHIFT
        if fmt == F.FMT_LARGE:
            n = ins.word(block, off + 6) >> 1
            per = F.large_chunk_fields(ins.mem.bs)
            self.chunks = [ins.field(bits, 1 + k) for k in range((n + per - 1) // per)]
            self.per = per
        elif fmt == F.FMT_WORDS:
            n = ins.size_words(bits) - 3
            self.chunks = [bits]
            self.per = max(n, 1)
        else:
            raise BitBltFailed()
        if n < self.raster * self.height:
            raise BitBltFailed()

    def _loc(self, i):
        block, off = self.chunks[i // self.per]
        return block, off + 6 + 2 * (i % self.per)

    def row(self, y):
        """Row ``y`` as an integer of raster*16 bits (leftmost pixel highest)."""
        v = 0
        base = y * self.raster
        for k in range(self.raster):
            v = (v << 16) | self.ins.word(*self._loc(base + k))
        return v

    def set_row(self, y, v):
        base = y * self.raster
        for k in range(self.raster - 1, -1, -1):
            block, off = self._loc(base + k)
            self.ins.set_word(block, off, v & 0xFFFF)
            v >>= 16


RULES = [
    lambda s, d: 0, lambda s, d: s & d, lambda s, d: s & ~d, lambda s, d: s,
    lambda s, d: ~s & d, lambda s, d: d, lambda s, d: s ^ d, lambda s, d: s | d,
    lambda s, d: ~s & ~d, lambda s, d: ~s ^ d, lambda s, d: ~d, lambda s, d: s | ~d,
    lambda s, d: ~s, lambda s, d: ~s | d, lambda s, d: ~s | ~d, lambda s, d: -1,
]


def copy_bits(ins, blt):
    """Blue Book ``copyBits``; ``blt`` is the BitBlt's (block, offset)."""
    dest = FormBits(ins, ins.field(blt, DEST_FORM))
    src_form = ins.field(blt, SOURCE_FORM)
    src = FormBits(ins, src_form) if src_form != ("imm", F.NIL) else None
    ht_form = ins.field(blt, HALFTONE_FORM)
    halftone = FormBits(ins, ht_form) if ht_form != ("imm", F.NIL) else None
    rule = _int(ins, blt, RULE)
    if not 0 <= rule <= 15:
        raise BitBltFailed()
    dx, dy = _int(ins, blt, DEST_X, 0), _int(ins, blt, DEST_Y, 0)
    w, h = _int(ins, blt, WIDTH, dest.width), _int(ins, blt, HEIGHT, dest.height)
    sx, sy = _int(ins, blt, SOURCE_X, 0), _int(ins, blt, SOURCE_Y, 0)
    cx, cy = _int(ins, blt, CLIP_X, 0), _int(ins, blt, CLIP_Y, 0)
    cw, ch = _int(ins, blt, CLIP_WIDTH, dest.width), _int(ins, blt, CLIP_HEIGHT, dest.height)
    # clip to the clipping rectangle and the destination form (Blue Book clipRange)
    left, top = max(dx, cx, 0), max(dy, cy, 0)
    right = min(dx + w, cx + cw, dest.width)
    bottom = min(dy + h, cy + ch, dest.height)
    sx += left - dx
    sy += top - dy
    if src is not None:
        # and to the source form
        if sx < 0:
            left -= sx
            sx = 0
        if sy < 0:
            top -= sy
            sy = 0
        right = min(right, left + src.width - sx)
        bottom = min(bottom, top + src.height - sy)
    if right <= left or bottom <= top:
        return
    width = right - left
    mask = ((1 << width) - 1)
    dbits = dest.raster * 16
    combine = RULES[rule]
    rows = []
    for i in range(bottom - top):
        y = top + i
        d_row = dest.row(y)
        d = (d_row >> (dbits - left - width)) & mask
        if src is not None:
            sbits = src.raster * 16
            s = (src.row(sy + i) >> (sbits - sx - width)) & mask
        else:
            s = mask
        if halftone is not None:
            pattern = halftone.row(y % halftone.height) >> (halftone.raster * 16 - 16) & 0xFFFF
            shift = left % 16
            rep = pattern
            for _ in range((width + 32) // 16):
                rep = (rep << 16) | pattern
            total = ((width + 32) // 16 + 1) * 16
            s &= (rep >> (total - shift - width)) & mask
        r = combine(s, d) & mask
        shift = dbits - left - width
        rows.append((y, (d_row & ~(mask << shift)) | (r << shift)))
    for y, v in rows:
        dest.set_row(y, v)


def prim_copy_bits(core, nargs):
    """Primitive 96: BitBlt>>copyBits."""
    from .primitives import PrimitiveFailed
    blt = core.top(0)
    if blt & 1 or blt < 16:
        raise PrimitiveFailed()
    from .inspect import Inspector
    ins = Inspector(core)
    try:
        copy_bits(ins, ins.loc(blt))
    except BitBltFailed:
        raise PrimitiveFailed() from None
