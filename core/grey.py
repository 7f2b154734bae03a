"""A decoded image of any Pillow mode to grey levels: a float32 array in [0, 1]."""
import numpy as np
from PIL import Image, ImageStat


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
