"""The MAX model wrapper: one public `predict()` running three separately testable stages."""
import time

import numpy as np

from core.errors import ImageError, NotADigit
from core.metrics import record_inference
from core.pipeline import digits_from_uploads
from core.runtime import NOT_A_DIGIT, load_runtime

DIGITS = 10


def percent(probability):
    """A probability for people: one decimal, never a flat 0 % or 100 %."""
    if probability > 0.999:
        return ">99.9%"
    return "<0.1%" if probability < 0.001 else f"{probability:.1%}"


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

    def __init__(self, model_path, max_pixels, max_side, runtime=None, max_batch_pixels=None,
                 refuse_not_digits=True):
        self._max_pixels = max_pixels
        self._max_side = max_side
        self._max_batch_pixels = max_batch_pixels
        self.runtime = runtime or load_runtime(model_path)
        # with a "not a digit" output: refuse what it wins (True), or give the best digit
        self.refuse_not_digits = refuse_not_digits

    @property
    def digit_shape(self):
        """One digit as the model takes it, without the runtime's channel axis: (28, 28)."""
        return self.runtime.input_shape[:-1]

    @property
    def classes(self):
        """How many probabilities the model gives per digit: ten, or eleven with the
        "not a digit" output."""
        return self.runtime.output_shape[0]

    def refused(self, probabilities):
        """Per row of [n, classes] probabilities, whether it is refused as not a digit: the
        "not a digit" output is the most probable and refusing is on."""
        if self.classes <= NOT_A_DIGIT or not self.refuse_not_digits:
            return np.zeros(len(probabilities), dtype=bool)
        return probabilities[:, NOT_A_DIGIT] > probabilities[:, :DIGITS].max(axis=1)

    def _pre_process(self, uploads):
        """Upload bytes to 28x28 float32 MNIST-style digits: for each upload, in order, its
        digit or the ImageError that says why it has none."""
        return digits_from_uploads(uploads, self._max_pixels, self._max_side,
                                   self._max_batch_pixels)

    def _predict(self, digits):
        """An [n, 28, 28] batch to [n, classes] probabilities, in one model call."""
        started = time.perf_counter()
        probabilities = self.runtime(digits.reshape(len(digits), *self.runtime.input_shape))
        record_inference(time.perf_counter() - started, probabilities)
        return probabilities

    def _post_process(self, probabilities):
        """One row of probabilities to all ten digits ranked, most likely first, or the
        NotADigit error that says what was seen instead."""
        digits = probabilities[:DIGITS]
        if self.refused(probabilities[np.newaxis])[0]:
            best = int(np.argmax(digits))
            return NotADigit(
                f"no digit found: the ink does not look like a digit "
                f"({percent(probabilities[NOT_A_DIGIT])} sure it is not one; the closest digit "
                f"is {best} at {percent(digits[best])}); send a picture of one handwritten "
                "digit 0-9")
        ranked = np.argsort(-digits, kind="stable")
        return [{"prediction": int(digit), "probability": float(digits[digit])}
                for digit in ranked]

    def predict_tensor(self, digits):
        """Digits already prepared as MNIST is ([n, 28, 28] float32 in [0, 1], white on black)
        to [n, classes] probabilities: the model stage alone, for tensor clients (V2)."""
        return self._predict(np.asarray(digits, dtype=np.float32))

    def read_tensor(self, digits):
        """For tensor clients: the [n, 10] digit probabilities, the [n] most probable digits
        (-1 where refused as not a digit) and the [n] probabilities of "not a digit" (0 for
        a model without that output)."""
        probabilities = self.predict_tensor(digits)
        digit = np.argmax(probabilities[:, :DIGITS], axis=1).astype(np.int64)
        digit[self.refused(probabilities)] = -1
        not_a_digit = probabilities[:, NOT_A_DIGIT] if self.classes > NOT_A_DIGIT else \
            np.zeros(len(probabilities), dtype=probabilities.dtype)
        return probabilities[:, :DIGITS], digit, not_a_digit

    def predict(self, uploads):
        """For each upload, in order: its ranked predictions, or the ImageError it raised (a
        NotADigit for ink the model reads as no digit)."""
        prepared = self._pre_process(uploads)
        digits = [item for item in prepared if not isinstance(item, ImageError)]
        rows = iter(self._predict(np.stack(digits)) if digits else ())
        return [item if isinstance(item, ImageError) else self._post_process(next(rows))
                for item in prepared]
