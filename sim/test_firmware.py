"""The trap handlers (firmware/handlers/firmware.st) run by the firmware engine
(sim/firmware.py): far references across small blocks, lookup, and clear faults."""

import pytest

from blocktalk.memory import format as F
from blocktalk.sim.firmware import FirmwareFault
from blocktalk.sim.testing import RawRun, run_doit, run_raw, Sym, Arr, New

MANY_CLASSES = """| oc d s ws b sum |
oc := OrderedCollection new.
1 to: %d do: [:i | oc add: i * i].
d := Dictionary new.
oc do: [:x | d at: x put: x printString].
s := Set new.
oc do: [:x | s add: x \\\\ 7].
ws := WriteStream on: (String new: 0).
1 to: 12 do: [:i | ws print: i; nextPut: $ ].
b := Bag new. oc do: [:x | b add: x \\\\ 3].
sum := 0. oc do: [:x | sum := sum + x].
(Array with: sum with: d size with: s size with: ws contents)
	, (Array with: (3/4) + (1/6) with: 30 factorial with: (3@4) + 1 with: (b occurrencesOf: 1))
	, (Array with: #(3 1 2) asSortedCollection asArray with: 'hello' reversed
		with: (d at: 49) with: (1 to: 5) asArray)"""

EXPECTED_20 = ("(2870 20 4 '1 2 3 4 5 6 7 8 9 10 11 12 ' 11/12 "
               "265252859812191058636308480000000 4@5 14 (1 2 3 ) 'olleh' '49' (1 2 3 4 5 ) )")

_RESULTS = {}


def many_classes(bs, n=20, sram=None):
    key = (bs, n, sram)
    if key not in _RESULTS:
        _RESULTS[key] = run_doit(MANY_CLASSES % n, block_size=bs, sram_size=sram)
    return _RESULTS[key]


def test_many_classes_in_64k_blocks():
    m, value = many_classes(65536)
    assert value == EXPECTED_20


def test_many_classes_in_4k_blocks_same_answer_with_far_traps():
    m, value = many_classes(4096)
    assert value == many_classes(65536)[1] == EXPECTED_20
    traps = m.stats.traps
    assert traps.get("import", 0) > 0 and traps.get("export", 0) > 0
    assert traps.get("lookup", 0) > 0 and traps.get("blockFull", 0) > 0
    # smaller blocks mean more far references per bytecode than 64 KB blocks
    big = many_classes(65536)[0].stats
    assert traps["import"] / m.stats.bytecodes > big.traps["import"] / big.bytecodes


def test_many_classes_with_eviction_pressure():
    # 12 frames of 8 KB: blocks move in and out of the SRAM all the time
    m, value = many_classes(8192, sram=12 * 8192)
    assert value == EXPECTED_20
    assert m.stats.block_evictions > 100


def test_many_classes_in_default_sram_of_16k_blocks():
    assert F.default_sram_size(16384) == 16 * 16384
    m, value = many_classes(16384)
    assert value == EXPECTED_20


def test_many_classes_longer_run_in_4k_blocks():
    m, value = many_classes(4096, n=60)
    assert value.startswith("(73810 60 ")


# --- handlers fill the caches -----------------------------------------------------------------

def test_lookup_handler_fills_dispatch():
    r = RawRun()
    r.run([33, 208, 124], [Sym("who"), New("BtSub")])
    sel = r.symbol("who")
    method = r.mem.dispatch[(r.class_index["BtSub"], sel)]
    assert method is not None and r.mem.fmt(method) in (F.FMT_METHOD, F.FMT_METHOD_ODD)
    misses = r.core.stats.dispatch_misses
    r.run([33, 208, 124], [Sym("who"), New("BtSub")])
    assert r.core.stats.dispatch_misses == misses          # now a hit


def test_lookup_handler_installs_nil_for_not_understood():
    r = RawRun()
    with pytest.raises(Exception, match="doesNotUnderstand"):
        r.run([33, 208, 124], [Sym("who"), 3])
    assert r.mem.dispatch[(1, r.symbol("who"))] is None


def test_import_handler_fills_import_cache():
    r = RawRun()
    arr = r.value(Arr([Sym("who")]))
    op = (arr & ~r.mem.mask) + r.mem.word(arr + 6)
    assert r.mem.is_outpointer(op)
    r.mem.import_cache.pop(op, None)
    assert r.fetch(arr, 0) == r.symbol("who")
    assert r.mem.import_cache[op] == r.symbol("who")


# --- misuse faults clearly -----------------------------------------------------------------

def test_non_symbol_selector_faults():
    with pytest.raises(FirmwareFault, match="expected an object"):
        run_raw([33, 208, 124], [7, 3])          # the "selector" is the SmallInteger 7


def test_outpointer_with_bad_inpointer_index_faults():
    r = RawRun()
    arr = r.value(Arr([None]))
    frame = arr >> r.mem.log2
    op = r.mem.new_outpointer(frame, 0, 4000)    # block 0 has no InPointer 4000
    r.mem.mem[(arr >> 1) + 3] = op - (frame << r.mem.log2)
    with pytest.raises(FirmwareFault, match="out of bounds"):
        r.fetch(arr, 0)


def test_runaway_handler_is_stopped(monkeypatch):
    import blocktalk.sim.firmware as fw
    monkeypatch.setattr(fw, "FIRMWARE_STEP_LIMIT", 5)
    with pytest.raises(FirmwareFault, match="ran too long"):
        run_raw([33, 208, 124], [Sym("who"), New("BtSub")])
