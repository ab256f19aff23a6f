"""Cutting an object graph into blocks: placement, then serialisation.

Placement (:func:`place`) assigns every object a block.  Block 0 takes the
firmware closure whatever its size (it may use the whole block: it is pinned and
never allocates).  The other objects follow in the caller's order, expanded
depth-first so an object's private parts sit next to it, and fill blocks 1.. up
to ``fill`` (75%) of the block size, so a quarter stays free for run-time
allocation.

The cost of a block counts everything the serialiser will write: the header,
the objects, the InPointer table (used pairs + 8 free), the back-reference
Arrays of objects referred to from several blocks, the OutPointer hash table and
the OutPointer entries.  Those depend on where *later* objects go (a later
block may refer back), so the greedy pass keeps a small reserve; a block that
still ends up over the limit has its last objects moved to new blocks at the
end, and the costs are recomputed until every block fits.

Serialisation (:func:`serialise`) writes each block as::

    header | InPointer table | OutPointer hash | objects... | back-reference Arrays
           ... free ... | OutPointer entries (packed down from the block end)
"""

from blocktalk.memory import format as F
from blocktalk.memory import block as B
from blocktalk.image.graph import Obj, Immediate


class LayoutError(Exception):
    """The graph cannot be cut into blocks of this size."""


HEADER_WORDS = F.HEADER_WORDS


class _BlockState:
    """What a block will hold, kept exact while objects are placed."""
    __slots__ = ("objs", "words", "out", "ins", "backref_words")

    def __init__(self):
        self.objs = []
        self.words = 0           # object words
        self.out = set()         # ids of targets in other blocks
        self.ins = {}            # id of local target -> set of referring blocks
        self.backref_words = 0   # Arrays of block numbers for multi-block targets

    def cost_bytes(self, words=None, nout=None, nin=None, backref=None):
        words = self.words if words is None else words
        nout = len(self.out) if nout is None else nout
        nin = len(self.ins) if nin is None else nin
        backref = self.backref_words if backref is None else backref
        return 2 * table_words(words, nout, nin, backref)


