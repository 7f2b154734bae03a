"""Where the digit's ink is: found on coarse copies of a whole stack of images at once, then cut
from each full-resolution image.

The ink is bright-on-zero levels whatever the picture's polarity: the paper is the border's
median, uneven lighting is flattened by a per-region background level, and a level (Otsu's) over
the paper's own noise separates the strokes.
"""
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from core.arrays import box_downscale, dilate, percentile_rows, resize
from core.errors import NoDigitFound
from core.normalise import STROKE_SIDE

ANALYSIS_SIDE = 128  # the ink is located on a copy box-averaged down to at most this size
BACKGROUND_CELLS = 4  # uneven lighting is estimated on a 4x4 grid of cells...
BACKGROUND_RANK = 0.2  # ...as the level that 20 % of each cell's pixels are below (ink-wise)
STROKE_JUMP = 0.2  # a cell this much darker than a neighbour holds a thick stroke, not shade
MIN_CONTRAST = 0.1  # ink must stand out from the background by this much of the full range...
NOISE_RATIO = 5  # ...and by this many times the paper's own noise
MIN_INK_PIXELS = 4
TOO_LITTLE_INK = "no digit found: too little ink stands out from the background"
OTSU_BINS = 128
OTSU_CENTRES = np.arange(OTSU_BINS) + 0.5  # bin centres in units of the bin width


class Box(NamedTuple):
    """Rows top:bottom and columns left:right of an image."""

    top: int
    bottom: int
    left: int
    right: int


@dataclass(frozen=True)
class Location:
    """Where one image's ink is, found on its coarse copy (the image averaged down by `factor`)."""

    factor: int
    box: Box  # the ink's bounds on the coarse copy
    ink: np.ndarray  # the coarse copy's ink levels (bright on zero)
    mask: np.ndarray  # which of them pass the threshold
    background: np.ndarray  # the paper's level subtracted from the coarse copy (may be [1, 1])
    sign: float  # +1 for bright ink on dark paper, -1 for dark ink on bright paper
    paper: float  # the paper's grey level
    threshold: float  # the ink level that separates strokes from paper


class Ink(NamedTuple):
    """One digit's ink cropped to its strokes: levels bright on zero, which of them pass the
    threshold, and the threshold."""

    levels: np.ndarray
    mask: np.ndarray
    threshold: float


def find_ink(greys):
    """For equal-sized grey images, each one's Location, or the NoDigitFound of a blank page.
    All images of the stack are analysed at once, on copies averaged down to ANALYSIS_SIDE
    (cheap, and noise averages out)."""
    factor = math.ceil(max(greys[0].shape) / ANALYSIS_SIDE)
    coarse = np.asarray([box_downscale(grey, factor) for grey in greys]) if len(greys) > 1 \
        else box_downscale(greys[0], factor)[None]  # one image: no copy into a stack
    sign, paper = polarity(coarse)
    residual = coarse - paper  # ink bright on dark...
    residual *= sign
    level = background(residual)
    residual -= level  # ...and the paper's level taken away
    ink = np.maximum(residual, 0.0)
    contrast = ink.reshape(len(ink), -1).max(axis=1)
    noise = noise_level(residual)
    thresholds = otsu_threshold(ink, contrast)
    masks = ink > thresholds.astype(np.float32)[:, None, None]
    rows = masks.view(np.uint8).sum(axis=2, dtype=np.int32)
    columns = masks.view(np.uint8).sum(axis=1, dtype=np.int32)
    counts = rows.sum(axis=1)
    tops, bottoms = ink_bounds(rows)
    lefts, rights = ink_bounds(columns)
    found = []
    for index in range(len(greys)):
        if float(contrast[index]) < max(MIN_CONTRAST, NOISE_RATIO * float(noise[index])):
            found.append(NoDigitFound("no digit found: the image is blank or has too little "
                                      "contrast"))
        elif counts[index] < MIN_INK_PIXELS:
            found.append(NoDigitFound(TOO_LITTLE_INK))
        else:
            box = Box(int(tops[index]), int(bottoms[index]), int(lefts[index]), int(rights[index]))
            found.append(Location(factor, box, ink[index], masks[index], level[index],
                                  float(sign[index, 0, 0]), float(paper[index, 0, 0]),
                                  float(thresholds[index])))
    return found


def cut(grey, where):
    """One image's Ink, cropped to the box its Location found: from the full-resolution image,
    averaged down only to STROKE_SIDE, when that has more detail than the coarse copy, so even
    a small digit in a large picture keeps its detail. Raises NoDigitFound if no ink is left."""
    top, bottom, left, right = where.box
    factor, ink, mask = where.factor, where.ink, where.mask
    fine_factor = math.ceil(max(bottom - top, right - left) * factor / STROKE_SIDE)
    if fine_factor < factor:  # full resolution adds detail: cut the digit from it, with a
        top, left = max(top - 1, 0), max(left - 1, 0)  # coarse pixel to spare
        bottom, right = min(bottom + 1, ink.shape[0]), min(right + 1, ink.shape[1])
        crop = grey[top * factor:bottom * factor, left * factor:right * factor]
        fine = box_downscale(crop, fine_factor)
        level = np.broadcast_to(where.background, ink.shape)[top:bottom, left:right]
        local = resize(level, fine.shape[1], fine.shape[0])
        ink = np.maximum(where.sign * (fine - where.paper) - local, 0.0)
        mask = ink > where.threshold
        if not mask.any():
            raise NoDigitFound(TOO_LITTLE_INK)
        (top,), (bottom,) = ink_bounds(mask.sum(axis=1)[None])
        (left,), (right,) = ink_bounds(mask.sum(axis=0)[None])
    return Ink(ink[top:bottom, left:right], mask[top:bottom, left:right], where.threshold)


