"""Handwritten numbers composed from single digits, and how well they are read.

    python -m training.numbers ../shared/mnist [--per-cell 300] [--model assets/mnist_cnn.tflite]
        [--reader assets/mnist_reader.tflite]

Numbers of 2-8 digits are composed, deterministically from a seed, from MNIST **test** digits
(and, when scikit-learn is installed, from its bundled 8x8 digits by 43 writers outside MNIST),
with three spacings (`spaced`: gaps of a fifth to half a digit's height; `tight`: gaps of one
or two MNIST pixels; `touching`: each digit slid onto its neighbour until their strokes meet)
and three media (a paper photo as JPEG, a scan as grey PNG, a drawing-app canvas as transparent
PNG). Each file goes through `NumberReader.read`, exactly as an upload to `POST /model/read`;
Tesseract 5 (one text line, digits only) reads the same files as a reference. Prints a Markdown
table per set, spacing and medium: exact-number accuracy, and the calibration (ECE) of the
digits' probabilities in readings with the right number of digits.
"""
import argparse
import dataclasses
import logging
import pathlib
import shutil
import subprocess  # nosec B404  # runs the tesseract CLI on files this module wrote
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageFilter

import config
from core.errors import ImageError
from core.model import ModelWrapper
from core.number import NumberReader
from core.runtime import load_sequence
from training.calibrate import calibration_gap
from training.mnist import load_split
from training.user_style import dark_ink, ink_on_paper, lighting, save, tinted_paper

SPACINGS = ("spaced", "tight", "touching")
MEDIA = ("photo", "scan", "canvas")
LENGTHS = range(2, 9)
INK_LEVEL = 0.25  # coverage above which a pixel counts as stroke when digits are slid together


@dataclasses.dataclass(frozen=True)
class Number:
    """One composed number: its file, its digits as text, and each digit's box (x, y, w, h)."""

    data: bytes
    text: str
    boxes: tuple


def crop_ink(digit):
    """A digit's coverage in [0, 1] cropped to its ink."""
    coverage = np.asarray(digit, dtype=np.float32) / float(max(digit.max(), 1))
    rows = np.nonzero(coverage.max(axis=1) > 0.05)[0]
    cols = np.nonzero(coverage.max(axis=0) > 0.05)[0]
    return coverage[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _gap_for(spacing, left, right, offset_left, offset_right, rng):
    """Columns between the right edge of `left` and the left edge of `right` (negative:
    they overlap) for this spacing; both are coverage crops placed at the given row offsets."""
    height = max(offset_left + left.shape[0], offset_right + right.shape[0])
    if spacing == "spaced":
        return int(rng.integers(4, 10))
    if spacing == "tight":
        return int(rng.integers(1, 3))
    # touching: slide `right` left until a stroke pixel of it meets one of `left`
    a = np.zeros((height, left.shape[1]), dtype=bool)
    a[offset_left:offset_left + left.shape[0]] = left > INK_LEVEL
    b = np.zeros((height, right.shape[1]), dtype=bool)
    b[offset_right:offset_right + right.shape[0]] = right > INK_LEVEL
    for span in range(1, min(left.shape[1], right.shape[1])):  # columns the two share
        if (a[:, left.shape[1] - span:] & b[:, :span]).any():
            return -span
    return -min(left.shape[1], right.shape[1]) // 2


def compose(digits, spacing, rng):
    """Coverage map [h, w] of the digits written in a row at MNIST scale (~20 pixels high), with
    a margin, and each digit's box (x, y, w, h) in it. `spacing` is one of SPACINGS, or one per
    gap between two digits."""
    crops = [crop_ink(digit) for digit in digits]
    offsets = [int(rng.integers(0, 4)) for _ in crops]  # a wavy baseline
    height = max(o + c.shape[0] for o, c in zip(offsets, crops))
    margin = 6
    lefts = [margin]
    for index in range(1, len(crops)):
        gap = _gap_for(spacing if isinstance(spacing, str) else spacing[index - 1],
                       crops[index - 1], crops[index], offsets[index - 1],
                       offsets[index], rng)
        lefts.append(lefts[-1] + crops[index - 1].shape[1] + gap)
    width = max(left + crop.shape[1] for left, crop in zip(lefts, crops)) + margin
    field = np.zeros((height + 2 * margin, width), dtype=np.float32)
    boxes = []
    for left, top, crop in zip(lefts, offsets, crops):
        region = field[margin + top:margin + top + crop.shape[0], left:left + crop.shape[1]]
        np.maximum(region, crop, out=region)
        boxes.append((left, margin + top, crop.shape[1], crop.shape[0]))
    return field, boxes


def _enlarge(coverage, boxes, scale):
    """The coverage map and its boxes `scale` times larger (bicubic)."""
    height, width = coverage.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = Image.fromarray(np.round(coverage * 255).astype(np.uint8)).resize(
        size, Image.Resampling.BICUBIC)
    scaled = tuple(tuple(int(round(v * scale)) for v in box) for box in boxes)
    return np.asarray(image, dtype=np.float32) / 255.0, scaled


def photo(coverage, rng):
    """Dark ink on tinted, unevenly lit, noisy, slightly blurred paper, as a JPEG."""
    height, width = coverage.shape
    pixels = ink_on_paper(coverage, tinted_paper(rng), dark_ink(rng),
                          lighting(height, width, rng, rng.uniform(0.1, 0.3)),
                          rng.uniform(2, 6), rng)
    image = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))
    return save(image, "JPEG", quality=int(rng.integers(60, 92)))


