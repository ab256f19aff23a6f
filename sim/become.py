"""Blue Book ``primitiveBecome`` (72) without an object table.

The Blue Book swaps two object-table entries, so every reference to one object
afterwards reaches the other's contents.  blocktalk has no object table: a near
pointer is the object's place in its block, and a far reference reaches it
through its block's InPointer table.  Two cases:

* **Equal sizes**: the contents swap places.  The identity hash and the
  InPointer stay with the place, exactly as the Blue Book's entries do.
* **Different sizes**: each block gets a new object of the other's size holding
  the other's contents (with the place's hash), and then every near pointer to
  the old place *in that block* is redirected to the new one -- the pointer
  update of the collector's compaction, with a two-entry map.  Nothing outside
  a block holds a near pointer into it (other blocks go through the InPointer
  table, whose entries are redirected too), so no other block is scanned.  The
  old places are garbage for the next collection.

Fields are translated for the block they move into first (that may trap and
re-execute the primitive); nothing is written until every translation and
allocation has succeeded.  Docs: architecture.md §13.
"""

from blocktalk.memory import format as F
from .memory import sram_words

from .gc import pointer_fields
from .primitives import FAIL, _is_object
from .traps import Trap

#: Formats whose contents can move: methods (their code is cached by place) and
#: large-object spines (their chunks hang off the spine) cannot.
_MOVABLE = (F.FMT_POINTERS, F.FMT_WORDS, F.FMT_BYTES, F.FMT_BYTES_ODD)


def prim_become(core, nargs):
    """``become: otherObject``: answers the receiver."""
    a = core.top(1)
    b = core.top(0)
    mem = core.mem
    if not (_is_object(a) and _is_object(b)):
        raise FAIL
    if mem.fmt(a) not in _MOVABLE or mem.fmt(b) not in _MOVABLE:
        raise FAIL
    if a == b:
        core.sp -= 1
        return
    # the running context (or its home) cannot change under the core
    if {a, b} & {core.ctx, core.home}:
        raise FAIL
    if mem.size_words(a) == mem.size_words(b):
        _swap_contents(core, a, b)
    else:
        _swap_places(core, a, b)
    core.sp -= 1


def _contents(core, src, dest_base):
    """``src``'s body words, translated for the block at ``dest_base``."""
    mem = core.mem
    n = mem.body_words(src)
    if mem.fmt(src) != F.FMT_POINTERS:
        return mem.mem[(src >> 1) + 3:(src >> 1) + 3 + n]
    return [mem.encode(mem.fetch(src, i), dest_base) for i in range(n)]


def _swap_contents(core, a, b):
    mem = core.mem
    mask = ~mem.mask
    into_a = _contents(core, b, a & mask)
    into_b = _contents(core, a, b & mask)
    m = mem.mem
    wa, wb = a >> 1, b >> 1
    keep = ~F.CLASS_INDEX_MASK & 0xFFFF
    ca, cb = m[wa + 1], m[wb + 1]
    m[wa + 1] = (ca & keep) | (cb & F.CLASS_INDEX_MASK)
    m[wb + 1] = (cb & keep) | (ca & F.CLASS_INDEX_MASK)
    fmt_bits = F.FMT_MASK << F.FMT_SHIFT
    xa, xb = m[wa + 2], m[wb + 2]
    m[wa + 2] = (xa & ~fmt_bits & 0xFFFF) | (xb & fmt_bits)
    m[wb + 2] = (xb & ~fmt_bits & 0xFFFF) | (xa & fmt_bits)
    m[wa + 3:wa + 3 + len(into_a)] = sram_words(into_a)
    m[wb + 3:wb + 3 + len(into_b)] = sram_words(into_b)
    mem.dirty[a >> mem.log2] = mem.dirty[b >> mem.log2] = True
    _forget(mem, (a, b))


