"""Cut joined digits apart: the columns a group of strokes may be cut at, the pieces between
them, each piece normalised as a single-digit upload is, and the split whose pieces read
likeliest as digits."""
import dataclasses
import math

import numpy as np

from core.arrays import dilate
from core.ink import Ink
from core.model import DIGITS
from core.normalise import centre_by_mass, fit_box, match_stroke
from core.strokes import extent

SPLIT_WIDTH = 1.0  # a piece wider than this many row heights may hold several digits
MIN_PIECE = 0.1  # no cut leaves a piece narrower than this many row heights
MAX_PIECE = 1.05  # nor wider (MNIST's digits are at most as wide as they are high)
WIDEST = 1.5  # a piece this many row heights wide is never read as one digit
CUTS = 4  # candidate cuts per row height of a wide piece, at the columns with the least ink
MAX_CUTS = 64  # and at most this many in one piece (enough for 16 digits joined in one stroke)


@dataclasses.dataclass(frozen=True)
class Group:
    """Strokes that make one digit, or several joined ones: where its box lies in the row, its
    mask within that box, and the columns it may be cut at (left to right; the first and last
    are the box's edges)."""

    x: int
    y: int
    mask: np.ndarray
    cuts: tuple


def cut_columns(mask, row):
    """The columns a group's mask may be cut at, left to right, its edges included: for a wide
    group, the local minima of its column ink profile, at most CUTS per row height with the
    least ink, MIN_PIECE row heights apart and from either edge."""
    width = mask.shape[1]
    if width <= SPLIT_WIDTH * row:
        return (0, width)
    profile = np.convolve(mask.sum(axis=0).astype(np.float32), np.ones(3, np.float32) / 3,
                          mode="same")
    edge = max(1, int(MIN_PIECE * row))
    inner = np.arange(edge, width - edge + 1)
    lowest = inner[(profile[inner] <= profile[inner - 1]) &
                   (profile[inner] <= profile[np.minimum(inner + 1, width - 1)])]
    chosen = []
    for column in lowest[np.argsort(profile[lowest], kind="stable")]:
        if all(abs(int(column) - c) >= edge for c in chosen):
            chosen.append(int(column))
        if len(chosen) >= min(CUTS * width / row, MAX_CUTS):
            break
    return (0, *sorted(chosen), width)


def make_groups(labels_image, groups, stats, row):
    """A Group for each list of stroke labels."""
    made = []
    for labels in groups:
        x, y, w, h = extent(labels, stats)
        mask = np.isin(labels_image[y:y + h, x:x + w], labels)
        made.append(Group(x, y, mask, cut_columns(mask, row)))
    return made


def candidate_pieces(group, row, whole_only=False):
    """(first, last) cuts of each piece a group may be read as: the whole group first, then
    (unless `whole_only`) every span between two of its cuts of a digit's width."""
    cuts = group.cuts
    spans = [(0, len(cuts) - 1)]
    if whole_only:
        return spans
    for first in range(len(cuts) - 1):
        for last in range(first + 1, len(cuts)):
            width = cuts[last] - cuts[first]
            if (first, last) != spans[0] and MIN_PIECE * row <= width <= MAX_PIECE * row:
                spans.append((first, last))
    return spans


def normalise_piece(row, group, first, last):
    """The ink between two cuts of a group to MNIST's 28x28, exactly as a single-digit
    upload's ink is; and its box in row pixels (x, y, w, h). (None, None) if it holds no ink."""
    left, right = group.cuts[first], group.cuts[last]
    own = group.mask[:, left:right]
    rows = np.flatnonzero(own.any(axis=1))
    if len(rows) == 0:
        return None, None
    cols = np.flatnonzero(own.any(axis=0))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    start, stop = int(cols[0]), int(cols[-1]) + 1
    own = own[top:bottom, start:stop]
    # the soft edge of the piece's own strokes (anti-aliasing below the threshold) comes along
    near = dilate(own.astype(np.float32), 1) > 0
    y, x = group.y + top, group.x + left + start
    ink = row.ink[y:y + bottom - top, x:x + stop - start] * near
    digit = centre_by_mass(fit_box(match_stroke(Ink(ink, own, row.threshold))))
    return digit, (x, y, stop - start, bottom - top)


def piece_score(probabilities):
    """How good a piece is as one digit: the log-probability of its likeliest digit (a model's
    "not a digit" output takes probability from every digit, and so lowers it)."""
    return math.log(max(best_digit(probabilities)[1], 1e-12))


def best_digit(probabilities):
    """(digit, probability) of the likeliest of the digit classes 0-9 in a row of the model's
    outputs (a further "not a digit" output is not one of them)."""
    digit = int(np.argmax(probabilities[:DIGITS]))
    return digit, float(probabilities[digit])


def best_split(group, lines, scored, row):
    """The pieces (group, first, last), left to right, that cover a group from its first to its
    last cut with the highest total score (dynamic programming over the cuts), no piece WIDEST
    or wider; none if no such split covers it (a stroke joined too long to be cut at MAX_CUTS
    columns, a scribble): it is not taken as one digit."""
    best = [(0.0, [])] + [(-math.inf, [])] * (lines - 1)
    for end in range(1, lines):
        for start in range(end):
            piece = (group, start, end)
            if (piece not in scored or best[start][0] == -math.inf
                    or scored[piece][1][2] > WIDEST * row):
                continue
            total = best[start][0] + piece_score(scored[piece][0])
            if total > best[end][0]:
                best[end] = (total, best[start][1] + [piece])
    return best[-1][1]
