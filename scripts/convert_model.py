"""Release time: convert the Keras model to LiteRT (.tflite), the format the service runs.

    python scripts/convert_model.py models/mnist_cnn.h5 models/mnist_cnn.tflite

`make train` (and `make release-model`, for a model trained elsewhere) runs it and writes both
files' checksums into md5sums.txt; users fetch both, verified, and never convert.

The weights stay float32 (no quantisation), so the converted model gives the Keras model's
probabilities to rounding error; the script checks that on probe inputs before it writes the file.
"""
import argparse
import logging
import os
import pathlib
import sys

import numpy as np

log = logging.getLogger("convert_model")
TOLERANCE = 1e-4  # largest allowed difference of any probability


def convert(source):
    """The .tflite bytes of the Keras model at `source`, and that model in its Keras runtime."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep the build log readable
    import tensorflow as tf

    from core.keras_runtime import KerasRuntime
    runtime = KerasRuntime(source)
    return tf.lite.TFLiteConverter.from_keras_model(runtime.model).convert(), runtime


def probes(shape, count=64, seed=0):
    """Inputs of one digit's `shape` spanning what the service feeds the model: blank, dense
    noise and sparse strokes."""
    rng = np.random.default_rng(seed)
    noise = rng.random((count, *shape), dtype=np.float32)
    strokes = np.where(noise > 0.85, noise, 0).astype(np.float32)
    return np.concatenate([np.zeros((1, *shape), np.float32), noise, strokes])


def largest_difference(runtime, tflite_path, inputs):
    """The largest difference of any probability between `runtime` and the .tflite file."""
    from core.litert import LiteRTRuntime
    return float(np.abs(LiteRTRuntime(tflite_path)(inputs) - runtime(inputs)).max())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=pathlib.Path, help="the Keras .h5 model")
    parser.add_argument("target", type=pathlib.Path, help="where to write the .tflite model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    data, runtime = convert(args.source)
    partial = args.target.with_name(args.target.name + ".part")
    partial.write_bytes(data)
    difference = largest_difference(runtime, partial, probes(runtime.input_shape))
    if difference > TOLERANCE:
        partial.unlink()
        log.error("%s differs from %s by %.2e (limit %.0e); not written",
                  args.target, args.source, difference, TOLERANCE)
        return 1
    os.replace(partial, args.target)
    log.info("%s -> %s (%d bytes); probabilities agree within %.1e",
             args.source, args.target, len(data), difference)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    sys.exit(main())
