"""Image files the tests build: a hand-drawn-looking digit in any mode, files that are not
images, the committed samples, numbers written with the samples' digits, and rows of digits
and hand-drawn letters."""
import io
import zipfile

import numpy as np
from PIL import Image, ImageDraw

from harness import ROOT
from harness.images import encode
from training import negatives
from training.numbers import compose, make_number, scan


def digit_image(mode="L", size=(96, 96), ink=0, paper=255):
    """A thick hand-drawn-looking 7 on plain paper, in any Pillow mode."""
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.line([(w * 0.2, h * 0.2), (w * 0.8, h * 0.2), (w * 0.45, h * 0.85)], fill=ink,
              width=max(2, w // 10))
    return image.convert(mode)


def zip_file():
    """A zip archive holding a digit PNG: not an image itself."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("digit.png", encode(digit_image()))
    return buffer.getvalue()


def animated_gif():
    """A three-frame GIF whose first frame is the digit."""
    frames = [digit_image("P"), Image.new("P", (96, 96), 0), digit_image("P", ink=128)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def sample(name):
    """The bytes of a committed sample image (samples/)."""
    return (ROOT / "samples" / name).read_bytes()


def sample_digit(digit):
    """The committed MNIST-style sample of a digit: 28x28, white on black, as an array."""
    return np.asarray(Image.open(io.BytesIO(sample(f"{digit}_mnist_style.png"))))


def number(text, spacing="spaced", medium="scan", seed=0):
    """A training.numbers.Number (file bytes, text, each digit's true box) of `text` written
    with the sample digits."""
    digits = [int(character) for character in text]
    return make_number([sample_digit(d) for d in digits], digits, spacing, medium,
                       np.random.default_rng(seed))


def broken_digit(digit):
    """A sample digit (28x28, ink bright) whose rightmost stroke breaks off: its last three
    columns of ink cut from the rest by a gap of two, and only their upper half kept."""
    image = sample_digit(digit).copy()
    right = int(np.flatnonzero(image.max(axis=0) > 60)[-1])
    piece = image[:, right - 2:right + 1].copy()
    image[:, right - 4:right + 1] = 0
    rows = np.flatnonzero(piece.max(axis=1) > 60)
    upper = rows[:max(1, len(rows) // 2)]
    image[upper, right - 2:right + 1] = piece[upper]
    return image


def short_digit(digit, scale):
    """A sample digit (28x28, ink bright) shrunk to `scale` of its size, standing on the line
    the others stand on (MNIST's bottom margin)."""
    image = Image.fromarray(sample_digit(digit))
    small = image.crop(image.getbbox())
    small = small.resize((max(1, round(small.width * scale)), max(1, round(small.height * scale))),
                         Image.Resampling.BICUBIC)
    out = Image.new("L", (28, 28), 0)
    out.paste(small, ((28 - small.width) // 2, 24 - small.height))
    return np.asarray(out)


def hand_letter(name, seed=0):
    """A hand-drawn capital letter (one of training.negatives.LETTERS) at MNIST's size: 28x28,
    white on black, as an array."""
    rng = np.random.default_rng(seed)
    strokes = negatives._place(negatives._jitter_strokes(negatives.LETTERS[name], rng), rng)
    coverage = negatives._render(strokes, 8)
    return np.asarray(Image.fromarray(np.round(coverage * 255).astype(np.uint8)).resize(
        (28, 28), Image.Resampling.BILINEAR))


def row_scan(shapes, spacing, seed=1):
    """A scan (grey PNG bytes) of 28x28 shapes written in a row with this spacing, three times
    MNIST's size."""
    return row_scan_boxes(shapes, spacing, seed)[0]


def row_scan_boxes(shapes, spacing, seed=1):
    """row_scan's file, and each shape's box (x, y, w, h) in its pixels."""
    field, boxes = compose(shapes, spacing, np.random.default_rng(seed))
    big = Image.fromarray(np.round(field * 255).astype(np.uint8)).resize(
        (field.shape[1] * 3, field.shape[0] * 3), Image.Resampling.BICUBIC)
    return (scan(np.asarray(big, np.float32) / 255, np.random.default_rng(seed)),
            [tuple(3 * side for side in box) for box in boxes])
