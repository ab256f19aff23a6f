"""Intra-block mark-compact collection (seed 003: each block is collected on its own).

Roots are the block's InPointer table (every object another block may refer
to), its OutPointer hash table, and the core registers that point into the
block.  OutPointers that no live object uses any more are freed too; the
OutPointer hash table is rebuilt from the survivors.  Docs: architecture.md §8.
"""

from blocktalk.memory import format as F
from .memory import sram_words


def pointer_fields(m, a):
    """How many body words of the object whose header is at SRAM word ``a``
    are oops: all of a pointer object's or large-object spine's, a method's
    header and literals, none of a bits object's."""
    fmt = m[a + 2] >> F.FMT_SHIFT
    if fmt == F.FMT_POINTERS or fmt == F.FMT_LARGE:
        return m[a] - F.OBJ_HEADER_WORDS
    if fmt == F.FMT_METHOD or fmt == F.FMT_METHOD_ODD:
        return 1 + ((m[a + 3] >> 1) & 0x3F)
    return 0


def collect(core, frame):
    """Collect the block in ``frame``; answers the bytes free afterwards."""
    mem = core.mem
    m = mem.mem
    log2 = mem.log2
    base = frame << log2
    bw = base >> 1
    op_start = mem.op_abs[frame] - base
    alloc = m[bw + F.BH_ALLOC]
    core.stats.gcs += 1

    roots = []
    if m[bw + F.BH_INPOINTERS]:
        roots.append(m[bw + F.BH_INPOINTERS])
    # The OutPointer hash table is live but its entries do not keep
    # OutPointers in use: it is rebuilt from the survivors below.
    op_hash = m[bw + F.BH_OP_HASH]
    ipt = m[bw + F.BH_INPOINTERS]
    if ipt:
        n = m[(base + ipt) >> 1] - 3
        for i in range(0, n, 2):
            w = m[((base + ipt) >> 1) + 3 + i]
            if not (w & 1) and w >= 16:
                roots.append(w)
    for v in core.register_values():
        if not (v & 1) and v >= 16 and v >> log2 == frame:
            roots.append(v - base)

    # mark (iterative; near pointers only, OutPointers noted as used)
    marked = {op_hash} if op_hash else set()
    used_ops = set()
    stack = roots
    while stack:
        off = stack.pop()
        if off >= op_start:
            used_ops.add(off)
            continue
        if off in marked:
            continue
        marked.add(off)
        a = (base + off) >> 1
        n = pointer_fields(m, a)
        for w in m[a + 3:a + 3 + n]:
            if not (w & 1) and w >= 16:
                if w >= op_start:
                    used_ops.add(w)
                elif w not in marked:
                    stack.append(w)

    # compact: slide the live objects down (Lisp-2).  Nothing outside the block
    # holds a near pointer into it (other blocks go through the InPointer
    # table), so only this block's words, its header and the core's registers
    # need updating.
    forward = {}
    order = []
    off = F.FIRST_OBJECT
    new = F.FIRST_OBJECT
    live_words = 0
    while off < alloc:
        a = (base + off) >> 1
        size = m[a]
        if size < 3:
            raise AssertionError(f"corrupt object header at {off:#x} in block "
                                 f"{mem.frame_block[frame]}")
        if off in marked:
            forward[off] = new
            order.append((off, size))
            new += size * 2
            live_words += size
        off += size * 2
    for off, _ in order:
        a = (base + off) >> 1
        for i in range(a + 3, a + 3 + pointer_fields(m, a)):
            w = m[i]
            if not (w & 1) and 16 <= w < op_start:
                m[i] = forward[w]
    for index in (F.BH_INPOINTERS, F.BH_OP_HASH):
        if m[bw + index]:
            m[bw + index] = forward[m[bw + index]]
    for off, size in order:
        dest = forward[off]
        if dest != off:
            src = (base + off) >> 1
            m[(base + dest) >> 1:((base + dest) >> 1) + size] = m[src:src + size]
        m[((base + dest) >> 1) + 2] &= ~F.MARK_BIT & 0xFFFF
    freed = alloc - new
    alloc = new
    m[bw + F.BH_ALLOC] = alloc
    m[bw + F.BH_FREE_LIST] = 0
    # recycled contexts are unreachable, so compaction has dropped them
    m[bw + F.BH_FREE_SMALL_CONTEXTS] = 0
    m[bw + F.BH_FREE_LARGE_CONTEXTS] = 0
    core.relocate(frame, forward)

    # free unused OutPointers and rebuild the OutPointer hash table
    block_end = mem.bs
    op_free = 0
    live_ops = []
    freed_ops = set()
    released = []
    off = op_start
    while off < block_end:
        a = (base + off) >> 1
        if off in used_ops and m[a] != F.NIL:
            live_ops.append(off)
        else:
            if m[a] != F.NIL:
                freed_ops.add(base + off)
                released.append((F.smallint_value(m[a]), F.smallint_value(m[a + 1])))
            m[a] = F.NIL
            m[a + 1] = op_free
            op_free = off
        off += F.OUTPOINTER_BYTES
    m[bw + F.BH_OP_FREE] = op_free
    table = m[bw + F.BH_OP_HASH]
    if table:
        ta = (base + table) >> 1
        slots = m[ta] - 3
        m[ta + 3:ta + 3 + slots] = sram_words([F.NIL] * slots)
        for op in live_ops:
            blk = F.smallint_value(m[(base + op) >> 1])
            idx = F.smallint_value(m[((base + op) >> 1) + 1])
            s = F.outpointer_hash(blk, idx, slots)
            while m[ta + 3 + s] != F.NIL:
                s = (s + 1) % slots
            m[ta + 3 + s] = op

    m[bw + F.BH_LIVE_WORDS] = live_words & 0xFFFF
    m[bw + F.BH_GC_COUNT] = (m[bw + F.BH_GC_COUNT] + 1) & 0xFFFF
    mem.dirty[frame] = True
    mem.relocate_caches(frame, forward, freed_ops)
    # Seed 003's back references: this block no longer refers to those
    # InPointers.  Blocks in a frame hear it now, the others when the host next
    # gives them to a core.
    me = mem.frame_block[frame]
    for number, index in released:
        target = mem.frame_for_block(number)
        if target is None:
            mem.host.queue_back_reference_drop(number, index, me)
        else:
            drop_back_reference(core, target, index, me)
    core.stats.gc_freed_bytes += freed
    free = (mem.op_abs[frame] - base) - alloc
    return free


