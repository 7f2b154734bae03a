"""The served inference path: LiteRT gives the Keras model's answers, warmed, without re-work."""
import pathlib

import numpy as np
import pytest
import requests

from core.errors import ModelLoadError
from core.litert import BUCKETS
from core.runtime import load_runtime
from harness import ROOT
from harness.processes import children
from scripts import convert_model
from tests.builders import number
from tests.helpers import MODEL_PATH, SHARED
from training.mnist import load_split

LITE_PATH = MODEL_PATH.with_suffix(".tflite")
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def lite():
    assert LITE_PATH.is_file(), f"{LITE_PATH} missing: run `make install` (make test does)"
    return load_runtime(LITE_PATH)


def real_digits(wrapper):
    """The committed samples as the service prepares them, plus the MNIST test set if present."""
    samples = sorted((ROOT / "samples").iterdir())
    digits = wrapper._pre_process([path.read_bytes() for path in samples
                                   if path.suffix in (".png", ".jpg")])
    if (SHARED / "mnist").is_dir():
        images, _ = load_split(SHARED / "mnist", "test")
        digits += list(images.astype(np.float32) / 255.0)
    return np.stack(digits)[..., np.newaxis]


def keras_probabilities(wrapper, batch):
    return np.concatenate([wrapper.runtime(batch[i:i + 1000])
                           for i in range(0, len(batch), 1000)])


def test_the_served_litert_model_gives_the_keras_models_predictions(wrapper, lite):
    batch = real_digits(wrapper)
    expected = keras_probabilities(wrapper, batch)
    served = lite(batch)
    assert served.shape == expected.shape
    np.testing.assert_array_equal(served.argmax(axis=1), expected.argmax(axis=1))
    assert np.abs(served - expected).max() <= TOLERANCE


def test_every_batch_bucket_is_allocated_and_warmed_at_load(lite):
    assert tuple(lite.buckets) == BUCKETS
    for size, (interpreter, source, target) in lite.buckets.items():
        assert tuple(interpreter.get_input_details()[0]["shape"]) == (size, 28, 28, 1)
        # Run once at load: the output already holds the blank batch's probabilities.
        np.testing.assert_allclose(interpreter.get_tensor(target).sum(axis=1), 1.0, rtol=1e-5)


def test_any_batch_size_runs_as_full_buckets_on_the_ready_interpreters(lite, monkeypatch):
    interpreters = {size: entry[0] for size, entry in lite.buckets.items()}
    digits = convert_model.probes(lite.input_shape, count=70, seed=3)[:141]
    one_by_one = np.concatenate([lite(digits[i:i + 1]) for i in range(len(digits))])
    calls = []
    invoke = lite._invoke
    monkeypatch.setattr(lite, "_invoke", lambda batch: calls.append(len(batch)) or invoke(batch))
    for count in (1, 3, 6, 17, 32, 64, 100, 141):
        np.testing.assert_allclose(lite(digits[:count]), one_by_one[:count], atol=1e-6)
    assert calls == [1, 2, 1, 4, 2, 16, 1, 32, 64, 64, 32, 4, 64, 64, 8, 4, 1]
    assert lite(digits[:0]).shape == (0, *lite.output_shape)
    assert {size: entry[0] for size, entry in lite.buckets.items()} == interpreters
    for size, (interpreter, _, _) in lite.buckets.items():
        assert interpreter.get_input_details()[0]["shape"][0] == size


def test_the_keras_path_traces_its_function_once(wrapper):
    for count in (1, 3, 17, 64):
        wrapper.runtime(np.zeros((count, 28, 28, 1), dtype=np.float32))
    assert wrapper.runtime.tracing_count() == 1


def test_a_damaged_litert_file_is_refused(tmp_path):
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(LITE_PATH.read_bytes()[:20000])
    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        load_runtime(truncated)


def test_served_workers_run_without_tensorflow(server):
    workers = children(server.process.pid)
    assert workers
    for pid in workers:
        maps = pathlib.Path(f"/proc/{pid}/maps").read_text()
        assert "/tensorflow/" not in maps  # TensorFlow is slow to import and large in memory
        assert "/ai_edge_litert/" in maps


def test_a_served_worker_runs_one_thread_even_after_large_resizes(server):
    data = number("902185", "spaced", "canvas").data  # a wide RGBA row: numpy's larger products
    for _ in range(3):
        response = requests.post(server.url + "/model/read", files={"image": ("n.png", data)},
                                 timeout=30)
        assert response.status_code == 200
    for pid in children(server.process.pid):
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
        assert "\nThreads:\t1\n" in status  # a sync worker: no BLAS or LiteRT thread pool
