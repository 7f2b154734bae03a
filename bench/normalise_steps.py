"""What each step of normalising a decoded 400x400 photo costs, and what decoding and
normalising cost when they alternate, as a request makes them do.

    python -m bench.normalise_steps

Each step of core/ink.py and core/normalise.py is called alone on its own input (the previous
step's output), best of 7 runs of 1,000 calls, CPU microseconds per call. Then `open_image` and
`digit_from_grey` are called in turn 3,000 times, and each 3,000 times in a loop of its own:
median thread-CPU milliseconds per call. Nothing is asserted; compare within one run.
"""
import statistics
import time
import timeit

import numpy as np

import config
from bench.preprocess import uploads
from core import ink as steps
from core.arrays import box_downscale
from core.decode import open_image
from core.grey import to_grey
from core.normalise import centre_by_mass, fit_box, match_stroke
from core.pipeline import digit_from_grey

LIMITS = config.image_limits()


def best_us(call, number=1000):
    return min(timeit.repeat(call, number=number, repeat=7, timer=time.process_time)) \
        / number * 1e6


def per_step(image):
    """(name, CPU µs) for each step, each fed the previous step's output."""
    grey = to_grey(image)
    factor = steps.find_ink([grey])[0].factor
    coarse = box_downscale(grey, factor)[None]
    sign, paper = steps.polarity(coarse)
    bright = sign * (coarse - paper)
    level = steps.background(bright)
    residual = bright - level
    ink = np.maximum(residual, 0.0)
    contrast = ink.reshape(1, -1).max(axis=1)
    threshold = steps.otsu_threshold(ink, contrast)

    def mask_and_bounds():
        masks = ink > threshold.astype(np.float32)[:, None, None]
        steps.ink_bounds(masks.view(np.uint8).sum(axis=2, dtype=np.int32))
        steps.ink_bounds(masks.view(np.uint8).sum(axis=1, dtype=np.int32))

    cut = steps.cut(grey, steps.find_ink([grey])[0])
    stroked = match_stroke(cut)
    boxed = fit_box(stroked)
    return [
        ("grey (to_grey)", best_us(lambda: to_grey(image))),
        (f"average down by {factor}", best_us(lambda: box_downscale(grey, factor))),
        ("polarity", best_us(lambda: steps.polarity(coarse))),
        ("background (uneven lighting)", best_us(lambda: steps.background(bright))),
        ("noise", best_us(lambda: steps.noise_level(residual))),
        ("Otsu threshold", best_us(lambda: steps.otsu_threshold(ink, contrast))),
        ("mask and bounds", best_us(mask_and_bounds)),
        ("stroke width (match_stroke)", best_us(lambda: match_stroke(cut))),
        ("20x20 box and centre of mass", best_us(lambda: centre_by_mass(fit_box(stroked)))),
        ("  of which the centre", best_us(lambda: centre_by_mass(boxed))),
        ("all of it in one call (to_grey + digit_from_grey)",
         best_us(lambda: digit_from_grey(to_grey(image)))),
    ]


def alternating(data, image, calls=3000):
    """Median thread-CPU ms per call of decoding and normalising, in turn and apart."""
    grey = to_grey(image)
    clock = time.thread_time_ns
    decode_times, normalise_times = [], []
    for _ in range(calls):
        started = clock()
        open_image(data, **LIMITS)
        decoded = clock()
        digit_from_grey(grey)
        decode_times.append(decoded - started)
        normalise_times.append(clock() - decoded)

    def alone(call):
        times = []
        for _ in range(calls):
            started = clock()
            call()
            times.append(clock() - started)
        return statistics.median(times) / 1e6

    return (statistics.median(decode_times) / 1e6, statistics.median(normalise_times) / 1e6,
            alone(lambda: open_image(data, **LIMITS)), alone(lambda: digit_from_grey(grey)))


def main():
    data = uploads()["400x400 photo JPEG"]
    image = open_image(data, **LIMITS)
    print("normalising the decoded 400x400 photo JPEG, step by step (best of 7 x 1,000 calls)")
    for name, micros in per_step(image):
        print(f"  {name:<52} {micros:7.1f} µs CPU")
    in_turn_decode, in_turn_normalise, decode, normalise = alternating(data, image)
    print("decode (open_image) and normalise (digit_from_grey), median of 3,000 calls")
    print(f"  in turn, as a request makes them: {in_turn_decode:.3f} + {in_turn_normalise:.3f} ms")
    print(f"  each in a loop of its own:        {decode:.3f} + {normalise:.3f} ms")


if __name__ == "__main__":
    main()