def drop_back_reference(core, frame, index, from_block):
    """Remove ``from_block`` from the back references of InPointer ``index`` of
    the block in ``frame``; with none left the InPointer is freed, so its
    object stops being a root of this block's collections.  A back-reference
    list of ``true`` (the firmware could not record one) is never freed."""
    mem = core.mem
    m = mem.mem
    base = frame << mem.log2
    ipt = base + m[(base >> 1) + F.BH_INPOINTERS]
    a = (ipt >> 1) + 3 + 2 * index
    if 2 * index + 1 >= mem.body_words(ipt) or m[a] == F.NIL:
        return
    back = m[a + 1]
    sb = F.smallint(from_block)
    if back == sb:
        back = F.NIL
    elif back & 1 or back < 16:
        return                  # another block, or unknown (true): keep it
    else:
        arr = (base + back) >> 1
        n = m[arr] - 3
        items = m[arr + 3:arr + 3 + n]
        if sb in items:
            m[arr + 3 + items.index(sb)] = F.NIL
        if any(w != F.NIL for w in m[arr + 3:arr + 3 + n]):
            mem.dirty[frame] = True
            return
        back = F.NIL
    if back == F.NIL:
        obj = base + m[a]
        m[(obj >> 1) + 2] &= ~F.EXPORTED_BIT & 0xFFFF
        m[a] = F.NIL
        m[a + 1] = F.NIL
        mem.dirty[frame] = True
        core.stats.inpointers_freed += 1
