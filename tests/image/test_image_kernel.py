"""The real kernel (firmware/kernel/MANIFEST + firmware/handlers) and the compile cache."""

import pytest

from blocktalk.image import cache
from blocktalk.image.builder import build_image, firmware_dir
from blocktalk.image.file import write_image, read_image
from blocktalk.image.stats import placement_stats

from imagecheck import check_image

HAVE_KERNEL = (firmware_dir() / "kernel" / "MANIFEST").exists()


@pytest.mark.skipif(not HAVE_KERNEL, reason="firmware/kernel/MANIFEST not written yet")
@pytest.mark.parametrize("size", [8192, 4096])
def test_kernel_image(size, tmp_path):
    image = build_image([], block_size=size)
    m, nmethods = check_image(image)
    assert nmethods > 100
    stats = placement_stats(image)
    assert stats["blocks"] == len(image.blocks)
    p = tmp_path / "k.image"
    write_image(p, image)
    back = read_image(p)
    assert back.blocks == image.blocks
    check_image(back)


SRC = """Object subclass: #A
	instanceVariableNames: 'x'
	classVariableNames: ''
	poolDictionaries: ''
	category: 'X'!

!A methodsFor: 'x'!
x
	^x + 1
! !
"""


def test_cache_hit_and_corrupt_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a = build_image([("a.st", SRC)], 4096, include_kernel=False)
    entries = list((tmp_path / "blocktalk").glob("*.pickle"))
    assert len(entries) == 1
    calls = []
    import blocktalk.compiler as C
    real = C.compile_method
    monkeypatch.setattr(C, "compile_method", lambda *a, **k: calls.append(1) or real(*a, **k))
    b = build_image([("a.st", SRC)], 4096, include_kernel=False)
    assert not calls and a.blocks == b.blocks
    entries[0].write_bytes(b"garbage")
    c = build_image([("a.st", SRC)], 4096, include_kernel=False)
    assert calls and c.blocks == a.blocks
    # another scope (ivars from another file) is another key
    assert cache.cache_key("a.st", SRC, [("A", False, ("x",))]) != \
        cache.cache_key("a.st", SRC, [("A", False, ("y",))])
