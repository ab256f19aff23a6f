"""layout.py on hand-made graphs: every reference survives the cut into blocks."""

import random

import pytest

from blocktalk.memory import format as F
from blocktalk.image.graph import Graph, Obj, NIL, TRUE, FALSE, sint
from blocktalk.image import layout as L

from imagecheck import check_blocks


def make_graph(n, seed):
    """n objects of mixed shapes with random references (a few popular ones)."""
    rnd = random.Random(seed)
    g = Graph()
    objs = []
    popular = [g.symbol(f"sym{i}") for i in range(20)]
    objs += popular
    for i in range(n):
        kind = rnd.random()
        if kind < 0.2:
            objs.append(g.string("x" * rnd.randrange(0, 40)))
        elif kind < 0.3:
            objs.append(g.integer(rnd.choice([1, -1]) * rnd.randrange(1 << 15, 1 << 80)))
        elif kind < 0.4:
            code = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 30)))
            nlits = rnd.randrange(0, 5)
            m = g.new(F.CLASS_INDEX["CompiledMethod"], F.byte_format(len(code), True),
                      [sint(nlits)] + [NIL] * nlits, code, label=f"method {i}")
            objs.append(m)
        else:
            objs.append(g.nil_array(rnd.randrange(0, 12), label=f"array {i}"))
    for o in objs:
        start = 1 if o.fmt in (F.FMT_METHOD, F.FMT_METHOD_ODD) else 0
        if o.fmt not in (F.FMT_POINTERS, F.FMT_METHOD, F.FMT_METHOD_ODD):
            continue
        for j in range(start, len(o.fields)):
            r = rnd.random()
            if r < 0.15:
                o.fields[j] = rnd.choice(popular)
            elif r < 0.6:
                # mostly near neighbours: locality the placement can keep
                k = objs.index(o) + rnd.randrange(-30, 30)
                o.fields[j] = objs[max(0, min(len(objs) - 1, k))]
            elif r < 0.7:
                o.fields[j] = rnd.choice(objs)
            elif r < 0.8:
                o.fields[j] = sint(rnd.randrange(F.SMALLINT_MIN, F.SMALLINT_MAX + 1))
            else:
                o.fields[j] = rnd.choice([NIL, TRUE, FALSE])
    return g, objs


def decode_matches(m, addr, objs):
    """Every object's header and fields read back as the graph says."""
    for o in objs:
        b, off = addr[id(o)]
        size, cls, flags = m.headers[b][off]
        assert size == o.size_words()
        assert cls & F.CLASS_INDEX_MASK == o.class_index
        assert flags >> F.FMT_SHIFT == o.fmt
        assert F.identity_hash(cls, flags) == o.hash
        raw = m.fields(b, off)
        assert len(raw) == len(o.fields)
        for f, v in zip(o.fields, raw):
            if isinstance(f, Obj):
                assert m.deref(b, v) == addr[id(f)]
            elif f in (NIL, TRUE, FALSE):
                assert v == f.oop
            else:
                assert v == F.smallint(f[1])
        assert m.byte_data(b, off) == (o.data if o.fmt != F.FMT_POINTERS else b"")


@pytest.mark.parametrize("size,n", [(4096, 1500), (8192, 1500), (65536, 4000)])
def test_random_graph(size, n):
    g, objs = make_graph(n, seed=size)
    first = objs[:5]
    blocks, addr, placement = L.layout(first, objs[5:], size, g.next_hash)
    m = check_blocks(blocks, size)
    decode_matches(m, addr, objs)
    assert all(addr[id(o)][0] == 0 for o in first)
    assert all(addr[id(o)][0] > 0 for o in objs[5:])
    for b in range(1, len(blocks)):
        assert placement.cost_bytes(b) <= 0.75 * size
        used = blocks[b][2 * F.BH_ALLOC] << 8 | blocks[b][2 * F.BH_ALLOC + 1]
        ops = size - F.OUTPOINTER_BYTES * len(placement.states[b].out)
        assert size - ops + used <= 0.75 * size
    if size == 65536:
        assert len(blocks) <= 5


def test_unreached_objects_are_still_placed():
    g = Graph()
    leaf = g.string("leaf")
    a = g.array([leaf])
    blocks, addr, _ = L.layout([], [a], 4096, g.next_hash)
    assert id(leaf) in addr


def test_object_over_the_fill_limit_gets_a_block_of_its_own():
    """75% of a block is the fill limit; an object between that and the whole
    block (less a sixteenth) is placed alone, and the next object starts a
    new block."""
    g = Graph()
    big = g.nil_array(1500, label="the big Array")          # 3006 bytes + tables
    small = g.array([big], label="small")
    blocks, addr, p = L.layout([], [big, small], 4096, g.next_hash)
    assert p.block_of[id(big)] != p.block_of[id(small)]
    assert [o for o in p.blocks[p.block_of[id(big)]]] == [big]


def test_object_too_large():
    g = Graph()
    big = g.nil_array(2000, label="the big Array")
    with pytest.raises(L.LayoutError, match="the big Array is too large for a 4096-byte"):
        L.layout([], [big], 4096, g.next_hash)


def test_firmware_block_too_full():
    g = Graph()
    big = g.nil_array(2000, label="fw")
    with pytest.raises(L.LayoutError, match="firmware block needs"):
        L.layout([big], [], 4096, g.next_hash)


def test_shared_target_gets_one_inpointer_with_back_reference_array():
    g = Graph()
    target = g.string("shared")
    holders = [g.array([target, target], label=f"h{i}") for i in range(3)]
    pads = [g.nil_array(1000) for _ in range(3)]
    order = [target, pads[0], holders[0], pads[1], holders[1], pads[2], holders[2]]
    blocks, addr, placement = L.layout([], order, 4096, g.next_hash, fill=0.75)
    m = check_blocks(blocks, 4096)
    tb, to = addr[id(target)]
    referring = {addr[id(h)][0] for h in holders} - {tb}
    assert len(referring) >= 2
    st = placement.states[tb]
    assert len(st.ins) == 1 and st.ins[id(target)] == referring
    for h in holders:
        hb, ho = addr[id(h)]
        f0, f1 = m.fields(hb, ho)
        assert f0 == f1           # one OutPointer per distinct target
