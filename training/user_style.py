"""Turn MNIST digits into the files people really send, one generator per kind of upload.

Each generator takes a 28x28 uint8 MNIST digit (white ink on black) and a seeded
`numpy.random.Generator` and returns the bytes of an image file: the digit drawn as dark ink on
tinted paper and photographed, exported from a drawing app with a transparent background, small
in a corner of a large page, and so on. Everything is deterministic given the generator's seed.
`training/evaluate.py` measures accuracy per kind; `tests/test_user_style.py` runs a few of each.
"""
import io

import numpy as np
from PIL import Image, ImageFilter

from training.negatives import MAKERS
from training.styles import STYLES

EXIF_ORIENTATION = 0x0112
# EXIF orientation tag -> how the camera stored the pixels (exif_transpose undoes it).
STORED_AS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
             8: Image.Transpose.ROTATE_270}


def save(image, fmt, **options):
    """A Pillow image as the bytes of an image file in format `fmt`."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def ink_alpha(digit, size, stretch=1.0):
    """The digit's ink as float coverage in [0, 1], cropped to the ink, its longest side `size`
    pixels (before widening by `stretch`)."""
    rows = np.nonzero(digit.max(axis=1) > 0)[0]
    cols = np.nonzero(digit.max(axis=0) > 0)[0]
    crop = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = size / max(crop.shape)
    width = max(1, round(crop.shape[1] * scale * stretch))
    height = max(1, round(crop.shape[0] * scale))
    big = Image.fromarray(crop).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32) / 255.0


def place(alpha, height, width, top, left):
    """`alpha` pasted into an empty height x width coverage map at (top, left)."""
    field = np.zeros((height, width), dtype=np.float32)
    field[top:top + alpha.shape[0], left:left + alpha.shape[1]] = alpha
    return field


def centred(alpha, height, width, rng, jitter=0.08):
    """`alpha` placed near the middle of a height x width field, a little off by chance."""
    spare_y, spare_x = height - alpha.shape[0], width - alpha.shape[1]
    top = int(np.clip(spare_y / 2 + rng.uniform(-jitter, jitter) * height, 0, spare_y))
    left = int(np.clip(spare_x / 2 + rng.uniform(-jitter, jitter) * width, 0, spare_x))
    return place(alpha, height, width, top, left)


def lighting(height, width, rng, strength):
    """A multiplicative light field: a gradient in a random direction and a soft vignette."""
    ys = (np.arange(height, dtype=np.float32) / height - 0.5)[:, None]
    xs = (np.arange(width, dtype=np.float32) / width - 0.5)[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * xs + np.sin(angle) * ys) * strength
    vignette = -0.5 * strength * (xs ** 2 + ys ** 2)
    return 1.0 + gradient + vignette


def ink_on_paper(coverage, paper_rgb, ink_rgb, light, noise, rng):
    """RGB uint8: ink laid over paper by coverage, lit by `light`, with sensor noise."""
    coverage = coverage[..., None]
    paper = np.asarray(paper_rgb, dtype=np.float32)
    ink = np.asarray(ink_rgb, dtype=np.float32)
    pixels = (paper * (1 - coverage) + ink * coverage) * light[..., None]
    pixels += rng.standard_normal(pixels.shape, dtype=np.float32) * np.float32(noise)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def tinted_paper(rng):
    """A paper colour: white, cream, yellowish, bluish or greyish."""
    base = rng.uniform(205, 250)
    tint = rng.choice([(0, 0, 0), (0, -8, -35), (-5, -3, -20), (-20, -8, 0), (-10, -10, -10)])
    return tuple(np.clip(base + np.asarray(tint) + rng.normal(0, 4, 3), 0, 255))


def dark_ink(rng):
    """Black, blue-black, or blue ballpoint."""
    return tuple(rng.choice([(25, 25, 30), (30, 35, 70), (35, 45, 120), (50, 40, 40)]) +
                 rng.normal(0, 6, 3))


def photo_of(digit, rng, size=(300, 480), fill=(0.5, 0.75), blur=(0.6, 1.4)):
    """An RGB photo: dark ink on tinted, unevenly lit, noisy, slightly blurred paper."""
    height, width = (int(v) for v in rng.integers(size[0], size[1], 2))
    alpha = ink_alpha(digit, int(min(height, width) * rng.uniform(*fill)))
    coverage = centred(alpha, height, width, rng)
    pixels = ink_on_paper(coverage, tinted_paper(rng), dark_ink(rng),
                          lighting(height, width, rng, rng.uniform(0.15, 0.4)),
                          rng.uniform(2, 8), rng)
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(rng.uniform(*blur)))


def photo_jpeg(digit, rng):
    """Phone photo: dark ink on tinted, unevenly lit, noisy paper, JPEG."""
    return save(photo_of(digit, rng), "JPEG", quality=int(rng.integers(55, 92)))


def canvas_png(digit, rng):
    """Drawing-app export: strokes on a fully transparent background, RGBA PNG."""
    side = int(rng.integers(200, 420))
    alpha = centred(ink_alpha(digit, int(side * rng.uniform(0.5, 0.85))), side, side, rng)
    light_ink = rng.random() < 0.2  # a dark-mode app: white strokes
    ink = (255, 255, 255) if light_ink else tuple(int(v) for v in rng.integers(0, 60, 3))
    hidden = (0, 0, 0) if rng.random() < 0.5 else (255, 255, 255)  # colour under alpha 0
    rgba = np.empty(alpha.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = np.where(alpha[..., None] > 0, np.asarray(ink), np.asarray(hidden))
    rgba[..., 3] = np.round(alpha * 255)
    return save(Image.fromarray(rgba, "RGBA"), "PNG")


def _off_centre(spare, rng):
    """A position in the first or last third of `spare` pixels of room."""
    third = max(spare // 3, 1)
    return int(rng.integers(0, third) if rng.random() < 0.5 else rng.integers(spare - third,
                                                                               spare + 1))


def small_off_centre(digit, rng):
    """A small digit near a corner of a large, lightly noisy, unevenly lit page, grey PNG."""
    height, width = (int(v) for v in rng.integers(500, 800, 2))
    alpha = ink_alpha(digit, int(rng.integers(45, 90)))
    coverage = place(alpha, height, width, _off_centre(height - alpha.shape[0], rng),
                     _off_centre(width - alpha.shape[1], rng))
    paper = (float(np.mean(tinted_paper(rng))),)
    pixels = ink_on_paper(coverage, paper, (float(rng.uniform(20, 60)),),
                          lighting(height, width, rng, 0.1), rng.uniform(1, 4), rng)
    return save(Image.fromarray(pixels[..., 0]), "PNG", compress_level=1)


def thick_marker(digit, rng):
    """Felt-tip marker: strokes about twice MNIST's width, on white paper, JPEG."""
    height = int(rng.integers(220, 320))
    small = ink_alpha(digit, 60)  # grow the strokes at 60 pixels, then enlarge
    grown = Image.fromarray(np.round(small * 255).astype(np.uint8)).filter(
        ImageFilter.MaxFilter(int(rng.choice([3, 5, 7]))))
    scale = height / max(grown.size)
    grown = grown.resize((round(grown.width * scale), round(grown.height * scale)),
                         Image.Resampling.BICUBIC)
    alpha = np.asarray(grown, dtype=np.float32) / 255.0
    side = int(height / rng.uniform(0.6, 0.8))
    coverage = centred(alpha, side, max(side, alpha.shape[1] + 10), rng)
    pixels = ink_on_paper(coverage, tinted_paper(rng), dark_ink(rng),
                          lighting(*coverage.shape, rng, 0.15), 3, rng)
    return save(Image.fromarray(pixels), "JPEG", quality=85)


