"""CoreMemory: frames, translation (decode/encode with precise traps), allocation,
OutPointers and eviction (sim/memory.py), on hand-made blocks and on a booted core."""

import struct
from types import SimpleNamespace

import pytest

from blocktalk.host.store import BlockStore
from blocktalk.memory import block as B
from blocktalk.memory import format as F
from blocktalk.sim.memory import CoreMemory
from blocktalk.sim.stats import Stats
from blocktalk.sim.traps import Trap, VMError
from blocktalk.sim.testing import RawRun, fresh_machine

BS = 8192
ARRAY = F.CLASS_INDEX["Array"]


def store_of(nblocks, bs=BS):
    image = SimpleNamespace(block_size=bs,
                            blocks=[bytes(B.format_block(i, bs)) for i in range(nblocks)])
    return BlockStore(image)


def memory(nblocks=6, bs=BS, frames=4):
    return CoreMemory(store_of(nblocks, bs), bs, frames * bs, Stats())


# --- the constructor's checks -------------------------------------------------------------

@pytest.mark.parametrize("size", [3000, 2048, 5000, 131072, 8192 + 2, "8192", None])
def test_bad_block_size(size):
    with pytest.raises(ValueError) as e:
        CoreMemory(store_of(1), size, 128 * 1024, Stats())
    assert str(e.value) == ("block size must be a power of two from 4096 to 65536 bytes, "
                            f"not {size!r}")


@pytest.mark.parametrize("sram", [4 * BS + 2, 5 * BS - 4096, 4 * BS + 1])
def test_sram_not_a_multiple_of_the_block_size(sram):
    with pytest.raises(ValueError) as e:
        CoreMemory(store_of(1), BS, sram, Stats())
    assert str(e.value) == (f"SRAM size {sram} must be a multiple of the block size {BS} "
                            "holding at least 4 frames")


@pytest.mark.parametrize("frames", [0, 1, 3])
def test_sram_with_fewer_than_4_frames(frames):
    with pytest.raises(ValueError) as e:
        CoreMemory(store_of(1), BS, frames * BS, Stats())
    assert str(e.value) == (f"SRAM size {frames * BS} must be a multiple of the block size "
                            f"{BS} holding at least 4 frames")


def test_four_frames_is_enough():
    mem = CoreMemory(store_of(1), BS, 4 * BS, Stats())
    assert mem.nframes == 4 and len(mem.mem) == 2 * BS


def test_machine_reports_bad_sram():
    with pytest.raises(ValueError, match="at least 4 frames"):
        fresh_machine(sram_size=3 * BS)


# --- decode / encode ------------------------------------------------------------------------

def test_small_integers_and_immediates_pass_through():
    mem = memory()
    mem.load_block(0)
    f1 = mem.load_block(1)
    base = f1 * BS
    for v in (-16384, -1, 0, 1, 16383):
        w = F.smallint(v)
        assert mem.decode(w, base) == w and mem.encode(w, base) == w
        assert F.smallint_value(w) == v
    for w in (F.NIL, F.FALSE, F.TRUE, 6, 14):
        assert mem.decode(w, base) == w and mem.encode(w, base) == w
    assert mem.class_index(F.NIL) == 2 and mem.class_index(F.TRUE) == 3
    assert mem.class_index(F.FALSE) == 4 and mem.class_index(F.smallint(-3)) == 1


def test_near_pointer_translation():
    mem = memory()
    mem.load_block(0)
    f1 = mem.load_block(1)
    base = f1 * BS
    obj = mem.allocate(f1, ARRAY, F.FMT_POINTERS, 2, F.NIL, 5)
    assert base <= obj < base + BS
    assert mem.encode(obj, base) == obj - base
    assert mem.decode(obj - base, base) == obj
    mem.store(obj, 0, obj)                     # a near self reference
    assert mem.word(obj + 6) == obj - base
    assert mem.fetch(obj, 0) == obj


def test_outpointer_read_traps_import_until_cached():
    mem = memory()
    mem.load_block(0)
    f1 = mem.load_block(1)
    base = f1 * BS
    op = mem.new_outpointer(f1, 3, 2)
    obj = mem.allocate(f1, ARRAY, F.FMT_POINTERS, 1, F.NIL, 5)
    mem.mem[(obj >> 1) + 3] = op - base        # the field holds the OutPointer
    with pytest.raises(Trap) as e:
        mem.fetch(obj, 0)
    assert e.value.kind == "import" and e.value.args_ == (op,)
    target = 0 * BS + 0x40
    mem.import_cache[op] = target
    assert mem.fetch(obj, 0) == target
    assert mem.raw_fetch(obj, 0) == op         # firmware mode: the OutPointer itself


