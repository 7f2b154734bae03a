"""Cropped ink to an MNIST digit: MNIST's stroke width, its 20x20 box (aspect ratio kept,
anti-aliased), centred by centre of mass in a 28x28 field, white on black."""
import numpy as np

from core.arrays import dilate, percentile_rows, resize

MNIST_SIDE = 28
DIGIT_BOX = 20
STROKE_SIDE = 64  # resolution at which stroke width is normalised before the final resize
TARGET_STROKE = 0.12  # MNIST stroke width as a fraction of the digit's longest side


def match_stroke(ink):
    """An Ink's levels scaled to [0, 1] (a typical stroke at 1), at most STROKE_SIDE a side,
    with thin pen lines thickened to MNIST's stroke width."""
    strong = float(percentile_rows(ink.levels[ink.mask].reshape(1, -1), 0.9)[0])
    half = ink.threshold / 2
    soft = (ink.levels - half) / max(strong - half, 1e-6)
    soft.clip(0.0, 1.0, out=soft)
    height, width = soft.shape
    longest = max(height, width)
    if longest > STROKE_SIDE:
        scale = STROKE_SIDE / longest
        soft = resize(soft, max(1, round(width * scale)), max(1, round(height * scale)))
        soft.clip(0.0, 1.0, out=soft)
        soft /= max(float(soft.max()), 1e-6)
    return thicken(soft, TARGET_STROKE * max(soft.shape))


def thicken(soft, stroke):
    """Lines thinner than `stroke` pixels grown to about that width (a thicker one is left as
    it is); the width now is twice the area past 0.5 over its edge length."""
    mask = soft > 0.5
    area = float(np.count_nonzero(mask))
    edges = float(np.count_nonzero(mask[1:] != mask[:-1]) +
                  np.count_nonzero(mask[:, 1:] != mask[:, :-1]))
    if area == 0 or edges == 0:
        return soft
    radius = int(round((stroke - 2 * area / edges) / 2))
    return dilate(soft, radius) if radius >= 1 else soft


def fit_box(soft):
    """The digit resized so its longest side is DIGIT_BOX, aspect ratio kept, peak at 1."""
    height, width = soft.shape
    scale = DIGIT_BOX / max(height, width)
    small = resize(soft, max(1, round(width * scale)), max(1, round(height * scale)))
    small /= max(float(small.max()), 1e-6)
    return small.clip(0.0, 1.0, out=small)


def centre_by_mass(digit):
    """Place the sized digit in a 28x28 field with its centre of mass at the centre."""
    height, width = digit.shape
    total = float(digit.sum())
    centre_y = float(digit.sum(axis=1) @ np.arange(height)) / total if total else height / 2
    centre_x = float(digit.sum(axis=0) @ np.arange(width)) / total if total else width / 2
    top = min(max(round(MNIST_SIDE / 2 - centre_y - 0.5), 0), MNIST_SIDE - height)
    left = min(max(round(MNIST_SIDE / 2 - centre_x - 0.5), 0), MNIST_SIDE - width)
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    field[top:top + height, left:left + width] = digit
    return field
