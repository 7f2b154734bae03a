"""Read a number: the row of handwritten digits in one upload, left to right.

    decode -> grey -> find the row (core.row) -> strokes (core.components)
      -> digits and marks (core.strokes) -> groups of strokes (core.split)
      -> each group as one digit (the digit model; core.vote pools an unsure one with the
         sequence model's reading)
      -> a group that holds joined digits: the sequence model reads the row (core.sequence)

The upload is decoded and its ink told from the paper exactly as for one digit; its strokes are
grouped into digits, marks that are not digits (specks, dashes, dots, commas, a frame or a
ruled line) left out by their shape. Each group no wider than a digit is normalised as a
single-digit upload is, and the digit model reads them all in one call. When it is unsure of
a group, the sequence model's reading of the row is pooled with it as a second opinion, and a
sliver broken off a digit that the sequence model reads no digit in is joined back to it. A
group still refused as "not a digit" is left out, unless the sequence model reads two or more
digits in it alone (joined digits may look like none). A group too wide to be one digit, or a
little wide and not read surely as one, holds joined digits: then the sequence model reads
the whole row in one pass (CTC), and the row is cut between the digits it read where the ink
is thinnest, which gives each digit its box. When that reading is unsure, the row is read
again laid out wider, narrower, bolder and finer, and the reading given most often is kept.

The probability of a reading is the product of its digits' probabilities: the chance that
every digit is right, if the digits' errors are independent.
"""
import dataclasses
import math
import time
from typing import NamedTuple

import numpy as np

from core.batch import PixelBudget
from core.components import label
from core.errors import ImageError, NoDigitFound
from core.metrics import SEQUENCE_SECONDS
from core.pipeline import grey_from_upload
from core.row import find_row
from core.sequence import VIEWS, best_path, make_strip
from core.split import (best_digit, cut_columns, group_ink, make_groups, merge_groups,
                        normalise_group)
from core.strokes import group_strokes, is_mark
from core.vote import likelihood, majority, one_each, pooled

MAX_GROUPS = 64  # an image with more digit-like shapes than this is not one number
MAX_STROKES = 4 * MAX_GROUPS  # nor one of more separate strokes (before any is left out)
SPLIT_WIDTH = 1.0  # a group wider than this many row heights may hold several digits...
MAX_PIECE = 1.05  # ...and one wider than this holds several (MNIST's digits are not as wide)
SURE = 0.9  # a group in between is one digit if it reads as one this surely
WIDEST = 1.5  # a piece this many row heights wide is never read as one digit
REREAD_BELOW = 0.9  # a sequence reading less likely than this is read again through VIEWS
POOL_BELOW = 0.99  # a digit read less surely than this is pooled with the sequence model's
NARROW, SHORT = 0.25, 0.8  # a group narrower and shorter than these (row heights) may be a
NEAR = 0.3  # sliver broken off a digit, joined to a neighbour this close (in row heights)
TOO_MANY_SHAPES = (f"no number found: more than {MAX_GROUPS} shapes that may be digits; send an "
                   "image of one row of digits")
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


class Whole(NamedTuple):
    """One group read as one digit, by the digit model (or pooled with the sequence model):
    its probabilities, whether it is refused as not a digit, and the group's box in row
    pixels."""

    probabilities: np.ndarray
    refused: bool
    box: tuple


