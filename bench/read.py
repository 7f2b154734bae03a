"""How long reading a number takes, stage by stage, on this machine, now.

    python -m bench.read [MNIST folder] [--digits 6] [--numbers 10] [--repeat 20]
        [--model assets/mnist_cnn.tflite] [--reader assets/mnist_reader.tflite]

Composes numbers of `--digits` MNIST test digits (spaced, tight, touching; as a paper photo
JPEG, a scan PNG and a transparent canvas PNG, as `make evaluate` does) and times the whole
`NumberReader.read` of each, next to its stages: decode and grey, finding the row of ink, and
the calls of the digit model and of the sequence model that reads joined digits. For
comparison it also times one single-digit `digits_from_uploads` + model call (what
`/model/predict` does per image). numpy keeps to one BLAS thread, as in the server's workers.
Prints the median wall time and the CPU time per call in milliseconds; nothing is asserted.
On a shared machine compare only numbers from the same run.
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: as gunicorn.conf.py sets it

import numpy as np

import config
from core.decode import decode, read_header
from core.grey import to_grey
from core.model import ModelWrapper
from core.number import NumberReader
from core.pipeline import digits_from_uploads
from core.row import find_row
from core.runtime import load_sequence
from training.mnist import load_split
from training.numbers import MEDIA, SPACINGS, make_number

LIMITS = config.image_limits()


class CountingWrapper:
    """The model stage of a ModelWrapper, timing its calls."""

    def __init__(self, wrapper):
        self._wrapper = wrapper
        self.seconds = 0.0
        self.calls = 0
        self.digits = 0

    def refused(self, probabilities):
        return self._wrapper.refused(probabilities)

    def predict_tensor(self, digits):
        started = time.process_time()
        try:
            return self._wrapper.predict_tensor(digits)
        finally:
            self.seconds += time.process_time() - started
            self.calls += 1
            self.digits += len(digits)


class CountingSequence:
    """A sequence-model runtime, timing its calls."""

    def __init__(self, runtime):
        self._runtime = runtime
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, strip):
        started = time.process_time()
        try:
            return self._runtime(strip)
        finally:
            self.seconds += time.process_time() - started
            self.calls += 1


def timed(function, repeat):
    """(median wall ms, CPU ms) per call."""
    function()
    walls = []
    cpu_started = time.process_time()
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        walls.append((time.perf_counter() - started) * 1000)
    return statistics.median(walls), (time.process_time() - cpu_started) * 1000 / repeat


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", default="../shared/mnist")
    parser.add_argument("--model", default="assets/mnist_cnn.tflite")
    parser.add_argument("--reader", default="assets/mnist_reader.tflite")
    parser.add_argument("--digits", type=int, default=6)
    parser.add_argument("--numbers", type=int, default=10, help="numbers per spacing x medium")
    parser.add_argument("--repeat", type=int, default=20, help="reads of each number")
    args = parser.parse_args(argv)

    wrapper = ModelWrapper(args.model, **LIMITS)
    counting = CountingWrapper(wrapper)
    sequence = CountingSequence(load_sequence(args.reader))
    reader = NumberReader(counting, sequence, **LIMITS)
    images, labels = load_split(args.data_dir, "test")
    rng = np.random.default_rng(0)
    single = make_number(images[:1], labels[:1], "spaced", "photo", rng).data
    print(f"{args.digits}-digit numbers, {args.numbers} per row, each read {args.repeat} times; "
          "median wall and CPU ms per number")
    print("| spacing | medium | whole read (wall) | whole read (CPU) | decode + grey (CPU) | "
          "find row (CPU) | model calls per number | digits classified | model (CPU) | "
          "sequence-model calls per number | sequence model (CPU) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for spacing in SPACINGS:
        for medium in MEDIA:
            files = []
            for _ in range(args.numbers):
                picks = rng.integers(0, len(images), args.digits)
                files.append(make_number(images[picks], labels[picks], spacing, medium,
                                         rng).data)
            walls, cpus, decodes, rows = [], [], [], []
            counting.seconds = counting.calls = counting.digits = 0
            sequence.seconds = sequence.calls = 0
            for data in files:
                wall, cpu = timed(lambda: reader.read([data]), args.repeat)
                walls.append(wall)
                cpus.append(cpu)
                decodes.append(timed(lambda: to_grey(decode(read_header(data, **LIMITS))),
                                     args.repeat)[1])
                grey = to_grey(decode(read_header(data, **LIMITS)))
                rows.append(timed(lambda: find_row(grey), args.repeat)[1])
            reads = args.numbers * (args.repeat + 1)
            print(f"| {spacing} | {medium} | {statistics.median(walls):.2f} | "
                  f"{statistics.median(cpus):.2f} | {statistics.median(decodes):.2f} | "
                  f"{statistics.median(rows):.2f} | {counting.calls / reads:.2f} | "
                  f"{counting.digits / reads:.1f} | {1000 * counting.seconds / reads:.2f} | "
                  f"{sequence.calls / reads:.2f} | {1000 * sequence.seconds / reads:.2f} |")
    wall, cpu = timed(lambda: wrapper.predict_tensor(np.stack(
        digits_from_uploads([single], **LIMITS))), args.repeat * 5)
    print(f"\nfor comparison, one single-digit photo through /model/predict's stages "
          f"(digits_from_uploads + one model call): wall {wall:.2f} ms, CPU {cpu:.2f} ms")


if __name__ == "__main__":
    main()