def scan(coverage, rng):
    """Dark ink on near-white paper with a little noise, as a grey PNG."""
    paper = (float(rng.uniform(225, 250)),)
    ink = (float(rng.uniform(15, 60)),)
    pixels = ink_on_paper(coverage, paper, ink, np.ones_like(coverage), rng.uniform(1, 3), rng)
    return save(Image.fromarray(pixels[..., 0]), "PNG", compress_level=1)


def canvas(coverage, rng):
    """Strokes on a fully transparent background (a drawing app's export), as an RGBA PNG."""
    light_ink = rng.random() < 0.2
    ink = (255, 255, 255) if light_ink else tuple(int(v) for v in rng.integers(0, 60, 3))
    hidden = (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)  # colour under alpha 0
    rgba = np.empty(coverage.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = np.where(coverage[..., None] > 0, np.asarray(ink), np.asarray(hidden))
    rgba[..., 3] = np.round(coverage * 255)
    return save(Image.fromarray(rgba, "RGBA"), "PNG")


MAKERS = {"photo": (photo, (2.5, 5.0)), "scan": (scan, (1.5, 3.0)), "canvas": (canvas, (3.0, 6.0))}


def make_number(digits, labels, spacing, medium, rng):
    """One Number: `digits` (2-D uint8 arrays, ink bright) in a row, as a file of `medium`."""
    coverage, boxes = compose(digits, spacing, rng)
    maker, scales = MAKERS[medium]
    coverage, boxes = _enlarge(coverage, boxes, rng.uniform(*scales))
    return Number(maker(coverage, rng), "".join(str(int(label)) for label in labels), boxes)


def make_set(images, labels, spacing, medium, count, seed):
    """`count` Numbers of 2-8 digits drawn from (images, labels), reproducible from the seed,
    the spacing and the medium alone."""
    rng = np.random.default_rng([seed, SPACINGS.index(spacing), MEDIA.index(medium)])
    numbers = []
    for _ in range(count):
        picks = rng.integers(0, len(images), int(rng.choice(LENGTHS)))
        numbers.append(make_number(images[picks], labels[picks], spacing, medium, rng))
    return numbers


def outside_writers():
    """(images uint8 [n, 8, 8] with ink bright, labels) of scikit-learn's bundled digits by 43
    writers outside MNIST, or None when scikit-learn is not installed."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        return None
    bunch = load_digits()
    images = np.round(bunch.images * (255 / 16)).astype(np.uint8)
    return images, bunch.target.astype(np.int64)


def enlarge_small(images, side=28):
    """Tiny digits (8x8) enlarged to MNIST's size (bicubic), so they compose at its scale."""
    return np.asarray([np.asarray(Image.fromarray(image).resize(
        (side * image.shape[1] // image.shape[0], side), Image.Resampling.BICUBIC))
        for image in images])


@dataclasses.dataclass(frozen=True)
class Score:
    """How the reader did on a set of numbers: how many it read exactly and how many it
    refused, and the ECE of its digits' probabilities in the readings with as many digits as
    the number has."""

    exact: int
    refused: int
    digit_ece: float


def score(reader, numbers):
    """The reader's Score on `numbers`, each read as an upload."""
    outcomes = [reader.read([number.data])[0] for number in numbers]
    read = [(outcome, number) for outcome, number in zip(outcomes, numbers)
            if not isinstance(outcome, ImageError)]
    aligned = [(digit.probability, str(digit.prediction) == truth) for outcome, number in read
               if len(outcome.text) == len(number.text)
               for digit, truth in zip(outcome.digits, number.text)]
    confidence, correct = zip(*aligned) if aligned else ((), ())
    return Score(sum(outcome.text == number.text for outcome, number in read),
                 len(outcomes) - len(read),
                 calibration_gap(confidence, correct) if aligned else float("nan"))


def tesseract_exact(numbers):
    """How many numbers Tesseract (one text line, digits only) reads exactly, or None without
    the tesseract CLI. All files go to one tesseract run through a list file."""
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, number in enumerate(numbers):
            suffix = ".jpg" if number.data[:2] == b"\xff\xd8" else ".png"
            path = pathlib.Path(folder) / f"{index:05d}{suffix}"
            path.write_bytes(number.data)
            paths.append(str(path))
        listing = pathlib.Path(folder) / "list.txt"
        listing.write_text("\n".join(paths) + "\n")
        done = subprocess.run(  # nosec B603  # fixed arguments, our own temporary files
            [binary, str(listing), "stdout", "--psm", "7", "-c",
             "tessedit_char_whitelist=0123456789"],
            capture_output=True, text=True, check=False)
    pages = done.stdout.split("\f")
    read = ["".join(ch for ch in page if ch.isdigit()) for page in pages[:len(numbers)]]
    return sum(text == number.text for text, number in zip(read, numbers))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="folder holding the MNIST idx .gz files")
    parser.add_argument("--model", default="assets/mnist_cnn.tflite")
    parser.add_argument("--reader", default="assets/mnist_reader.tflite",
                        help="the sequence model that reads joined digits")
    parser.add_argument("--per-cell", type=int, default=300,
                        help="numbers per set x spacing x medium")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--split", default="test", choices=["test", "train"],
                        help="MNIST split the digits come from (train: for tuning only)")
    parser.add_argument("--no-tesseract", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    limits = config.image_limits()
    reader = NumberReader(ModelWrapper(args.model, **limits), load_sequence(args.reader), **limits)
    sets = [(f"MNIST {args.split} digits", *load_split(args.data_dir, args.split), SPACINGS)]
    outside = outside_writers()
    if outside is not None:
        sets.append(("writers outside MNIST (scikit-learn digits)",
                     enlarge_small(outside[0]), outside[1], SPACINGS))
    else:
        print("scikit-learn is not installed: no numbers by writers outside MNIST\n")
    print(f"model {args.model}; seed {args.seed}; {args.per_cell} numbers of 2-8 digits per "
          "row\n")
    print("| digits from | spacing | medium | numbers | exact | refused | digit ECE | "
          "Tesseract 5 exact | ms per number |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    sys.stdout.flush()
    for name, images, labels, spacings in sets:
        for spacing in spacings:
            for medium in MEDIA:
                numbers = make_set(images, labels, spacing, medium, args.per_cell, args.seed)
                started = time.perf_counter()
                scored = score(reader, numbers)
                seconds = time.perf_counter() - started
                reference = None if args.no_tesseract else tesseract_exact(numbers)
                shown = "n/a" if reference is None else f"{100 * reference / len(numbers):.1f} %"
                print(f"| {name} | {spacing} | {medium} | {len(numbers)} | "
                      f"{100 * scored.exact / len(numbers):.1f} % | {scored.refused} | "
                      f"{100 * scored.digit_ece:.2f} % | {shown} | "
                      f"{1000 * seconds / len(numbers):.2f} |")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
