"""Intra-block mark-sweep collection (seed 003: each block is collected on its own).

Roots are the block's InPointer table (every object another block may refer
to), its OutPointer hash table, and the core registers that point into the
block.  OutPointers that no live object uses any more are freed too; the
OutPointer hash table is rebuilt from the survivors.  Docs: architecture.md §8.
"""

from blocktalk.memory import format as F


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
    for word in (m[bw + F.BH_INPOINTERS], m[bw + F.BH_OP_HASH]):
        if word:
            roots.append(word)
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
    marked = set()
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
        fmt = m[a + 2] >> F.FMT_SHIFT
        if fmt == F.FMT_POINTERS or fmt == F.FMT_LARGE:
            n = m[a] - 3
        elif fmt in (F.FMT_METHOD, F.FMT_METHOD_ODD):
            n = 1 + ((m[a + 3] >> 1) & 0x3F)
        else:
            continue
        for w in m[a + 3:a + 3 + n]:
            if not (w & 1) and w >= 16:
                if w >= op_start:
                    used_ops.add(w)
                elif w not in marked:
                    stack.append(w)

    # sweep: coalesce the dead into free chunks, rebuild the free list
    off = F.FIRST_OBJECT
    free_chunks = []
    live_words = 0
    run_start = None
    while off < alloc:
        a = (base + off) >> 1
        size = m[a]
        if size < 3:
            raise AssertionError(f"corrupt object header at {off:#x} in block "
                                 f"{mem.frame_block[frame]}")
        if off in marked:
            live_words += size
            if run_start is not None:
                free_chunks.append((run_start, off))
                run_start = None
        elif run_start is None:
            run_start = off
        off += size * 2
    if run_start is not None:
        alloc = run_start
        m[bw + F.BH_ALLOC] = alloc
    freed = 0
    head = 0
    for start, end in reversed(free_chunks):
        a = (base + start) >> 1
        m[a] = (end - start) >> 1
        m[a + 1] = head
        m[a + 2] = F.FMT_FREE << F.FMT_SHIFT
        head = start
        freed += end - start
    m[bw + F.BH_FREE_LIST] = head

    # free unused OutPointers and rebuild the OutPointer hash table
    block_end = mem.bs
    op_free = 0
    live_ops = []
    off = op_start
    while off < block_end:
        a = (base + off) >> 1
        if off in used_ops and m[a] != F.NIL:
            live_ops.append(off)
        else:
            m[a] = F.NIL
            m[a + 1] = op_free
            op_free = off
        off += F.OUTPOINTER_BYTES
    m[bw + F.BH_OP_FREE] = op_free
    table = m[bw + F.BH_OP_HASH]
    if table:
        ta = (base + table) >> 1
        slots = m[ta] - 3
        m[ta + 3:ta + 3 + slots] = [F.NIL] * slots
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
    mem.forget_frame(frame)
    core.stats.gc_freed_bytes += freed
    free = (mem.op_abs[frame] - base) - alloc + freed
    return free