def pencil_on_grey(digit, rng):
    """Soft pencil on grey paper: ink only 15-25 % of the range darker, grainy, noisy, JPEG."""
    height, width = (int(v) for v in rng.integers(260, 420, 2))
    alpha = ink_alpha(digit, int(min(height, width) * rng.uniform(0.5, 0.75)))
    grain = rng.uniform(0.55, 1.0, alpha.shape).astype(np.float32)
    coverage = centred(alpha * grain, height, width, rng)
    paper = rng.uniform(140, 185)
    darker = paper - rng.uniform(0.15, 0.25) * 255
    pixels = ink_on_paper(coverage, (paper,) * 3, (darker,) * 3,
                          lighting(height, width, rng, 0.15), rng.uniform(2, 5), rng)
    image = Image.fromarray(pixels).convert("L").filter(ImageFilter.GaussianBlur(0.8))
    return save(image, "JPEG", quality=90)


def odd_aspect(digit, rng):
    """A wide strip or a tall slip of paper (3:1 to 4:1), the digit a little wide or narrow, PNG."""
    short = int(rng.integers(120, 220))
    long = int(short * rng.uniform(3, 4))
    alpha = ink_alpha(digit, int(short * rng.uniform(0.55, 0.8)), stretch=rng.uniform(0.9, 1.1))
    height, width = (short, long) if rng.random() < 0.5 else (long, max(short, alpha.shape[1] + 4))
    spare_y, spare_x = height - alpha.shape[0], width - alpha.shape[1]
    coverage = place(alpha, height, width, int(rng.integers(0, spare_y + 1)),
                     int(rng.integers(0, spare_x + 1)))
    pixels = ink_on_paper(coverage, tinted_paper(rng), dark_ink(rng),
                          lighting(height, width, rng, 0.1), 2, rng)
    return save(Image.fromarray(pixels), "PNG", compress_level=1)


