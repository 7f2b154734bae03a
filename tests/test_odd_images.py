"""Odd but real images (any mode, depth, format, shape): answered, never a 5xx."""
import numpy as np
import pytest
from PIL import Image

from harness.images import encode
from tests.builders import animated_gif, digit_image
from tests.helpers import post_files


def cmyk_jpeg():
    return encode(digit_image("CMYK"), "JPEG", quality=95)


ODD_IMAGES = {
    "one-pixel.png": (encode(Image.new("L", (1, 1), 0)), {422}),
    "one-by-9000.png": (encode(Image.new("L", (1, 9000), 255)), {422}),
    "9000-by-one-with-ink.png": (encode(np.tile(np.r_[np.full(4000, 255), np.zeros(1000),
                                                      np.full(4000, 255)].astype(np.uint8),
                                                (1, 1))), {200, 422}),
    "blank-white.png": (encode(Image.new("L", (280, 280), 255)), {422}),
    "blank-black.jpg": (encode(Image.new("RGB", (280, 280), 0), "JPEG"), {422}),
    "noise.png": (encode(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)),
                  {200, 422}),
    "animated.gif": (animated_gif(), {200}),
    "cmyk.jpg": (cmyk_jpeg(), {200}),
    "progressive.jpg": (encode(digit_image("RGB"), "JPEG", progressive=True), {200}),
    "sixteen-bit.png": (encode(np.asarray(digit_image(), dtype=np.uint16) * 257), {200}),
    "one-bit.bmp": (encode(digit_image("1"), "BMP"), {200}),
    "transparent.png": (encode(digit_image("LA")), {200}),
    "palette.gif": (encode(digit_image("P"), "GIF"), {200}),
    "rgba.webp": (encode(digit_image("RGBA"), "WEBP"), {200}),
    "float.tiff": (encode(digit_image("F"), "TIFF"), {200}),
    "lab.tiff": (encode(digit_image("RGB").convert("LAB"), "TIFF"), {200, 400, 422}),
    "ycbcr.jpg": (encode(digit_image("YCbCr"), "JPEG"), {200}),
}


@pytest.mark.parametrize("name", sorted(ODD_IMAGES))
def test_odd_but_real_images_are_answered_never_a_5xx(service, name):
    data, expected = ODD_IMAGES[name]
    response = post_files(service, (name, data))
    assert response.status_code in expected, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == ("ok" if response.status_code == 200 else "error")
