"""Ways real people write digits that MNIST's writers rarely did, made from MNIST digits.

Each style takes a 28x28 uint8 MNIST digit (white ink on black) and a seeded
`numpy.random.Generator` and returns the restyled digit as a float32 coverage map in [0, 1]
(white on black, any size): a European 1 gets a flag, a 7 a crossbar, a 9 a curled tail, an
open 4 its closing stroke; any digit can be slanted, drawn with a very thin or very thick pen,
or shrunk to a low-resolution thumbnail. Strokes are added at three times MNIST's resolution
with the digit's own stroke width, so they look drawn by the same pen. Training applies them
to MNIST's training digits only; `training/user_style.py` turns test digits into files with
them for `make evaluate`.
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SCALE = 3  # strokes are drawn on the digit enlarged to 84x84
SIDE = 28 * SCALE


def enlarged(digit):
    """The 28x28 digit as an 84x84 greyscale Pillow image."""
    return Image.fromarray(np.asarray(digit, dtype=np.uint8)).resize((SIDE, SIDE),
                                                                     Image.Resampling.BILINEAR)


def as_coverage(image):
    return np.asarray(image, dtype=np.float32) / 255.0


def ink_box(pixels, level=64):
    """(top, bottom, left, right) of the ink in a uint8 array (inclusive)."""
    rows = np.nonzero(pixels.max(axis=1) > level)[0]
    cols = np.nonzero(pixels.max(axis=0) > level)[0]
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def stroke_width(pixels, level=128):
    """The pen's width in pixels: twice the ink area over its outline length."""
    mask = pixels > level
    edges = np.count_nonzero(mask[1:] != mask[:-1]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
    return max(2, int(round(2 * np.count_nonzero(mask) / max(edges, 1))))


def _row_span(pixels, row, level=64):
    cols = np.nonzero(pixels[row] > level)[0]
    return (int(cols[0]), int(cols[-1])) if len(cols) else None


def _draw(image, points, width):
    draw = ImageDraw.Draw(image)
    draw.line([tuple(map(float, p)) for p in points], fill=255, width=width, joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):  # round pen ends
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return image


def european_one(digit, rng):
    """A 1 with a flag from its top down to the left, and no foot."""
    image = enlarged(digit)
    pixels = np.asarray(image)
    top, bottom, _, _ = ink_box(pixels)
    span = _row_span(pixels, top + 1) or (42, 42)
    x = (span[0] + span[1]) / 2
    height = bottom - top
    length = height * rng.uniform(0.25, 0.45)
    angle = np.deg2rad(rng.uniform(25, 60))  # below the horizontal
    end = (x - length * np.cos(angle), top + 1 + length * np.sin(angle))
    return as_coverage(_draw(image, [(x, top + 1), end], stroke_width(pixels)))


def one_with_base(digit, rng):
    """A 1 with a base stroke (a foot), with or without a flag, as typed 1s are written."""
    image = Image.fromarray(np.round(european_one(digit, rng) * 255).astype(np.uint8)) \
        if rng.random() < 0.7 else enlarged(digit)
    pixels = np.asarray(image)
    top, bottom, _, _ = ink_box(pixels)
    span = _row_span(pixels, bottom - 1) or (42, 42)
    x = (span[0] + span[1]) / 2
    half = (bottom - top) * rng.uniform(0.18, 0.3)
    tilt = rng.uniform(-2, 2)
    return as_coverage(_draw(image, [(x - half, bottom - tilt), (x + half, bottom + tilt)],
                             stroke_width(pixels)))


def crossed_seven(digit, rng):
    """A 7 with a short bar across the middle of its stem."""
    image = enlarged(digit)
    pixels = np.asarray(image)
    top, bottom, left, right = ink_box(pixels)
    row = int(top + (bottom - top) * rng.uniform(0.45, 0.6))
    span = _row_span(pixels, row) or ((left + right) // 2,) * 2
    x = (span[0] + span[1]) / 2
    half = (right - left) * rng.uniform(0.22, 0.35)
    tilt = rng.uniform(-3, 3)
    return as_coverage(_draw(image, [(x - half, row + tilt), (x + half, row - tilt)],
                             stroke_width(pixels)))


def curled_nine(digit, rng):
    """A 9 whose tail curls to the left at the bottom (a hook), or sweeps straight down."""
    image = enlarged(digit)
    pixels = np.asarray(image)
    top, bottom, left, right = ink_box(pixels)
    span = _row_span(pixels, bottom - 1) or ((left + right) // 2,) * 2
    x, y = (span[0] + span[1]) / 2, bottom - 1
    width = stroke_width(pixels)
    size = (bottom - top) * rng.uniform(0.15, 0.35)
    if rng.random() < 0.75:  # a hook: down and round to the left, then up a little
        turn = np.linspace(0, rng.uniform(0.8, 1.1) * np.pi, 8)
        points = [(x - size + size * np.cos(t), y + size * np.sin(t) * 0.8) for t in turn]
        points = [(x, y)] + points
    else:  # a straight tail carried on further down and to the left
        points = [(x, y), (x - size * rng.uniform(0.3, 1.0), y + size * 1.2)]
    canvas = Image.new("L", (SIDE, SIDE + int(2 * size) + width), 0)
    canvas.paste(image, (0, 0))
    return as_coverage(_draw(canvas, points, width))


def closed_four(digit, rng):
    """A closed 4: a stroke from the top of the upright down to the left end of the bar."""
    image = enlarged(digit)
    pixels = np.asarray(image)
    top, bottom, left, right = ink_box(pixels)
    band = range(top + (bottom - top) // 3, top + 3 * (bottom - top) // 4)
    widths = [(_row_span(pixels, row) or (0, -1)) for row in band]
    row = band[int(np.argmax([b - a for a, b in widths]))]
    bar_left = widths[row - band[0]][0]
    right_half = pixels[:, (left + right) // 2:]
    rows = np.nonzero(right_half.max(axis=1) > 64)[0]
    top_right = int(rows[0])
    span = _row_span(right_half, top_right) or (0, 0)
    upright = (left + right) // 2 + (span[0] + span[1]) / 2
    return as_coverage(_draw(image, [(upright, top_right + 1), (bar_left + 1, row)],
                             stroke_width(pixels)))


def slanted(digit, rng):
    """Strongly slanted writing: sheared 25-35 degrees either way."""
    image = enlarged(digit)
    shear = np.tan(np.deg2rad(rng.uniform(25, 35))) * rng.choice([-1, 1])
    # x_in = x_out + shear * (y_out - centre): the top leans right for a positive shear
    wide = Image.new("L", (2 * SIDE, SIDE), 0)
    wide.paste(image, (SIDE // 2, 0))
    coefficients = (1, shear, -shear * SIDE / 2, 0, 1, 0)
    return as_coverage(wide.transform(wide.size, Image.Transform.AFFINE, coefficients,
                                      Image.Resampling.BILINEAR))


def thin_pen(digit, rng):
    """A fine pen: strokes about a pixel wide at three times MNIST's size."""
    image = enlarged(digit).resize((SIDE * 2, SIDE * 2), Image.Resampling.BILINEAR)
    thin = image.filter(ImageFilter.MinFilter(int(rng.choice([5, 7]))))
    return as_coverage(thin if np.asarray(thin).max() > 128 else image)


def thick_pen(digit, rng):
    """A broad marker: strokes grown to two or three times MNIST's width."""
    return as_coverage(enlarged(digit).filter(ImageFilter.MaxFilter(int(rng.choice([9, 11, 13])))))


def thumbnail(digit, rng):
    """A low-resolution thumbnail: the digit 7-14 pixels tall, a little blurred."""
    height = int(rng.integers(7, 15))
    pixels = np.asarray(digit)
    rows = np.nonzero(pixels.max(axis=1))[0]
    cols = np.nonzero(pixels.max(axis=0))[0]
    crop = Image.fromarray(pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    scale = height / crop.height
    small = crop.resize((max(1, round(crop.width * scale)), height), Image.Resampling.BOX)
    field = Image.new("L", (small.width + 6, height + 6), 0)
    field.paste(small, (3, 3))
    if rng.random() < 0.5:
        field = field.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))
    return as_coverage(field)


# style: (what it does to a digit, the digits it applies to; None = any)
STYLES = {
    "european_one": (european_one, {1}),
    "one_with_base": (one_with_base, {1}),
    "crossed_seven": (crossed_seven, {7}),
    "curled_nine": (curled_nine, {9}),
    "slanted": (slanted, None),
    "thin_pen": (thin_pen, None),
    "thick_pen": (thick_pen, None),
    "thumbnail": (thumbnail, None),
}


def applies(style, label):
    digits = STYLES[style][1]
    return digits is None or int(label) in digits
