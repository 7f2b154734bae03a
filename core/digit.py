"""Turn any uploaded picture of a digit into a 28x28 array the way MNIST itself was made.

MNIST digits are white ink on black, size-normalised to fit a 20x20 box (aspect ratio kept,
anti-aliased) and centred by centre of mass in a 28x28 field. A model trained on MNIST is only
as good as the step that makes a real photo, scan or canvas export look like that.
"""
import io
import math

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MNIST_SIDE = 28
DIGIT_BOX = 20
WORK_SIDE = 256  # analysis resolution: larger inputs are box-averaged down to this first
STROKE_SIDE = 64  # resolution at which stroke width is normalised before the final resize
TARGET_STROKE = 0.12  # MNIST stroke width as a fraction of the digit's longest side
MIN_CONTRAST = 0.1  # ink must stand out from the background by this much of the full range
MIN_INK_PIXELS = 4

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "MPO", "PPM", "DIB"})


class ImageError(ValueError):
    """An upload that cannot become a digit; the message tells the client what to fix."""

    status = 400


class InvalidImage(ImageError):
    """Not an image, or a corrupt or truncated one."""


class ImageTooLarge(ImageError):
    """Declares more pixels than the service accepts (refused from the header)."""

    status = 413


class NoDigitFound(ImageError):
    """A blank page: nothing stands out from the background."""

    status = 422


def open_image(data, max_pixels, max_side):
    """Decode an upload with Pillow, checking the declared size before any pixel is decoded."""
    if not data:
        raise InvalidImage("the file is empty")
    try:
        # Only these parsers ever see the bytes (the JPEG parser also yields MPO).
        image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS - {"MPO"}))
    except Image.DecompressionBombError as error:
        raise ImageTooLarge(f"the image declares far more than {max_pixels} pixels; send a "
                            "smaller image") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidImage("the file is not an image in a format this service reads "
                           "(PNG, JPEG, GIF, BMP, TIFF, WebP)") from error
    width, height = image.size
    if width * height > max_pixels or max(width, height) > max_side:
        raise ImageTooLarge(f"the image is {width}x{height} pixels; the limit is {max_side} "
                            f"pixels a side and {max_pixels} pixels in all: send a smaller image")
    if image.format not in ALLOWED_FORMATS:
        raise InvalidImage(f"{image.format} files are not accepted; send PNG, JPEG, GIF, BMP, "
                           "TIFF or WebP")
    if width < 1 or height < 1:
        raise InvalidImage("the image has no pixels")
    if image.format in ("JPEG", "MPO"):
        image.draft(image.mode, (WORK_SIDE, WORK_SIDE))  # let libjpeg decode at reduced scale
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except Exception as error:  # Pillow raises many types on corrupt data
        raise InvalidImage(f"the image data is truncated or corrupt ({type(error).__name__})") \
            from error
    return image


def to_grey(image):
    """Any Pillow mode to a float32 array in [0, 1], transparency composited so the ink shows."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        pixels = np.asarray(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(pixels.max()), 1.0)
        return np.clip(pixels / top, 0.0, 1.0)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return _composite(grey, rgba[..., 3])
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _composite(grey, alpha):
    """Put transparent pixels on a background that contrasts with the ink they surround."""
    if alpha.min() > 0.99:
        return grey
    opaque = alpha > 0.5
    ink_level = float(grey[opaque].mean()) if opaque.any() else 0.0
    background = 1.0 if ink_level < 0.5 else 0.0
    return grey * alpha + background * (1.0 - alpha)


def box_downscale(pixels, side):
    """Average-pool so the longest side is at most `side` (cheap and alias-free)."""
    factor = math.ceil(max(pixels.shape) / side)
    if factor <= 1:
        return pixels
    height, width = pixels.shape
    padded = np.pad(pixels, ((0, -height % factor), (0, -width % factor)), mode="edge")
    return padded.reshape(padded.shape[0] // factor, factor,
                          padded.shape[1] // factor, factor).mean(axis=(1, 3))


def ink_map(grey):
    """Bright ink on zero background: polarity from the border, uneven lighting flattened."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    paper = float(np.median(border))
    low, high = np.percentile(grey, [0.05, 99.95])
    ink = paper - grey if paper - low > high - paper else grey - paper
    ink = ink - _background(ink)
    return np.clip(ink, 0.0, None)


def _background(ink, cells=4):
    """The paper's own level per region (a low percentile per cell), bilinearly interpolated."""
    height, width = ink.shape
    cell_h, cell_w = height // cells, width // cells
    if min(cell_h, cell_w) < 4:
        return np.float32(np.percentile(ink, 20))
    blocks = (ink[:cell_h * cells, :cell_w * cells]
              .reshape(cells, cell_h, cells, cell_w).swapaxes(1, 2).reshape(cells, cells, -1))
    return _resize(np.percentile(blocks, 20, axis=-1), width, height)


