"""Small numeric operations on grey images and [n, h, w] stacks of them, shared by the
pre-processing steps: averaging down, resizing, dilating, row percentiles."""
import functools

import numpy as np
from PIL import Image

SUMMED_FACTOR = 4  # box_downscale adds strided views up to this factor (16 views), then Pillow


def box_downscale(pixels, factor):
    """Average each factor x factor block: cheap, alias-free, noise averages out."""
    if factor <= 1:
        return pixels
    height, width = pixels.shape
    if factor <= SUMMED_FACTOR and height % factor == 0 and width % factor == 0:
        # whole blocks, few of them: adding the factor x factor strided views costs less than
        # a round trip through Pillow, and gives its result (to float32 rounding)
        total = pixels[::factor, ::factor].astype(np.float32)
        for row in range(factor):
            for column in range(factor):
                if row or column:
                    total += pixels[row::factor, column::factor]
        total *= np.float32(1 / factor ** 2)
        return total
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    return np.asarray(image.reduce(factor))  # partial blocks at the edges average what they hold


def percentile_rows(rows, fraction):
    """np.percentile(rows, 100 * fraction, axis=1) (linear), by partition: much cheaper."""
    position = fraction * (rows.shape[1] - 1)
    low = int(position)
    high = min(low + 1, rows.shape[1] - 1)
    parted = np.partition(rows, [low, high], axis=1)
    return parted[:, low] + (position - low) * (parted[:, high] - parted[:, low])


def dilate(pixels, radius):
    """Grey-level dilation (maximum) over a (2r+1) square of the last two axes, separable;
    pixels outside the image are left out, so the edges see fewer neighbours."""
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


@functools.lru_cache(maxsize=512)
def _weights_after(size_in, size_out):
    """_weights transposed, laid out to multiply from the right."""
    return np.ascontiguousarray(_weights(size_in, size_out).T)


def resize(pixels, width, height):
    """Pillow's bilinear resize (anti-aliased when shrinking) of the last two axes, as two small
    matrix products."""
    return _weights(pixels.shape[-2], height) @ pixels @ _weights_after(pixels.shape[-1], width)