def table_words(object_words, nout, nin, backref_words):
    """Total words a block uses given its objects and reference counts."""
    return (HEADER_WORDS
            + F.OBJ_HEADER_WORDS + F.INPOINTER_FIELDS * (nin + B.FREE_INPOINTER_PAIRS)
            + F.OBJ_HEADER_WORDS + op_hash_slots(nout)
            + object_words + backref_words
            + nout * F.OUTPOINTER_BYTES // 2)


def op_hash_slots(nout):
    # at most half full, as the firmware keeps it (insertOutPointer:in:...)
    n = max(B.MIN_OP_HASH_SLOTS, 2 * nout)
    return 1 << (n - 1).bit_length()


def backref_array_words(nblocks):
    """Words of the back-reference Array of a target referred to from n blocks."""
    return F.OBJ_HEADER_WORDS + nblocks if nblocks > 1 else 0


class Placement:
    """The result of :func:`place`: ``blocks[b]`` lists block b's objects in order."""

    def __init__(self, block_size, states, block_of):
        self.block_size = block_size
        self.blocks = [st.objs for st in states]
        self.states = states
        self.block_of = block_of   # id(obj) -> block number

    def cost_bytes(self, b):
        return self.states[b].cost_bytes()


def expand_order(first, roots, stop=lambda o: False):
    """The objects in placement order: each root, then depth-first what it alone leads to.

    Objects in ``first`` (block 0) are skipped.  The walk does not descend into
    an object for which ``stop`` is true (it will be placed as a root of its
    own); anything still unreached at the end is appended by a walk without
    ``stop`` so no reachable object is lost.
    """
    seen = {id(o) for o in first}
    order = []

    def walk(root, use_stop):
        stack = [root]
        while stack:
            o = stack.pop()
            if id(o) in seen:
                continue
            if use_stop and o is not root and stop(o):
                continue
            seen.add(id(o))
            order.append(o)
            # reversed so the first field is visited first
            stack.extend(f for f in reversed(o.fields) if isinstance(f, Obj)
                         and id(f) not in seen)

    for r in roots:
        walk(r, True)
    for o in list(first) + list(order) + list(roots):
        for f in o.fields:
            if isinstance(f, Obj) and id(f) not in seen:
                walk(f, False)
    # the closure walk above may itself discover new objects: walk until fixed
    i = 0
    while i < len(order):
        for f in order[i].fields:
            if isinstance(f, Obj) and id(f) not in seen:
                walk(f, False)
        i += 1
    return order


def place(first, order, block_size, fill=0.75, max_rounds=50, groups=None):
    """Assign blocks: ``first`` all in block 0, then ``order`` (complete) into 1, 2, ...

    ``groups`` (a partition of ``order``, :mod:`.partition`), if given, are
    placed in turn, each starting a fresh block.  Tries a few greedy reserves
    (what later blocks will add to a closed one) and keeps the placement with
    the fewest blocks.
    """
    best, error = None, None
    for reserve in (block_size // 64, block_size // 32, block_size // 16):
        try:
            p = _place(first, order, block_size, fill, max_rounds, reserve, groups)
        except LayoutError as e:
            if "firmware block" in str(e) or "too large" in str(e):
                raise
            error = e
            continue
        if best is None or len(p.blocks) < len(best.blocks):
            best = p
    if best is None:
        raise error
    return best


def _place(first, order, block_size, fill, max_rounds, reserve, groups=None):
    F.check_block_size(block_size)
    everything = list(first) + list(order)
    known = {id(o) for o in everything}
    for o in everything:
        for f in o.fields:
            if isinstance(f, Obj) and id(f) not in known:
                raise LayoutError(f"{f.describe()} is referenced by {o.describe()} "
                                  "but was not given to the layout")
    limit = int(block_size * fill)
    pk = _Packer(everything, block_size, limit)
    for o in first:
        pk.add(o, 0)
    # a small reserve for what later blocks add (InPointers, back references)
    for group in groups or [order]:
        pk.fill(group, reserve=reserve, fresh=groups is not None)
    for _ in range(max_rounds):
        cost0 = pk.states[0].cost_bytes()
        if cost0 > block_size:
            st = pk.states[0]
            raise LayoutError(
                f"the firmware block needs {cost0} bytes (firmware closure "
                f"{2 * st.words} bytes, {len(st.out)} OutPointers, "
                f"{len(st.ins)} InPointers) but a block has {block_size}")
        over = [b for b in range(1, len(pk.states))
                if pk.states[b].cost_bytes() > pk.limit_of(b)]
        if not over:
            return Placement(block_size, pk.states, pk.block_of)
        # move the last objects of each over-full block to new blocks at the end
        moved = []
        for b in over:
            excess = pk.states[b].cost_bytes() - pk.limit_of(b)
            objs = pk.states[b].objs
            freed = 0
            while objs and freed < excess + excess // 2 + 8:
                o = objs.pop()
                freed += 2 * o.size_words()
                del pk.block_of[id(o)]
                moved.append(o)
        pk.rebuild()
        pk.fill(moved, reserve=reserve, fresh=True)
    raise LayoutError(f"placement did not settle after {max_rounds} rounds")


class _Packer:
    """Greedy block filling with exact, incrementally kept block costs."""

    def __init__(self, everything, block_size, limit):
        self.block_size = block_size
        self.limit = limit
        # blocks given whole to one object too big for the fill limit (no room
        # is kept for run-time allocation there: the object is all it holds)
        self.solo = set()
        self.referrers = {}
        for o in everything:
            for f in o.fields:
                if isinstance(f, Obj):
                    self.referrers.setdefault(id(f), []).append(o)
        self.block_of = {}
        self.states = [_BlockState()]

    def rebuild(self):
        """Recompute every block's state from ``block_of`` (after moving objects)."""
        old = self.states
        self.states = [_BlockState() for _ in old]
        placed = self.block_of
        self.block_of = {}
        for b, st in enumerate(old):
            for o in st.objs:
                if placed.get(id(o)) == b:
                    self.add(o, b)

    def trial(self, o, b):
        st = self.states[b]
        block_of = self.block_of
        new_out = set()
        for t in o.fields:
            if isinstance(t, Obj):
                tb = block_of.get(id(t))
                if tb is not None and tb != b and id(t) not in st.out:
                    new_out.add(id(t))
        ref_blocks = {block_of[id(r)] for r in self.referrers.get(id(o), ())
                      if id(r) in block_of and block_of[id(r)] != b}
        return st.cost_bytes(words=st.words + o.size_words(),
                             nout=len(st.out) + len(new_out),
                             nin=len(st.ins) + (1 if ref_blocks else 0),
                             backref=st.backref_words + backref_array_words(len(ref_blocks)))

    def _note_ref(self, target, from_block, to_block):
        """``from_block`` refers to ``target`` living in ``to_block``."""
        self.states[from_block].out.add(id(target))
        tst = self.states[to_block]
        blocks = tst.ins.setdefault(id(target), set())
        if from_block not in blocks:
            tst.backref_words += backref_array_words(len(blocks) + 1) \
                - backref_array_words(len(blocks))
            blocks.add(from_block)

    def add(self, o, b):
        st = self.states[b]
        self.block_of[id(o)] = b
        st.objs.append(o)
        st.words += o.size_words()
        for t in o.fields:
            if isinstance(t, Obj):
                tb = self.block_of.get(id(t))
                if tb is not None and tb != b:
                    self._note_ref(t, b, tb)
        for r in self.referrers.get(id(o), ()):
            rb = self.block_of.get(id(r))
            if rb is not None and rb != b:
                self._note_ref(o, rb, b)

    def fill(self, objs, reserve, fresh=False):
        """Place ``objs`` in order into the last block and new ones after it."""
        b = len(self.states) - 1
        if fresh and self.states[b].objs:
            b = self._new_block()
        for o in objs:
            if id(o) in self.block_of:
                continue
            if b == 0 or (self.states[b].objs and
                          self.trial(o, b) > self.limit - reserve):
                b = self._new_block()
                cost = self.trial(o, b)
                if self.limit < cost <= self.solo_limit():
                    self.add(o, b)
                    self.solo.add(b)
                    b = self._new_block()
                    continue
                if cost > self.limit:
                    refs = sum(1 for f in o.fields if isinstance(f, Obj))
                    raise LayoutError(
                        f"{o.describe()} is too large for a {self.block_size}-byte block: "
                        f"with the OutPointers for its {refs} references and the block's "
                        f"tables it needs {cost} bytes, and at most {self.solo_limit()} fit "
                        "(only indexable objects are split into large objects)")
            self.add(o, b)

    def limit_of(self, b):
        return self.solo_limit() if b in self.solo else self.limit

    def solo_limit(self):
        """What a block given to one object may hold: all but a sixteenth, kept
        for the OutPointers and InPointers the run time adds."""
        return self.block_size - self.block_size // 16

    def _new_block(self):
        self.states.append(_BlockState())
        return len(self.states) - 1


# --- serialisation -------------------------------------------------------------

class _BlockPlan:
    __slots__ = ("number", "objs", "exported", "inptr_of", "inptr_table", "op_hash",
                 "op_slots", "backrefs", "alloc", "outs", "op_offset")


def serialise(placement, next_hash):
    """Write the blocks of ``placement``; returns (blocks, addresses).

    ``addresses`` maps id(obj) -> (block, near offset).  ``next_hash`` gives
    identity hashes for the tables the layout creates (InPointer tables,
    OutPointer hash tables, back-reference Arrays).
    """
    size = placement.block_size
    block_of = placement.block_of
    addr = {}
    plans = []
    # pass 1: offsets of everything, InPointer numbers
    for b, st in enumerate(placement.states):
        p = _BlockPlan()
        p.number = b
        p.objs = st.objs
        p.exported = [o for o in st.objs if id(o) in st.ins]   # in block order
        # InPointer numbers: each object's pair starts at its identity hash
        # modulo the table's pairs (linear probing), so the export handler finds
        # an object's InPointer in a probe or two instead of a table scan.
        npairs = len(p.exported) + B.FREE_INPOINTER_PAIRS
        taken = [False] * npairs
        p.inptr_of = {}
        for o in p.exported:
            i = o.hash % npairs
            while taken[i]:
                i = (i + 1) % npairs
            taken[i] = True
            p.inptr_of[id(o)] = i
        off = F.FIRST_OBJECT
        p.inptr_table = off
        off += 2 * (F.OBJ_HEADER_WORDS
                    + F.INPOINTER_FIELDS * (len(p.exported) + B.FREE_INPOINTER_PAIRS))
        p.op_hash = off
        p.op_slots = op_hash_slots(len(st.out))
        off += 2 * (F.OBJ_HEADER_WORDS + p.op_slots)
        for o in st.objs:
            addr[id(o)] = (b, off)
            off += 2 * o.size_words()
        p.backrefs = {}
        for o in p.exported:
            refs = sorted(st.ins[id(o)])
            if len(refs) > 1:
                p.backrefs[id(o)] = (off, refs)
                off += 2 * backref_array_words(len(refs))
        p.alloc = off
        # OutPointers in order of first reference
        p.outs = []
        p.op_offset = {}
        for o in st.objs:
            for f in o.fields:
                if isinstance(f, Obj) and block_of[id(f)] != b and id(f) not in p.op_offset:
                    p.op_offset[id(f)] = size - F.OUTPOINTER_BYTES * (len(p.outs) + 1)
                    p.outs.append(f)
        if len(p.outs) != len(st.out):
            raise AssertionError(f"block {b}: OutPointer count mismatch")
        op_low = size - F.OUTPOINTER_BYTES * len(p.outs)
        if p.alloc > op_low:
            raise LayoutError(f"block {b} overflows: objects end at {p.alloc}, "
                              f"OutPointers start at {op_low}")
        plans.append(p)
    # pass 2: bytes
    blocks = []
    for p in plans:
        blocks.append(_write_block(p, placement, plans, addr, next_hash))
    return blocks, addr


def _write_block(p, placement, plans, addr, next_hash):
    size = placement.block_size
    b = p.number
    block_of = placement.block_of
    st = placement.states[b]
    buf = bytearray(size)
    W = B.write_word

    def oop(f):
        if isinstance(f, Obj):
            if block_of[id(f)] == b:
                return addr[id(f)][1]
            return p.op_offset[id(f)]
        if isinstance(f, Immediate):
            return f.oop
        if isinstance(f, tuple) and f[0] == "int":
            return F.smallint(f[1])
        raise TypeError(f"not a ref: {f!r}")

    def array_header(off, n):
        h = next_hash()
        B.write_object_header(buf, off, F.OBJ_HEADER_WORDS + n, F.CLASS_INDEX["Array"],
                              F.flags_word(F.FMT_POINTERS, h), h)

    # InPointer table
    npairs = len(p.exported) + B.FREE_INPOINTER_PAIRS
    array_header(p.inptr_table, F.INPOINTER_FIELDS * npairs)
    for o in p.exported:
        fo = B.field_offset(p.inptr_table, 2 * p.inptr_of[id(o)])
        W(buf, fo, addr[id(o)][1])
        if id(o) in p.backrefs:
            W(buf, fo + 2, p.backrefs[id(o)][0])
        else:
            (only,) = st.ins[id(o)]
            W(buf, fo + 2, F.smallint(only))
    # back-reference Arrays
    for o in p.exported:
        if id(o) in p.backrefs:
            off, refs = p.backrefs[id(o)]
            array_header(off, len(refs))
            for i, rb in enumerate(refs):
                W(buf, B.field_offset(off, i), F.smallint(rb))
    # OutPointer entries and their hash table
    array_header(p.op_hash, p.op_slots)
    for t in p.outs:
        tb = block_of[id(t)]
        num = plans[tb].inptr_of[id(t)]
        entry = p.op_offset[id(t)]
        W(buf, entry, F.smallint(tb))
        W(buf, entry + 2, F.smallint(num))
        slot = F.outpointer_hash(tb, num, p.op_slots)
        while B.read_word(buf, B.field_offset(p.op_hash, slot)) != F.NIL:
            slot = (slot + 1) % p.op_slots
        W(buf, B.field_offset(p.op_hash, slot), entry)
    # objects
    for o in p.objs:
        off = addr[id(o)][1]
        exported = id(o) in p.inptr_of
        B.write_object_header(buf, off, o.size_words(), o.class_index,
                              F.flags_word(o.fmt, o.hash, exported), o.hash)
        fo = B.field_offset(off, 0)
        for f in o.fields:
            W(buf, fo, oop(f))
            fo += 2
        if o.fmt == F.FMT_WORDS:
            for w in o.data:
                W(buf, fo, w)
                fo += 2
        elif o.data:
            buf[fo:fo + len(o.data)] = o.data
        if exported and o.class_index == F.CLASS_INDEX["MethodContext"] \
                and len(o.fields) > F.CTX_RECEIVER_MAP:
            # held through an InPointer: never recycled (sim.memory.mark_escaped)
            W(buf, B.field_offset(off, F.CTX_RECEIVER_MAP), F.TRUE)
    # header
    op_low = size - F.OUTPOINTER_BYTES * len(p.outs)
    H = B.set_header_word
    H(buf, F.BH_BLOCK_NUMBER, b)
    H(buf, F.BH_LOG2_SIZE, size.bit_length() - 1)
    H(buf, F.BH_ALLOC, p.alloc)
    H(buf, F.BH_FREE_LIST, 0)
    H(buf, F.BH_INPOINTERS, p.inptr_table)
    H(buf, F.BH_OP_START, op_low & F.WORD_MASK)
    H(buf, F.BH_OP_HASH, p.op_hash)
    H(buf, F.BH_OP_FREE, 0)
    H(buf, F.BH_LIVE_WORDS, (p.alloc - F.FIRST_OBJECT + size - op_low) // 2)
    H(buf, F.BH_FLAGS, F.BF_PINNED if b == 0 else 0)
    return buf


#: Placement algorithms: depth-first order (Stamos's static grouping), or METIS
#: parts of the reference graph packed in that order.
PLACEMENTS = ("dfs", "metis")


def layout(first, roots, block_size, next_hash, stop=lambda o: False, fill=0.75,
           placement="dfs"):
    """Place and serialise: returns (blocks, addresses, placement)."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not {placement!r}")
    order = expand_order(first, roots, stop)
    groups = None
    if placement == "metis":
        from blocktalk.image.partition import partition
        groups = partition(order, int(block_size * fill))
    placement = place(first, order, block_size, fill, groups=groups)
    blocks, addr = serialise(placement, next_hash)
    return blocks, addr, placement
