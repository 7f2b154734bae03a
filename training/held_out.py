"""Digits from outside MNIST, for evaluation only (never for training): other people's
handwriting, and digits set in common typefaces.

- Other writers: scikit-learn's bundled `load_digits`, the test part of UCI's optdigits
  (1,797 digits by writers other than MNIST's, 8x8 pixels, 17 grey levels); sent as the 8x8
  picture scaled up to 32x32 as a thumbnail viewer shows it (bilinear, so blurred).
- Typefaces: each digit of every DejaVu, Liberation and GNU FreeFont face installed (Debian's
  fonts-dejavu-core, fonts-liberation, fonts-freefont-ttf), dark on white, at three sizes.
- Typeset non-digits: letters and symbols no reader takes for a digit, in the same faces (the
  model's own non-digit examples are hand-drawn strokes, never type).
Each source returns (files, labels) or None when what it needs is not installed.
"""
import pathlib

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.user_style import save

FONT_FOLDERS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation",
                "/usr/share/fonts/truetype/freefont", "/usr/share/fonts/truetype/liberation2")
FONT_SIZES = (24, 48, 96)
SKIPPED_FONTS = ("DejaVuMathTeXGyre",)  # a maths font: its digits are upright, but it is not a
# text face people type in


def other_writers():
    """UCI optdigits' test digits (via scikit-learn) as 32x32 PNG files, and their labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        return None
    bunch = load_digits()
    files = []
    for image in bunch.images:
        pixels = np.round(255 - image * (255 / 16)).astype(np.uint8)  # dark ink on white
        files.append(save(Image.fromarray(pixels).resize((32, 32), Image.Resampling.BILINEAR),
                          "PNG"))
    return files, bunch.target.astype(np.int64)


def font_files():
    """The installed typeface files this evaluation renders, sorted."""
    found = []
    for folder in FONT_FOLDERS:
        path = pathlib.Path(folder)
        if path.is_dir():
            found += [f for f in sorted(path.glob("*.[ot]tf"))
                      if not f.stem.startswith(SKIPPED_FONTS)]
    return found


def typeset_digit(font_path, character, size):
    """One digit (or other character) in one typeface, dark on a white page with a margin."""
    font = ImageFont.truetype(str(font_path), size)
    left, top, right, bottom = font.getbbox(str(character))
    margin = size // 2
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 255)
    ImageDraw.Draw(image).text((margin - left, margin - top), str(character), font=font,
                               fill=0)
    return image


def typefaces():
    """Every digit in every installed face at FONT_SIZES as PNG files, their labels and faces."""
    fonts = font_files()
    if not fonts:
        return None
    files, labels = [], []
    for font in fonts:
        for digit in range(10):
            for size in FONT_SIZES:
                files.append(save(typeset_digit(font, digit, size), "PNG"))
                labels.append(digit)
    return files, np.asarray(labels, dtype=np.int64)


NOT_DIGIT_CHARACTERS = "AEFHKMNPRTUVWXYaefhkmnprtuvwxy#%&@+=*?"


def typeset_not_digits():
    """Letters and symbols that are not digit look-alikes, in every installed face (one size
    each, in turn), as PNG files."""
    fonts = font_files()
    if not fonts:
        return None
    files = []
    for index, font in enumerate(fonts):
        for character in NOT_DIGIT_CHARACTERS:
            files.append(save(typeset_digit(font, character, FONT_SIZES[index % len(FONT_SIZES)]),
                              "PNG"))
    return files