def otsu_threshold(values):
    """The level that best splits values into two classes (Otsu 1979), vectorised."""
    bins = 128
    width = (float(values.max()) + 1e-6) / bins
    counts = np.bincount((values / width).astype(np.intp).ravel(), minlength=bins)[:bins]
    centres = (np.arange(bins) + 0.5) * width
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    mass_low = np.cumsum(counts * centres)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[-1] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float((np.argmax(between) + 1) * width)


def _ink_bounds(mask, axis, trim=0.002):
    """First and last index holding ink along an axis, ignoring stray specks at the tails."""
    profile = np.cumsum(mask.sum(axis=axis), dtype=np.float64)
    total = profile[-1]
    first = int(np.searchsorted(profile, total * trim, side="right"))
    last = int(np.searchsorted(profile, total * (1 - trim), side="left"))
    return first, max(last, first) + 1


def _dilate(pixels, radius):
    """Grey-level dilation with a (2r+1) square, separable, for strokes too thin for MNIST."""
    for axis in (0, 1):
        padded = np.pad(pixels, [(radius, radius) if a == axis else (0, 0) for a in (0, 1)])
        size = pixels.shape[axis]
        pixels = np.max([np.take(padded, range(shift, shift + size), axis=axis)
                         for shift in range(2 * radius + 1)], axis=0)
    return pixels


def _resize(pixels, width, height):
    return np.asarray(Image.fromarray(pixels.astype(np.float32), mode="F")
                      .resize((width, height), Image.Resampling.BILINEAR))


def normalise_digit(grey):
    """A grey image (any size, any polarity) to MNIST's 28x28 white-on-black float32 digit."""
    ink = ink_map(box_downscale(np.asarray(grey, dtype=np.float32), WORK_SIDE))
    contrast = float(ink.max())
    if contrast < MIN_CONTRAST:
        raise NoDigitFound("no digit found: the image is blank or has too little contrast")
    threshold = otsu_threshold(ink)
    mask = ink > threshold
    if mask.sum() < MIN_INK_PIXELS:
        raise NoDigitFound("no digit found: too little ink stands out from the background")
    top, bottom = _ink_bounds(mask, axis=1)
    left, right = _ink_bounds(mask, axis=0)
    strong = float(np.percentile(ink[mask], 90))
    soft = np.clip((ink[top:bottom, left:right] - threshold / 2) / max(strong - threshold / 2,
                                                                       1e-6), 0.0, 1.0)
    soft = _normalise_stroke(soft)
    height, width = soft.shape
    scale = DIGIT_BOX / max(height, width)
    small = _resize(soft, max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.clip(small / max(float(small.max()), 1e-6), 0.0, 1.0)
    return _centre_by_mass(small)


def _normalise_stroke(soft):
    """Bring thin pen lines up to MNIST's stroke width at a fixed working size."""
    height, width = soft.shape
    longest = max(height, width)
    if longest > STROKE_SIDE:
        scale = STROKE_SIDE / longest
        soft = np.clip(_resize(soft, max(1, round(width * scale)), max(1, round(height * scale))),
                       0.0, 1.0)
        soft = soft / max(float(soft.max()), 1e-6)
    mask = soft > 0.5
    area = float(mask.sum())
    edges = float(np.count_nonzero(np.diff(mask, axis=0)) + np.count_nonzero(np.diff(mask, axis=1)))
    if area == 0 or edges == 0:
        return soft
    stroke = 2 * area / edges
    wanted = TARGET_STROKE * max(soft.shape)
    radius = int(round((wanted - stroke) / 2))
    return _dilate(soft, radius) if radius >= 1 else soft


def _centre_by_mass(digit):
    """Place the size-normalised digit in a 28x28 field with its centre of mass at the centre."""
    height, width = digit.shape
    total = float(digit.sum())
    rows, cols = np.indices(digit.shape)
    centre_y = float((rows * digit).sum()) / total if total else height / 2
    centre_x = float((cols * digit).sum()) / total if total else width / 2
    top = int(np.clip(round(MNIST_SIDE / 2 - centre_y - 0.5), 0, MNIST_SIDE - height))
    left = int(np.clip(round(MNIST_SIDE / 2 - centre_x - 0.5), 0, MNIST_SIDE - width))
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    field[top:top + height, left:left + width] = digit
    return field


def prepare_digit(data, max_pixels, max_side):
    """Upload bytes to a model-ready 28x28 digit: decode, grey, normalise."""
    return normalise_digit(to_grey(open_image(data, max_pixels, max_side)))
