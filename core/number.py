"""Read a number: the row of handwritten digits in one upload, left to right.

The upload is decoded and its ink told from the paper exactly as for one digit (core.ink);
the ink is then split into digits: connected strokes, merged when one sits above another (a
5's flag, a broken stroke), marks that are not digits left out by their shape (specks, dashes,
dots, commas, a frame or a ruled line), and wide or joined strokes cut at the columns where
the classifier is surest. Every candidate piece is normalised as a single-digit upload is and
all of them are classified in one model call; the reading is the split whose digits are
likeliest.

The probability of a reading is the product of its digits' probabilities: the chance that
every digit is right, if the split is right and the digits' errors are independent.
"""
import dataclasses
import math

import numpy as np
from PIL import Image

from core.arrays import box_downscale, dilate
from core.batch import PixelBudget
from core.components import label
from core.decode import decode, read_header
from core.errors import ImageError, NoDigitFound
from core.grey import to_grey
from core.ink import Ink, find_ink
from core.normalise import STROKE_SIDE, centre_by_mass, fit_box, match_stroke

DIGIT_CLASSES = 10  # classes 0-9 are digits; any further output of the model is "not a digit"
ROW_SIDE = STROKE_SIDE  # the row of digits is cut from the upload at about this height
SPECK = 0.25  # a stroke lower than this fraction of the row's height, and small, is a speck
MARK = 0.4  # a mark lower than this fraction of the row's height is a dash, dot or comma
BAR = 0.6  # a stroke filling this much of its box, and flat, is a dash or a bar
LINE = 1.8  # a stroke this many times taller than the row is a ruled line, not a 1
ABOVE = 0.5  # strokes sharing this much of the narrower one's width belong to one digit
FRAGMENT = 0.75  # ... when the lower of them is under this fraction of the row's height
SPLIT_WIDTH = 1.0  # a piece wider than this many row heights may hold several digits
MIN_PIECE = 0.1  # no cut leaves a piece narrower than this many row heights
MAX_PIECE = 1.05  # nor wider (MNIST's digits are at most as wide as they are high)
CUTS = 4  # candidate cuts per row height of a wide piece, at the columns with the least ink
MAX_CUTS = 64  # and at most this many in one piece (enough for 16 digits joined in one stroke)
MAX_GROUPS = 64  # an image with more separate digits or marks than this is not one number
SURE = 0.9  # a group that may hold several digits is only split if it reads less surely as one
# Each digit's width in row heights (mean, standard deviation) on MNIST's training set, where
# digits are 20 pixels high
WIDTHS = ((0.90, 0.12), (0.48, 0.20), (0.91, 0.12), (0.83, 0.14), (0.82, 0.14), (0.90, 0.14),
          (0.76, 0.15), (0.80, 0.14), (0.79, 0.15), (0.72, 0.14))
WIDTH_WEIGHT = 0.3  # how much a piece's width counts against the classifier's log-probability
TOO_MANY_MARKS = (f"no number found: more than {MAX_GROUPS} separate marks; send an image of one "
                  "row of digits")
NOT_DIGITS = "no digit found: the marks in the image are not digits"


@dataclasses.dataclass(frozen=True)
class Digit:
    """One digit of a reading: its box (x, y, width, height) in the upload's pixels (after
    EXIF orientation), the digit, and its probability."""

    box: tuple
    prediction: int
    probability: float


@dataclasses.dataclass(frozen=True)
class Reading:
    """A number read from one upload: its digits left to right, and the probability that all
    of them are right."""

    text: str
    probability: float
    digits: tuple


@dataclasses.dataclass(frozen=True)
class Row:
    """The ink of one upload cut from it at about ROW_SIDE pixels high: bright-on-zero levels,
    the mask of those past the threshold, the threshold, and where row pixel (0, 0) lies in the
    upload and how many upload pixels one row pixel spans."""

    ink: np.ndarray
    mask: np.ndarray
    threshold: float
    origin: tuple  # (x, y) in the upload
    scale: int
    size: tuple  # the upload's (width, height)

    def box(self, left, top, width, height):
        """A box in row pixels as (x, y, width, height) in the upload's pixels."""
        x, y = self.origin[0] + left * self.scale, self.origin[1] + top * self.scale
        right = min(x + width * self.scale, self.size[0])
        bottom = min(y + height * self.scale, self.size[1])
        return (int(x), int(y), int(right - x), int(bottom - y))