def test_cross_frame_store_traps_export_and_writes_nothing():
    mem = memory()
    f0 = mem.load_block(0)
    f1 = mem.load_block(1)
    a = mem.allocate(f0, ARRAY, F.FMT_POINTERS, 1, F.NIL, 1)
    b = mem.allocate(f1, ARRAY, F.FMT_POINTERS, 1, F.NIL, 2)
    with pytest.raises(Trap) as e:
        mem.store(b, 0, a)
    assert e.value.kind == "export" and e.value.args_ == (a, f1)
    assert mem.word(b + 6) == F.NIL             # unchanged
    mem.export_cache[(f1 * BS, a)] = BS - 4
    mem.store(b, 0, a)
    assert mem.word(b + 6) == BS - 4


def test_firmware_store_of_far_value_is_a_vm_error():
    mem = memory()
    f0 = mem.load_block(0)
    f1 = mem.load_block(1)
    a = mem.allocate(f0, ARRAY, F.FMT_POINTERS, 1, F.NIL, 1)
    b = mem.allocate(f1, ARRAY, F.FMT_POINTERS, 1, F.NIL, 2)
    with pytest.raises(VMError, match="firmware stored a far value"):
        mem.raw_store(b, 0, a)


def test_caches_hit_after_the_firmware_fills_them():
    r = RawRun()
    sym = r.symbol("who")
    arr = r.allocate(ARRAY, F.FMT_POINTERS, 2)
    r._pin(arr, sym)
    mem = r.mem
    assert sym >> mem.log2 != arr >> mem.log2      # a Symbol of another block
    with pytest.raises(Trap):
        mem.store(arr, 0, sym)
    r.store(arr, 0, sym)                           # the export handler makes an OutPointer
    word = mem.word(arr + 6)
    assert mem.is_outpointer((arr & ~mem.mask) + word)
    mem.store(arr, 1, sym)                         # export cache hit: no trap
    assert mem.word(arr + 8) == word               # the same OutPointer
    mem.import_cache.clear()
    with pytest.raises(Trap) as e:
        mem.fetch(arr, 0)
    assert e.value.kind == "import"
    assert r.fetch(arr, 0) == sym                  # the import handler resolves it
    assert mem.fetch(arr, 1) == sym                # import cache hit: no trap


# --- allocation ---------------------------------------------------------------------------

def test_bump_allocation():
    mem = memory()
    f = mem.load_block(1)
    base = f * BS
    alloc = mem.header(f, F.BH_ALLOC)
    a = mem.allocate(f, ARRAY, F.FMT_POINTERS, 3, F.NIL, 0x123)
    b = mem.allocate(f, 6, F.FMT_BYTES, 2, 0, 0x7FF)
    assert a == base + alloc and b == a + 2 * (3 + 3)
    assert mem.header(f, F.BH_ALLOC) == alloc + 12 + 10
    assert list(mem.mem[a >> 1:(a >> 1) + 6]) == [6, ARRAY, 0x123, F.NIL, F.NIL, F.NIL]
    assert mem.fmt(b) == F.FMT_BYTES and mem.hash_of(b) == 0x7FF
    assert mem.class_index(b) == 6 and mem.byte_size(b) == 4
    assert mem.dirty[f]


def test_allocation_fails_when_full_and_respects_reserve():
    mem = memory()
    f = mem.load_block(1)
    free = mem.free_bytes(f)
    words = free // 2 - 3
    assert mem.allocate(f, ARRAY, F.FMT_POINTERS, words, F.NIL, 1, reserve=2) is None
    obj = mem.allocate(f, ARRAY, F.FMT_POINTERS, words, F.NIL, 1)
    assert obj is not None and mem.free_bytes(f) == 0
    assert mem.allocate(f, ARRAY, F.FMT_POINTERS, 0, F.NIL, 1) is None


def _fill(mem, f):
    """Use up the bump space of frame f."""
    words = mem.free_bytes(f) // 2 - 3
    assert mem.allocate(f, ARRAY, F.FMT_POINTERS, words, F.NIL, 1) is not None


