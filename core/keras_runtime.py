"""The Keras runtime: the model file loaded by Keras and run as one compiled `tf.function`."""
import numpy as np

from core.errors import ModelLoadError, one_line


class KerasRuntime:
    """`runtime(batch[n, *input_shape]) -> [n, *output_shape]` on TensorFlow, compiled and
    warmed at load time."""

    platform = "tensorflow_keras"  # what runs the model, in the words of KServe's model metadata

    def __init__(self, model_path):
        import keras
        import tensorflow as tf
        try:
            self.model = keras.models.load_model(model_path, compile=False)
        except Exception as error:  # h5py/keras raise many types for a damaged file
            raise ModelLoadError(f"model file {model_path} cannot be loaded ({one_line(error)}); "
                                 "run `make install` to fetch a verified copy") from error
        self.input_shape = tuple(self.model.input_shape[1:])
        self.output_shape = tuple(self.model.output_shape[1:])
        self._constant = tf.constant
        self._infer = tf.function(lambda batch: self.model(batch, training=False),
                                  reduce_retracing=True,
                                  input_signature=[tf.TensorSpec([None, *self.input_shape],
                                                                 tf.float32)])
        try:
            self(np.zeros((1, *self.input_shape), dtype=np.float32))
        except Exception as error:  # a model that loads but cannot run must not serve
            raise ModelLoadError(f"model file {model_path} loads but fails a trial inference "
                                 f"({one_line(error)})") from error

    def __str__(self):
        return f"Keras on TensorFlow, {self.model.count_params()} parameters"

    def __call__(self, batch):
        return self._infer(self._constant(batch, dtype=np.float32)).numpy()

    def tracing_count(self):
        """How many times the compiled function was traced (1: every batch size shares it)."""
        return self._infer.experimental_get_tracing_count()
