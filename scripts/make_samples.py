"""Draw the sample images in samples/ from stroke paths of our own (no MNIST data).

    python -m scripts.make_samples [--out samples]

Each digit is a pen path, drawn the way people send digits: a dark-ink photo-style JPEG on
tinted, unevenly lit paper; a canvas-style PNG with a transparent background; and a classic
white-on-black 28x28 PNG. A few more show the harder cases: faint pencil on grey paper, a fat
marker, a small digit in a corner of a large page, and a photo stored sideways with the EXIF
orientation that turns it upright. The digit is the first character of each file name.
samples/numbers/ holds photos of numbers (rows of the classic digits) for POST /model/read,
named after the number they show.
"""
import argparse
import pathlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from training.numbers import make_number


def _arc(cx, cy, rx, ry, start, end, steps=40):
    """Points on an ellipse from angle `start` to `end` (degrees, 0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, end, steps))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles)))


# Each digit: a list of strokes; each stroke a list of (x, y) in a unit box, y pointing down.
STROKES = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, -90, 270)],
    1: [[(0.4, 0.17), (0.55, 0.05), (0.55, 0.95)]],
    2: [_arc(0.5, 0.3, 0.3, 0.25, 200, 360) + [(0.75, 0.45), (0.15, 0.95), (0.88, 0.95)]],
    3: [_arc(0.48, 0.28, 0.3, 0.23, 200, 450) + _arc(0.48, 0.72, 0.34, 0.23, -90, 160)],
    4: [[(0.65, 0.95), (0.65, 0.05), (0.12, 0.65), (0.9, 0.65)]],
    5: [[(0.82, 0.05), (0.3, 0.05), (0.25, 0.45)] + _arc(0.48, 0.67, 0.33, 0.28, -120, 150)],
    6: [[(0.72, 0.05), (0.45, 0.2), (0.3, 0.45)] + _arc(0.5, 0.7, 0.25, 0.25, 200, 560)],
    7: [[(0.12, 0.08), (0.88, 0.08), (0.42, 0.95)]],
    8: [_arc(0.5, 0.27, 0.23, 0.22, 90, 450), _arc(0.5, 0.72, 0.28, 0.23, -90, 270)],
    9: [_arc(0.5, 0.3, 0.26, 0.25, 0, 360) + [(0.76, 0.3), (0.7, 0.6), (0.6, 0.95)]],
}


def draw_digit(digit, width, height, stroke, ink, paper, margin=0.15):
    """One digit drawn with a round pen of `stroke` pixels on an RGBA canvas."""
    canvas = Image.new("RGBA", (width, height), paper)
    pen = ImageDraw.Draw(canvas)
    box_w, box_h = width * (1 - 2 * margin), height * (1 - 2 * margin)
    for path in STROKES[digit]:
        points = [(width * margin + x * box_w, height * margin + y * box_h) for x, y in path]
        pen.line(points, fill=ink, width=stroke, joint="curve")
        for x, y in (points[0], points[-1]):
            pen.ellipse([x - stroke / 2, y - stroke / 2, x + stroke / 2, y + stroke / 2], fill=ink)
    return canvas


def photo(digit, rng):
    """Dark ink on tinted paper, lit unevenly, a little blur and sensor noise, saved as JPEG."""
    drawn = draw_digit(digit, 300, 360, 16, (30, 30, 45, 255), (0, 0, 0, 0))
    size = (300, 360)
    ys, xs = np.mgrid[0:size[1], 0:size[0]]
    light = 0.8 + 0.2 * (xs / size[0]) - 0.1 * (ys / size[1])
    paper = np.stack([238 * light, 228 * light, 200 * light], axis=-1)
    alpha = np.asarray(drawn, dtype=np.float32)[..., 3:] / 255.0
    ink = np.asarray(drawn, dtype=np.float32)[..., :3]
    pixels = paper * (1 - alpha) + ink * alpha + rng.normal(0, 6, paper.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(1.2))
    return image


def canvas(digit):
    """A drawing-app export: black strokes on a fully transparent background."""
    return draw_digit(digit, 280, 280, 18, (0, 0, 0, 255), (0, 0, 0, 0))


def classic(digit):
    """MNIST-style: white on black, 28x28 greyscale."""
    big = draw_digit(digit, 280, 280, 22, (255, 255, 255, 255), (0, 0, 0, 255), margin=0.16)
    return big.convert("L").resize((28, 28), Image.Resampling.LANCZOS)


def pencil(digit, rng):
    """Soft pencil on grey paper: a thin, faint, grainy line; low contrast."""
    drawn = np.asarray(draw_digit(digit, 300, 360, 7, (0, 0, 0, 255), (0, 0, 0, 0)),
                       dtype=np.float32)[..., 3] / 255.0
    grain = rng.uniform(0.6, 1.0, drawn.shape)
    pixels = 168 - 55 * drawn * grain + rng.normal(0, 3, drawn.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(0.7))


def marker(digit):
    """A fat felt-tip marker on white paper."""
    drawn = draw_digit(digit, 300, 360, 42, (10, 10, 10, 255), (0, 0, 0, 0), margin=0.2)
    page = Image.new("RGB", drawn.size, (250, 250, 246))
    page.paste(drawn, mask=drawn.getchannel("A"))
    return page


def small_in_page(digit, rng):
    """A small digit near the corner of a large, unevenly lit page."""
    ys, xs = np.mgrid[0:900, 0:1200]
    paper = (236 - 20 * xs / 1200 + 8 * ys / 900)[..., None] * np.array([1.0, 0.97, 0.86])
    sheet = Image.fromarray(np.clip(paper + rng.normal(0, 3, paper.shape), 0, 255)
                            .astype(np.uint8))
    drawn = draw_digit(digit, 50, 60, 4, (30, 30, 45, 255), (0, 0, 0, 0))
    sheet.paste(drawn, (930, 110), mask=drawn.getchannel("A"))
    return sheet.filter(ImageFilter.GaussianBlur(0.6))


def exif_rotated(digit, rng):
    """A phone photo stored sideways, with the EXIF orientation (6) that turns it upright."""
    stored = photo(digit, rng).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return stored, exif


def number_photo(text, rng):
    """A phone photo (JPEG bytes) of a number written with the classic digits, spaced."""
    digits = [int(character) for character in text]
    return make_number([np.asarray(classic(d)) for d in digits], digits, "spaced", "photo",
                       rng).data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="samples")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for digit in range(10):
        photo(digit, rng).save(out / f"{digit}_photo.jpg", quality=88)
        canvas(digit).save(out / f"{digit}_canvas.png", optimize=True)
        classic(digit).save(out / f"{digit}_mnist_style.png", optimize=True)
    pencil(2, rng).save(out / "2_pencil.jpg", quality=90)
    marker(5).save(out / "5_marker.jpg", quality=88)
    small_in_page(8, rng).save(out / "8_small_in_page.jpg", quality=85)
    stored, exif = exif_rotated(4, rng)
    stored.save(out / "4_exif_rotated.jpg", quality=88, exif=exif)
    (out / "numbers").mkdir(exist_ok=True)
    (out / "numbers" / "2026.jpg").write_bytes(number_photo("2026", np.random.default_rng(2026)))


if __name__ == "__main__":
    main()
