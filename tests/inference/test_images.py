"""Every bad or odd image a user can upload: a clear message or a sensible conversion."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ferlab.inference.images import ImageError, load_image


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def rgb(rng):
    return Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8))


def test_empty_file(tmp_path):
    with pytest.raises(ImageError, match=r"x.jpg is empty \(0 bytes\)"):
        load_image(b"", "x.jpg")


def test_not_an_image():
    with pytest.raises(ImageError, match="notes.txt is not an image ferlab can read.*jpg, png, webp or bmp"):
        load_image(b"hello, this is text", "notes.txt")


def test_truncated_jpeg(rgb):
    big = rgb.resize((400, 300))
    data = encode(big, "JPEG", quality=95)
    with pytest.raises(ImageError, match="cut.jpg is truncated or damaged"):
        load_image(data[: len(data) // 3], "cut.jpg")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP"])
def test_formats(rgb, fmt):
    img = load_image(encode(rgb, fmt), f"a.{fmt.lower()}")
    assert img.rgb.shape == (60, 80, 3) and img.gray.shape == (60, 80) and img.notes == ()


def test_cmyk_rgba_and_16_bit_are_converted(rgb, rng):
    assert "CMYK converted to RGB" in load_image(encode(rgb.convert("CMYK"), "JPEG"), "c.jpg").notes
    rgba = rgb.convert("RGBA")
    rgba.putalpha(0)  # fully transparent: becomes white
    img = load_image(encode(rgba, "PNG"), "t.png")
    assert "transparency flattened on white" in img.notes and img.rgb.min() == 255
    deep = Image.fromarray(rng.integers(0, 65535, (40, 40), dtype=np.uint16))
    img = load_image(encode(deep, "PNG"), "d.png")
    assert "16-bit image scaled to 8-bit" in img.notes and img.gray.max() > 200


def test_exif_orientation_is_honoured(rgb):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img = load_image(encode(rgb, "JPEG", exif=exif), "phone.jpg")
    assert img.rgb.shape == (80, 60, 3) and "rotated upright (EXIF orientation)" in img.notes


def test_fifty_megapixel_photo_is_downscaled():
    big = Image.new("L", (8660, 5774), 128)  # 50.0 MP
    img = load_image(encode(big, "JPEG", quality=50), "huge.jpg")
    assert max(img.rgb.shape[:2]) == 1600
    assert any("large photo (50 MP) downscaled from 8660x5774" in n for n in img.notes)


def test_decompression_bomb_is_refused():
    # a PNG whose header claims 20000 x 20000 pixels
    header = encode(Image.new("1", (20000, 20000)), "PNG")
    with pytest.raises(ImageError, match="larger than 120 megapixels; downscale it first"):
        load_image(header, "bomb.png")
