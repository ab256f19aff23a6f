"""Graph partitioning of an object graph before it is packed into blocks.

Seed 003's "Block is full" problem is a graph-partitioning problem: objects are
vertices weighted by their size, references are edges, and every edge cut by a
block boundary costs an OutPointer in the referring block, an InPointer in the
other and a trap at run time.  METIS (multilevel k-way partitioning, through
``pymetis``) minimises the edge cut for a given number of parts with balanced
part weights.  The number of parts is chosen so that a part's objects fill
:data:`PART_FILL` of what the packer lets into a block, leaving room for the
tables the cut edges add; the packer (:mod:`.layout`) then puts each part in a
fresh block and spills what does not fit.

METIS's random seed is fixed, so an import is reproducible.
"""

import math

from blocktalk.image.graph import Obj

#: Share of a block's object budget that one part's objects fill.
PART_FILL = 0.65
#: METIS's allowed imbalance between parts, in thousandths (3% is its default).
UFACTOR = 30
SEED = 1


def partition(order, budget_bytes):
    """``order`` cut into parts (lists of objects), each in ``order``'s order;
    the parts are ordered by their first object in ``order``."""
    import pymetis
    index = {id(o): i for i, o in enumerate(order)}
    adjacent = [set() for _ in order]
    for i, o in enumerate(order):
        for f in o.fields:
            if isinstance(f, Obj):
                j = index.get(id(f))
                if j is not None and j != i:
                    adjacent[i].add(j)
                    adjacent[j].add(i)
    xadj, adjncy = [0], []
    for near in adjacent:
        adjncy.extend(sorted(near))
        xadj.append(len(adjncy))
    weights = [2 * o.size_words() for o in order]
    nparts = math.ceil(sum(weights) / (budget_bytes * PART_FILL))
    if nparts <= 1:
        return [list(order)]
    _, parts = pymetis.part_graph(nparts, pymetis.CSRAdjacency(xadj, adjncy), vweights=weights,
                                  options=pymetis.Options(seed=SEED, ufactor=UFACTOR))
    groups = {}
    for o, p in zip(order, parts):
        groups.setdefault(p, []).append(o)
    return sorted(groups.values(), key=lambda g: index[id(g[0])])