def _free_chunks(mem, f, sizes_words):
    """Objects of the given sizes, then all of them made free chunks in a list."""
    chunks = [mem.allocate(f, ARRAY, F.FMT_POINTERS, s - 3, F.NIL, 1) for s in sizes_words]
    base = f * BS
    nxt = 0
    for c in reversed(chunks):
        a = c >> 1
        mem.mem[a + 1] = nxt
        mem.mem[a + 2] = F.FMT_FREE << F.FMT_SHIFT
        nxt = c - base
    mem.set_header(f, F.BH_FREE_LIST, nxt)
    return chunks


def test_free_list_exact_fit_is_reused():
    mem = memory()
    f = mem.load_block(1)
    chunks = _free_chunks(mem, f, [10, 8])
    _fill(mem, f)
    obj = mem.allocate(f, ARRAY, F.FMT_POINTERS, 5, F.NIL, 9)     # 8 words: the second
    assert obj == chunks[1]
    assert mem.header(f, F.BH_FREE_LIST) == chunks[0] - f * BS
    assert mem.word(chunks[0] + 2) == 0                          # first chunk now ends the list
    assert mem.size_words(obj) == 8 and mem.class_index(obj) == ARRAY


def test_free_list_split_leaves_a_free_tail():
    mem = memory()
    f = mem.load_block(1)
    (chunk,) = _free_chunks(mem, f, [20])
    _fill(mem, f)
    obj = mem.allocate(f, ARRAY, F.FMT_POINTERS, 4, F.NIL, 9)     # 7 words of 20
    assert obj == chunk
    tail = chunk + 14
    assert mem.header(f, F.BH_FREE_LIST) == tail - f * BS
    assert mem.size_words(tail) == 13 and mem.fmt(tail) == F.FMT_FREE


def test_free_list_skips_chunks_too_small_to_split():
    mem = memory()
    f = mem.load_block(1)
    small, big = _free_chunks(mem, f, [9, 12])
    _fill(mem, f)
    # 7 words: 9 is neither exact nor >= 7 + 3
    assert mem.allocate(f, ARRAY, F.FMT_POINTERS, 4, F.NIL, 9) == big
    assert mem.header(f, F.BH_FREE_LIST) == small - f * BS
    assert mem.word(small + 2) == big + 14 - f * BS             # the split tail follows
    assert mem.allocate(f, ARRAY, F.FMT_POINTERS, 20, F.NIL, 9) is None


# --- OutPointers ------------------------------------------------------------------------------

def test_outpointer_creation_at_the_top_of_the_block():
    mem = memory()
    f = mem.load_block(1)
    base = f * BS
    free = mem.free_bytes(f)
    op1 = mem.new_outpointer(f, 7, 3)
    op2 = mem.new_outpointer(f, 300, 0)
    assert op1 == base + BS - 4 and op2 == base + BS - 8
    assert mem.header(f, F.BH_OP_START) == BS - 8
    assert mem.free_bytes(f) == free - 8
    assert list(mem.mem[op1 >> 1:(op1 >> 1) + 2]) == [F.smallint(7), F.smallint(3)]
    assert mem.is_outpointer(op1) and mem.is_outpointer(op2)
    assert not mem.is_outpointer(op2 - 2)


def test_outpointer_at_65536_byte_block():
    mem = memory(nblocks=2, bs=65536)
    f = mem.load_block(1)
    assert mem.header(f, F.BH_OP_START) == 0                    # 0 means 65536
    op = mem.new_outpointer(f, 1, 1)
    assert op == f * 65536 + 65536 - 4
    assert mem.header(f, F.BH_OP_START) == 65536 - 4


def test_freed_outpointer_entry_is_reused():
    mem = memory()
    f = mem.load_block(1)
    base = f * BS
    op1 = mem.new_outpointer(f, 7, 3)
    op2 = mem.new_outpointer(f, 8, 4)
    # free op1 as the collector does: [nil, next free]
    mem.mem[op1 >> 1] = F.NIL
    mem.mem[(op1 >> 1) + 1] = 0
    mem.set_header(f, F.BH_OP_FREE, op1 - base)
    op3 = mem.new_outpointer(f, 9, 5)
    assert op3 == op1 and mem.header(f, F.BH_OP_FREE) == 0
    assert mem.header(f, F.BH_OP_START) == op2 - base           # no new entry carved
    assert list(mem.mem[op3 >> 1:(op3 >> 1) + 2]) == [F.smallint(9), F.smallint(5)]


