"""Image files: round trip and every ImageError of read_image."""

import json
import struct

import pytest

from blocktalk.memory import block as B
from blocktalk.image.file import Image, write_image, read_image, MAGIC
from blocktalk.image.errors import ImageError


def small_image():
    return Image(4096, [B.format_block(0, 4096), B.format_block(1, 4096)],
                 {"firmware": {"block": 0, "offset": 32}, "warnings": ["w"],
                  "class_names": {"5": "Array"}})


def test_round_trip(tmp_path):
    im = small_image()
    p = tmp_path / "x.image"
    write_image(p, im)
    back = read_image(p)
    assert back.block_size == 4096
    assert back.blocks == im.blocks
    assert back.meta == json.loads(json.dumps(im.meta))
    assert back.meta["block_count"] == 2
    assert back.warnings == ["w"]
    assert not list(tmp_path.glob(".*tmp"))


def write_raw(tmp_path, data):
    p = tmp_path / "bad.image"
    p.write_bytes(data)
    return p


def good_bytes():
    meta = json.dumps({"block_size": 4096, "block_count": 1}).encode()
    return MAGIC + struct.pack(">I", len(meta)) + meta + bytes(B.format_block(0, 4096))


@pytest.mark.parametrize("mangle,message", [
    (lambda d: b"NOT AN IMAGE\n" + d, "bad magic"),
    (lambda d: MAGIC + b"\x00\x00", "truncated image (no header length)"),
    (lambda d: MAGIC + b"\x00\x00\x10\x00{}", "truncated image (header needs 4096 bytes"),
    (lambda d: MAGIC + b"\x00\x00\x00\x02{x", "corrupt image header"),
    (lambda d: d[:-1], "truncated image: 1 blocks of 4096 bytes need 4096 bytes, 4095"),
    (lambda d: d + b"x", "trailing data"),
    (lambda d: d.replace(b'"block_size": 4096', b'"block_size": 4000'), "bad block size"),
    (lambda d: d.replace(b'"block_count": 1', b'"block_count": 0'), "bad block count"),
    (lambda d: d[:-4096] + bytes(B.format_block(3, 4096)), "block 0 has a bad header"),
])
def test_errors(tmp_path, mangle, message):
    p = write_raw(tmp_path, mangle(good_bytes()))
    with pytest.raises(ImageError) as e:
        read_image(p)
    assert str(e.value).startswith(f"{p}: ")
    assert message in str(e.value)


def test_good_bytes_read(tmp_path):
    assert len(read_image(write_raw(tmp_path, good_bytes())).blocks) == 1


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="cannot read image"):
        read_image(tmp_path / "none.image")
