"""METIS placement (blocktalk.image.partition) on a graph with a known best cut."""

import random

from blocktalk.image import layout as L
from blocktalk.image.graph import Graph
from blocktalk.image.partition import partition


def clustered_graph(clusters=24, size=40, seed=3):
    """``clusters`` groups of Arrays densely linked inside, one link between
    neighbouring groups; the objects shuffled so that no order hides the groups."""
    rng = random.Random(seed)
    g = Graph()
    groups = [[g.array([]) for _ in range(size)] for _ in range(clusters)]
    for group in groups:
        for o in group:
            o.fields = [rng.choice(group) for _ in range(4)]
    for a, b in zip(groups, groups[1:]):
        a[0].fields.append(b[0])
    objs = [o for group in groups for o in group]
    rng.shuffle(objs)
    return objs, groups


def test_parts_follow_the_clusters():
    objs, groups = clustered_graph()
    parts = partition(objs, budget_bytes=3000)
    cluster_of = {id(o): i for i, group in enumerate(groups) for o in group}
    # a part holds whole clusters: only where parts meet is a cluster split
    pairs = {(cluster_of[id(o)], i) for i, part in enumerate(parts) for o in part}
    assert len(parts) >= 5
    assert len(pairs) <= len(groups) + len(parts)
    assert sorted(id(o) for part in parts for o in part) == sorted(id(o) for o in objs)


def test_metis_layout_cuts_fewer_references_than_the_given_order():
    objs, _ = clustered_graph()

    def far_share(placement):
        blocks, addr, p = L.layout([], objs, 4096, iter(range(1, 1 << 20)).__next__,
                                   placement=placement)
        near = far = 0
        for o in objs:
            for f in o.fields:
                if p.block_of[id(f)] == p.block_of[id(o)]:
                    near += 1
                else:
                    far += 1
        return far / (near + far)
    assert far_share("metis") < far_share("dfs") / 2


def test_unknown_placement_is_refused():
    import pytest
    with pytest.raises(ValueError, match="placement must be one of dfs, metis"):
        L.layout([], [], 4096, lambda: 1, placement="random")
