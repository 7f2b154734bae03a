"""Accuracy, refusals and calibration through the serving path, kind by kind.

    python -m training.evaluate ../shared/mnist [--per-kind 1000] [--model assets/mnist_cnn.tflite]
                                                [--diagram docs/reliability.png]

Every image is encoded as a file and goes through `ModelWrapper.predict`, exactly as an upload
to `POST /model/predict` does (decode, grey, normalise, one model call per batch, the refusal
of what is not a digit). The sets:
(a) all 10,000 MNIST test images as PNG;
(b) for each kind in `training/user_style.py` (files people send, ways people write, and
    pictures that are not digits), `--per-kind` test images (a seeded choice; a style made for
    one digit is made from test images of that digit) turned into that kind of file;
(c) digits from outside MNIST (`training/held_out.py`): other writers, typefaces, and typeset
    letters and symbols, when their packages are installed.
For digits, a refused file counts as wrong; for non-digits, only a refusal is right. ECE is the
expected calibration error (15 bins) of the answered digits' top probability. Prints a Markdown
table for the docs and draws a reliability diagram.
"""
import argparse
import logging
import sys
import time

import numpy as np
from PIL import Image, ImageDraw

import config
from core.errors import ImageError
from core.model import ModelWrapper
from training import held_out
from training.calibrate import ECE_BINS, expected_calibration_error
from training.mnist import load_split
from training.user_style import (KINDS, NOT_DIGIT_KINDS, STYLE_DIGITS, STYLE_KINDS, describe,
                                 generate, save)

CHUNK = 64
LIMITS = config.image_limits()


class Outcome:
    """What the service answered for a set of files: each file's ten digit probabilities, or
    None where it was refused."""

    def __init__(self, rows, labels, seconds):
        self.rows = rows
        self.labels = labels  # None for a set of non-digits
        self.seconds = seconds

    @property
    def refused(self):
        return sum(row is None for row in self.rows)

    def answered(self):
        """(probabilities [n, 10], labels [n]) of the files that got an answer."""
        keep = [i for i, row in enumerate(self.rows) if row is not None]
        probabilities = np.array([self.rows[i] for i in keep]).reshape(-1, 10)
        labels = None if self.labels is None else self.labels[keep]
        return probabilities, labels

    @property
    def correct(self):
        if self.labels is None:
            return self.refused
        probabilities, labels = self.answered()
        return int((probabilities.argmax(axis=1) == labels).sum())

    def ece(self):
        probabilities, labels = self.answered()
        if self.labels is None or not len(labels):
            return None
        return expected_calibration_error(probabilities, labels)


def run(wrapper, files, labels=None):
    """Every file through the serving path, in batches as a client sends them."""
    started = time.perf_counter()
    rows = []
    for start in range(0, len(files), CHUNK):
        for outcome in wrapper.predict(files[start:start + CHUNK]):
            if isinstance(outcome, ImageError):
                rows.append(None)
            else:
                by_digit = {p["prediction"]: p["probability"] for p in outcome}
                rows.append([by_digit[digit] for digit in range(10)])
    return Outcome(rows, labels, time.perf_counter() - started)


def row(name, what, outcome):
    total = len(outcome.rows)
    ece = outcome.ece()
    return (f"| {name} | {what} | {total} | {100 * outcome.correct / total:.2f} % | "
            f"{outcome.refused} | {'' if ece is None else f'{100 * ece:.2f} %'} | "
            f"{1000 * outcome.seconds / total:.1f} |")


def per_digit(outcome):
    """'0: 99.1 %, 1: ...': accuracy for each digit, a refusal counting as wrong."""
    predicted = np.array([-1 if r is None else int(np.argmax(r)) for r in outcome.rows])
    return ", ".join(f"{d}: {100 * (predicted[outcome.labels == d] == d).mean():.1f} %"
                     for d in range(10))


def reliability_diagram(groups, path, bins=ECE_BINS, panel_w=260):
    """A PNG of accuracy against reported probability, bin by bin, one panel per group
    (name -> (probabilities, labels)): bars on the diagonal mean the probability is honest."""
    side = panel_w - 60
    height = side + 90
    image = Image.new("RGB", (panel_w * len(groups), height), "white")
    draw = ImageDraw.Draw(image)
    for index, (name, (probabilities, labels)) in enumerate(groups.items()):
        left, top = index * panel_w + 45, 30
        bottom = top + side
        confidence = probabilities.max(axis=1)
        correct = probabilities.argmax(axis=1) == labels
        which = np.minimum((confidence * bins).astype(int), bins - 1)
        for b in range(bins):
            members = which == b
            x0, x1 = left + side * b / bins, left + side * (b + 1) / bins
            if members.any():
                accuracy = correct[members].mean()
                draw.rectangle((x0, bottom - side * accuracy, x1 - 1, bottom),
                               fill=(70, 110, 200), outline=(30, 60, 140))
                gap_top = bottom - side * confidence[members].mean()
                draw.line((x0, gap_top, x1 - 1, gap_top), fill=(200, 60, 40), width=2)
        draw.line((left, bottom, left + side, top), fill=(120, 120, 120), width=1)
        draw.rectangle((left, top, left + side, bottom), outline="black")
        ece = expected_calibration_error(probabilities, labels, bins)
        draw.text((left, 8), f"{name}: ECE {100 * ece:.2f} %, {len(labels)} digits", fill="black")
        draw.text((left, bottom + 6), "reported probability (0 to 1)", fill="black")
        draw.text((left - 40, top), "acc.", fill="black")
    draw.text((10, height - 20), "blue: share right in each bin; red: mean reported "
              "probability in the bin; grey: perfect calibration", fill="black")
    image.save(path)