class NumberReader:
    """Numbers from image uploads: single digits classified by a ModelWrapper's model stage,
    joined ones read by a sequence model (a StripRuntime)."""

    def __init__(self, wrapper, sequence, max_pixels, max_side, max_batch_pixels=None):
        self._wrapper = wrapper
        self._sequence = sequence
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
                grey, size = grey_from_upload(data, self._max_pixels, self._max_side, budget)
                outcomes.append(self.read_grey(grey, size))
            except ImageError as error:
                outcomes.append(error.with_traceback(None))  # kept as a value: hold no frames
        return outcomes

    def read_grey(self, grey, size=None):
        """The Reading of one grey image (any polarity), or raise NoDigitFound; its boxes in
        the pixels of an upload `size` (width, height) large, the grey image's own if None."""
        row = find_row(grey)
        labels_image, stats = label(row.mask)
        if len(stats) - 1 > MAX_STROKES:  # refused before the work grows with their number
            raise NoDigitFound(f"no number found: the image has {len(stats) - 1} separate "
                               "marks; send an image of one row of digits")
        labels, height = group_strokes(stats)
        labels = [g for g in labels if not is_mark(g, stats, height)]
        if len(labels) > MAX_GROUPS:
            raise NoDigitFound(TOO_MANY_SHAPES)
        groups = make_groups(labels_image, labels, stats)
        wholes = self._classify(row, groups, height)
        if any(joined(group, whole, height) for group, whole in zip(groups, wholes)):
            # the sequence model reads the row: every group in the context of its neighbours
            pieces = self._read_sequence(row, merge_groups(groups), height)
        else:
            groups, wholes = self._second_opinion(row, groups, wholes, height)
            pieces = [piece for group, whole in zip(groups, wholes)
                      for piece in self._read_group(row, group, whole, height)]
        found = [Digit(_scaled(row.box(*box), grey.shape, size), *read) for box, read in pieces]
        if not found:
            raise NoDigitFound(NOT_DIGITS)
        return Reading("".join(str(d.prediction) for d in found),
                       float(np.prod([d.probability for d in found])), tuple(found))

    def _second_opinion(self, row, groups, wholes, height):
        """The groups and their wholes, with the sequence model's reading of the whole row as a
        second opinion when the digit model reads a group less surely than POOL_BELOW or
        refuses one. If the sequence model reads at most one digit in each group: a sliver it
        reads none in is joined to the digit it broke off (_join_slivers); then, if it reads
        one in each group the digit model reads, the two models' probabilities are pooled
        (core.vote), and a refused group whose pooled probabilities are not refused is kept."""
        if not any(_unsure(whole) for whole in wholes):
            return groups, wholes
        merged = merge_groups(groups)
        ink, _ = group_ink(row, merged)
        reads = self._sequence_reads(make_strip(ink.levels, ink.mask, ink.threshold))
        owners = one_each([merged.x + read.centre for read in reads],
                          [(group.x, group.x + group.width) for group in groups])
        if owners is None:
            return groups, wholes
        joined, joined_wholes, joined_owners = self._join_slivers(row, groups, wholes, owners,
                                                                  reads, height)
        if any(o is None and not w.refused for o, w in zip(joined_owners, joined_wholes)):
            return groups, wholes  # the sequence model misses a digit: no opinion, no joins
        return joined, [whole if o is None else
                        self._whole(pooled(whole.probabilities, reads[o].outputs), whole.box)
                        for o, whole in zip(joined_owners, joined_wholes)]

    def _join_slivers(self, row, groups, wholes, owners, reads, height):
        """The groups, wholes and owners (the index in `reads` of the sequence model's digit
        in each group, or None) with each sliver broken off a digit joined to that digit: a
        group that may be a sliver (_may_be_sliver), in which the sequence model reads no
        digit, joined to the nearer neighbour it reads one in and the digit model is unsure of
        (_partner), unless the joined group, read again by the digit model and pooled with
        the sequence model's digit, is refused."""
        groups, wholes, owners = list(groups), list(wholes), list(owners)
        index = 0
        while index < len(groups):
            partner = _partner(groups, wholes, owners, index, height)
            if partner is not None:
                first, last = sorted((index, partner))
                both = merge_groups(groups[first:last + 1])
                digit, box = normalise_group(row, both)
                probabilities = self._wrapper.predict_tensor(digit[None])[0]
                opinion = pooled(probabilities, reads[owners[partner]].outputs)
                if not self._whole(opinion, box).refused:
                    groups[first:last + 1] = [both]
                    wholes[first:last + 1] = [self._whole(probabilities, box)]
                    owners[first:last + 1] = [owners[partner]]
                    index = max(first - 1, 0)  # a sliver left of it may join it now
                    continue
            index += 1
        return groups, wholes, owners

    def _read_group(self, row, group, whole, height):
        """[(box in row pixels, (digit, probability))] of a group that is one digit to the
        digit model (`whole`); if the digit model calls it not a digit, the digits the sequence
        model reads in it when they are two or more (joined digits may look like no digit),
        else none."""
        if not whole.refused:
            return [(whole.box, best_digit(whole.probabilities))]
        pieces = self._read_sequence(row, group, height, views=())
        return pieces if len(pieces) >= 2 else []

    def _read_sequence(self, row, group, height, views=VIEWS):
        """(box in row pixels, (digit, probability)) of each digit in a group of strokes (a
        whole row's, merged, or one piece's), left to right, as the sequence model reads them;
        a piece WIDEST row heights wide or wider is left out (a scribble, a stroke joined too
        long to be digits). A reading less likely than REREAD_BELOW is read again through
        `views`, and the reading most of them agree on kept (core.vote.majority)."""
        ink, _ = group_ink(row, group)
        plain = make_strip(ink.levels, ink.mask, ink.threshold)
        reads = self._sequence_reads(plain)
        if views and likelihood(reads) < REREAD_BELOW:
            strips = [make_strip(ink.levels, ink.mask, ink.threshold, view) for view in views]
            reads = majority([reads] + [self._sequence_reads(strip)
                                        for strip in _distinct(plain, strips)])
        cuts = cut_columns(group.mask, [read.centre for read in reads])
        pieces = []
        for read, left, right in zip(reads, cuts, cuts[1:]):
            piece = group_ink(row, group, left, right)
            if piece is not None and right - left < WIDEST * height:
                pieces.append((piece[1], (read.digit, read.probability)))
        return pieces

    def _sequence_reads(self, strip):
        """The digits (core.sequence.Read) the sequence model reads in a Strip, in one call."""
        started = time.perf_counter()
        outputs = self._sequence(strip.pixels)
        SEQUENCE_SECONDS.observe(time.perf_counter() - started)
        return best_path(outputs, strip)

    def _whole(self, probabilities, box):
        """The Whole of one group's probabilities, refused by the digit model's rule."""
        return Whole(probabilities, bool(self._wrapper.refused(probabilities[None])[0]), box)

    def _classify(self, row, groups, height):
        """For each group, the digit model's Whole of it, or None if it is too wide to be one
        digit; in one model call."""
        made = [normalise_group(row, group) if group.width <= MAX_PIECE * height
                else (None, None) for group in groups]
        digits = [digit for digit, _ in made if digit is not None]
        if not digits:
            return [None] * len(groups)
        probabilities = self._wrapper.predict_tensor(np.stack(digits))
        refused = iter(zip(probabilities, self._wrapper.refused(probabilities)))
        return [None if digit is None else Whole(*next(refused), box) for digit, box in made]


