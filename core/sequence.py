"""Joined digits read as a sequence: a group's ink made into the sequence model's input, and
the model's output (ten digits and a blank for each column step) read back as digits.

The input is the ink's levels scaled to [0, 1] (a typical stroke at 1), thin pen lines
thickened to MNIST's stroke width, INK_HEIGHT pixels high in a HEIGHT-pixel strip, aspect ratio
kept, bright on zero. The model looks at the strip through a window that slides STRIDE pixels a
step; its output at each step is the probability of each digit and of "no new digit here"
(BLANK). Reading it back is CTC's best path: a digit is read where it is the likeliest class
and was not already the likeliest one step before.
"""
import dataclasses

import numpy as np

from core.arrays import percentile_rows, resize
from core.normalise import STROKE_SIDE, TARGET_STROKE, thicken

HEIGHT = 32  # the model's input strip, in pixels
INK_HEIGHT = 24  # the ink's height within it
STRIDE = 4  # input columns per output step
MAX_WIDTH = 512  # a wider strip is squeezed to this width
BLANK = 10  # the output index of "no new digit here"
PEAK_OFFSET = -0.227  # where the model reads a digit from its centre, in ink heights (to the right)


@dataclasses.dataclass(frozen=True)
class View:
    """How a group's ink is laid out in its strip: the strip's width and the stroke thin lines
    are thickened to, each as a share of the plain layout's."""

    stretch: float = 1.0
    stroke: float = 1.0


PLAIN = View()
# Other views an unsure reading is read again through, wider and narrower, bolder and finer;
# the majority of the readings is taken (core.number)
VIEWS = (View(stretch=1.15), View(stretch=0.87), View(stroke=1.3), View(stretch=1.3),
         View(stroke=0.8), View(stretch=0.75))


@dataclasses.dataclass(frozen=True)
class Strip:
    """The model's input for one group of strokes, and how its columns map back: strip column
    c lies at group column (c - STRIDE) / scale (a step of blank comes first)."""

    pixels: np.ndarray  # [HEIGHT, width] float32, width a multiple of STRIDE
    scale: float


@dataclasses.dataclass(frozen=True)
class Read:
    """One digit of a sequence: the digit, its probability, the output steps (first, stop) it
    spans, the group columns (first, stop) those cover, and the model's output at its surest
    step (the ten digits' probabilities, then BLANK's)."""

    digit: int
    probability: float
    steps: tuple
    columns: tuple
    outputs: np.ndarray = dataclasses.field(compare=False, repr=False)

    @property
    def centre(self):
        """The group column the digit is read at."""
        return sum(self.columns) / 2


def make_strip(levels, mask, threshold, view=PLAIN):
    """The Strip of ink `levels` (bright on zero; `mask` marks those past `threshold`) laid out
    as `view` says. Thin lines are thickened at STROKE_SIDE pixels high, before the strip's
    final size, as a single digit's are (core.normalise.match_stroke)."""
    strong = float(percentile_rows(levels[mask].reshape(1, -1), 0.9)[0]) if mask.any() else 1.0
    half = threshold / 2
    soft = ((levels - half) / max(strong - half, 1e-6)).clip(0.0, 1.0).astype(np.float32)
    height, width = soft.shape
    if height > STROKE_SIDE:
        soft = _resized(soft, width * STROKE_SIDE / height, STROKE_SIDE)
    soft = thicken(soft, TARGET_STROKE * view.stroke * soft.shape[0])
    wide = min(max(1, round(width * INK_HEIGHT / height * view.stretch)), MAX_WIDTH - 2 * STRIDE)
    small = _resized(soft, wide, INK_HEIGHT)
    padded = -(-(wide + 2 * STRIDE) // STRIDE) * STRIDE  # a step of blank either side
    top = (HEIGHT - INK_HEIGHT) // 2
    pixels = np.zeros((HEIGHT, padded), np.float32)
    pixels[top:top + INK_HEIGHT, STRIDE:STRIDE + wide] = small
    return Strip(pixels, wide / width)


def _resized(soft, width, height):
    """Resized (anti-aliased), its peak brought back to 1."""
    small = resize(soft, max(1, round(width)), height).clip(0.0, 1.0)
    return small / max(float(small.max()), 1e-6)


def best_path(outputs, strip):
    """The digits (Read, left to right) of one strip's model outputs [steps, BLANK + 1]: CTC's
    best path. A digit's probability is the highest it reaches over the steps it spans; its
    columns are those steps' less PEAK_OFFSET (the model reads a digit off its centre)."""
    likeliest = np.argmax(outputs, axis=1)
    shift = STRIDE + PEAK_OFFSET * INK_HEIGHT  # strip columns before the group's first
    reads = []
    step = 0
    while step < len(likeliest):
        label = int(likeliest[step])
        end = step + 1
        while end < len(likeliest) and likeliest[end] == label:
            end += 1
        if label != BLANK:
            first = max((step * STRIDE - shift) / strip.scale, 0.0)
            stop = max((end * STRIDE - shift) / strip.scale, first + 1)
            surest = step + int(np.argmax(outputs[step:end, label]))
            reads.append(Read(label, float(outputs[surest, label]), (step, end),
                              (int(first), int(np.ceil(stop))), outputs[surest].copy()))
        step = end
    return reads
