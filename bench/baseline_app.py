"""The original serving path, for `make bench` to compare against: Flask's development server and
Keras `model.predict` on every request, around the same .h5 model, API and pre-processing.

    HOST=127.0.0.1 PORT=5799 python -m bench.baseline_app [path/to/model.h5]
"""
import sys

import config
from app import create_app
from core.model import ModelWrapper
from core.runtime import FunctionRuntime


def keras_predict(model_path):
    """What the original did per request: `model.predict`, which builds a new loop every call."""
    import keras
    model = keras.models.load_model(model_path, compile=False)
    return FunctionRuntime(lambda batch: model.predict(batch, verbose=0), "tensorflow_keras")


def main():
    settings = config.from_env()
    model_path = sys.argv[1] if len(sys.argv) > 1 else "assets/mnist_cnn.h5"
    wrapper = ModelWrapper(model_path, **config.image_limits(settings),
                           runtime=keras_predict(model_path))
    app = create_app(model=wrapper)
    app.run(host=settings["HOST"], port=settings["PORT"], threaded=True)


if __name__ == "__main__":
    main()
