"""Read-only views of objects wherever their blocks are (a frame or the host).

Used for reporting only (walkbacks, printing results, tests); execution never
reads memory this way.  Objects are named by (block number, offset).
"""

from blocktalk.memory import format as F


class Inspector:
    def __init__(self, core):
        self.core = core
        self.mem = core.mem
        self.store = core.store

    def loc(self, value):
        """(block, offset) of a core address."""
        mem = self.mem
        return mem.frame_block[value >> mem.log2], value & mem.mask

    def word(self, block, offset):
        mem = self.mem
        frame = mem.frame_for_block(block)
        if frame is not None:
            return mem.mem[((frame << mem.log2) + offset) >> 1]
        data = self.store.blocks[block]
        return (data[offset] << 8) | data[offset + 1]

    def set_word(self, block, offset, value):
        """Host-side write (the host owns blocks not in a frame)."""
        mem = self.mem
        frame = mem.frame_for_block(block)
        if frame is not None:
            mem.mem[((frame << mem.log2) + offset) >> 1] = value & 0xFFFF
            mem.dirty[frame] = True
            return
        data = bytearray(self.store.blocks[block])
        data[offset] = (value >> 8) & 0xFF
        data[offset + 1] = value & 0xFF
        self.store.blocks[block] = bytes(data)

    def op_start(self, block):
        return self.word(block, 2 * F.BH_OP_START) or 65536

    def decode(self, block, word):
        """A stored word as ('int', v) / ('imm', w) / (block, offset)."""
        if word & 1:
            return ("int", F.smallint_value(word))
        if word < 16:
            return ("imm", word)
        if word >= self.op_start(block):
            blk = F.smallint_value(self.word(block, word))
            idx = F.smallint_value(self.word(block, word + 2))
            ipt = self.word(blk, 2 * F.BH_INPOINTERS)
            return (blk, self.word(blk, ipt + 6 + 4 * idx))
        return (block, word)

    def field(self, ref, index):
        block, off = ref
        return self.decode(block, self.word(block, off + 6 + 2 * index))

    def class_index(self, ref):
        if ref[0] == "int":
            return 1
        if ref[0] == "imm":
            return {0: 2, 2: 4, 4: 3}.get(ref[1], 0)
        return self.word(ref[0], ref[1] + 2) & F.CLASS_INDEX_MASK

    def size_words(self, ref):
        return self.word(ref[0], ref[1])

    def bytes(self, ref):
        block, off = ref
        words = self.size_words(ref) - 3
        fmt = self.word(block, off + 4) >> F.FMT_SHIFT
        data = bytearray()
        for i in range(words):
            w = self.word(block, off + 6 + 2 * i)
            data += bytes((w >> 8, w & 0xFF))
        if fmt & 1:
            data = data[:-1]
        return bytes(data)
