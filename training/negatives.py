"""Pictures with ink that is not a digit, synthesised for the model's "not a digit" answer.

Each maker takes a seeded `numpy.random.Generator` and returns a float32 coverage map in [0, 1]
(white ink on black, 96x96): hand-drawn letters, symbols and shapes, scribbles, doodles, smudges
and fold lines. Shapes that pass as digits are left out on purpose (a circle or an ellipse is a
0; the letters O, I, l, S, Z, B, G, q, g, b, and a lone upright line are digits to a reader).
Training normalises them exactly as the server normalises an upload.
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIDE = 96

# Letters as pen strokes on a unit box (x right, y down), none of them a digit look-alike.
LETTERS = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.6), (0.78, 0.6)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.75, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55)], [(0.3, 0.4), (1, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "R": [[(0, 1), (0, 0), (0.8, 0), (0.95, 0.25), (0.8, 0.5), (0, 0.5)], [(0.4, 0.5), (1, 1)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "k": [[(0, 0), (0, 1)], [(0.8, 0.4), (0, 0.75)], [(0.25, 0.65), (0.85, 1)]],
    "m": [[(0, 1), (0, 0.4)], [(0, 0.5), (0.25, 0.4), (0.5, 0.5), (0.5, 1)],
          [(0.5, 0.5), (0.75, 0.4), (1, 0.5), (1, 1)]],
    "n": [[(0, 1), (0, 0.4)], [(0, 0.5), (0.5, 0.4), (1, 0.5), (1, 1)]],
    "h": [[(0, 0), (0, 1)], [(0, 0.5), (0.5, 0.4), (1, 0.5), (1, 1)]],
    "r": [[(0, 1), (0, 0.4)], [(0, 0.55), (0.5, 0.4), (1, 0.45)]],
    "t": [[(0.4, 0), (0.4, 0.9), (0.6, 1), (0.9, 0.95)], [(0, 0.35), (0.9, 0.35)]],
    "w": [[(0, 0.4), (0.25, 1), (0.5, 0.6), (0.75, 1), (1, 0.4)]],
    "x": [[(0, 0.4), (1, 1)], [(1, 0.4), (0, 1)]],
    "e": [[(0.05, 0.65), (0.95, 0.65), (0.85, 0.45), (0.5, 0.35), (0.1, 0.5), (0.05, 0.8),
           (0.4, 1), (0.9, 0.92)]],
    "u": [[(0, 0.4), (0, 0.85), (0.4, 1), (0.8, 0.9), (1, 0.7)], [(1, 0.4), (1, 1)]],
    "p": [[(0, 0.4), (0, 1.3)], [(0, 0.5), (0.5, 0.35), (1, 0.6), (0.6, 0.95), (0, 0.85)]],
    "f": [[(0.9, 0.1), (0.6, 0), (0.35, 0.15), (0.35, 1)], [(0, 0.45), (0.75, 0.45)]],
}
SYMBOLS = {
    "+": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "=": [[(0, 0.3), (1, 0.3)], [(0, 0.7), (1, 0.7)]],
    "#": [[(0.3, 0), (0.3, 1)], [(0.7, 0), (0.7, 1)], [(0, 0.3), (1, 0.3)], [(0, 0.7), (1, 0.7)]],
    "*": [[(0.5, 0), (0.5, 1)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "<": [[(1, 0), (0, 0.5), (1, 1)]],
    ">": [[(0, 0), (1, 0.5), (0, 1)]],
    "check": [[(0, 0.55), (0.35, 1), (1, 0)]],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.65, 0.2), (1, 0.5), (0.65, 0.8)]],
    "triangle": [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]],
    "square": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "star": [[(0.5, 0), (0.8, 1), (0, 0.35), (1, 0.35), (0.2, 1), (0.5, 0)]],
    "dash": [[(0, 0.5), (1, 0.5)]],
    "house": [[(0, 1), (0, 0.4), (0.5, 0), (1, 0.4), (1, 1), (0, 1)]],
    "diamond": [[(0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5), (0.5, 0)]],
    "zigzag": [[(0, 0.2), (0.2, 0.8), (0.4, 0.2), (0.6, 0.8), (0.8, 0.2), (1, 0.8)]],
    "grid": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], [(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "%": [[(1, 0), (0, 1)], [(0.1, 0.05), (0.3, 0.05), (0.3, 0.3), (0.1, 0.3), (0.1, 0.05)],
          [(0.7, 0.7), (0.9, 0.7), (0.9, 0.95), (0.7, 0.95), (0.7, 0.7)]],
    "&": [[(1, 1), (0.2, 0.3), (0.4, 0), (0.6, 0.2), (0.1, 0.7), (0.35, 1), (0.9, 0.55)]],
}


def _pen(rng):
    return int(rng.integers(3, 12))


def _jitter_strokes(strokes, rng, wobble=0.04):
    """Each stroke's points perturbed a little, as a hand draws."""
    return [[(x + rng.normal(0, wobble), y + rng.normal(0, wobble)) for x, y in stroke]
            for stroke in strokes]


