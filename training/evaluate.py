"""Accuracy through the serving path: raw MNIST test images and user-style uploads made from them.

    python -m training.evaluate ../shared/mnist [--per-kind 1000] [--model assets/mnist_cnn.tflite]

Every image is encoded as a file and goes through `ModelWrapper.predict`, exactly as an upload
to `POST /model/predict` does (decode, grey, normalise, one model call per batch). (a) all
10,000 MNIST test images as PNG; (b) for each kind in `training/user_style.py`, the same
`--per-kind` test images (a seeded choice) turned into that kind of file. Prints a Markdown
table, per kind and overall, for the README. Files that are refused count as wrong.
"""
import argparse
import logging
import sys
import time

import numpy as np
from PIL import Image

import config
from core.errors import ImageError
from core.model import ModelWrapper
from training.mnist import load_split
from training.user_style import KINDS, describe, generate, save

CHUNK = 256
LIMITS = config.image_limits()


def accuracy(wrapper, files, labels):
    """(correct count, refused count) of the wrapper's top prediction on encoded files."""
    correct = refused = 0
    for start in range(0, len(files), CHUNK):
        outcomes = wrapper.predict(files[start:start + CHUNK])
        for outcome, label in zip(outcomes, labels[start:start + CHUNK]):
            if isinstance(outcome, ImageError):
                refused += 1
            elif outcome[0]["prediction"] == label:
                correct += 1
    return correct, refused


def row(name, what, correct, refused, total, seconds):
    return (f"| {name} | {what} | {total} | {100 * correct / total:.2f} % | "
            f"{total - correct} | {refused} | {1000 * seconds / total:.1f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="folder holding the MNIST idx .gz files")
    parser.add_argument("--model", default="assets/mnist_cnn.tflite")
    parser.add_argument("--per-kind", type=int, default=1000,
                        help="MNIST test images turned into each user-style kind (max 10000)")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-raw", action="store_true", help="only the user-style kinds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    wrapper = ModelWrapper(args.model, **LIMITS)
    images, labels = load_split(args.data_dir, "test")
    labels = labels.astype(np.int64)
    print(f"model {args.model}; MNIST test set {args.data_dir}; seed {args.seed}\n")
    print("| set | what it is | images | accuracy | wrong | refused | ms per image (make + read) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    sys.stdout.flush()
    if not args.skip_raw:
        started = time.perf_counter()
        files = [save(Image.fromarray(image), "PNG") for image in images]
        correct, refused = accuracy(wrapper, files, labels)
        print(row("raw MNIST", "the 10,000 test images, 28x28 PNG", correct, refused,
                  len(files), time.perf_counter() - started))
        sys.stdout.flush()

    picks = np.random.default_rng(args.seed).permutation(len(images))[:args.per_kind]
    started = time.perf_counter()
    files = [save(Image.fromarray(image), "PNG") for image in images[picks]]
    print(row("raw MNIST, same picks", f"the {len(picks)} test images each kind below is made "
              "from, as they are", *accuracy(wrapper, files, labels[picks]), len(files),
              time.perf_counter() - started))
    totals = [0, 0, 0]
    for kind in args.kinds:
        started = time.perf_counter()
        files = generate(kind, images[picks], args.seed)
        correct, refused = accuracy(wrapper, files, labels[picks])
        totals = [totals[0] + correct, totals[1] + refused, totals[2] + len(files)]
        print(row(kind, describe(kind), correct, refused, len(files),
                  time.perf_counter() - started))
        sys.stdout.flush()
    if len(args.kinds) > 1:
        print(row("all user-style", f"{len(args.kinds)} kinds together", *totals, 0.0)
              .rsplit("|", 2)[0] + "| |")


if __name__ == "__main__":
    main()
