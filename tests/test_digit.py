"""Pre-processing: any image to MNIST's 28x28 white-on-black layout."""
import io

import numpy as np
import pytest
from PIL import Image

import config
from core.arrays import box_downscale, percentile_rows
from core.decode import open_image
from core.errors import ImageError, ImageTooLarge, InvalidImage, NoDigitFound
from core.grey import to_grey
from core.pipeline import digit_from_grey, digit_from_upload, digits_from_uploads
from harness.images import encode
from tests.builders import sample

LIMITS = config.image_limits()


def bar(height=200, width=120, ink=0, paper=255):
    """A thick vertical stroke (a '1') as a uint8 array."""
    pixels = np.full((height, width), paper, dtype=np.uint8)
    pixels[20:-20, width // 2 - 8:width // 2 + 8] = ink
    return pixels


def test_output_is_mnist_layout():
    digit = digit_from_upload(encode(bar()), **LIMITS)
    assert digit.shape == (28, 28)
    rows = np.nonzero(digit.max(axis=1) > 0.1)[0]
    assert rows[-1] - rows[0] + 1 in (19, 20, 21)  # longest side fits the 20-pixel box
    centre_y, centre_x = np.argwhere(digit > 0).mean(axis=0)
    assert abs(centre_y - 13.5) <= 1 and abs(centre_x - 13.5) <= 1


def test_polarity_does_not_matter():
    dark_on_light = digit_from_upload(encode(bar(ink=20, paper=230)), **LIMITS)
    light_on_dark = digit_from_upload(encode(bar(ink=230, paper=20)), **LIMITS)
    np.testing.assert_allclose(dark_on_light, light_on_dark, atol=0.05)


def test_transparent_canvas_export():
    rgba = np.zeros((200, 120, 4), dtype=np.uint8)
    rgba[20:-20, 52:68] = (0, 0, 0, 255)
    digit = digit_from_upload(encode(rgba), **LIMITS)
    assert digit.max() == pytest.approx(1.0) and (digit > 0.5).sum() > 10


def test_sixteen_bit_greyscale():
    pixels = bar().astype(np.uint16) * 257
    image = Image.fromarray(pixels)
    assert image.mode.startswith("I")
    assert digit_from_upload(encode(image), **LIMITS).max() == pytest.approx(1.0)


def test_blank_page_has_no_digit():
    with pytest.raises(NoDigitFound):
        digit_from_grey(np.full((100, 100), 0.8, dtype=np.float32))


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


def blank_photo(height, width, seed, noise=6.0):
    """A photographed blank page: tinted paper, uneven light, sensor noise, JPEG."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width] / max(height, width)
    light = 1.0 - 0.25 * xs + 0.1 * ys - 0.2 * ((xs - 0.5) ** 2 + (ys - 0.5) ** 2)
    paper = np.array([236, 226, 198]) * light[..., None] + rng.normal(0, noise, (height, width, 3))
    return encode(np.clip(paper, 0, 255).astype(np.uint8), "JPEG", quality=70)


@pytest.mark.parametrize("data", [
    encode(np.full((300, 300), 255, dtype=np.uint8)),
    encode(np.zeros((28, 28), dtype=np.uint8)),
    encode(np.full((120, 90, 3), (200, 180, 40), dtype=np.uint8), "JPEG"),
    blank_photo(480, 360, seed=1),
    blank_photo(180, 700, seed=2, noise=9.0),
    blank_photo(64, 64, seed=3, noise=4.0),
    encode(np.zeros((200, 200, 4), dtype=np.uint8)),  # an untouched transparent canvas
    encode(Image.fromarray(np.full((100, 100), 40000, dtype=np.uint16))),
], ids=["white", "black", "yellow-jpeg", "photo", "wide-noisy-photo", "small-noisy-photo",
        "transparent-canvas", "16-bit-grey"])
def test_a_blank_page_is_refused_not_guessed(data):
    with pytest.raises(NoDigitFound, match="no digit found"):
        digit_from_upload(data, **LIMITS)


def test_a_faint_stroke_on_the_same_paper_is_found():
    """The blank-page rule must not swallow pencil: 15 % contrast on noisy grey paper."""
    rng = np.random.default_rng(4)
    paper = np.full((300, 240), 160.0) + rng.normal(0, 4, (300, 240))
    paper[60:240, 110:122] -= 0.15 * 255
    digit = digit_from_upload(encode(np.clip(paper, 0, 255).astype(np.uint8), "JPEG"), **LIMITS)
    assert digit.max() == pytest.approx(1.0) and (digit > 0.5).sum() > 10


def test_percentile_rows_matches_numpy():
    rows = np.random.default_rng(5).random((7, 101)).astype(np.float32)
    for fraction in (0.0, 0.2, 0.5, 0.9, 1.0):
        np.testing.assert_allclose(percentile_rows(rows, fraction),
                                   np.percentile(rows, 100 * fraction, axis=1), rtol=1e-6)


def test_box_downscale_averages_blocks_and_keeps_partial_edges():
    pixels = np.arange(25, dtype=np.float32).reshape(5, 5)
    small = box_downscale(pixels, 2)
    assert small.shape == (3, 3)
    assert small[0, 0] == pytest.approx(pixels[:2, :2].mean())
    assert small[2, 2] == pytest.approx(pixels[4, 4])


def test_a_large_image_is_located_coarsely_but_cut_at_full_resolution():
    """A thin digit, 60 pixels tall in a 1000x1000 page, still comes out whole and centred."""
    page = np.full((1000, 1000), 245, dtype=np.uint8)
    page[700:760, 150:154] = 20  # a thin vertical stroke, 4 pixels wide
    page[700:704, 140:170] = 20  # with a short bar on top
    digit = digit_from_upload(encode(page), **LIMITS)
    rows, cols = np.nonzero(digit > 0.3)
    assert np.ptp(rows) + 1 >= 19  # the 60-pixel stroke fills the 20-pixel box
    centre_y, centre_x = (np.indices(digit.shape) * digit).sum(axis=(1, 2)) / digit.sum()
    assert abs(centre_y - 13.5) <= 1 and abs(centre_x - 13.5) <= 1


def test_grey_with_alpha_is_composited_like_rgba():
    la = np.zeros((200, 120, 2), dtype=np.uint8)
    la[20:-20, 52:68] = (0, 255)  # black, opaque strokes; the rest transparent
    from_la = digit_from_upload(encode(Image.fromarray(la, "LA")), **LIMITS)
    rgba = np.zeros((200, 120, 4), dtype=np.uint8)
    rgba[20:-20, 52:68] = (0, 0, 0, 255)
    np.testing.assert_allclose(from_la, digit_from_upload(encode(rgba), **LIMITS), atol=1e-6)


def test_a_colour_jpeg_is_decoded_small_and_as_luma_only():
    photo = np.full((400, 400, 3), (230, 220, 190), dtype=np.uint8)
    photo[80:320, 190:210] = (20, 20, 60)
    image = open_image(encode(photo, "JPEG"), **LIMITS)
    assert image.mode == "L" and image.size == (200, 200)
    assert digit_from_upload(encode(photo, "JPEG"), **LIMITS).max() == pytest.approx(1.0)


@pytest.mark.parametrize("mode,fmt", [("1", "BMP"), ("1", "TIFF"), ("I", "TIFF"), ("F", "TIFF"),
                                      ("CMYK", "JPEG"), ("CMYK", "TIFF"), ("P", "BMP"),
                                      ("L", "WEBP"), ("RGB", "WEBP"), ("LA", "WEBP"),
                                      ("RGBA", "TIFF")])
def test_every_mode_and_format_gives_the_same_digit(mode, fmt):
    pixels = bar()
    if mode in ("I", "F"):
        image = Image.fromarray(pixels.astype(np.int32 if mode == "I" else np.float32))
    else:
        image = Image.fromarray(pixels).convert(mode)
    assert image.mode == mode
    expected = digit_from_upload(encode(pixels), **LIMITS)
    np.testing.assert_allclose(digit_from_upload(encode(image, fmt), **LIMITS), expected, atol=0.1)


def test_a_float_tiff_with_nan_and_infinite_pixels_still_gives_the_digit():
    """TIFF holds float pixels; NaN and infinities are no ink (they once crashed Otsu)."""
    pixels = bar(ink=255, paper=0).astype(np.float32)
    pixels[0, :3] = [np.nan, np.inf, -np.inf]
    expected = digit_from_upload(encode(bar(ink=255, paper=0)), **LIMITS)
    np.testing.assert_allclose(digit_from_upload(encode(Image.fromarray(pixels), "TIFF"), **LIMITS),
                               expected, atol=0.1)


def test_images_of_one_size_are_located_together_yet_each_gets_its_own_digit():
    digits = [np.asarray(Image.open(io.BytesIO(sample(f"{d}_mnist_style.png")))) for d in range(10)]
    light = np.linspace(0, 90, 28)[None, :]  # uneven lighting: each cell its own paper level
    uploads = [encode(digit) for digit in digits]
    uploads += [encode(255 - digit) for digit in digits[:4]]
    uploads += [encode(np.clip(230 - 0.6 * digit - light, 0, 255).astype(np.uint8))
                for digit in digits[4:]]
    uploads += [encode(np.full((28, 28), 200, np.uint8)), b"not an image",
                encode(bar(60, 40)), encode(bar(60, 40, ink=200, paper=40))]
    together = digits_from_uploads(uploads, **LIMITS)
    assert len(together) == len(uploads)
    for data, outcome in zip(uploads, together):
        try:
            alone = digit_from_upload(data, **LIMITS)
        except ImageError as error:
            assert type(outcome) is type(error)
            continue
        np.testing.assert_allclose(outcome, alone, atol=1e-6)
    assert sum(isinstance(outcome, ImageError) for outcome in together) == 2
