"""Read a number: the row of handwritten digits in one upload, left to right.

    decode -> grey -> find the row (core.row) -> strokes (core.components)
      -> digits and marks (core.strokes) -> cuts and pieces (core.split)
      -> normalise each piece as one digit -> one model call -> the likeliest split

The upload is decoded and its ink told from the paper exactly as for one digit; its strokes are
grouped into digits, marks that are not digits (specks, dashes, dots, commas, a frame or a
ruled line) left out by their shape, and wide or joined strokes cut where the ink is thinnest.
Every candidate piece is normalised as a single-digit upload is and all of them are classified
in one model call (a second one only for wide pieces that do not read surely as one digit); the
reading is the split whose digits are likeliest.

The probability of a reading is the product of its digits' probabilities: the chance that
every digit is right, if the split is right and the digits' errors are independent.
"""
import dataclasses
import math

import numpy as np

from core.batch import PixelBudget
from core.components import label
from core.errors import ImageError, NoDigitFound
from core.pipeline import grey_from_upload
from core.row import find_row
from core.split import (MAX_PIECE, best_digit, best_split, candidate_pieces, make_groups,
                        normalise_piece)
from core.strokes import group_strokes, is_mark

MAX_GROUPS = 64  # an image with more digit-like shapes than this is not one number
MAX_STROKES = 4 * MAX_GROUPS  # nor one of more separate strokes (before any is left out)
SURE = 0.9  # a group that may hold several digits is only split if it reads less surely as one
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
                if not self._wrapper.refused(probabilities[np.newaxis])[0]:  # not a digit
                    found.append(Digit(_scaled(row.box(*box), grey.shape, size),
                                       *best_digit(probabilities)))
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
