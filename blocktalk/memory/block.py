"""Raw access to one memory block: word access, object walking, empty blocks.

Everything here works on a ``bytearray`` holding exactly one block and follows
:mod:`blocktalk.memory.format` (16-bit big-endian words, byte offsets as near
pointers).  The image builder, the simulator and the tests share these helpers
so that there is one reading of the format in Python.
"""

from blocktalk.memory import format as F

#: Free pairs an InPointer table carries in a fresh block (and, at least, beyond
#: the used pairs in a built block) so the first exports need no reallocation.
FREE_INPOINTER_PAIRS = 8
#: Slots of the OutPointer hash table of a fresh block (a power of two).
MIN_OP_HASH_SLOTS = 16


def read_word(buf, byte_off):
    """The 16-bit word at ``byte_off`` (even), big-endian."""
    return (buf[byte_off] << 8) | buf[byte_off + 1]


def write_word(buf, byte_off, w):
    """Store the 16-bit word ``w`` at ``byte_off`` (even), big-endian."""
    buf[byte_off] = (w >> 8) & 0xFF
    buf[byte_off + 1] = w & 0xFF


def header_word(buf, index):
    """Block header word ``index`` (one of the ``BH_*`` constants)."""
    return read_word(buf, index * 2)


def set_header_word(buf, index, w):
    write_word(buf, index * 2, w)


def object_size_words(buf, off):
    """Size in words (header included) of the object whose header is at ``off``."""
    return read_word(buf, off + F.OH_SIZE * 2)


def object_class_index(buf, off):
    return read_word(buf, off + F.OH_CLASS * 2) & F.CLASS_INDEX_MASK


def object_flags(buf, off):
    return read_word(buf, off + F.OH_FLAGS * 2)


def object_format(buf, off):
    return (object_flags(buf, off) >> F.FMT_SHIFT) & F.FMT_MASK


def field_offset(off, index):
    """Byte offset of body word ``index`` (0-based) of the object at ``off``."""
    return off + (F.OBJ_HEADER_WORDS + index) * 2


def read_field(buf, off, index):
    return read_word(buf, field_offset(off, index))


def write_object_header(buf, off, size_words, class_index, flags, hash_=0):
    """``flags`` from ``F.flags_word`` (it keeps the hash's low 11 bits);
    ``hash_`` gives the high 4 bits that share the class word."""
    write_word(buf, off, size_words)
    write_word(buf, off + 2, F.class_word(class_index, hash_))
    write_word(buf, off + 4, flags)


def op_start(buf, block_size):
    """Byte offset of the lowest OutPointer entry; ``block_size`` when there is none.

    The header word holds the offset modulo 2**16, so 0 stands for the end of a
    64 KB block (a smaller block never has OutPointers at offset 0).
    """
    w = header_word(buf, F.BH_OP_START)
    return w if w else block_size


def is_outpointer(buf, block_size, near):
    """True if the near pointer ``near`` names an OutPointer entry of this block."""
    return near >= op_start(buf, block_size)


def iter_objects(buf):
    """Yield the header offset of every object from FIRST_OBJECT to BH_ALLOC.

    Free chunks (FMT_FREE) are walked over but not yielded.
    """
    off = F.FIRST_OBJECT
    end = header_word(buf, F.BH_ALLOC)
    while off < end:
        size = object_size_words(buf, off)
        if size < F.OBJ_HEADER_WORDS:
            raise ValueError(f"corrupt object header at {off}: size {size}")
        if object_format(buf, off) != F.FMT_FREE:
            yield off
        off += size * 2


def table_hash(block_number, which):
    """Identity hash of a block's own tables in a fresh block.

    The tables are created outside any object graph, so they take a per-block
    rule instead of the global hash sequence: ``2*block + which`` (which = 0 for
    the InPointer table, 1 for the OutPointer hash table), 11 bits.
    """
    return (block_number * 2 + which) & F.HASH_MASK


def _write_nil_array(buf, off, nfields, hash_):
    """An Array of ``nfields`` nils at ``off``; returns the offset after it."""
    size = F.OBJ_HEADER_WORDS + nfields
    write_object_header(buf, off, size, F.CLASS_INDEX["Array"],
                        F.flags_word(F.FMT_POINTERS, hash_), hash_)
    for i in range(nfields):
        write_word(buf, field_offset(off, i), F.NIL)
    return off + size * 2


def format_block(number, block_size):
    """An empty block: header, InPointer table (8 free pairs), OutPointer hash (16 nils)."""
    F.check_block_size(block_size)
    buf = bytearray(block_size)
    set_header_word(buf, F.BH_BLOCK_NUMBER, number & F.WORD_MASK)
    set_header_word(buf, F.BH_LOG2_SIZE, block_size.bit_length() - 1)
    inptrs = F.FIRST_OBJECT
    ophash = _write_nil_array(buf, inptrs, FREE_INPOINTER_PAIRS * F.INPOINTER_FIELDS,
                              table_hash(number, 0))
    alloc = _write_nil_array(buf, ophash, MIN_OP_HASH_SLOTS, table_hash(number, 1))
    set_header_word(buf, F.BH_ALLOC, alloc)
    set_header_word(buf, F.BH_FREE_LIST, 0)
    set_header_word(buf, F.BH_INPOINTERS, inptrs)
    set_header_word(buf, F.BH_OP_START, block_size & F.WORD_MASK)
    set_header_word(buf, F.BH_OP_HASH, ophash)
    set_header_word(buf, F.BH_OP_FREE, 0)
    set_header_word(buf, F.BH_LIVE_WORDS, (alloc - F.FIRST_OBJECT) // 2)
    set_header_word(buf, F.BH_FLAGS, 0)
    return buf
