"""The MAX model wrapper: one public `predict()` running three separately testable stages."""
import logging
import pathlib
import time

import numpy as np

from core.errors import ImageError
from core.pipeline import digits_from_uploads
from core.metrics import record_inference

log = logging.getLogger(__name__)


# The exit code for a process that cannot load its model: gunicorn halts (instead of respawning
# workers forever) when a worker exits with it, and the master uses it too (gunicorn.conf.py).
WORKER_BOOT_ERROR = 3


class ModelLoadError(RuntimeError):
    """The model file is missing, truncated or not the network this service expects."""


def check_model_file(model_path):
    """Checks that need no TensorFlow (the gunicorn master runs them before forking workers):
    the file exists and, for HDF5, opens whole and holds a Keras model."""
    path = pathlib.Path(model_path)
    if not path.is_file():
        raise ModelLoadError(f"model file {path} not found; run `make install` to fetch it")
    if path.suffix != ".h5":
        return path
    import h5py
    try:
        with h5py.File(path, "r") as handle:
            keras_model = "model_config" in handle.attrs
    except Exception as error:  # h5py raises OSError and others for a damaged file
        raise ModelLoadError(f"model file {path} cannot be loaded ({_first_line(error)}); "
                             "run `make install` to fetch a verified copy") from error
    if not keras_model:
        raise ModelLoadError(f"model file {path} is HDF5 but holds no Keras model")
    return path


def runs_on_litert(model_path):
    """Whether `load_inference` serves this file on LiteRT (a `.tflite`) or on TensorFlow."""
    return pathlib.Path(str(model_path)).suffix == ".tflite"


def load_inference(model_path):
    """Load the model once and return a compiled, warmed `f(batch[n,28,28,1]) -> [n,10]`.

    A `.tflite` file (converted from the Keras model by `make install`) runs on LiteRT, without
    TensorFlow; anything else is loaded as a Keras model and run as one `tf.function`.
    """
    path = check_model_file(model_path)
    if runs_on_litert(path):
        return _load_litert(path)
    import keras
    import tensorflow as tf
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # h5py/keras raise many types for a damaged file
        raise ModelLoadError(f"model file {path} cannot be loaded ({_first_line(error)}); "
                             "run `make install` to fetch a verified copy") from error
    if tuple(model.input_shape[1:]) != (28, 28, 1) or tuple(model.output_shape[1:]) != (10,):
        raise ModelLoadError(f"model file {path} maps {model.input_shape} to {model.output_shape};"
                             " expected (None, 28, 28, 1) to (None, 10)")
    infer = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True,
                        input_signature=[tf.TensorSpec([None, 28, 28, 1], tf.float32)])

    def run(batch):
        return infer(tf.constant(batch, dtype=tf.float32)).numpy()

    try:
        run(np.zeros((1, 28, 28, 1), dtype=np.float32))
    except Exception as error:  # a model that loads but cannot run must not serve
        raise ModelLoadError(f"model file {path} loads but fails a trial inference "
                             f"({_first_line(error)})") from error
    run.tracing_count = infer.experimental_get_tracing_count
    log.info("model %s loaded (%d parameters)", path, model.count_params())
    return run


def _first_line(error):
    """Keras and h5py errors can run to pages; a start-up log wants one line."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _load_litert(path):
    from core.litert import LiteRTInference
    try:
        inference = LiteRTInference(path)
    except (ValueError, RuntimeError) as error:  # LiteRT's words for a damaged or wrong file
        raise ModelLoadError(f"model file {path} cannot be loaded: {error}") from error
    log.info("model %s loaded into LiteRT (batch buckets %s)", path, list(inference.buckets))
    return inference


class ModelWrapper:
    """Digits from image uploads: `_pre_process` -> `_predict` -> `_post_process`."""

    MODEL_META_DATA = {
        "id": "max-mnist",
        "name": "MAX-MNIST handwritten digit classifier",
        "description": "A Keras convolutional network trained on the MNIST training set; "
                       "recognises one handwritten digit (0-9) per image.",
        "type": "Image Classification",
        "source": "https://github.com/IBM/MAX-MNIST",
        "license": "Apache-2.0",
    }

    def __init__(self, model_path, max_pixels, max_side, inference=None, max_batch_pixels=None):
        self._max_pixels = max_pixels
        self._max_side = max_side
        self._max_batch_pixels = max_batch_pixels
        self._inference = inference or load_inference(model_path)
        # what runs the model, in the words of KServe's model metadata
        self.platform = "tflite" if runs_on_litert(model_path) else "tensorflow_keras"

    def _pre_process(self, uploads):
        """Upload bytes to 28x28 float32 MNIST-style digits: for each upload, in order, its
        digit or the ImageError that says why it has none."""
        return digits_from_uploads(uploads, self._max_pixels, self._max_side,
                                   self._max_batch_pixels)

    def _predict(self, digits):
        """A [n, 28, 28] batch to [n, 10] probabilities, in one model call."""
        started = time.perf_counter()
        probabilities = self._inference(digits[..., np.newaxis])
        record_inference(time.perf_counter() - started, probabilities)
        return probabilities

    @staticmethod
    def _post_process(probabilities):
        """One row of probabilities to all ten digits ranked, most likely first."""
        ranked = np.argsort(-probabilities, kind="stable")
        return [{"prediction": int(digit), "probability": float(probabilities[digit])}
                for digit in ranked]

    def predict_tensor(self, digits):
        """Digits already prepared as MNIST is ([n, 28, 28] float32 in [0, 1], white on black)
        to [n, 10] probabilities: the model stage alone, for tensor clients (the V2 protocol)."""
        return self._predict(np.asarray(digits, dtype=np.float32))

    def predict(self, uploads):
        """For each upload, in order: its ranked predictions, or the ImageError it raised."""
        prepared = self._pre_process(uploads)
        digits = [item for item in prepared if not isinstance(item, ImageError)]
        rows = iter(self._predict(np.stack(digits)) if digits else ())
        return [item if isinstance(item, ImageError) else self._post_process(next(rows))
                for item in prepared]
