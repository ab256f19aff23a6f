"""Counters of a software core, reported by ``--stats`` as ``name: value`` lines."""

from dataclasses import dataclass, field, fields


@dataclass
class Stats:
    bytecodes: int = 0
    sends: int = 0
    special_sends: int = 0
    primitive_calls: int = 0
    primitive_failures: int = 0
    dispatch_hits: int = 0
    dispatch_misses: int = 0
    allocations: int = 0
    allocated_bytes: int = 0
    contexts_recycled: int = 0
    gcs: int = 0
    gc_freed_bytes: int = 0
    inpointers_freed: int = 0
    block_loads: int = 0
    block_evictions: int = 0
    blocks_created: int = 0
    firmware_bytecodes: int = 0
    traps: dict = field(default_factory=dict)
    #: primitive index -> calls of a primitive the core does not implement (the
    #: method's Smalltalk fallback ran)
    unimplemented_primitives: dict = field(default_factory=dict)
    #: counters of the execution engine when it is not the software core alone
    #: (``--engine rtl``: hw/engine.py), in the order they were first counted
    engine: dict = field(default_factory=dict)

    def count(self, name, n=1):
        self.engine[name] = self.engine.get(name, 0) + n

    def trap(self, kind):
        self.traps[kind] = self.traps.get(kind, 0) + 1

    def lines(self):
        out = []
        for f in fields(self):
            if f.name in ("traps", "unimplemented_primitives", "engine"):
                continue
            out.append(f"{f.name}: {getattr(self, f.name)}")
        total = sum(self.traps.values())
        out.append(f"traps: {total}")
        for kind in sorted(self.traps):
            out.append(f"traps_{kind}: {self.traps[kind]}")
        far = self.traps.get("import", 0) + self.traps.get("export", 0)
        per_k = 1000.0 * total / self.bytecodes if self.bytecodes else 0.0
        far_k = 1000.0 * far / self.bytecodes if self.bytecodes else 0.0
        out.append(f"traps_per_1000_bytecodes: {per_k:.3f}")
        out.append(f"far_traps_per_1000_bytecodes: {far_k:.3f}")
        for name, value in self.engine.items():
            out.append(f"{name}: {value}")
        for index in sorted(self.unimplemented_primitives):
            out.append(f"unimplemented_primitive_{index}: {self.unimplemented_primitives[index]}")
        return out
