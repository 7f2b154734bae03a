"""Where the row of digits is: the ink of one upload, found exactly as for one digit
(core.ink.find_ink), cut from the full-resolution image at about ROW_SIDE pixels high."""
import dataclasses
import math

import numpy as np
from PIL import Image

from core.arrays import box_downscale
from core.errors import NoDigitFound
from core.ink import find_ink
from core.normalise import STROKE_SIDE

ROW_SIDE = STROKE_SIDE  # the row of digits is cut from the upload at about this height


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
        """A box of strokes in row pixels as (x, y, width, height) in the upload's pixels,
        with a row pixel more on each side: the strokes' soft edge, below the threshold."""
        x = max(self.origin[0] + (left - 1) * self.scale, 0)
        y = max(self.origin[1] + (top - 1) * self.scale, 0)
        right = min(self.origin[0] + (left + width + 1) * self.scale, self.size[0])
        bottom = min(self.origin[1] + (top + height + 1) * self.scale, self.size[1])
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
