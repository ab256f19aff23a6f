"""The host's main memory of blocks (the Cell master core's view).

Blocks live here as bytes while no core holds them; a core's frame is a copy.
``read``/``write`` are the block DMA of the host protocol (docs/architecture.md
section 11); ``new_block`` creates an empty block for a core that ran out of
allocation space.

Main memory is either the whole image (built in memory, or read from a
``.bimg`` file) or a bounded cache over a :class:`~.disk.DiskImage`: then at
most ``memory_blocks`` blocks are held, the least recently used one goes back
to disk (written only if it changed), and :meth:`BlockStore.save` makes the
changes durable.
"""

from collections import OrderedDict

from blocktalk.image.errors import ImageError
from blocktalk.memory import block as B
from blocktalk.memory import format as F


class _BlockView:
    """``store.blocks[n]``: every block by number, read through the store (for
    the inspector and image tools, which read blocks the cores do not hold)."""

    def __init__(self, store):
        self._store = store

    def __len__(self):
        return self._store.count

    def __getitem__(self, number):
        if not 0 <= number < self._store.count:
            raise IndexError(number)
        return self._store.peek(number)

    def __setitem__(self, number, data):
        self._store.put(number, data)

    def __iter__(self):
        return (self[n] for n in range(len(self)))


class BlockStore:
    """Blocks by number.

    :param image: a :class:`blocktalk.image.file.Image` whose blocks are copied
        in (the whole image in main memory), or None with ``disk``.
    :param disk: a :class:`~.disk.DiskImage` the blocks are read from on demand.
    :param memory_blocks: with ``disk``, how many blocks main memory holds.
    """

    def __init__(self, image=None, disk=None, memory_blocks=None):
        if (image is None) == (disk is None):
            raise TypeError("a BlockStore needs exactly one of image and disk")
        if memory_blocks is not None and (not isinstance(memory_blocks, int)
                                          or memory_blocks < 2):
            raise ValueError(f"memory_blocks must be an int of at least 2, not {memory_blocks!r}")
        self.disk = disk
        self.memory = OrderedDict()       # number -> bytes, least recently used first
        self.changed = set()              # numbers whose bytes differ from the disk's
        if disk is None:
            self.block_size = image.block_size
            for n, b in enumerate(image.blocks):
                self.memory[n] = bytes(b)
            self.count = len(image.blocks)
            self.capacity = None
        else:
            self.block_size = disk.block_size
            self.count = disk.count
            self.capacity = memory_blocks
        self.reads = 0
        self.writes = 0
        self.bytes_moved = 0
        self.disk_reads = 0
        self.disk_writes = 0
        #: block -> [(InPointer index, block that dropped its OutPointer)]
        self.pending_drops = {}
        if disk is not None:
            self.pending_drops = _drops_from_meta(disk)

    @property
    def blocks(self):
        return _BlockView(self)

    # --- main memory over the disk ------------------------------------------------

    def peek(self, number):
        """The bytes of a block (from disk if main memory does not hold it)."""
        data = self.memory.get(number)
        if data is not None:
            self.memory.move_to_end(number)
            return data
        data = self.disk.read_block(number)
        self.disk_reads += 1
        self._hold(number, data)
        return data

    def put(self, number, data):
        if len(data) != self.block_size:
            raise ValueError("a block write must be exactly one block")
        self._hold(number, bytes(data))
        self.changed.add(number)

    def _hold(self, number, data):
        self.memory[number] = data
        self.memory.move_to_end(number)
        while self.capacity is not None and len(self.memory) > self.capacity:
            old, old_data = self.memory.popitem(last=False)
            if old in self.changed:
                self.disk.write_block(old, old_data)
                self.disk_writes += 1
                self.changed.discard(old)

    def save(self, meta=None):
        """Make every change durable (a disk image), atomically: all or nothing."""
        if self.disk is None:
            raise ValueError("this store has no disk image to save to")
        for number in sorted(self.changed):
            self.disk.write_block(number, self.memory[number])
            self.disk_writes += 1
        self.changed.clear()
        # the back-reference drops waiting for their blocks are part of the
        # image: saved in the same transaction as the blocks
        meta = dict(self.disk.meta if meta is None else meta)
        meta["pending_drops"] = {str(n): [list(d) for d in drops]
                                 for n, drops in sorted(self.pending_drops.items()) if drops}
        self.disk.save(self.count, meta)

    # --- the block DMA of the host protocol ----------------------------------------

    def read(self, number):
        if not 0 <= number < self.count:
            raise KeyError(f"no block {number}")
        self.reads += 1
        self.bytes_moved += self.block_size
        return self.peek(number)

    def write(self, number, data):
        if len(data) != self.block_size:
            raise ValueError("a block write must be exactly one block")
        self.writes += 1
        self.bytes_moved += self.block_size
        self.put(number, data)

    def may_collect(self, number):
        """A collection moves objects: a lone core's blocks are its own."""
        return True

    def release(self, number):
        """A core's frame gave the block up (a lone core owns every block)."""

    def new_block(self):
        number = self.count
        if number > F.SMALLINT_MAX:
            raise MemoryError("the block table is full (block numbers are SmallIntegers)")
        self.count += 1
        self.put(number, bytes(B.format_block(number, self.block_size)))
        return number

    def queue_back_reference_drop(self, number, index, from_block):
        """Block ``from_block`` freed its OutPointer to InPointer ``index`` of
        block ``number``, which is in no frame: deliver it with the block."""
        self.pending_drops.setdefault(number, []).append((index, from_block))

    def take_back_reference_drops(self, number):
        return self.pending_drops.pop(number, [])


def _drops_from_meta(disk):
    """The pending back-reference drops a disk image's meta holds."""
    try:
        return {int(n): [(int(i), int(b)) for i, b in drops]
                for n, drops in disk.meta.get("pending_drops", {}).items()}
    except (AttributeError, TypeError, ValueError) as e:
        raise ImageError(f"{disk.path}: corrupt pending_drops in the image meta ({e})") from None
