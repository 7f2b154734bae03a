"""Turn any uploaded picture of a digit into a 28x28 array the way MNIST itself was made.

MNIST digits are white ink on black, size-normalised to fit a 20x20 box (aspect ratio kept,
anti-aliased) and centred by centre of mass in a 28x28 field. A model trained on MNIST is only
as good as the step that makes a real photo, scan or canvas export look like that.
"""
import functools
import io
import math

import numpy as np
from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

MNIST_SIDE = 28
DIGIT_BOX = 20
DECODE_SIDE = 200  # JPEGs decode at a reduced scale as long as both sides keep this many pixels
ANALYSIS_SIDE = 128  # the ink is located on a copy box-averaged down to at most this size
STROKE_SIDE = 64  # resolution at which stroke width is normalised before the final resize
TARGET_STROKE = 0.12  # MNIST stroke width as a fraction of the digit's longest side
BACKGROUND_CELLS = 4  # uneven lighting is estimated on a 4x4 grid of cells...
BACKGROUND_RANK = 0.2  # ...as the level that 20 % of each cell's pixels are below (ink-wise)
STROKE_JUMP = 0.2  # a cell this much darker than a neighbour holds a thick stroke, not shade
MIN_CONTRAST = 0.1  # ink must stand out from the background by this much of the full range...
NOISE_RATIO = 5  # ...and by this many times the paper's own noise
MIN_INK_PIXELS = 4
TOO_LITTLE_INK = "no digit found: too little ink stands out from the background"

# the only Pillow parsers that ever see an upload (the JPEG one also yields MPO)
PARSERS = ("BMP", "DIB", "GIF", "JPEG", "PNG", "PPM", "TIFF", "WEBP")
NO_EXIF_FORMATS = frozenset({"GIF", "BMP", "DIB", "PPM"})  # formats that cannot carry EXIF


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
    return decode(read_header(data, max_pixels, max_side))


