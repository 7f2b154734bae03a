"""Choosing and loading the runtime that runs a model file.

A runtime is an object called on an [n, *input_shape] float32 batch that returns the
[n, *output_shape] probabilities; it states `input_shape`, `output_shape` and `platform` (what
runs it, in the words of KServe's model metadata). `load_runtime` is the one place that picks
a runtime for a file and checks that it fits the digits the pipeline makes.
"""
import importlib.util
import logging
import pathlib

from core.errors import ModelLoadError, one_line
from core.keras_runtime import KerasRuntime
from core.litert import LiteRTRuntime, StripRuntime
from core.normalise import MNIST_SIDE
from core.sequence import BLANK, HEIGHT, STRIDE

log = logging.getLogger(__name__)

# The exit code for a process that cannot load its model: gunicorn halts (instead of respawning
# workers forever) when a worker exits with it, and the master uses it too (gunicorn.conf.py).
WORKER_BOOT_ERROR = 3
INPUT_SHAPE = (MNIST_SIDE, MNIST_SIDE, 1)  # one digit as the pipeline makes it...
OUTPUT_SHAPE = (10,)  # ...to one probability per digit 0-9...
REFUSING_OUTPUT_SHAPE = (11,)  # ...or those and an 11th, "not a digit" (index NOT_A_DIGIT)
NOT_A_DIGIT = 10
# What a Keras .h5 model needs; the serving venv (requirements-serve.txt) has none of them.
KERAS_MODULES = ("h5py", "keras", "tensorflow")


def runtime_for(model_path):
    """The runtime class for a model file: LiteRT for `.tflite`, Keras for anything else."""
    return LiteRTRuntime if pathlib.Path(str(model_path)).suffix == ".tflite" else KerasRuntime


def load_runtime(model_path):
    """The model at `model_path` loaded once into its runtime, warmed, and checked to map
    INPUT_SHAPE to OUTPUT_SHAPE or REFUSING_OUTPUT_SHAPE; ModelLoadError otherwise."""
    path = check_model_file(model_path)
    runtime = runtime_for(path)(path)
    if runtime.input_shape != INPUT_SHAPE or \
            runtime.output_shape not in (OUTPUT_SHAPE, REFUSING_OUTPUT_SHAPE):
        raise ModelLoadError(f"model file {path} maps {(None, *runtime.input_shape)} to "
                             f"{(None, *runtime.output_shape)}; expected {(None, *INPUT_SHAPE)} "
                             f"to {(None, *OUTPUT_SHAPE)} or {(None, *REFUSING_OUTPUT_SHAPE)}")
    log.info("model %s loaded (%s)", path, runtime)
    return runtime


def load_sequence(model_path):
    """The sequence model that reads joined digits (a LiteRT file) loaded into a StripRuntime,
    warmed, and checked to map a strip HEIGHT high to BLANK + 1 classes every STRIDE columns;
    ModelLoadError otherwise."""
    path = check_model_file(model_path)
    if path.suffix != ".tflite":
        raise ModelLoadError(f"sequence model file {path} must be a LiteRT .tflite")
    runtime = StripRuntime(path)
    if (runtime.height, runtime.classes, runtime.stride) != (HEIGHT, BLANK + 1, STRIDE):
        raise ModelLoadError(f"sequence model file {path} maps strips {runtime.height} high to "
                             f"{runtime.classes} classes every {runtime.stride} columns; "
                             f"expected {HEIGHT}, {BLANK + 1} and {STRIDE}")
    log.info("sequence model %s loaded (%s)", path, runtime)
    return runtime


class FunctionRuntime:
    """Any `f(batch) -> probabilities` as a runtime of the service's shapes: a stand-in model
    for benchmarks and fault tests."""

    input_shape = INPUT_SHAPE
    output_shape = OUTPUT_SHAPE

    def __init__(self, function, platform="function"):
        self._function = function
        self.platform = platform

    def __call__(self, batch):
        return self._function(batch)


def check_model_file(model_path):
    """Checks that need no TensorFlow (the gunicorn master runs them before forking workers):
    the file exists and, for HDF5, opens whole and holds a Keras model."""
    path = pathlib.Path(model_path)
    if not path.is_file():
        raise ModelLoadError(f"model file {path} not found; run `make install` to fetch it")
    if path.suffix != ".h5":
        return path
    missing = [name for name in KERAS_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ModelLoadError(f"model file {path} is a Keras .h5, which runs on TensorFlow, and "
                             f"this Python lacks {', '.join(missing)}: install them with `pip "
                             "install -r requirements.txt`, or serve the LiteRT .tflite instead")
    import h5py
    try:
        with h5py.File(path, "r") as handle:
            keras_model = "model_config" in handle.attrs
    except Exception as error:  # h5py raises OSError and others for a damaged file
        raise ModelLoadError(f"model file {path} cannot be loaded ({one_line(error)}); "
                             "run `make install` to fetch a verified copy") from error
    if not keras_model:
        raise ModelLoadError(f"model file {path} is HDF5 but holds no Keras model")
    return path
