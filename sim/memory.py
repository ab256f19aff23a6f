"""A core's local SRAM, divided into frames that each hold one block.

Core addresses are byte addresses into the SRAM: ``frame * block_size + near``.
Values the core holds in registers are core addresses (even, >= 32 inside a
frame), tagged SmallIntegers (odd) or the immediates nil/false/true (0/2/4).
Values stored in a block are 16-bit words relative to that block: translating
between the two is :meth:`CoreMemory.decode` / :meth:`CoreMemory.encode`; a
value that would cross a block boundary raises :class:`Trap` (the precise trap
of docs/architecture.md section 7) unless a translation cache already holds it.
"""

import struct
import sys
from array import array

from blocktalk.memory import format as F
from .traps import Trap, VMError


def sram_words(values):
    """SRAM words as an ``array('H')``: the SRAM is one contiguous buffer of
    16-bit words, so that an RTL core simulated in C++ (``hw/engine.py``) can
    read and write the very words the software core sees."""
    return array("H", values)


def words_from_bytes(data):
    """Big-endian block bytes (the host's format) as SRAM words."""
    words = array("H", data)
    if sys.byteorder == "little":
        words.byteswap()
    return words


def chunk_takes(size, words):
    """A free chunk of ``size`` words takes an object of ``words`` words (header
    included) if it fits exactly or leaves a tail big enough to stay a free
    chunk (a header's worth)."""
    return size == words or size >= words + F.OBJ_HEADER_WORDS