def find_row(grey):
    """The Row of a grey upload, or raise the NoDigitFound of a blank page. The ink is found
    exactly as for one digit (core.ink.find_ink, on a coarse copy), then cut from the
    full-resolution image averaged down only until the row is ROW_SIDE high, so every digit
    keeps the detail a single-digit upload would."""
    where = find_ink([grey])[0]
    if isinstance(where, NoDigitFound):
        raise where
    factor, (top, bottom, left, right) = where.factor, where.box
    height, width = grey.shape
    coarse_height, coarse_width = where.ink.shape
    # a coarse pixel to spare around the ink
    top, left = max(top - 1, 0), max(left - 1, 0)
    bottom, right = min(bottom + 1, coarse_height), min(right + 1, coarse_width)
    scale = max(1, math.ceil((bottom - top) * factor / ROW_SIDE))
    if scale >= factor:  # the coarse copy is already as fine as wanted
        return Row(where.ink[top:bottom, left:right], where.mask[top:bottom, left:right],
                   where.threshold, (left * factor, top * factor), factor, (width, height))
    fine = box_downscale(grey[top * factor:bottom * factor, left * factor:right * factor],
                         scale)
    level = where.background  # [1, 1] when evenly lit
    if level.size > 1:  # the paper's level per region, enlarged to the fine crop
        level = np.asarray(Image.fromarray(np.ascontiguousarray(
            level[top:bottom, left:right], np.float32), mode="F").resize(
                (fine.shape[1], fine.shape[0]), Image.Resampling.BILINEAR))
    ink = np.maximum(where.sign * (fine - where.paper) - level, 0.0)
    return Row(ink, ink > where.threshold, where.threshold, (left * factor, top * factor),
               scale, (width, height))


def group_strokes(stats):
    """The strokes (labels 1.. of `stats`) as lists of labels, one list per digit or mark, left
    to right, with frames, ruled lines and specks left out; and the row's height."""
    strokes = [index for index in range(1, len(stats)) if not _is_frame(index, stats)]
    if not strokes:
        return [], 1.0
    largest = max(stats[i, 4] for i in strokes)
    row = _row_height(stats, strokes)
    strokes = [i for i in strokes
               if not (stats[i, 3] < SPECK * row and stats[i, 4] < 0.02 * largest)
               and not (stats[i, 3] > LINE * row and stats[i, 2] < 0.3 * stats[i, 3])]
    groups = []
    for index in sorted(strokes, key=lambda i: stats[i, 0]):
        x, _, w, h, _ = stats[index]
        for group in groups:
            gx, _, gw, gh = _extent(group, stats)
            overlap = min(x + w, gx + gw) - max(x, gx)
            if (overlap >= ABOVE * min(w, gw) and min(h, gh) < FRAGMENT * row
                    or overlap > 0 and max(h, gh) < FRAGMENT * row):  # pieces of one stroke
                group.append(index)
                break
        else:
            groups.append([index])
    groups.sort(key=lambda group: _extent(group, stats)[0])
    return groups, row


def is_mark(labels, stats, row):
    """Whether strokes are a mark, not a digit: lower than MARK of the row (a dash, a dot, a
    comma, an underline), or a bar: a solid stroke less than half as high as it is wide."""
    _, _, width, height = _extent(labels, stats)
    solid = sum(int(stats[i, 4]) for i in labels) / (width * height)
    return height < MARK * row or (height < width / 2 and solid > BAR)


def _row_height(stats, strokes):
    """How high the row of digits is: from the top of the strokes to their bottom, leaving out
    the highest and lowest 2 % of their ink (a stray speck or a long tail)."""
    tops = np.asarray([stats[i, 1] for i in strokes], np.float64)
    bottoms = tops + [stats[i, 3] for i in strokes]
    areas = np.asarray([stats[i, 4] for i in strokes], np.float64)
    order, weights = np.argsort(tops), np.cumsum(areas[np.argsort(tops)])
    top = tops[order][np.searchsorted(weights, 0.02 * weights[-1])]
    order = np.argsort(-bottoms)
    weights = np.cumsum(areas[order])
    bottom = bottoms[order][np.searchsorted(weights, 0.02 * weights[-1])]
    return max(float(bottom - top), 1.0)


def _extent(labels, stats):
    """(x, y, w, h) of the union of the strokes' boxes."""
    x0 = min(stats[i, 0] for i in labels)
    y0 = min(stats[i, 1] for i in labels)
    x1 = max(stats[i, 0] + stats[i, 2] for i in labels)
    y1 = max(stats[i, 1] + stats[i, 3] for i in labels)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _is_frame(index, stats):
    """A stroke whose box holds two or more other strokes whole, each at least a quarter of its
    height: a box drawn round the number."""
    x, y, w, h, _ = stats[index]
    inside = sum(1 for other in range(1, len(stats)) if other != index
                 and stats[other, 0] >= x and stats[other, 1] >= y
                 and stats[other, 0] + stats[other, 2] <= x + w
                 and stats[other, 1] + stats[other, 3] <= y + h
                 and stats[other, 3] >= h / 4)
    return inside >= 2


@dataclasses.dataclass(frozen=True)
class Group:
    """Strokes that make one digit, or several joined ones: where its box lies in the row, its
    mask within that box, and the columns it may be cut at (left to right; the first and last
    are the box's edges)."""

    x: int
    y: int
    mask: np.ndarray
    cuts: tuple