def _border(stack):
    """Each image's outermost pixels, one row per image of an [n, h, w] stack."""
    return np.concatenate([stack[:, 0], stack[:, -1], stack[:, 1:-1, 0], stack[:, 1:-1, -1]],
                          axis=1)


def polarity(stack):
    """Per image of an [n, h, w] stack, (+1 or -1, paper level) as [n, 1, 1] arrays: the paper
    is the border's median; the ink is whichever extreme lies further from it, so
    `sign * (grey - paper)` is bright ink on a dark background."""
    paper = percentile_rows(_border(stack), 0.5)
    pixels = stack.reshape(len(stack), -1)
    darker = paper - pixels.min(axis=1) > pixels.max(axis=1) - paper
    sign = np.float32(1) - np.float32(2) * darker
    return sign[:, None, None], paper[:, None, None]


def background(ink, cells=BACKGROUND_CELLS):
    """Per image of an [n, h, w] stack, the paper's own level per region (a low rank per cell),
    bilinearly interpolated: this flattens uneven lighting and tinted corners without touching
    the strokes. Evenly lit images get an [n, 1, 1] level."""
    count, height, width = ink.shape
    cell_h, cell_w = height // cells, width // cells
    if min(cell_h, cell_w) < 4:
        return percentile_rows(ink.reshape(count, -1), BACKGROUND_RANK)[:, None, None]
    blocks = (ink[:, :cell_h * cells, :cell_w * cells]
              .reshape(count, cells, cell_h, cells, cell_w).swapaxes(2, 3)
              .reshape(count * cells * cells, -1))
    levels = percentile_rows(blocks, BACKGROUND_RANK).reshape(count, cells, cells)
    per_image = levels.reshape(count, -1)
    flat = per_image.min(axis=1) == per_image.max(axis=1)
    if flat.all():  # evenly lit (every digital drawing): nothing to flatten
        return levels[:, :1, :1]
    lit = resize(_neighbourhood_min(levels), width, height)
    return lit if not flat.any() else np.where(flat[:, None, None], levels[:, :1, :1], lit)


def _neighbourhood_min(levels):
    """A cell far darker (ink-wise brighter) than its lightest neighbour is filled by a thick
    stroke, not dimly lit paper: it takes that neighbour's level, or the stroke would be
    subtracted from itself. Lighting changes less than STROKE_JUMP from cell to cell."""
    lowest = -dilate(-levels, 1)  # each cell's 3x3 neighbourhood minimum
    return np.where(levels - lowest > STROKE_JUMP, lowest, levels)


def noise_level(residual):
    """Per image of an [n, h, w] stack, the paper's own noise: a robust spread (MAD) of the
    flattened image along its border."""
    edge = _border(residual)
    spread = np.abs(edge - percentile_rows(edge, 0.5)[:, None])
    return 1.4826 * percentile_rows(spread, 0.5).astype(np.float64)


def otsu_threshold(values, highest):
    """Per image of an [n, ...] stack whose maxima are `highest`, the level that best splits its
    values into two classes (Otsu 1979), vectorised. The class means are kept in units of the
    bin width: that scales the criterion, not its maximum."""
    count = len(values)
    width = (highest.astype(np.float64) + 1e-6) / OTSU_BINS
    bins = (values.reshape(count, -1) / width.astype(np.float32)[:, None]).astype(np.intp)
    np.minimum(bins, OTSU_BINS - 1, out=bins)
    bins += OTSU_BINS * np.arange(count)[:, None]  # one bincount, each image its own bins
    counts = np.bincount(bins.ravel(), minlength=count * OTSU_BINS).reshape(count, OTSU_BINS)
    weight_low = np.cumsum(counts, axis=1)
    weight_high = weight_low[:, -1:] - weight_low
    mass_low = np.cumsum(counts * OTSU_CENTRES, axis=1)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[:, -1:] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return (np.argmax(between, axis=1) + 1) * width


def ink_bounds(counts, trim=0.002):
    """Per row of [n, length] ink counts (a stack of masks summed across rows or columns), the
    first index holding ink and the one past the last, ignoring stray specks at the tails."""
    profile = np.cumsum(counts, axis=1, dtype=np.float64)
    total = profile[:, -1:]
    # the profile never falls and ends at the total: the first index past a level is where
    # searchsorted would put it, row by row (all-empty masks give 0 and are refused anyway)
    first = np.argmax(profile > total * trim, axis=1)
    last = np.argmax(profile >= total * (1 - trim), axis=1)
    return first, np.maximum(last, first) + 1
