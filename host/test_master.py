"""The master's block table and cost model (host/master.py) with a stand-in core."""

from blocktalk.host.master import Master
from blocktalk.host.store import BlockStore
from blocktalk.image.builder import build_image


def test_a_block_given_back_unchanged_moves_nothing():
    store = BlockStore(build_image([], block_size=8192))
    charged = {}
    master = Master(store, read_mostly=set(), clock=lambda i: 0,
                    charge=lambda i, c: charged.__setitem__(i, charged.get(i, 0) + c))
    number = store.count - 1
    data = bytes(master.request(0, number))
    assert master.blocks_moved == 1
    master.write_back(0, number, data)          # a clean frame
    assert master.blocks_moved == 1 and master.clean_releases == 1
    changed = b"\x01" + data[1:] if data[0] != 1 else b"\x02" + data[1:]
    master.write_back(0, number, changed)
    assert master.blocks_moved == 2 and store.peek(number) == changed
    # a request costs its message and the block's words, one a cycle
    assert charged[0] == 200 + 4096 + 4096