def cut_lines(mask, row):
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
        x, y, w, h = _extent(labels, stats)
        mask = np.isin(labels_image[y:y + h, x:x + w], labels)
        made.append(Group(x, y, mask, cut_lines(mask, row)))
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


class NumberReader:
    """Numbers from image uploads, classified by a ModelWrapper's model stage."""

    def __init__(self, wrapper, max_pixels, max_side, max_batch_pixels=None):
        self._wrapper = wrapper
        self._max_pixels = max_pixels
        self._max_side = max_side
        self._max_batch_pixels = max_batch_pixels

    def read(self, uploads):
        """For each upload, in order: its Reading, or the ImageError that says why it has
        none."""
        budget = PixelBudget(self._max_batch_pixels)
        outcomes = []
        for data in uploads:
            try:
                image = budget.charge(read_header(data, self._max_pixels, self._max_side))
                outcomes.append(self.read_grey(to_grey(decode(image))))
            except ImageError as error:
                outcomes.append(error.with_traceback(None))  # kept as a value: hold no frames
        return outcomes

    def read_grey(self, grey):
        """The Reading of one grey image (any polarity), or raise NoDigitFound."""
        row = find_row(grey)
        labels_image, stats = label(row.mask)
        labels, height = group_strokes(stats)
        labels = [g for g in labels if not is_mark(g, stats, height)]
        if len(labels) > MAX_GROUPS:
            raise NoDigitFound(TOO_MANY_MARKS)
        groups = make_groups(labels_image, labels, stats, height)
        # every group whole, and the splits of those too wide to be one digit; then the
        # splits of the groups that may hold several digits and do not read surely as one
        scored = self._classify(row, groups, [
            (index, *span) for index, group in enumerate(groups)
            for span in candidate_pieces(group, height,
                                         whole_only=group.mask.shape[1] <= MAX_PIECE * height)])
        wholes = [(index, 0, len(group.cuts) - 1) for index, group in enumerate(groups)]
        unsure = [index for index, group in enumerate(groups)
                  if len(group.cuts) > 2 and group.mask.shape[1] <= MAX_PIECE * height
                  and wholes[index] in scored and best_digit(scored[wholes[index]][0])[1] < SURE]
        scored.update(self._classify(row, groups, [
            (index, *span) for index in unsure
            for span in candidate_pieces(groups[index], height)[1:]]))
        found = []
        for index, group in enumerate(groups):
            for piece in best_split(index, len(group.cuts), scored, height):
                probabilities, box = scored[piece]
                best = int(np.argmax(probabilities))
                if best < DIGIT_CLASSES:  # a further class of the model: not a digit
                    found.append(Digit(row.box(*box), best, float(probabilities[best])))
        if not found:
            raise NoDigitFound(NOT_DIGITS)
        return Reading("".join(str(d.prediction) for d in found),
                       float(np.prod([d.probability for d in found])), tuple(found))

    def _classify(self, row, groups, pieces):
        """{(group, first, last): (probabilities, box in row pixels)} for the pieces that hold
        ink, in one model call."""
        kept, digits, boxes = [], [], []
        for piece in pieces:
            index, first, last = piece
            digit, box = normalise_piece(row, groups[index], first, last)
            if digit is not None:
                kept.append(piece)
                digits.append(digit)
                boxes.append(box)
        if not digits:
            return {}
        probabilities = self._wrapper.predict_tensor(np.stack(digits))
        return {piece: (probabilities[i], boxes[i]) for i, piece in enumerate(kept)}


def piece_score(probabilities, box, row):
    """How good a piece is as one digit: the log-probability of its likeliest digit, plus how
    likely that digit is to be as wide as the piece (WIDTHS)."""
    digit, probability = best_digit(probabilities)  # "not a digit" lowers the score
    mean, spread = WIDTHS[digit]
    return (math.log(max(probability, 1e-12))
            - WIDTH_WEIGHT * 0.5 * ((box[2] / row - mean) / spread) ** 2)


def best_digit(probabilities):
    """(digit, probability) of the likeliest of the digit classes 0-9 in a row of the model's
    outputs (a further "not a digit" output is not one of them)."""
    digit = int(np.argmax(probabilities[:DIGIT_CLASSES]))
    return digit, float(probabilities[digit])


def best_split(group, lines, scored, row):
    """The pieces (group, first, last), left to right, that cover a group from its first to its
    last cut with the highest total score (dynamic programming over the cuts)."""
    best = [(0.0, [])] + [(-math.inf, [])] * (lines - 1)
    for end in range(1, lines):
        for start in range(end):
            piece = (group, start, end)
            if piece not in scored or best[start][0] == -math.inf:
                continue
            probabilities, box = scored[piece]
            total = best[start][0] + piece_score(probabilities, box, row)
            if total > best[end][0]:
                best[end] = (total, best[start][1] + [piece])
    return best[-1][1]
