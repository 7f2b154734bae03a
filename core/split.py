"""Groups of strokes: where a group lies in the row, its ink (whole or between two columns), the
columns between the joined digits read in it (the least ink between two digits' centres), and
a group normalised as a single-digit upload is."""
import dataclasses

import numpy as np

from core.arrays import dilate
from core.ink import Ink
from core.model import DIGITS
from core.normalise import centre_by_mass, fit_box, match_stroke
from core.strokes import extent


@dataclasses.dataclass(frozen=True)
class Group:
    """Strokes that make one digit, or several joined ones: where its box lies in the row, and
    its mask within that box."""

    x: int
    y: int
    mask: np.ndarray

    @property
    def width(self):
        return self.mask.shape[1]


def make_groups(labels_image, groups, stats):
    """A Group for each list of stroke labels."""
    made = []
    for labels in groups:
        x, y, w, h = extent(labels, stats)
        crop = labels_image[y:y + h, x:x + w]
        made.append(Group(x, y, crop == labels[0] if len(labels) == 1 else np.isin(crop, labels)))
    return made


def merge_groups(groups):
    """One Group of all the strokes of several."""
    left, top = min(g.x for g in groups), min(g.y for g in groups)
    right = max(g.x + g.width for g in groups)
    bottom = max(g.y + g.mask.shape[0] for g in groups)
    mask = np.zeros((bottom - top, right - left), bool)
    for g in groups:
        mask[g.y - top:g.y - top + g.mask.shape[0], g.x - left:g.x - left + g.width] |= g.mask
    return Group(left, top, mask)


def cut_columns(mask, centres):
    """The columns a group's mask is cut at so each piece holds one of the digits centred at
    `centres` (columns, left to right): its edges, and between two centres the column with the
    least ink (smoothed over three columns) near the middle, in its central half; every piece
    at least one column wide while the group has a column for each."""
    profile = np.convolve(mask.sum(axis=0).astype(np.float32), np.ones(3, np.float32) / 3,
                          mode="same")
    width = mask.shape[1]
    cuts = [0]
    for index, (left, right) in enumerate(zip(centres, centres[1:]), start=1):
        quarter = (right - left) / 4
        # leave a column for each piece still to come, where the group has as many
        last = min(max(width - (len(centres) - index), cuts[-1] + 1), width - 1)
        start = min(max(int(round(left + quarter)), cuts[-1] + 1), last)
        stop = min(max(int(round(right - quarter)), start + 1), last + 1)
        cuts.append(start + int(np.argmin(profile[start:stop])))
    cuts.append(width)
    return cuts


def group_ink(row, group, left=0, right=None):
    """A group's ink between two of its columns cropped to its strokes: the Ink (with the soft
    edge of its own strokes, below the threshold) and its box in row pixels (x, y, w, h); None
    if that stretch holds no ink."""
    own = group.mask[:, left:right]
    rows = np.flatnonzero(own.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(own.any(axis=0))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    start, stop = int(cols[0]), int(cols[-1]) + 1
    own = own[top:bottom, start:stop]
    near = dilate(own.astype(np.float32), 1) > 0
    y, x = group.y + top, group.x + left + start
    levels = row.ink[y:y + bottom - top, x:x + stop - start] * near
    return Ink(levels, own, row.threshold), (x, y, stop - start, bottom - top)


def normalise_group(row, group):
    """A group's ink to MNIST's 28x28, exactly as a single-digit upload's ink is; and its box
    in row pixels (x, y, w, h). (None, None) if it holds no ink."""
    found = group_ink(row, group)
    if found is None:
        return None, None
    ink, box = found
    return centre_by_mass(fit_box(match_stroke(ink))), box


def best_digit(probabilities):
    """(digit, probability) of the likeliest of the digit classes 0-9 in a row of the model's
    outputs (a further "not a digit" output is not one of them)."""
    digit = int(np.argmax(probabilities[:DIGITS]))
    return digit, float(probabilities[digit])