def _unsure(whole):
    """Whether the digit model refuses a group or reads it less surely than POOL_BELOW."""
    return whole.refused or best_digit(whole.probabilities)[1] < POOL_BELOW


def _may_be_sliver(group, height):
    """Whether a group is narrow and short enough to be a sliver broken off a digit."""
    return group.width < NARROW * height and group.mask.shape[0] < SHORT * height


def _partner(groups, wholes, owners, index, height):
    """The index of the neighbour a group at `index` may be a sliver of, or None: the nearer
    one the sequence model reads a digit in and the digit model is unsure of, less than NEAR
    row heights away, the two together no wider than a digit."""
    group = groups[index]
    if owners[index] is not None or wholes[index].refused or not _may_be_sliver(group, height):
        return None
    near = []
    for other in (index - 1, index + 1):
        if 0 <= other < len(groups) and owners[other] is not None and _unsure(wholes[other]):
            left, right = sorted((group, groups[other]), key=lambda g: g.x)
            gap = right.x - (left.x + left.width)
            width = max(left.x + left.width, right.x + right.width) - left.x
            if gap < NEAR * height and width <= MAX_PIECE * height:
                near.append((gap, other))
    return min(near)[1] if near else None


def joined(group, whole, height):
    """Whether a group holds joined digits: it is too wide to be one digit (the digit model
    did not read it: `whole` is None), or a little wider than the row is high and read as one
    digit less surely than SURE (a group the digit model refuses is left to _read_group)."""
    return whole is None or not whole.refused and group.width > SPLIT_WIDTH * height and \
        best_digit(whole.probabilities)[1] < SURE


def _distinct(plain, strips):
    """The strips that differ from the plain one and from each other (a view may change
    nothing: a thick stroke is not thickened, a long row is already as wide as a strip gets)."""
    kept = [plain]
    for strip in strips:
        if not any(np.array_equal(strip.pixels, k.pixels) for k in kept):
            kept.append(strip)
    return kept[1:]


def _scaled(box, shape, size):
    """A box (x, y, w, h) in the pixels of a grey image `shape` (height, width) large, in
    those of an upload `size` (width, height) large: a JPEG decodes at reduced scale."""
    if size is None or size == (shape[1], shape[0]):
        return box
    across, down = size[0] / shape[1], size[1] / shape[0]
    x, y = int(box[0] * across), int(box[1] * down)
    right = min(math.ceil((box[0] + box[2]) * across), size[0])
    bottom = min(math.ceil((box[1] + box[3]) * down), size[1])
    return (x, y, right - x, bottom - y)
