"""Each kind of upload people really send, a few generated files each, through the real model.

The digits are the committed 28x28 samples (drawn from pen paths, not MNIST), turned into each
kind by the same generators `make evaluate` uses on the MNIST test set. Every test checks that
the generated file really is that kind (format, mode, EXIF tag, frames, transparency) and that
the service reads the right digit from it.
"""
import io

import numpy as np
import pytest
from PIL import Image

import config
from core.decode import open_image
from core.pipeline import digit_from_grey, digit_from_upload
from harness import ROOT
from training.user_style import EXIF_ORIENTATION, KINDS, STORED_AS, generate

LIMITS = config.image_limits()
DIGITS = np.stack([np.asarray(Image.open(ROOT / "samples" / f"{d}_mnist_style.png"))
                   for d in range(10)])


def opened(data):
    return Image.open(io.BytesIO(data))


def is_kind(kind, data):
    """Whether the file has the property that makes it this kind."""
    image = opened(data)
    checks = {
        "photo_jpeg": lambda: image.format == "JPEG" and image.mode == "RGB",
        "canvas_png": lambda: (image.format == "PNG" and image.mode == "RGBA"
                               and np.asarray(image)[..., 3].min() == 0),
        "small_off_centre": lambda: min(image.size) >= 500,
        "thick_marker": lambda: image.format == "JPEG",
        "pencil_on_grey": lambda: image.format == "JPEG" and image.mode == "L"
        and np.ptp(np.asarray(image)) < 140,
        "odd_aspect": lambda: max(image.size) >= 3 * min(image.size),
        "exif_rotated_jpeg": lambda: image.getexif().get(EXIF_ORIENTATION) in (3, 6, 8),
        "palette_gif": lambda: image.format == "GIF" and image.mode == "P",
        "png16": lambda: image.format == "PNG" and image.mode.startswith("I"),
        "other_formats": lambda: image.format in ("BMP", "TIFF", "WEBP"),
        "multi_frame": lambda: getattr(image, "n_frames", 1) == 2,
        "chalkboard": lambda: np.median(np.asarray(image.convert("L"))) < 100,
    }
    return checks[kind]()


@pytest.fixture(scope="module")
def files():
    return {kind: generate(kind, DIGITS, seed=11) for kind in KINDS}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_is_read_right(wrapper, files, kind):
    assert all(is_kind(kind, data) for data in files[kind])
    outcomes = wrapper.predict(files[kind])
    predicted = [o[0]["prediction"] if isinstance(o, list) else repr(o) for o in outcomes]
    right = sum(p == d for p, d in zip(predicted, range(10)))
    assert right >= 9, f"{kind}: read {predicted} for 0..9"


def test_generation_is_deterministic():
    for kind in KINDS:
        assert generate(kind, DIGITS[:2], seed=5) == generate(kind, DIGITS[:2], seed=5)


def test_exif_rotation_is_undone_before_reading():
    data = generate("exif_rotated_jpeg", DIGITS[7:8], seed=1)[0]
    stored = opened(data)
    upright = open_image(data, **LIMITS)
    if stored.getexif()[EXIF_ORIENTATION] in (6, 8):
        assert upright.size == stored.size[::-1]
    digit = digit_from_upload(data, **LIMITS)
    # A 7's ink mass sits high: upright, the top half holds more of it than the bottom half.
    assert digit[:14].sum() > digit[14:].sum()


def test_multi_frame_files_are_read_from_their_first_frame(wrapper):
    for data in generate("multi_frame", DIGITS[3:4], seed=2) + generate("multi_frame",
                                                                        DIGITS[3:4], seed=4):
        assert wrapper.predict([data])[0][0]["prediction"] == 3


def test_pencil_on_grey_is_not_mistaken_for_a_blank_page():
    for data in generate("pencil_on_grey", DIGITS, seed=3):
        assert digit_from_upload(data, **LIMITS).max() == pytest.approx(1.0)


def correlation(a, b):
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_a_small_off_centre_digit_comes_out_like_the_digit_alone():
    """Found on a coarse copy of the page, cut from the full-size image with its detail."""
    for data, digit in zip(generate("small_off_centre", DIGITS, seed=6), DIGITS):
        alone = digit_from_grey(digit / np.float32(255))
        assert correlation(digit_from_upload(data, **LIMITS), alone) > 0.75


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_exif_orientation_is_honoured_in_other_formats_too(fmt):
    """The EXIF read is skipped only where a file cannot hold one; these formats can."""
    upright = Image.new("L", (40, 80), 255)
    upright.paste(0, (15, 10, 25, 70))  # a tall bar: a '1'
    stored = upright.transpose(STORED_AS[6])  # lying on its side, as a camera stores it
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format=fmt, exif=exif.tobytes(), **({"lossless": True} if fmt == "WEBP"
                                                          else {}))
    assert open_image(buffer.getvalue(), **LIMITS).size == (40, 80)
