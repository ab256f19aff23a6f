"""The host's main memory of blocks (the Cell master core's view).

Blocks live here as bytes while no core holds them; a core's frame is a copy.
``read``/``write`` are the block DMA of the host protocol (docs/architecture.md
section 11); ``new_block`` creates an empty block for a core that ran out of
allocation space.
"""

from blocktalk.memory import block as B
from blocktalk.memory import format as F


class BlockStore:
    """Blocks by number.

    :param image: a :class:`blocktalk.image.file.Image` whose blocks are copied in.
    """

    def __init__(self, image):
        self.block_size = image.block_size
        self.blocks = [bytes(b) for b in image.blocks]
        self.reads = 0
        self.writes = 0
        self.bytes_moved = 0
        #: block -> [(InPointer index, block that dropped its OutPointer)]
        self.pending_drops = {}

    def read(self, number):
        if not 0 <= number < len(self.blocks):
            raise KeyError(f"no block {number}")
        self.reads += 1
        self.bytes_moved += self.block_size
        return self.blocks[number]

    def write(self, number, data):
        if len(data) != self.block_size:
            raise ValueError("a block write must be exactly one block")
        self.writes += 1
        self.bytes_moved += self.block_size
        self.blocks[number] = bytes(data)

    def new_block(self):
        number = len(self.blocks)
        if number > F.SMALLINT_MAX:
            raise MemoryError("the block table is full (block numbers are SmallIntegers)")
        self.blocks.append(bytes(B.format_block(number, self.block_size)))
        return number

    def queue_back_reference_drop(self, number, index, from_block):
        """Block ``from_block`` freed its OutPointer to InPointer ``index`` of
        block ``number``, which is in no frame: deliver it with the block."""
        self.pending_drops.setdefault(number, []).append((index, from_block))

    def take_back_reference_drops(self, number):
        return self.pending_drops.pop(number, [])