def test_no_room_for_an_outpointer():
    mem = memory()
    f = mem.load_block(1)
    _fill(mem, f)
    assert mem.new_outpointer(f, 1, 1) is None


# --- frames and eviction ------------------------------------------------------------------------

def test_eviction_writes_back_and_reload_is_identical():
    mem = memory(nblocks=6)
    f = mem.load_block(1)
    obj = mem.allocate(f, ARRAY, F.FMT_POINTERS, 4, F.smallint(42), 1)
    mem.new_outpointer(f, 5, 6)
    words = mem.mem[f * BS // 2:(f + 1) * BS // 2]
    mem.evict(f)
    assert mem.frame_for_block(1) is None and mem.frame_block[f] is None
    assert mem.host.blocks[1] == struct.pack(f">{BS // 2}H", *words)
    for n in (2, 3, 4):                           # the old frame may be reused by another
        mem.load_block(n)
    g = mem.load_block(1)
    assert mem.mem[g * BS // 2:(g + 1) * BS // 2] == words
    assert mem.op_abs[g] - g * BS == BS - 4
    assert mem.fetch(obj - f * BS + g * BS, 3) == F.smallint(42)


def test_lru_eviction_spares_pinned_and_busy_frames():
    mem = memory(nblocks=8, frames=4)
    for n in range(4):
        mem.load_block(n)
    mem.pinned = {0}
    mem.touch(1)                                  # frame 2 is now least recently used of 1..3
    mem.touch(3)
    f = mem.load_block(4)
    assert f == 2 and mem.frame_for_block(2) is None
    assert mem.stats.block_evictions == 1
    f = mem.load_block(5, busy={1})
    assert f == 3
    with pytest.raises(VMError, match="no frame can be evicted"):
        mem.load_block(6, busy={1, 2, 3})


def test_eviction_forgets_cached_translations():
    mem = memory()
    f0 = mem.load_block(0)
    f1 = mem.load_block(1)
    a = mem.allocate(f0, ARRAY, F.FMT_POINTERS, 1, F.NIL, 1)
    mem.import_cache[f1 * BS + BS - 4] = a
    mem.export_cache[(f1 * BS, a)] = BS - 4
    mem.dispatch[(1, a)] = f1 * BS + 0x40
    mem.evict(f1)
    assert not mem.import_cache and not mem.export_cache and not mem.dispatch


def test_load_block_of_unknown_number():
    mem = memory(nblocks=2)
    with pytest.raises(KeyError):
        mem.load_block(9)


def test_a_free_chunk_takes_an_exact_fit_or_one_that_leaves_a_free_chunk():
    from blocktalk.sim.memory import chunk_takes
    # 21 words: a header and 18 fields; a tail must hold a free chunk's header
    assert chunk_takes(21, 21)
    assert not chunk_takes(22, 21) and not chunk_takes(23, 21)
    assert chunk_takes(24, 21)
    assert not chunk_takes(20, 21)


def test_a_freed_last_object_goes_back_below_the_bump_pointer():
    mem = memory()
    f = mem.load_block(1)
    alloc = mem.header(f, F.BH_ALLOC)
    obj = mem.allocate(f, ARRAY, F.FMT_POINTERS, 5, F.NIL, 1)
    mem.free_object(f, obj)
    assert mem.header(f, F.BH_ALLOC) == alloc and mem.header(f, F.BH_FREE_LIST) == 0


def test_a_freed_object_below_others_becomes_a_free_chunk_the_allocator_reuses():
    mem = memory()
    f = mem.load_block(1)
    first = mem.allocate(f, ARRAY, F.FMT_POINTERS, 5, F.NIL, 1)
    mem.allocate(f, ARRAY, F.FMT_POINTERS, 2, F.NIL, 1)
    mem.free_object(f, first)
    assert mem.header(f, F.BH_FREE_LIST) == first - f * BS
    assert mem.fmt(first) == F.FMT_FREE and mem.size_words(first) == 8
    _fill(mem, f)
    assert mem.allocate(f, ARRAY, F.FMT_POINTERS, 5, F.NIL, 9) == first