def _swap_places(core, a, b):
    mem = core.mem
    mask = ~mem.mask
    into_a = _contents(core, b, a & mask)
    into_b = _contents(core, a, b & mask)
    fa, fb = a >> mem.log2, b >> mem.log2
    # If either block is full, the first copy is given back and the block
    # collected (a trap) before the primitive fails; nothing changes before.
    new_a = _place(mem, fa, a, b, into_a)
    new_b = _place(mem, fb, b, a, into_b) if new_a is not None else None
    if new_b is None:
        if new_a is not None:
            # give the first copy back at once: left as garbage, it would be
            # made again by each retry, and fill the block the failure code's
            # context needs
            mem.free_object(fa, new_a)
        full = fa if new_a is None else fb
        # the firmware collects the full block (collect:for:) and the send
        # runs again; if there is still no room, the primitive fails.  The key
        # outlives the collection (which may move a, b and the context) and
        # the failure (whose code may trap and run the send again): only a
        # success forgets it
        key = (mem.hash_of(a), mem.hash_of(b), mem.frame_block[full])
        if core.become_collect != key:
            core.become_collect = key
            words = len(into_a) + len(into_b) + F.OBJ_HEADER_WORDS if fa == fb else \
                len(into_a if full == fa else into_b)
            raise Trap("collect", full, words)
        raise FAIL
    core.become_collect = None
    redirect = {fa: {}, fb: {}}
    redirect[fa][a - (fa << mem.log2)] = new_a - (fa << mem.log2)
    redirect[fb][b - (fb << mem.log2)] = new_b - (fb << mem.log2)
    _forget(mem, (a, b))
    for frame, mapping in redirect.items():
        redirect_block(core, frame, mapping)


def _place(mem, frame, place, contents_of, body):
    """A new object in ``frame`` with the contents, class and format of
    ``contents_of`` (``body`` already translated) and the identity hash and
    exported bit of ``place``; None if the block has no room."""
    m = mem.mem
    obj = mem.allocate(frame, mem.class_index(contents_of), mem.fmt(contents_of),
                       len(body), 0, mem.hash_of(place))
    if obj is None:
        return None
    m[(obj >> 1) + 2] |= m[(place >> 1) + 2] & F.EXPORTED_BIT
    m[(obj >> 1) + 3:(obj >> 1) + 3 + len(body)] = sram_words(body)
    if m[(obj >> 1) + 2] & F.EXPORTED_BIT:
        mem.mark_escaped(obj)
    return obj


def redirect_block(core, frame, mapping):
    """Rewrite every near pointer of the block in ``frame`` that ``mapping``
    (block offset -> block offset) names, and the core registers likewise."""
    mem = core.mem
    m = mem.mem
    base = frame << mem.log2
    op_start = mem.op_abs[frame] - base
    alloc = mem.header(frame, F.BH_ALLOC)
    off = F.FIRST_OBJECT
    while off < alloc:
        a = (base + off) >> 1
        for i in range(a + 3, a + 3 + pointer_fields(m, a)):
            w = m[i]
            if not (w & 1) and 16 <= w < op_start and w in mapping:
                m[i] = mapping[w]
        off += m[a] * 2
    mem.dirty[frame] = True
    core.relocate(frame, _Unmoved(mapping))


class _Unmoved(dict):
    """A forwarding map in which every object not named stays where it is."""

    def get(self, key, default=None):
        return dict.get(self, key, key)


def _forget(mem, places):
    """Drop the core's cache entries that name the two places: what was cached
    about them (class indices, code, far-reference resolutions) described the
    old contents."""
    places = set(places)
    mem.import_cache = {k: v for k, v in mem.import_cache.items() if v not in places}
    mem.export_cache = {k: v for k, v in mem.export_cache.items() if k[1] not in places}
    mem.dispatch = {k: v for k, v in mem.dispatch.items()
                    if k[1] not in places and v not in places}
    for cache in (mem.class_index_cache, mem.code_cache):
        for p in places:
            cache.pop(p, None)