def exif_rotated_jpeg(digit, rng):
    """Phone photo stored sideways or upside down with the EXIF orientation that undoes it."""
    orientation = int(rng.choice(sorted(STORED_AS)))
    stored = photo_of(digit, rng).transpose(STORED_AS[orientation])
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return save(stored, "JPEG", quality=85, exif=exif)


def palette_gif(digit, rng):
    """Paletted GIF: a quantised paper photo, or ink on a transparent palette entry."""
    if rng.random() < 0.5:
        image = photo_of(digit, rng, size=(200, 320)).quantize(int(rng.choice([8, 16, 64])))
        return save(image, "GIF")
    side = int(rng.integers(200, 320))
    alpha = centred(ink_alpha(digit, int(side * 0.7)), side, side, rng)
    levels = np.round(alpha * 7).astype(np.uint8)  # 0 = transparent, 1..7 = darker and darker
    image = Image.fromarray(levels, "P")
    image.putpalette([v for level in range(8) for v in (255 - 36 * level,) * 3])
    return save(image, "GIF", transparency=0)


def png16(digit, rng):
    """16-bit greyscale PNG (a scanner's output): dark ink on light paper, full 16-bit range."""
    height, width = (int(v) for v in rng.integers(260, 420, 2))
    coverage = centred(ink_alpha(digit, int(min(height, width) * 0.7)), height, width, rng)
    paper, ink = rng.uniform(48000, 62000), rng.uniform(3000, 15000)
    pixels = (paper * (1 - coverage) + ink * coverage +
              600 * rng.standard_normal(coverage.shape, dtype=np.float32))
    return save(Image.fromarray(np.clip(pixels, 0, 65535).astype(np.uint16)), "PNG",
                compress_level=1)


def other_formats(digit, rng):
    """The same paper photo as BMP, CMYK TIFF, LZW TIFF or lossy WebP, in turn."""
    image = photo_of(digit, rng, size=(200, 360))
    fmt = int(rng.integers(0, 4))
    if fmt == 0:
        return save(image, "BMP")
    if fmt == 1:
        return save(image.convert("CMYK"), "TIFF")
    if fmt == 2:
        return save(image, "TIFF", compression="tiff_lzw")
    return save(image, "WEBP", quality=int(rng.integers(50, 90)))


def multi_frame(digit, rng):
    """Animated GIF or multi-page TIFF: the digit on the first frame, a scribble on the next."""
    first = photo_of(digit, rng, size=(200, 320))
    second = Image.fromarray(255 - np.asarray(first)).rotate(90, expand=True).resize(first.size)
    if rng.random() < 0.5:
        return save(first, "GIF", save_all=True, append_images=[second], duration=500)
    return save(first, "TIFF", save_all=True, append_images=[second])


