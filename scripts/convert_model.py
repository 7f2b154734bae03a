"""Build time: convert the verified Keras model to LiteRT (.tflite), the format the service runs.

    python scripts/convert_model.py assets/mnist_cnn.h5 assets/mnist_cnn.tflite

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
    """The .tflite bytes of the Keras model at `source`, and the Keras model itself."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep the build log readable
    import keras
    import tensorflow as tf
    model = keras.models.load_model(source, compile=False)
    return tf.lite.TFLiteConverter.from_keras_model(model).convert(), model


def probes(count=64, seed=0):
    """Inputs spanning what the service feeds the model: blank, dense noise and sparse strokes."""
    rng = np.random.default_rng(seed)
    noise = rng.random((count, 28, 28, 1), dtype=np.float32)
    strokes = np.where(noise > 0.85, noise, 0).astype(np.float32)
    return np.concatenate([np.zeros((1, 28, 28, 1), np.float32), noise, strokes])


def largest_difference(model, tflite_path, inputs):
    from core.litert import LiteRTInference
    expected = model.predict_on_batch(inputs)
    return float(np.abs(LiteRTInference(tflite_path)(inputs) - expected).max())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=pathlib.Path, help="the Keras .h5 model")
    parser.add_argument("target", type=pathlib.Path, help="where to write the .tflite model")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    data, model = convert(args.source)
    partial = args.target.with_name(args.target.name + ".part")
    partial.write_bytes(data)
    difference = largest_difference(model, partial, probes())
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
