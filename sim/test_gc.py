"""The intra-block collector (sim/gc.py), driven by blockFull: traps and directly."""

import pytest

from blocktalk.memory import format as F
from blocktalk.sim import gc as collector
from blocktalk.sim.testing import RawRun, run_doit, Cls

ARRAY = F.CLASS_INDEX["Array"]


def garbage_loop(n, size):
    """t0 := 0. [t0 := t0 + 1. Array new: size. t0 < n] whileTrue. ^t0"""
    code = [117, 104]
    loop = len(code)
    code += [33, 34, 205, 135]              # (Array new: size) pop
    code += [16, 118, 176, 104]             # t0 := t0 + 1
    code += [16, 35, 178, 153]              # t0 < n ifFalse: jump over the back jump
    offset = loop - (len(code) + 2)
    code += [164 + offset // 256, offset % 256, 16, 124]
    return code, [None, Cls("Array"), size, n]


@pytest.mark.parametrize("bs", [4096, 8192])
def test_garbage_many_times_the_block_size(bs):
    r = RawRun(bs)
    code, lits = garbage_loop(2500, 30)
    assert r.py(r.run(code, lits, temps=1)) == 2500
    s = r.core.stats
    assert s.allocated_bytes > 20 * bs
    assert s.gcs > 0
    assert s.gc_freed_bytes > 10 * bs
    assert s.blocks_created < 6               # collected, not just given new blocks


LIST_DOIT = """| head n sum count |
head := nil.
1 to: 400 do: [:i |
	n := BtNode new.
	n value: i.
	n next: head.
	head := n.
	Array new: 40].
sum := 0. count := 0.
[head == nil] whileFalse: [sum := sum + head value. count := count + 1. head := head next].
count @ sum"""


@pytest.mark.parametrize("bs", [
    4096,
    8192])
def test_linked_list_survives_collections(bs):
    m, value = run_doit(LIST_DOIT, block_size=bs)
    assert value == f"400@{400 * 401 // 2}"
    assert m.stats.gcs > 0


def _nodes(r, n):
    """A BtNode list n..1 built in Python in the allocation block, with a garbage
    Array between nodes; answers the head."""
    head = F.NIL
    for i in range(1, n + 1):
        node = r.allocate(r.class_index["BtNode"], F.FMT_POINTERS, 2)
        r.allocate(ARRAY, F.FMT_POINTERS, 20)          # garbage
        r.mem.store(node, 0, head)
        r.mem.store(node, 1, F.smallint(i))
        head = node
    return head


def _walk(r, head):
    values = []
    while head != F.NIL:
        values.append(F.smallint_value(r.mem.fetch(head, 1)))
        head = r.mem.fetch(head, 0)
    return values


def test_collect_keeps_what_the_registers_reach():
    r = RawRun()
    head = _nodes(r, 50)
    frame = head >> r.mem.log2
    r.core.rcvr = head                       # the only root
    alloc_before = r.mem.header(frame, F.BH_ALLOC)
    free = collector.collect(r.core, frame)
    head = r.core.rcvr                       # the collector may move objects
    assert _walk(r, head) == list(range(50, 0, -1))
    assert r.core.stats.gcs == 1
    assert r.core.stats.gc_freed_bytes >= 50 * 23 * 2
    assert r.mem.header(frame, F.BH_ALLOC) < alloc_before
    assert free == r.mem.free_bytes(frame)      # compacted: all free space is bump space
    assert r.mem.header(frame, F.BH_GC_COUNT) == 1


def test_collect_twice_is_stable():
    r = RawRun()
    r.core.rcvr = _nodes(r, 30)
    frame = r.core.rcvr >> r.mem.log2
    collector.collect(r.core, frame)
    live = r.mem.header(frame, F.BH_LIVE_WORDS)
    alloc = r.mem.header(frame, F.BH_ALLOC)
    collector.collect(r.core, frame)
    assert r.mem.header(frame, F.BH_LIVE_WORDS) == live
    assert r.mem.header(frame, F.BH_ALLOC) == alloc
    assert _walk(r, r.core.rcvr) == list(range(30, 0, -1))


def test_unreachable_list_is_freed():
    r = RawRun()
    head = _nodes(r, 30)
    frame = head >> r.mem.log2
    alloc = r.mem.header(frame, F.BH_ALLOC)
    collector.collect(r.core, frame)
    assert r.mem.header(frame, F.BH_ALLOC) <= alloc - 30 * 28 * 2


def test_far_references_survive_collection():
    r = RawRun()
    arr = r.allocate(ARRAY, F.FMT_POINTERS, 2)
    r._pin(arr)
    r.store(arr, 0, r.symbol("who"))
    r.store(arr, 1, r.symbol("size"))
    r.core.rcvr = arr
    collector.collect(r.core, arr >> r.mem.log2)
    arr = r.core.rcvr
    assert r.fetch(arr, 0) == r.symbol("who")
    assert r.fetch(arr, 1) == r.symbol("size")


def _far_refs(r, names):
    arr = r.allocate(ARRAY, F.FMT_POINTERS, len(names))
    for i, name in enumerate(names):
        r._pin(arr)
        r.store(arr, i, r.symbol(name))
    return arr


def test_unused_outpointers_are_freed():
    r = RawRun()
    arr = _far_refs(r, ["who", "printString", "size"])   # garbage holding 3 OutPointers
    frame = arr >> r.mem.log2
    collector.collect(r.core, frame)
    assert r.mem.header(frame, F.BH_OP_FREE) != 0


def test_freed_outpointers_are_reused():
    r = RawRun()
    arr = _far_refs(r, ["who", "printString", "size"])
    frame = arr >> r.mem.log2
    collector.collect(r.core, frame)
    op_start = r.mem.header(frame, F.BH_OP_START)
    _far_refs(r, ["value", "next", "at:"])            # three new far references
    assert r.mem.header(frame, F.BH_OP_START) == op_start


def test_used_outpointer_is_kept_and_reused_by_the_export_cache():
    r = RawRun()
    arr = _far_refs(r, ["who"])
    frame = arr >> r.mem.log2
    r.core.rcvr = arr
    collector.collect(r.core, frame)
    arr = r.core.rcvr
    op_start = r.mem.header(frame, F.BH_OP_START)
    other = _far_refs(r, ["who"])                     # the same Symbol again
    assert r.mem.header(frame, F.BH_OP_START) == op_start     # found, not made
    assert r.mem.word(other + 6) == r.mem.word(arr + 6)
