"""The LiteRT runtime: the Keras model converted to .tflite when it is released, run without
TensorFlow.

Re-sizing a LiteRT interpreter is slow next to running it, so there is one interpreter per
batch-size bucket, allocated and run once at load time. A call runs its batch in pieces of
bucket sizes (6 digits as 4 + 2): a padded slot costs as much as a digit, another invoke
almost nothing.
"""
import threading

import numpy as np

from core.errors import ModelLoadError

BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # batch sizes with a ready interpreter


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
        if len(batch) == 0:
            return self._invoke(batch)
        outputs, start = [], 0
        while start < len(batch):  # the largest bucket that the rest fills, else the rest padded
            size = max((size for size in self.buckets if size <= len(batch) - start),
                       default=len(batch) - start)
            outputs.append(self._invoke(batch[start:start + size]))
            start += size
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)


WIDTHS = (64, 128, 192, 256, 384, 512)  # strip widths with a ready interpreter


class StripRuntime:
    """`runtime(strip[height, width]) -> [width / stride, classes]` for a sequence model whose
    width is left open; it states `height`, `stride` and `classes`. One pre-allocated, warmed
    interpreter per width bucket; a strip is padded with blank columns up to the next bucket
    and the padding's outputs dropped. A strip wider than the widest bucket is a ValueError
    (core.sequence.make_strip keeps to MAX_WIDTH)."""

    platform = "tflite"

    def __init__(self, model_path, widths=WIDTHS):
        from ai_edge_litert.interpreter import Interpreter
        self.widths = {}
        try:
            for width in widths:
                interpreter = Interpreter(model_path=str(model_path), num_threads=1)
                source = interpreter.get_input_details()[0]
                self.height = int(source["shape_signature"][1])
                interpreter.resize_tensor_input(source["index"], [1, self.height, width, 1])
                interpreter.allocate_tensors()
                target = interpreter.get_output_details()[0]["index"]
                self.widths[width] = (interpreter, source["index"], target)
                interpreter.set_tensor(source["index"],
                                       np.zeros((1, self.height, width, 1), np.float32))
                interpreter.invoke()
                steps, self.classes = interpreter.get_tensor(target).shape[2:]
                self.stride = width // int(steps)
        except (ValueError, RuntimeError, IndexError) as error:
            raise ModelLoadError(f"sequence model file {model_path} cannot be loaded: "
                                 f"{error}") from error
        self._lock = threading.Lock()

    def __str__(self):
        return f"LiteRT, strip widths {list(self.widths)}"

    def __call__(self, strip):
        height, width = strip.shape
        fits = [size for size in self.widths if size >= width]
        if not fits:
            raise ValueError(f"a strip {width} columns wide is wider than the widest the "
                             f"runtime runs, {max(self.widths)}")
        bucket = min(fits)
        padded = np.zeros((1, height, bucket, 1), np.float32)
        padded[0, :, :width, 0] = strip
        interpreter, source, target = self.widths[bucket]
        with self._lock:
            interpreter.set_tensor(source, padded)
            interpreter.invoke()
            return interpreter.get_tensor(target)[0, 0, :width // self.stride].copy()
