"""The MAX model wrapper: one public `predict()` running three separately testable stages."""
import time

import numpy as np

from core.errors import ImageError
from core.metrics import record_inference
from core.pipeline import digits_from_uploads
from core.runtime import load_runtime


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

    def __init__(self, model_path, max_pixels, max_side, runtime=None, max_batch_pixels=None):
        self._max_pixels = max_pixels
        self._max_side = max_side
        self._max_batch_pixels = max_batch_pixels
        self.runtime = runtime or load_runtime(model_path)

    @property
    def digit_shape(self):
        """One digit as the model takes it, without the runtime's channel axis: (28, 28)."""
        return self.runtime.input_shape[:-1]

    @property
    def classes(self):
        """How many probabilities the model gives per digit."""
        return self.runtime.output_shape[0]

    def _pre_process(self, uploads):
        """Upload bytes to 28x28 float32 MNIST-style digits: for each upload, in order, its
        digit or the ImageError that says why it has none."""
        return digits_from_uploads(uploads, self._max_pixels, self._max_side,
                                   self._max_batch_pixels)

    def _predict(self, digits):
        """An [n, 28, 28] batch to [n, 10] probabilities, in one model call."""
        started = time.perf_counter()
        probabilities = self.runtime(digits.reshape(len(digits), *self.runtime.input_shape))
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
