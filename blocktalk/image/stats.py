"""Placement figures of a built image (for reports and tuning, not for the VM)."""

from blocktalk.image.graph import Obj


def placement_stats(image):
    """Blocks, fill, far-reference share and OutPointers per block of a fresh build."""
    p = image.placement
    size = image.block_size
    near = far = 0
    for b, objs in enumerate(p.blocks):
        for o in objs:
            for f in o.fields:
                if isinstance(f, Obj):
                    if p.block_of[id(f)] == b:
                        near += 1
                    else:
                        far += 1
    fills = [p.cost_bytes(b) / size for b in range(len(p.blocks))]
    outs = [len(st.out) for st in p.states]
    ins = [len(st.ins) for st in p.states]
    rest = range(1, len(p.blocks))
    return {
        "block_size": size,
        "blocks": len(p.blocks),
        "objects": sum(len(x) for x in p.blocks),
        "block0_fill": round(fills[0], 3),
        "mean_fill": round(sum(fills[b] for b in rest) / max(1, len(rest)), 3),
        "far_share": round(far / max(1, near + far), 3),
        "outpointers_mean": round(sum(outs[b] for b in rest) / max(1, len(rest)), 1),
        "outpointers_max": max(outs),
        "outpointers_block0": outs[0],
        "inpointers_block0": ins[0],
    }