def read_header(data, max_pixels, max_side):
    """An upload opened but not decoded: its declared size checked, and a JPEG set to decode
    at reduced scale, so `width * height` is what decoding it will cost."""
    if not data:
        raise InvalidImage("the file is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=PARSERS)  # only these parsers see the bytes
    except Image.DecompressionBombError as error:
        raise ImageTooLarge(f"the image declares far more than {max_pixels} pixels; send a "
                            "smaller image") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidImage("the file is not an image in a format this service reads "
                           "(PNG, JPEG, GIF, BMP, TIFF, WebP, PPM)") from error
    width, height = image.size
    if width * height > max_pixels or max(width, height) > max_side:
        raise ImageTooLarge(f"the image is {width}x{height} pixels; the limit is {max_side} "
                            f"pixels a side and {max_pixels} pixels in all: send a smaller image")
    if width < 1 or height < 1:
        raise InvalidImage("the image has no pixels")
    if image.format in ("JPEG", "MPO"):
        # let libjpeg decode at reduced scale, and only the luma of a colour photo
        image.draft("L" if image.mode == "RGB" else image.mode, (DECODE_SIDE, DECODE_SIDE))
    return image


def decode(image):
    """The pixels of an image from read_header, upright (EXIF orientation applied)."""
    try:
        image.load()
        if _may_carry_orientation(image):
            image = ImageOps.exif_transpose(image)
    except Exception as error:  # Pillow raises many types on corrupt data
        raise InvalidImage(f"the image data is truncated or corrupt ({type(error).__name__})") \
            from error
    return image


def _may_carry_orientation(image):
    """False when the image cannot hold an EXIF orientation (reading EXIF costs as much as
    decoding a small PNG): a PNG only holds one in an eXIf chunk or a raw-profile text chunk."""
    if image.format in NO_EXIF_FORMATS:
        return False
    if image.format == "PNG":
        return any("exif" in str(key).lower() for key in image.info)
    return True


def to_grey(image):
    """Any Pillow mode to a float32 array in [0, 1], transparency composited so the ink shows."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # a float TIFF can hold NaN and infinities: they are no ink
        pixels = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0, posinf=0.0,
                               neginf=0.0)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(pixels.max()), 1.0)
        return np.clip(pixels / top, 0.0, 1.0)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if "A" in image.getbands() or "transparency" in image.info:
        return np.asarray(_composite(image.convert("RGBA")), dtype=np.float32) / 255.0
    if image.mode != "L":
        image = image.convert("L")
    return np.asarray(image, dtype=np.float32) * np.float32(1 / 255)


def _composite(rgba):
    """Grey, with transparent pixels on a background that contrasts with the visible ink."""
    alpha = rgba.getchannel("A")
    grey = rgba.convert("L")
    if alpha.getextrema()[0] > 252:
        return grey
    ink_level = ImageStat.Stat(grey, mask=alpha).mean[0] if alpha.getbbox() else 0.0
    background = Image.new("L", grey.size, 255 if ink_level < 128 else 0)
    return Image.composite(grey, background, alpha)


def box_downscale(pixels, factor):
    """Average each factor x factor block: cheap, alias-free, noise averages out."""
    if factor <= 1:
        return pixels
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    return np.asarray(image.reduce(factor))  # partial blocks at the edges average what they hold


def percentile_rows(rows, fraction):
    """np.percentile(rows, 100 * fraction, axis=1) (linear), by partition: much cheaper."""
    position = fraction * (rows.shape[1] - 1)
    low = int(position)
    high = min(low + 1, rows.shape[1] - 1)
    parted = np.partition(rows, [low, high], axis=1)
    return parted[:, low] + (position - low) * (parted[:, high] - parted[:, low])


def _border(stack):
    """Each image's outermost pixels, one row per image of an [n, h, w] stack."""
    return np.concatenate([stack[:, 0], stack[:, -1], stack[:, 1:-1, 0], stack[:, 1:-1, -1]],
                          axis=1)


def polarity(stack):
    """Per image of an [n, h, w] stack, (+1 or -1, paper level) as [n, 1, 1] arrays: the paper
    is the border's median; the ink is whichever extreme lies further from it, so
    `sign * (grey - paper)` is bright ink on a dark background."""
    paper = percentile_rows(_border(stack), 0.5)
    pixels = stack.reshape(len(stack), -1)
    darker = paper - pixels.min(axis=1) > pixels.max(axis=1) - paper
    sign = np.float32(1) - np.float32(2) * darker
    return sign[:, None, None], paper[:, None, None]


def background(ink, cells=BACKGROUND_CELLS):
    """Per image of an [n, h, w] stack, the paper's own level per region (a low rank per cell),
    bilinearly interpolated: this flattens uneven lighting and tinted corners without touching
    the strokes. Evenly lit images get an [n, 1, 1] level."""
    count, height, width = ink.shape
    cell_h, cell_w = height // cells, width // cells
    if min(cell_h, cell_w) < 4:
        return percentile_rows(ink.reshape(count, -1), BACKGROUND_RANK)[:, None, None]
    blocks = (ink[:, :cell_h * cells, :cell_w * cells]
              .reshape(count, cells, cell_h, cells, cell_w).swapaxes(2, 3)
              .reshape(count * cells * cells, -1))
    levels = percentile_rows(blocks, BACKGROUND_RANK).reshape(count, cells, cells)
    per_image = levels.reshape(count, -1)
    flat = per_image.min(axis=1) == per_image.max(axis=1)
    if flat.all():  # evenly lit (every digital drawing): nothing to flatten
        return levels[:, :1, :1]
    lit = _resize(_neighbourhood_min(levels), width, height)
    return np.where(flat[:, None, None], levels[:, :1, :1], lit)


def _neighbourhood_min(levels):
    """A cell far darker (ink-wise brighter) than its lightest neighbour is filled by a thick
    stroke, not dimly lit paper: it takes that neighbour's level, or the stroke would be
    subtracted from itself. Lighting changes less than STROKE_JUMP from cell to cell."""
    lowest = -_dilate(-levels, 1)  # each cell's 3x3 neighbourhood minimum
    return np.where(levels - lowest > STROKE_JUMP, lowest, levels)


def noise_level(residual):
    """Per image of an [n, h, w] stack, the paper's own noise: a robust spread (MAD) of the
    flattened image along its border."""
    edge = _border(residual)
    spread = np.abs(edge - percentile_rows(edge, 0.5)[:, None])
    return 1.4826 * percentile_rows(spread, 0.5).astype(np.float64)


OTSU_BINS = 128
OTSU_CENTRES = np.arange(OTSU_BINS) + 0.5  # bin centres in units of the bin width


def otsu_threshold(values, highest):
    """Per image of an [n, ...] stack whose maxima are `highest`, the level that best splits its
    values into two classes (Otsu 1979), vectorised. The class means are kept in units of the
    bin width: that scales the criterion, not its maximum."""
    count = len(values)
    width = (highest.astype(np.float64) + 1e-6) / OTSU_BINS
    bins = (values.reshape(count, -1) / width.astype(np.float32)[:, None]).astype(np.intp)
    np.minimum(bins, OTSU_BINS - 1, out=bins)
    bins += OTSU_BINS * np.arange(count)[:, None]  # one bincount, each image its own bins
    counts = np.bincount(bins.ravel(), minlength=count * OTSU_BINS).reshape(count, OTSU_BINS)
    weight_low = np.cumsum(counts, axis=1)
    weight_high = weight_low[:, -1:] - weight_low
    mass_low = np.cumsum(counts * OTSU_CENTRES, axis=1)
    mean_low = mass_low / np.maximum(weight_low, 1)
    mean_high = (mass_low[:, -1:] - mass_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return (np.argmax(between, axis=1) + 1) * width


def _ink_bounds(masks, axis, trim=0.002):
    """Per mask of an [n, h, w] stack, the first and last index holding ink along `axis` (2:
    rows, 1: columns), ignoring stray specks at the tails."""
    profile = np.cumsum(masks.sum(axis=axis), axis=1, dtype=np.float64)
    total = profile[:, -1:]
    # the profile never falls and ends at the total: the first index past a level is where
    # searchsorted would put it, row by row (all-empty masks give 0 and are refused anyway)
    first = np.argmax(profile > total * trim, axis=1)
    last = np.argmax(profile >= total * (1 - trim), axis=1)
    return first, np.maximum(last, first) + 1


def _dilate(pixels, radius):
    """Grey-level dilation (maximum) over a (2r+1) square of the last two axes, separable, for
    strokes too thin for MNIST; pixels outside the image are left out, so the edges see fewer
    neighbours."""
    rows = pixels.copy()
    for shift in range(1, radius + 1):
        np.maximum(rows[..., shift:], pixels[..., :-shift], out=rows[..., shift:])
        np.maximum(rows[..., :-shift], pixels[..., shift:], out=rows[..., :-shift])
    out = rows.copy()
    for shift in range(1, radius + 1):
        np.maximum(out[..., shift:, :], rows[..., :-shift, :], out=out[..., shift:, :])
        np.maximum(out[..., :-shift, :], rows[..., shift:, :], out=out[..., :-shift, :])
    return out


@functools.lru_cache(maxsize=512)
def _weights(size_in, size_out):
    """Pillow's bilinear resampling from size_in to size_out samples, as a matrix."""
    identity = Image.fromarray(np.eye(size_in, dtype=np.float32), mode="F")
    return np.asarray(identity.resize((size_in, size_out), Image.Resampling.BILINEAR))


def _resize(pixels, width, height):
    """Pillow's bilinear resize (anti-aliased when shrinking) of the last two axes, as two small
    matrix products."""
    return _weights(pixels.shape[-2], height) @ pixels @ _weights(pixels.shape[-1], width).T


def find_ink(greys):
    """For equal-sized grey images, each one's (ink, mask, threshold), or the NoDigitFound of a
    blank page: the digit's strokes as bright-on-zero levels cropped to the ink, which of them
    pass the threshold, and the threshold.

    The ink is located on copies averaged down to ANALYSIS_SIDE (cheap, and noise averages
    out), all images of the stack at once, then cut from each full-resolution image, averaged
    down only to STROKE_SIDE, so even a small digit in a large picture keeps its detail."""
    factor = math.ceil(max(greys[0].shape) / ANALYSIS_SIDE)
    coarse = np.asarray([box_downscale(grey, factor) for grey in greys])
    sign, paper = polarity(coarse)
    bright = sign * (coarse - paper)
    level = background(bright)
    residual = bright - level
    ink = np.maximum(residual, 0.0)
    contrast = ink.reshape(len(ink), -1).max(axis=1)
    noise = noise_level(residual)
    thresholds = otsu_threshold(ink, contrast)
    masks = ink > thresholds.astype(np.float32)[:, None, None]
    counts = masks.reshape(len(masks), -1).sum(axis=1)
    tops, bottoms = _ink_bounds(masks, axis=2)
    lefts, rights = _ink_bounds(masks, axis=1)
    found = []
    for index, grey in enumerate(greys):
        threshold = float(thresholds[index])
        if float(contrast[index]) < max(MIN_CONTRAST, NOISE_RATIO * float(noise[index])):
            found.append(NoDigitFound("no digit found: the image is blank or has too little "
                                      "contrast"))
        elif counts[index] < MIN_INK_PIXELS:
            found.append(NoDigitFound(TOO_LITTLE_INK))
        else:
            box = (int(tops[index]), int(bottoms[index]), int(lefts[index]), int(rights[index]))
            found.append(_cut(grey, factor, box, ink[index], masks[index], level[index],
                              float(sign[index, 0, 0]), float(paper[index, 0, 0]), threshold))
    return found


def _cut(grey, factor, box, ink, mask, level, sign, paper, threshold):
    """One image's ink cropped to `box` (found at 1/factor scale): from the full-resolution
    image, averaged down only to STROKE_SIDE, when that has more detail than the coarse copy."""
    top, bottom, left, right = box
    fine_factor = math.ceil(max(bottom - top, right - left) * factor / STROKE_SIDE)
    if fine_factor < factor:  # full resolution adds detail: cut the digit from it, with a
        top, left = max(top - 1, 0), max(left - 1, 0)  # coarse pixel to spare
        bottom, right = min(bottom + 1, ink.shape[0]), min(right + 1, ink.shape[1])
        crop = grey[top * factor:bottom * factor, left * factor:right * factor]
        fine = box_downscale(crop, fine_factor)
        level = np.broadcast_to(level, ink.shape)[top:bottom, left:right]  # level may be [1, 1]
        local = _resize(level, fine.shape[1], fine.shape[0])
        ink = np.maximum(sign * (fine - paper) - local, 0.0)
        mask = ink > threshold
        if not mask.any():
            return NoDigitFound(TOO_LITTLE_INK)
        (top,), (bottom,) = _ink_bounds(mask[None], axis=2)
        (left,), (right,) = _ink_bounds(mask[None], axis=1)
    return ink[top:bottom, left:right], mask[top:bottom, left:right], threshold


def normalise_digits(greys):
    """Equal-sized grey images (any polarity) to MNIST's 28x28 white-on-black float32 digits,
    each one a digit or the NoDigitFound of a blank page."""
    found = find_ink([np.asarray(grey, dtype=np.float32) for grey in greys])
    return [item if isinstance(item, NoDigitFound) else _size_normalise(*item)
            for item in found]


def normalise_digit(grey):
    """A grey image (any size, any polarity) to MNIST's 28x28 white-on-black float32 digit."""
    return _raise_error(normalise_digits([grey])[0])


def _raise_error(outcome):
    if isinstance(outcome, ImageError):
        raise outcome
    return outcome


def _size_normalise(ink, mask, threshold):
    """The cropped ink to MNIST's stroke width, 20x20 box and centre of mass."""
    strong = float(percentile_rows(ink[mask].reshape(1, -1), 0.9)[0])  # a typical stroke's level
    soft = np.clip((ink - threshold / 2) / max(strong - threshold / 2, 1e-6), 0.0, 1.0)
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
    area = float(np.count_nonzero(mask))
    edges = float(np.count_nonzero(mask[1:] != mask[:-1]) +
                  np.count_nonzero(mask[:, 1:] != mask[:, :-1]))
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
    centre_y = float(digit.sum(axis=1) @ np.arange(height)) / total if total else height / 2
    centre_x = float(digit.sum(axis=0) @ np.arange(width)) / total if total else width / 2
    top = min(max(round(MNIST_SIDE / 2 - centre_y - 0.5), 0), MNIST_SIDE - height)
    left = min(max(round(MNIST_SIDE / 2 - centre_x - 0.5), 0), MNIST_SIDE - width)
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    field[top:top + height, left:left + width] = digit
    return field


def prepare_digits(uploads, max_pixels, max_side, max_batch_pixels=None):
    """Upload bytes to model-ready 28x28 digits, each one a digit or the ImageError it raised.

    With `max_batch_pixels`, the uploads decode to at most that many pixels in all (a file past
    it fails alone), so one request of large images cannot hold a worker for long: decoding a
    large PNG or WebP costs ~30 ms per million pixels.

    Small images (no side over ANALYSIS_SIDE, such as MNIST-style scans and thumbnails) are
    located together, one stack per size, so a batch shares the ~100 small numpy calls that
    locating the ink takes; larger ones go one at a time, so a batch of big photos never sits
    in memory at once."""
    outcomes = [None] * len(uploads)
    small = {}
    pixels_left = max_batch_pixels
    for index, data in enumerate(uploads):
        try:
            image = read_header(data, max_pixels, max_side)
            cost = image.width * image.height
            if pixels_left is not None:
                if cost > pixels_left:
                    raise ImageTooLarge(f"this file decodes to {cost} pixels, more than the "
                                        f"{pixels_left} its request has left of "
                                        "MAX_BATCH_PIXELS: send it in another request")
                pixels_left -= cost  # charged before decoding: a corrupt file costs it too
            image = decode(image)
        except ImageError as error:
            outcomes[index] = error
            continue
        grey = to_grey(image)
        del image  # a large upload's pixels (up to ~64 MB) go as soon as they are grey
        if max(grey.shape) <= ANALYSIS_SIDE:
            small.setdefault(grey.shape, []).append((index, grey))
        else:
            outcomes[index] = normalise_digits([grey])[0]
        del grey  # ...and its grey copy before the next upload is decoded
    for group in small.values():
        for (index, _), outcome in zip(group, normalise_digits([grey for _, grey in group])):
            outcomes[index] = outcome
    return outcomes


def prepare_digit(data, max_pixels, max_side):
    """Upload bytes to a model-ready 28x28 digit: decode, grey, normalise."""
    return _raise_error(prepare_digits([data], max_pixels, max_side)[0])