def chalkboard(digit, rng):
    """Light chalk on a dark green or grey board: the opposite polarity, JPEG."""
    height, width = (int(v) for v in rng.integers(300, 460, 2))
    alpha = ink_alpha(digit, int(min(height, width) * rng.uniform(0.5, 0.75)))
    coverage = centred(alpha * rng.uniform(0.6, 1.0, alpha.shape).astype(np.float32),
                       height, width, rng)
    board = rng.choice([(40, 70, 50), (45, 50, 55), (25, 30, 30)]) + rng.normal(0, 5, 3)
    pixels = ink_on_paper(coverage, tuple(board), (225, 230, 225),
                          lighting(height, width, rng, 0.3), rng.uniform(3, 7), rng)
    return save(Image.fromarray(pixels), "JPEG", quality=int(rng.integers(60, 90)))


KINDS = {
    "photo_jpeg": photo_jpeg,
    "canvas_png": canvas_png,
    "small_off_centre": small_off_centre,
    "thick_marker": thick_marker,
    "pencil_on_grey": pencil_on_grey,
    "odd_aspect": odd_aspect,
    "exif_rotated_jpeg": exif_rotated_jpeg,
    "palette_gif": palette_gif,
    "png16": png16,
    "other_formats": other_formats,
    "multi_frame": multi_frame,
    "chalkboard": chalkboard,
}


def on_paper(coverage, rng):
    """A white-on-black coverage map drawn as dark ink on lit, noisy paper, grey PNG or JPEG."""
    digit = np.round(np.clip(coverage, 0, 1) * 255).astype(np.uint8)
    height, width = (int(v) for v in rng.integers(160, 320, 2))
    alpha = ink_alpha(digit, int(min(height, width) * rng.uniform(0.5, 0.8)))
    pixels = ink_on_paper(centred(alpha, height, width, rng), tinted_paper(rng), dark_ink(rng),
                          lighting(height, width, rng, 0.15), rng.uniform(1, 4), rng)
    image = Image.fromarray(pixels)
    if rng.random() < 0.5:
        return save(image, "PNG", compress_level=1)
    return save(image, "JPEG", quality=int(rng.integers(70, 92)))


def _styled(name):
    restyle = STYLES[name][0]

    def make(digit, rng):
        return on_paper(restyle(digit, rng), rng)
    make.__doc__ = restyle.__doc__.split("\n")[0].rstrip(".") + "; on paper, PNG or JPEG."
    return make


def _not_a_digit(name):
    draw = MAKERS[name]

    def make(_digit, rng):
        return on_paper(draw(rng), rng)
    make.__doc__ = "Not a digit: " + draw.__doc__.split("\n")[0][0].lower() + \
        draw.__doc__.split("\n")[0][1:].rstrip(".") + "; on paper."
    return make


# Ways of writing digits (training/styles.py) drawn from MNIST test digits, one kind per style;
# STYLE_DIGITS says which digits a kind is made from (None: any).
STYLE_KINDS = {name: _styled(name) for name in STYLES}
STYLE_DIGITS = {name: digits for name, (_, digits) in STYLES.items()}
# Pictures that are not digits (training/negatives.py, another seed than training's): the
# right answer is a refusal.
NOT_DIGIT_KINDS = {f"not_a_digit_{name}": _not_a_digit(name) for name in MAKERS}
ALL_KINDS = {**KINDS, **STYLE_KINDS, **NOT_DIGIT_KINDS}


def describe(kind):
    """The one-line description of a kind (its generator's docstring)."""
    return ALL_KINDS[kind].__doc__.split("\n")[0]


def generate(kind, digits, seed):
    """The files for `digits` as `kind`, reproducible from (kind, seed) alone (a non-digit
    kind makes one file per entry of `digits` and ignores what they are)."""
    rng = np.random.default_rng([seed, list(ALL_KINDS).index(kind)])
    return [ALL_KINDS[kind](digit, rng) for digit in digits]
