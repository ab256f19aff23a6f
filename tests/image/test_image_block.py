"""blocktalk.memory.block: word access, empty blocks, object walking."""

import pytest

from blocktalk.memory import format as F
from blocktalk.memory import block as B


def test_words_are_big_endian():
    buf = bytearray(8)
    B.write_word(buf, 2, 0x1234)
    assert buf[2:4] == b"\x12\x34"
    assert B.read_word(buf, 2) == 0x1234
    B.write_word(buf, 4, 0x1FFFF)
    assert B.read_word(buf, 4) == 0xFFFF


@pytest.mark.parametrize("size", [4096, 8192, 65536])
def test_format_block(size):
    buf = B.format_block(7, size)
    assert len(buf) == size
    h = [B.header_word(buf, i) for i in range(F.HEADER_WORDS)]
    assert h[F.BH_BLOCK_NUMBER] == 7
    assert 1 << h[F.BH_LOG2_SIZE] == size
    assert h[F.BH_OP_START] == size & 0xFFFF
    assert B.op_start(buf, size) == size
    assert h[F.BH_FREE_LIST] == h[F.BH_OP_FREE] == h[F.BH_FLAGS] == 0
    objs = list(B.iter_objects(buf))
    assert objs == [h[F.BH_INPOINTERS], h[F.BH_OP_HASH]]
    inp, oph = objs
    assert inp == F.FIRST_OBJECT
    assert B.object_size_words(buf, inp) == 3 + 16
    assert B.object_size_words(buf, oph) == 3 + 16
    for o in objs:
        assert B.object_class_index(buf, o) == F.CLASS_INDEX["Array"]
        assert B.object_format(buf, o) == F.FMT_POINTERS
        n = B.object_size_words(buf, o) - 3
        assert all(B.read_field(buf, o, i) == F.NIL for i in range(n))
    assert h[F.BH_ALLOC] == oph + 2 * 19
    assert h[F.BH_LIVE_WORDS] == (h[F.BH_ALLOC] - 32) // 2
    # the two tables get different hashes, and so do different blocks
    hashes = {B.object_flags(buf, o) & F.HASH_MASK for o in objs}
    other = B.format_block(8, size)
    hashes |= {B.object_flags(other, o) & F.HASH_MASK for o in B.iter_objects(other)}
    assert len(hashes) == 4


def test_iter_objects_skips_free_chunks():
    buf = B.format_block(1, 4096)
    alloc = B.header_word(buf, F.BH_ALLOC)
    B.write_object_header(buf, alloc, 5, 0, F.flags_word(F.FMT_FREE, 0))
    B.write_object_header(buf, alloc + 10, 4, F.CLASS_INDEX["Character"],
                          F.flags_word(F.FMT_POINTERS, 9))
    B.write_word(buf, B.field_offset(alloc + 10, 0), F.smallint(65))
    B.set_header_word(buf, F.BH_ALLOC, alloc + 18)
    objs = list(B.iter_objects(buf))
    assert objs[-1] == alloc + 10 and alloc not in objs
    assert B.read_field(buf, alloc + 10, 0) == F.smallint(65)


def test_op_start_of_full_64k_block():
    buf = B.format_block(0, 65536)
    assert B.header_word(buf, F.BH_OP_START) == 0
    assert B.op_start(buf, 65536) == 65536
    B.set_header_word(buf, F.BH_OP_START, 65532)
    assert B.is_outpointer(buf, 65536, 65532)
    assert not B.is_outpointer(buf, 65536, 100)


def test_bad_block_size():
    with pytest.raises(ValueError):
        B.format_block(0, 5000)
