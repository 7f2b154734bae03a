"""How long pre-processing takes next to the model's own inference, on this machine, now.

    python -m bench.preprocess [--repeat 300] [--model assets/mnist_cnn.tflite ...]

Builds a 400x400 photo-style JPEG (dark ink on tinted, unevenly lit, noisy paper) and a few
other typical uploads in memory, times each pre-processing stage (decode, grey, normalise), the
whole `digit_from_upload` and its share of a 32-image `digits_from_uploads` call, then times
one model call for one digit and for a batch of 64, on each runtime given (by default the
served LiteRT file and the Keras .h5 it was converted from).
Prints the median and best wall time and the CPU time per call in milliseconds; nothing is
asserted. On a shared machine compare only numbers from the same run.

After the stages and before the models, the two pre-processing goals for the 400x400 JPEG,
measured interleaved (round after
round of: normalise, the whole upload, decode, one LiteRT inference) as median CPU times:
normalising the decoded photo (grey and everything after) against its 0.25 ms, and the whole
`digit_from_upload` against twice one inference plus the decode.
"""
import argparse
import io
import pathlib
import statistics
import time

import numpy as np
from PIL import Image

import config
from core.decode import open_image
from core.grey import to_grey
from core.pipeline import digit_from_grey, digit_from_upload, digits_from_uploads
from harness.images import encode
from scripts.make_samples import draw_digit, photo

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIMITS = config.image_limits()
BATCH = 32


def uploads():
    """name -> bytes: the 400x400 JPEG the goal is stated for, and a few other common shapes."""
    rng = np.random.default_rng(0)
    square_photo = photo(7, rng).resize((400, 400), Image.Resampling.BILINEAR)
    canvas = draw_digit(3, 400, 400, 24, (0, 0, 0, 255), (0, 0, 0, 0))
    big_photo = photo(5, rng).resize((1200, 1600), Image.Resampling.BILINEAR)
    return {
        "400x400 photo JPEG": encode(square_photo, "JPEG", quality=85),
        "400x400 canvas PNG (RGBA)": encode(canvas, "PNG"),
        "1200x1600 photo JPEG": encode(big_photo, "JPEG", quality=85),
        "28x28 MNIST-style PNG": encode(square_photo.convert("L").resize((28, 28)), "PNG"),
    }


def timed(function, repeat):
    """(median, best) wall milliseconds per call, and CPU milliseconds per call (all threads).

    On a shared machine the wall time includes waiting for a core; the best run and the CPU
    time say what the work itself costs."""
    function()
    walls = []
    cpu_started = time.process_time()
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        walls.append((time.perf_counter() - start) * 1000)
    cpu = (time.process_time() - cpu_started) * 1000 / repeat
    return statistics.median(walls), min(walls), cpu


def decode_smallest(data):
    """The least a JPEG can cost to decode: luma only at libjpeg's smallest scale (1/8), which
    still reads every coefficient; no pre-processing can cost less than this."""
    image = Image.open(io.BytesIO(data))
    image.draft("L", (1, 1))
    image.load()
    return image


def report(name, median, best, cpu):
    print(f"  {name:<40} median {median:7.3f}   best {best:7.3f}   cpu {cpu:7.3f}  ms/call")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--model", action="append", help="a .tflite or .h5 model (repeatable)")
    args = parser.parse_args(argv)

    print(f"pre-processing ({args.repeat} runs each)")
    for name, data in uploads().items():
        image = open_image(data, **LIMITS)
        grey = to_grey(image)
        print(f" {name} ({len(data)} bytes)")
        report("decode (open_image)", *timed(lambda: open_image(data, **LIMITS), args.repeat))
        if Image.open(io.BytesIO(data)).format == "JPEG":
            report("  decode alone at 1/8 scale (the floor)",
                   *timed(lambda: decode_smallest(data), args.repeat))
        report("to grey (to_grey)", *timed(lambda: to_grey(image), args.repeat))
        report("normalise (digit_from_grey)", *timed(lambda: digit_from_grey(grey), args.repeat))
        report("whole digit_from_upload",
               *timed(lambda: digit_from_upload(data, **LIMITS), args.repeat))
        batch = [data] * BATCH  # small images of one size are located as one stack
        median, best, cpu = timed(lambda: digits_from_uploads(batch, **LIMITS),
                                  max(args.repeat // 10, 10))
        report(f"  per image of {BATCH} in digits_from_uploads", median / BATCH, best / BATCH,
               cpu / BATCH)

    models = args.model or [str(ROOT / "assets" / name)
                            for name in ("mnist_cnn.tflite", "mnist_cnn.h5")]
    lite = [model for model in models
            if model.endswith(".tflite") and pathlib.Path(model).is_file()]
    if lite:  # before any TensorFlow is loaded into this process
        goals(uploads()["400x400 photo JPEG"], lite[0], args.repeat)
    for model in models:
        time_inference(model, args.repeat)


def cpu_per_call(function, calls):
    """CPU milliseconds per call over `calls` calls in a row."""
    started = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - started) * 1000 / calls


def goals(data, model, repeat, rounds=15):
    """The pre-processing goals for one upload, as median CPU times of interleaved rounds."""
    from core.runtime import load_runtime
    inference = load_runtime(model)
    one = np.zeros((1, *inference.input_shape), dtype=np.float32)
    image = open_image(data, **LIMITS)
    steps = {
        "normalise the decoded photo (to_grey + digit_from_grey)":
            lambda: digit_from_grey(to_grey(image)),
        "whole digit_from_upload": lambda: digit_from_upload(data, **LIMITS),
        "decode (open_image)": lambda: open_image(data, **LIMITS),
        "one LiteRT inference": lambda: inference(one),
    }
    calls = max(repeat // 10, 10)
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            times[name].append(cpu_per_call(step, calls))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"goals, 400x400 photo JPEG (median CPU ms per call of {rounds} interleaved rounds "
          f"of {calls} calls)")
    for name, value in median.items():
        print(f"  {name:<56} {value:7.3f}")
    normalise, whole, decode, infer = median.values()
    print(f"  normalise: {normalise:.3f} ms against at most 0.25 ms "
          f"({'met' if normalise <= 0.25 else 'missed'})")
    print(f"  whole upload: {whole:.3f} ms against at most 2 x ({infer:.3f} + {decode:.3f}) = "
          f"{2 * (infer + decode):.3f} ms ({'met' if whole <= 2 * (infer + decode) else 'missed'})")


def time_inference(model, repeat):
    if not pathlib.Path(model).is_file():
        print(f"model inference: skipped, {model} is absent (run `make install`)")
        return
    from core.runtime import load_runtime
    inference = load_runtime(model)
    one = np.zeros((1, *inference.input_shape), dtype=np.float32)
    batch = np.zeros((64, *inference.input_shape), dtype=np.float32)
    print(f"model inference, {pathlib.Path(model).name} ({repeat} runs each)")
    report("one digit, one call", *timed(lambda: inference(one), repeat))
    median, best, cpu = timed(lambda: inference(batch), max(repeat // 4, 10))
    report("64 digits, one call", median, best, cpu)
    report("  per digit in that batch", median / 64, best / 64, cpu / 64)


if __name__ == "__main__":
    main()
