"""The service with its normalisation taken out, for `python -m bench.serving --upper-bound`.

The same gunicorn, upload, decoding, inference and response as `make run`, but each decoded
image goes to the model as a flat 28x28 field instead of a located, size-normalised digit. Its
predict/metadata throughput ratio is the most that any normalisation, however fast it were
written, could reach on this server.

    gunicorn -c gunicorn.conf.py 'bench.upper_bound:create_app()'
"""
import numpy as np

import app
import config
from core.decode import open_image
from core.grey import to_grey
from core.normalise import MNIST_SIDE
from core.model import ModelWrapper


class DecodeOnlyModel(ModelWrapper):
    """A ModelWrapper whose pre-processing decodes each upload and stops there."""

    def _pre_process(self, uploads):
        return [np.full((MNIST_SIDE, MNIST_SIDE), to_grey(open_image(
            data, self._max_pixels, self._max_side)).mean(), dtype=np.float32)
            for data in uploads]


def create_app():
    settings = config.from_env()
    return app.create_app(model=DecodeOnlyModel(settings["MODEL_PATH"],
                                                **config.image_limits(settings)))