def picks_for(kind, labels, count, seed):
    """The test images a kind is made from: a seeded choice among the digits it is for."""
    digits = STYLE_DIGITS.get(kind)
    eligible = np.arange(len(labels)) if digits is None else \
        np.nonzero(np.isin(labels, sorted(digits)))[0]
    return np.random.default_rng([seed, len(eligible)]).permutation(eligible)[:count]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="folder holding the MNIST idx .gz files")
    parser.add_argument("--model", default="assets/mnist_cnn.tflite")
    parser.add_argument("--per-kind", type=int, default=1000,
                        help="MNIST test images turned into each kind (max 10000)")
    all_kinds = [*KINDS, *STYLE_KINDS, *NOT_DIGIT_KINDS]
    parser.add_argument("--kinds", nargs="*", default=all_kinds, choices=all_kinds)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-raw", action="store_true", help="only the generated kinds")
    parser.add_argument("--skip-held-out", action="store_true",
                        help="leave out other writers and typefaces")
    parser.add_argument("--diagram", help="write the reliability diagram PNG here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    wrapper = ModelWrapper(args.model, **LIMITS)
    images, labels = load_split(args.data_dir, "test")
    labels = labels.astype(np.int64)
    print(f"model {args.model}; MNIST test set {args.data_dir}; seed {args.seed}\n")
    print("| set | what it is | images | right | refused | ECE | ms per image |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    sys.stdout.flush()
    groups = {}
    if not args.skip_raw:
        outcome = run(wrapper, [save(Image.fromarray(image), "PNG") for image in images], labels)
        print(row("raw MNIST", "the 10,000 test images, 28x28 PNG", outcome))
        groups["MNIST test"] = outcome.answered()
        sys.stdout.flush()

    pooled, refusals = [], {}
    for kind in args.kinds:
        not_digit = kind in NOT_DIGIT_KINDS
        picks = picks_for(kind, labels, args.per_kind, args.seed)
        outcome = run(wrapper, generate(kind, images[picks], args.seed),
                      None if not_digit else labels[picks])
        print(row(kind, describe(kind), outcome))
        sys.stdout.flush()
        if not_digit:
            refusals[kind] = (outcome.refused, len(outcome.rows))
        else:
            pooled.append(outcome)
    if pooled:
        probabilities = np.concatenate([o.answered()[0] for o in pooled])
        answered_labels = np.concatenate([o.answered()[1] for o in pooled])
        groups["user-style kinds"] = (probabilities, answered_labels)
        total = sum(len(o.rows) for o in pooled)
        print(f"| all digit kinds | {len(pooled)} kinds together | {total} | "
              f"{100 * sum(o.correct for o in pooled) / total:.2f} % | "
              f"{sum(o.refused for o in pooled)} | "
              f"{100 * expected_calibration_error(probabilities, answered_labels):.2f} % | |")
    if refusals:
        refused = sum(r for r, _ in refusals.values())
        total = sum(n for _, n in refusals.values())
        print(f"| all non-digit kinds | {len(refusals)} kinds together | {total} | "
              f"{100 * refused / total:.2f} % | {refused} | | |")

    notes = []
    if not args.skip_held_out:
        writers = held_out.other_writers()
        if writers is None:
            notes.append("other writers: skipped (scikit-learn is not installed)")
        else:
            outcome = run(wrapper, *writers)
            print(row("other writers", "UCI optdigits test digits (43 writers outside "
                      "MNIST), 8x8 shown at 32x32", outcome))
            notes.append("other writers per digit: " + per_digit(outcome))
            groups["other writers"] = outcome.answered()
        faces = held_out.typefaces()
        if faces is None:
            notes.append("typefaces: skipped (no DejaVu, Liberation or FreeFont installed)")
        else:
            outcome = run(wrapper, *faces)
            print(row("typefaces", f"digits in {len(held_out.font_files())} DejaVu, "
                      "Liberation and FreeFont faces at 3 sizes", outcome))
            notes.append("typefaces per digit: " + per_digit(outcome))
            outcome = run(wrapper, held_out.typeset_not_digits())
            print(row("typeset non-digits", "letters and symbols in the same faces "
                      "(only a refusal is right)", outcome))
    print()
    for note in notes:
        print(note)
    if args.diagram and groups:
        reliability_diagram(groups, args.diagram)
        print(f"reliability diagram: {args.diagram}")


if __name__ == "__main__":
    main()