def _place(strokes, rng, aspect=None):
    """Unit-box strokes to pixel coordinates: a random size, aspect, slant and rotation."""
    size = rng.uniform(40, 80)
    aspect = aspect or np.exp(rng.uniform(-0.35, 0.35))
    shear = rng.uniform(-0.3, 0.3)
    angle = rng.uniform(-0.3, 0.3)
    cos, sin = np.cos(angle), np.sin(angle)
    placed = []
    for stroke in strokes:
        points = []
        for x, y in stroke:
            u, v = (x - 0.5) * size * aspect + shear * (y - 0.5) * size, (y - 0.5) * size
            points.append((SIDE / 2 + cos * u - sin * v, SIDE / 2 + sin * u + cos * v))
        placed.append(points)
    return placed


def _render(strokes, width, smooth=True):
    image = Image.new("L", (SIDE, SIDE), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill=255, width=width, joint="curve")
        for x, y in (stroke[0], stroke[-1]):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    if smooth:
        image = image.filter(ImageFilter.GaussianBlur(0.8))
    return np.asarray(image, dtype=np.float32) / 255.0


def letter(rng):
    """A hand-drawn capital or small letter that no reader takes for a digit."""
    name = list(LETTERS)[rng.integers(len(LETTERS))]
    return _render(_place(_jitter_strokes(LETTERS[name], rng), rng), _pen(rng))


def symbol(rng):
    """A hand-drawn symbol or simple shape: +, =, #, *, arrows, ticks, triangles, squares..."""
    name = list(SYMBOLS)[rng.integers(len(SYMBOLS))]
    return _render(_place(_jitter_strokes(SYMBOLS[name], rng), rng), _pen(rng))


def scribble(rng):
    """A scribble: a smooth random pen path with many turns."""
    count = int(rng.integers(9, 18))
    points = np.cumsum(rng.normal(0, 14, (count, 2)), axis=0)
    points -= points.mean(axis=0)
    points = points / max(np.abs(points).max(), 1) * rng.uniform(25, 42) + SIDE / 2
    fine = _smooth_path(points, 8)
    return _render([[tuple(p) for p in fine]], _pen(rng))


def _smooth_path(points, per_segment):
    """A Catmull-Rom spline through `points`."""
    padded = np.concatenate([points[:1], points, points[-1:]])
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1:i + 3]
        for t in np.linspace(0, 1, per_segment, endpoint=False):
            out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                              + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    out.append(points[-1])
    return np.asarray(out)


def doodle(rng):
    """Two or three symbols, letters or scribbles drawn over one another or side by side."""
    parts = [MAKERS[name](rng) for name in rng.choice(["letter", "symbol", "scribble"],
                                                      int(rng.integers(2, 4)))]
    out = np.zeros((SIDE, SIDE), dtype=np.float32)
    for part in parts:
        shift = rng.integers(-20, 21, 2)
        out = np.maximum(out, np.roll(part, tuple(shift), axis=(0, 1)))
    return out


def smudge(rng):
    """A smudge: a soft, irregular blot of ink or dirt."""
    field = np.zeros((SIDE, SIDE), dtype=np.float32)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    for _ in range(int(rng.integers(2, 7))):
        cy, cx = rng.normal(SIDE / 2, 10, 2)
        sx = rng.uniform(6, 18)
        sy = sx * rng.uniform(0.5, 1.3)  # never a tall thin bar, which reads as a 1
        field += rng.uniform(0.4, 1) * np.exp(-((ys - cy) ** 2 / (2 * sy ** 2) +
                                                 (xs - cx) ** 2 / (2 * sx ** 2)))
    field *= rng.uniform(0.6, 1.0, field.shape).astype(np.float32)
    return np.clip(field / field.max(), 0, 1).astype(np.float32)


def fold_line(rng):
    """A fold or crease across the page: a faint straight line edge to edge, within 35 degrees
    of level (an upright or steep line is a 1 to any reader)."""
    angle = np.deg2rad(rng.uniform(55, 125)) * rng.choice([-1, 1])
    dx, dy = np.sin(angle), np.cos(angle)
    cx, cy = SIDE / 2 + rng.normal(0, 12, 2)
    far = SIDE * 2
    image = Image.new("L", (SIDE, SIDE), 0)
    ImageDraw.Draw(image).line([(cx - dx * far, cy - dy * far), (cx + dx * far, cy + dy * far)],
                               fill=int(rng.integers(120, 256)), width=int(rng.integers(1, 4)))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5))),
                      dtype=np.float32) / 255.0


MAKERS = {
    "letter": letter,
    "symbol": symbol,
    "scribble": scribble,
    "doodle": doodle,
    "smudge": smudge,
    "fold_line": fold_line,
}
SHARES = {"letter": 0.25, "symbol": 0.25, "scribble": 0.2, "doodle": 0.15, "smudge": 0.07,
          "fold_line": 0.08}


def make(count, rng):
    """`count` non-digit coverage maps in SHARES' proportions, and the maker of each."""
    names = rng.choice(list(SHARES), count, p=list(SHARES.values()))
    return [MAKERS[name](rng) for name in names], list(names)
