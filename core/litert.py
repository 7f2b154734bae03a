"""Inference through LiteRT: the Keras model converted to .tflite at build time.

LiteRT runs this network as fast as TensorFlow on one core, starts in milliseconds and needs
about a tenth of the memory, so every gunicorn worker can hold its own copy. Re-sizing a LiteRT
interpreter costs ~20 ms, so there is one interpreter per batch-size bucket, allocated and run
once at load time: a request only pads its batch up to the next bucket and invokes.
"""
import threading

import numpy as np

BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # batch sizes with a ready interpreter; larger are chunked
INPUT_SHAPE = (28, 28, 1)
CLASSES = 10


class LiteRTInference:
    """`f(batch[n, 28, 28, 1]) -> [n, 10]` over pre-allocated, warmed LiteRT interpreters."""

    def __init__(self, model_path, buckets=BUCKETS):
        from ai_edge_litert.interpreter import Interpreter
        self.buckets = {}
        for size in buckets:
            interpreter = Interpreter(model_path=str(model_path), num_threads=1)
            source, target = interpreter.get_input_details(), interpreter.get_output_details()
            if (len(source) != 1 or tuple(source[0]["shape"][1:]) != INPUT_SHAPE
                    or len(target) != 1 or tuple(target[0]["shape"][1:]) != (CLASSES,)):
                raise ValueError(f"maps {[list(d['shape']) for d in source]} to "
                                 f"{[list(d['shape']) for d in target]}; expected "
                                 f"[n, 28, 28, 1] to [n, 10]")
            interpreter.resize_tensor_input(source[0]["index"], [size, *INPUT_SHAPE])
            interpreter.allocate_tensors()
            self.buckets[size] = (interpreter, source[0]["index"], target[0]["index"])
        self._lock = threading.Lock()  # an interpreter is not thread-safe (THREADS > 1)
        for size in self.buckets:
            self._invoke(np.zeros((size, *INPUT_SHAPE), dtype=np.float32))

    def _invoke(self, batch):
        """Pad `batch` to the smallest bucket that holds it and run that interpreter once."""
        count = len(batch)
        size = min(size for size in self.buckets if size >= count)
        if size > count:
            batch = np.concatenate([batch, np.zeros((size - count, *INPUT_SHAPE), batch.dtype)])
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
