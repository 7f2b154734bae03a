"""Image files the tests build: a hand-drawn-looking digit in any mode, files that are not
images, and the committed samples."""
import io
import zipfile

from PIL import Image, ImageDraw

from harness import ROOT
from harness.images import encode


def digit_image(mode="L", size=(96, 96), ink=0, paper=255):
    """A thick hand-drawn-looking 7 on plain paper, in any Pillow mode."""
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.line([(w * 0.2, h * 0.2), (w * 0.8, h * 0.2), (w * 0.45, h * 0.85)], fill=ink,
              width=max(2, w // 10))
    return image.convert(mode)


def zip_file():
    """A zip archive holding a digit PNG: not an image itself."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("digit.png", encode(digit_image()))
    return buffer.getvalue()


def animated_gif():
    """A three-frame GIF whose first frame is the digit."""
    frames = [digit_image("P"), Image.new("P", (96, 96), 0), digit_image("P", ink=128)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def sample(name):
    """The bytes of a committed sample image (samples/)."""
    return (ROOT / "samples" / name).read_bytes()