class CoreMemory:
    """SRAM, frame table and translation caches of one core.

    :param store: the host's :class:`blocktalk.host.store.BlockStore` (blocks move
        between it and the frames).
    :param block_size: bytes per block (and per frame).
    :param sram_size: bytes of SRAM; a multiple of the block size, at least 4 frames.
    """

    def __init__(self, store, block_size, sram_size, stats):
        F.check_block_size(block_size)
        if sram_size % block_size or sram_size // block_size < 4:
            raise ValueError(f"SRAM size {sram_size} must be a multiple of the block size "
                             f"{block_size} holding at least 4 frames")
        self.host = store
        self.stats = stats
        self.bs = block_size
        self.log2 = block_size.bit_length() - 1
        self.mask = block_size - 1
        self.nframes = sram_size // block_size
        self.mem = sram_words(bytes(sram_size))
        #: frame -> block number resident there (None = empty frame)
        self.frame_block = [None] * self.nframes
        #: block number -> frame
        self.block_frame = {}
        #: frame -> absolute core address of its OutPointer region start
        self.op_abs = [0] * self.nframes
        self.dirty = [False] * self.nframes
        self.last_use = [0] * self.nframes
        self.clock = 0
        self.pinned = set()
        #: frame -> block lent to another core while this core's registers
        #: point into it; it comes back to the same frame before this core runs
        #: again (host/master.py), so the frame takes no other block meanwhile
        self.reserved = {}
        # Translation caches (hardware: small associative tables).
        self.import_cache = {}    # OutPointer core address -> target core address
        self.export_cache = {}    # (holder frame, value) -> stored word
        self.dispatch = {}        # (class index, selector) -> method core address or None
        self.code_cache = {}      # method core address -> body bytes
        self.class_index_cache = {}   # class core address -> class index (None: not a class)
        self.alloc_frame = None
        self.reserve = max(block_size // 16, 512)
        self.on_evict = []
        self.on_drop = []         # back-reference drops delivered with a block

    # --- word access -------------------------------------------------------

    def word(self, addr):
        return self.mem[addr >> 1]

    def set_word(self, addr, value):
        self.mem[addr >> 1] = value & 0xFFFF

    def header(self, frame, index):
        return self.mem[(frame << self.log2 >> 1) + index]

    def set_header(self, frame, index, value):
        self.mem[(frame << self.log2 >> 1) + index] = value & 0xFFFF

    def frame_of(self, addr):
        return addr >> self.log2

    def base_of(self, addr):
        return addr & ~self.mask

    def block_of(self, addr):
        return self.frame_block[addr >> self.log2]

    # --- object layout -------------------------------------------------------

    def size_words(self, obj):
        return self.mem[obj >> 1]

    def class_index(self, oop):
        """Class index of any value: SmallInteger, immediate or object."""
        if oop & 1:
            return 1
        if oop < F.IMMEDIATE_LIMIT:
            return (2, 4, 3)[oop >> 1] if oop <= 4 else 0
        return self.mem[(oop >> 1) + 1] & F.CLASS_INDEX_MASK

    def fmt(self, obj):
        return self.mem[(obj >> 1) + 2] >> F.FMT_SHIFT

    def mark_escaped(self, obj):
        """A MethodContext that something else may hold (thisContext, a
        block, an InPointer) is not recycled when it returns: its unused
        receiver-map slot says so.  Exporting a context marks it too, so that
        the cores check one slot on a return, not the exported bit as well."""
        if self.class_index(obj) == F.CLASS_INDEX["MethodContext"]:
            self.mem[(obj >> 1) + 3 + F.CTX_RECEIVER_MAP] = F.TRUE

    def hash_of(self, obj):
        """The 15-bit identity hash (Blue Book ``asOop``)."""
        a = obj >> 1
        return F.identity_hash(self.mem[a + 1], self.mem[a + 2])

    def body_words(self, obj):
        return self.mem[obj >> 1] - F.OBJ_HEADER_WORDS

    def byte_size(self, obj):
        fmt = self.fmt(obj)
        n = (self.mem[obj >> 1] - F.OBJ_HEADER_WORDS) * 2
        return n - (fmt & 1) if fmt in (F.FMT_BYTES, F.FMT_BYTES_ODD, F.FMT_METHOD,
                                        F.FMT_METHOD_ODD) else n

    def byte_at(self, obj, i):
        w = self.mem[(obj >> 1) + 3 + (i >> 1)]
        return (w & 0xFF) if i & 1 else (w >> 8)

    def set_byte_at(self, obj, i, b):
        a = (obj >> 1) + 3 + (i >> 1)
        w = self.mem[a]
        self.mem[a] = (w & 0xFF00) | b if i & 1 else (w & 0xFF) | (b << 8)

    def bytes_of(self, obj):
        n = self.byte_size(obj)
        a = (obj >> 1) + 3
        words = self.mem[a:a + (n + 1) // 2]
        return struct.pack(f">{len(words)}H", *words)[:n]

    def is_outpointer(self, addr):
        return addr >= self.op_abs[addr >> self.log2]

    # --- translation: the heart of the block architecture -------------------

    def decode(self, word, base):
        """The core value of ``word`` stored in the block at ``base`` (Blue Book
        ``fetchPointer:ofObject:`` after the block translation)."""
        if word & 1 or word < 16:
            return word
        addr = base + word
        if addr < self.op_abs[base >> self.log2]:
            return addr
        target = self.import_cache.get(addr)
        if target is None:
            raise Trap("import", addr)
        return target

    def encode(self, value, base):
        """The word that stores core value ``value`` in the block at ``base``."""
        if value & 1 or value < 16:
            return value
        if base <= value < base + self.bs:
            return value - base
        word = self.export_cache.get((base, value))
        if word is None:
            raise Trap("export", value, base >> self.log2)
        return word

    def fetch(self, obj, index):
        """Blue Book ``fetchPointer:ofObject:``: field ``index`` (0-based) of ``obj``."""
        return self.decode(self.mem[(obj >> 1) + 3 + index], obj & ~self.mask)

    def store(self, obj, index, value):
        """Blue Book ``storePointer:ofObject:withValue:``."""
        self.mem[(obj >> 1) + 3 + index] = self.encode(value, obj & ~self.mask)

    def raw_fetch(self, obj, index):
        """Firmware-mode fetch: an OutPointer comes back as its own core address."""
        word = self.mem[(obj >> 1) + 3 + index]
        if word & 1 or word < 16:
            return word
        return (obj & ~self.mask) + word

    def raw_store(self, obj, index, value):
        """Firmware-mode store: only values of the holder's own block (or
        immediates) can be stored; anything else is a firmware bug."""
        base = obj & ~self.mask
        if value & 1 or value < 16:
            w = value
        elif base <= value < base + self.bs:
            w = value - base
        else:
            raise VMError(f"firmware stored a far value {value:#x} into {obj:#x}")
        self.mem[(obj >> 1) + 3 + index] = w

    # --- frames and blocks -----------------------------------------------------

    def touch(self, frame):
        self.clock += 1
        self.last_use[frame] = self.clock

    def frame_for_block(self, number):
        return self.block_frame.get(number)

    def load_block(self, number, busy=(), frame=None):
        """Bring block ``number`` into a frame (the host's DMA), evicting the least
        recently used frame that is neither pinned nor busy (or into ``frame``,
        which must be empty: a lent block coming back)."""
        have = self.block_frame.get(number)
        if have is not None:
            self.touch(have)
            return have
        if frame is None:
            frame = self._free_frame(busy)
        data = self.host.read(number)
        base = frame << self.log2
        self.mem[base >> 1:(base + self.bs) >> 1] = words_from_bytes(data)
        self._install(frame, number)
        self.stats.block_loads += 1
        for index, from_block in self.host.take_back_reference_drops(number):
            for hook in self.on_drop:
                hook(frame, index, from_block)
        return frame

    def _install(self, frame, number):
        self.frame_block[frame] = number
        self.block_frame[number] = frame
        self.dirty[frame] = False
        op = self.header(frame, F.BH_OP_START) or 65536
        self.op_abs[frame] = (frame << self.log2) + op
        self.touch(frame)

    def refresh_op_start(self, frame):
        op = self.header(frame, F.BH_OP_START) or 65536
        self.op_abs[frame] = (frame << self.log2) + op

    def _free_frame(self, busy):
        for f in range(self.nframes):
            if self.frame_block[f] is None and f not in self.reserved:
                return f
        candidates = [f for f in range(self.nframes)
                      if f not in self.pinned and f not in busy and f not in self.reserved
                      and self.frame_block[f] is not None]
        if not candidates:
            raise VMError("no frame can be evicted: every frame is pinned or in use")
        victim = min(candidates, key=self.last_use.__getitem__)
        self.evict(victim)
        return victim

    def evict(self, frame):
        """Write the block in ``frame`` back to the host and forget every cached
        translation that mentions the frame."""
        number = self.frame_block[frame]
        if number is None:
            return
        for hook in self.on_evict:
            hook(frame)
        self.host.write(number, self.block_bytes(frame))
        self.stats.block_evictions += 1
        self.forget_frame(frame)
        del self.block_frame[number]
        self.frame_block[frame] = None
        if self.alloc_frame == frame:
            self.alloc_frame = None
        self.host.release(number)

    def lend(self, frame):
        """Another core needs the block in pinned ``frame``: write it back and
        keep the frame for its return (objects do not move while it is away:
        no other core collects a block lent by this one)."""
        number = self.frame_block[frame]
        alloc = self.alloc_frame
        self.evict(frame)
        self.alloc_frame = alloc
        self.reserved[frame] = number

    def block_bytes(self, frame):
        base = frame << self.log2
        return struct.pack(f">{self.bs // 2}H", *self.mem[base >> 1:(base + self.bs) >> 1])

    def forget_frame(self, frame, keep_imports=False):
        """Drop cache entries that mention ``frame`` (eviction, collection)."""
        lo = frame << self.log2
        hi = lo + self.bs
        if not keep_imports:
            self.import_cache = {k: v for k, v in self.import_cache.items()
                                 if not (lo <= k < hi or lo <= v < hi)}
        self.export_cache = {k: v for k, v in self.export_cache.items()
                             if not (k[0] == lo or lo <= k[1] < hi)}
        self.dispatch = {k: v for k, v in self.dispatch.items()
                         if not (lo <= k[1] < hi or (v is not None and lo <= v < hi))}
        self.code_cache = {k: v for k, v in self.code_cache.items() if not lo <= k < hi}
        self.class_index_cache = {k: v for k, v in self.class_index_cache.items()
                                  if not lo <= k < hi}

    def relocate_caches(self, frame, forward, freed_ops):
        """After a collection of ``frame``: entries naming moved objects follow
        them, entries naming freed OutPointers or dead objects go.  (Hardware
        would simply flush; keeping them saves the re-traps.)"""
        lo = frame << self.log2
        hi = lo + self.bs

        def move(v):
            if v is None or not lo <= v < hi:
                return v
            new = forward.get(v - lo)
            return None if new is None else lo + new

        imports = {}
        for k, v in self.import_cache.items():
            if k in freed_ops:
                continue
            v2 = move(v)
            if v2 is not None:
                imports[k] = v2
        self.import_cache = imports
        exports = {}
        for (hb, v), w in self.export_cache.items():
            if hb == lo and lo + w in freed_ops:
                continue
            v2 = move(v)
            if v2 is not None:
                exports[(hb, v2)] = w
        self.export_cache = exports
        dispatch = {}
        for (c, sel), meth in self.dispatch.items():
            sel2 = move(sel)
            meth2 = move(meth)
            if sel2 is None or (meth is not None and meth2 is None):
                continue
            dispatch[(c, sel2)] = meth2
        self.dispatch = dispatch
        code = {}
        for k, v in self.code_cache.items():
            k2 = move(k)
            if k2 is not None:
                code[k2] = v
        self.code_cache = code
        classes = {}
        for k, v in self.class_index_cache.items():
            k2 = move(k)
            if k2 is not None:
                classes[k2] = v
        self.class_index_cache = classes

    def write_back_all(self):
        for f in range(self.nframes):
            if self.frame_block[f] is not None:
                self.host.write(self.frame_block[f], self.block_bytes(f))

    # --- allocation ------------------------------------------------------------

    def free_bytes(self, frame):
        """Bytes between the bump pointer and the OutPointer region."""
        return (self.op_abs[frame] - (frame << self.log2)) - self.header(frame, F.BH_ALLOC)

    def allocate(self, frame, class_index, fmt, body_words, fill, hash_, reserve=0):
        """Blue Book ``instantiateClass:withPointers:`` (and friends) inside one
        frame: bump allocation, then first fit from the free list.  Answers the new
        object's core address, or None when the block has no room (the caller
        traps to the firmware's blockFull: handler)."""
        obj = self.bump_allocate(frame, class_index, fmt, body_words, fill, hash_, reserve)
        if obj is None:
            obj = self._allocate_from_free_list(frame, body_words + F.OBJ_HEADER_WORDS)
            if obj is None:
                return None
            self.write_object(obj, class_index, fmt, body_words, fill, hash_)
        return obj

    def bump_allocate(self, frame, class_index, fmt, body_words, fill, hash_, reserve=0):
        """The bump-pointer half of :meth:`allocate` (what the RTL allocator,
        ``hw/allocator.py``, does): None if the object does not fit below the
        OutPointer region."""
        nbytes = (body_words + F.OBJ_HEADER_WORDS) * 2
        base = frame << self.log2
        alloc = self.header(frame, F.BH_ALLOC)
        if alloc + nbytes > self.op_abs[frame] - base - reserve:
            return None
        self.set_header(frame, F.BH_ALLOC, alloc + nbytes)
        obj = base + alloc
        self.write_object(obj, class_index, fmt, body_words, fill, hash_)
        return obj

    def write_object(self, obj, class_index, fmt, body_words, fill, hash_):
        """Header and ``fill``ed body of a new object at ``obj``."""
        a = obj >> 1
        words = body_words + F.OBJ_HEADER_WORDS
        mem = self.mem
        mem[a] = words
        mem[a + 1] = F.class_word(class_index, hash_)
        mem[a + 2] = (fmt << F.FMT_SHIFT) | (hash_ & F.HASH_MASK)
        mem[a + 3:a + words] = sram_words([fill] * body_words)
        self.dirty[obj >> self.log2] = True

    def _allocate_from_free_list(self, frame, words):
        base = frame << self.log2
        prev = None
        chunk = self.header(frame, F.BH_FREE_LIST)
        mem = self.mem
        while chunk:
            a = (base + chunk) >> 1
            size = mem[a]
            nxt = mem[a + 1]
            if chunk_takes(size, words):
                if size == words:
                    rest = nxt
                else:
                    # split: the tail stays free
                    rest = chunk + words * 2
                    self._write_free_chunk(base + rest, size - words, nxt)
                if prev is None:
                    self.set_header(frame, F.BH_FREE_LIST, rest)
                else:
                    mem[((base + prev) >> 1) + 1] = rest
                return base + chunk
            prev = chunk
            chunk = nxt
        return None

    def _write_free_chunk(self, address, words, nxt):
        """A free-list chunk of ``words`` words at core ``address``, followed by
        block offset ``nxt`` (0: the end of the list)."""
        a = address >> 1
        self.mem[a] = words
        self.mem[a + 1] = nxt
        self.mem[a + 2] = F.FMT_FREE << F.FMT_SHIFT

    def free_object(self, frame, obj):
        """Undo an allocation in ``frame`` at once (``obj`` is referenced by
        nothing): below the bump pointer if it is the last object, else a chunk
        of the free list."""
        base = frame << self.log2
        size = self.mem[obj >> 1]
        if self.header(frame, F.BH_ALLOC) == obj - base + size * 2:
            self.set_header(frame, F.BH_ALLOC, obj - base)
        else:
            self._write_free_chunk(obj, size, self.header(frame, F.BH_FREE_LIST))
            self.set_header(frame, F.BH_FREE_LIST, obj - base)

    def new_outpointer(self, frame, block_number, inpointer):
        """Carve a 4-byte OutPointer entry out of the top of the free space (or
        reuse a freed entry).  Answers its core address, or None if no room."""
        base = frame << self.log2
        free = self.header(frame, F.BH_OP_FREE)
        if free:
            entry = base + free
            self.set_header(frame, F.BH_OP_FREE, self.mem[(entry >> 1) + 1])
        else:
            start = self.op_abs[frame] - base
            if start - F.OUTPOINTER_BYTES < self.header(frame, F.BH_ALLOC):
                return None
            start -= F.OUTPOINTER_BYTES
            self.set_header(frame, F.BH_OP_START, start & 0xFFFF)
            self.op_abs[frame] = base + start
            entry = base + start
        self.mem[entry >> 1] = F.smallint(block_number)
        self.mem[(entry >> 1) + 1] = F.smallint(inpointer)
        self.dirty[frame] = True
        return entry
