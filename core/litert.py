"""The LiteRT runtime: the Keras model converted to .tflite when it is released, run without
TensorFlow.

Re-sizing a LiteRT interpreter is slow next to running it, so there is one interpreter per
batch-size bucket, allocated and run once at load time: a call only pads its batch up to the
next bucket and invokes.
"""
import threading

import numpy as np

from core.errors import ModelLoadError

BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # batch sizes with a ready interpreter; larger are chunked


class LiteRTRuntime:
    """`runtime(batch[n, *input_shape]) -> [n, *output_shape]` over pre-allocated, warmed
    LiteRT interpreters."""

    platform = "tflite"  # what runs the model, in the words of KServe's model metadata

    def __init__(self, model_path, buckets=BUCKETS):
        try:
            self._build(model_path, buckets)
        except (ValueError, RuntimeError) as error:  # LiteRT's words for a damaged file
            raise ModelLoadError(f"model file {model_path} cannot be loaded: {error}") from error

    def __str__(self):
        return f"LiteRT, batch buckets {list(self.buckets)}"

    def _build(self, model_path, buckets):
        from ai_edge_litert.interpreter import Interpreter
        self.buckets = {}
        for size in buckets:
            interpreter = Interpreter(model_path=str(model_path), num_threads=1)
            source, target = interpreter.get_input_details(), interpreter.get_output_details()
            if len(source) != 1 or len(target) != 1:
                raise ValueError(f"it has {len(source)} inputs and {len(target)} outputs; "
                                 "expected one of each")
            self.input_shape = tuple(int(side) for side in source[0]["shape"][1:])
            self.output_shape = tuple(int(side) for side in target[0]["shape"][1:])
            interpreter.resize_tensor_input(source[0]["index"], [size, *self.input_shape])
            interpreter.allocate_tensors()
            self.buckets[size] = (interpreter, source[0]["index"], target[0]["index"])
        self._lock = threading.Lock()  # an interpreter is not thread-safe (THREADS > 1)
        for size in self.buckets:
            self._invoke(np.zeros((size, *self.input_shape), dtype=np.float32))

    def _invoke(self, batch):
        """Pad `batch` to the smallest bucket that holds it and run that interpreter once."""
        count = len(batch)
        size = min(size for size in self.buckets if size >= count)
        if size > count:
            batch = np.concatenate([batch, np.zeros((size - count, *self.input_shape),
                                                    batch.dtype)])
        interpreter, source, target = self.buckets[size]
        with self._lock:
            interpreter.set_tensor(source, batch)
            interpreter.invoke()
            return interpreter.get_tensor(target)[:count].copy()

    def __call__(self, batch):
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        largest = max(self.buckets)
        if len(batch) <= largest:
            return self._invoke(batch)
        return np.concatenate([self._invoke(batch[start:start + largest])
                               for start in range(0, len(batch), largest)])
