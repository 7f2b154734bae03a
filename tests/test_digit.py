"""Pre-processing: any image to MNIST's 28x28 white-on-black layout."""
import numpy as np
import pytest
from PIL import Image

from core.digit import (ImageTooLarge, InvalidImage, NoDigitFound, normalise_digit,
                        open_image, prepare_digit, to_grey)
from tests.helpers import encode

LIMITS = {"max_pixels": 16_000_000, "max_side": 10_000}


def bar(height=200, width=120, ink=0, paper=255):
    """A thick vertical stroke (a '1') as a uint8 array."""
    pixels = np.full((height, width), paper, dtype=np.uint8)
    pixels[20:-20, width // 2 - 8:width // 2 + 8] = ink
    return pixels


def test_output_is_mnist_layout():
    digit = prepare_digit(encode(bar()), **LIMITS)
    assert digit.shape == (28, 28)
    rows = np.nonzero(digit.max(axis=1) > 0.1)[0]
    assert rows[-1] - rows[0] + 1 in (19, 20, 21)  # longest side fits the 20-pixel box
    centre_y, centre_x = np.argwhere(digit > 0).mean(axis=0)
    assert abs(centre_y - 13.5) <= 1 and abs(centre_x - 13.5) <= 1


def test_polarity_does_not_matter():
    dark_on_light = prepare_digit(encode(bar(ink=20, paper=230)), **LIMITS)
    light_on_dark = prepare_digit(encode(bar(ink=230, paper=20)), **LIMITS)
    np.testing.assert_allclose(dark_on_light, light_on_dark, atol=0.05)


def test_transparent_canvas_export():
    rgba = np.zeros((200, 120, 4), dtype=np.uint8)
    rgba[20:-20, 52:68] = (0, 0, 0, 255)
    digit = prepare_digit(encode(rgba), **LIMITS)
    assert digit.max() == pytest.approx(1.0) and (digit > 0.5).sum() > 10


def test_sixteen_bit_greyscale():
    pixels = bar().astype(np.uint16) * 257
    image = Image.fromarray(pixels)
    assert image.mode.startswith("I")
    assert prepare_digit(encode(image), **LIMITS).max() == pytest.approx(1.0)


def test_blank_page_has_no_digit():
    with pytest.raises(NoDigitFound):
        normalise_digit(np.full((100, 100), 0.8, dtype=np.float32))


def test_declared_size_is_checked_before_decoding():
    huge = encode(Image.new("L", (5000, 5000)))
    with pytest.raises(ImageTooLarge):
        open_image(huge, max_pixels=1_000_000, max_side=10_000)


def test_corrupt_and_empty_files():
    with pytest.raises(InvalidImage):
        open_image(b"", **LIMITS)
    noise = np.random.default_rng(0).integers(0, 255, (100, 100), dtype=np.uint8)
    for fmt in ("PNG", "JPEG"):
        data = encode(noise, fmt)
        with pytest.raises(InvalidImage, match="truncated"):
            open_image(data[:len(data) // 2], **LIMITS)


def test_to_grey_scales_to_unit_range():
    grey = to_grey(Image.fromarray(bar()))
    assert grey.dtype == np.float32 and grey.min() == 0.0 and grey.max() == 1.0
