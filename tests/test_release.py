"""The released model: the committed .tflite is the committed .h5 converted, both verified, and
the serving venv (requirements-serve.txt) serves it without TensorFlow."""
import hashlib
import subprocess
import sys

import numpy as np
import pytest
import requests

from core.litert import LiteRTRuntime
from harness import ROOT
from harness.processes import Server
from scripts import convert_model
from scripts.fetch_model import listed_files
from tests.builders import sample

MODELS = ROOT / "models"
SERVE_PYTHON = ROOT / ".venv-serve" / "bin" / "python"


def md5sums():
    """{path as md5sums.txt names it: checksum}."""
    return {path: digest for digest, path in
            (line.split() for line in (ROOT / "md5sums.txt").read_text().splitlines())}


def test_md5sums_lists_the_keras_model_its_litert_conversion_and_the_reader_and_all_match():
    listed = md5sums()
    assert sorted(listed) == ["assets/mnist_cnn.h5", "assets/mnist_cnn.tflite",
                              "assets/mnist_reader.tflite"]
    for path, digest in listed.items():
        committed = MODELS / path.split("/", 1)[1]
        assert hashlib.md5(committed.read_bytes()).hexdigest() == digest, committed


def test_converting_the_committed_h5_gives_the_committed_tflite(tmp_path, wrapper):
    """What `make release-model` does, redone: the fresh conversion, the committed .tflite and
    the Keras model itself give the same probabilities within the converter's limit."""
    converted = tmp_path / "converted.tflite"
    assert convert_model.main([str(MODELS / "mnist_cnn.h5"), str(converted)]) == 0
    assert not list(tmp_path.glob("*.part"))
    drawn = wrapper._pre_process([sample(name) for name in ("3_canvas.png", "7_photo.jpg",
                                                            "2_pencil.jpg", "5_marker.jpg")])
    inputs = np.concatenate([convert_model.probes(wrapper.runtime.input_shape, count=32, seed=11),
                             np.stack(drawn)[..., np.newaxis]])
    committed = LiteRTRuntime(MODELS / "mnist_cnn.tflite")(inputs)
    for other in (LiteRTRuntime(converted)(inputs), wrapper.runtime(inputs)):  # Keras: the .h5
        assert np.abs(committed - other).max() <= convert_model.TOLERANCE
        np.testing.assert_array_equal(committed.argmax(axis=1), other.argmax(axis=1))


def test_the_fetch_without_names_takes_every_listed_file_verified(tmp_path):
    dest = tmp_path / "assets"
    result = subprocess.run([sys.executable, "scripts/fetch_model.py", "--bucket", "models",
                             "--dest", str(dest)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    every = ["mnist_cnn.h5", "mnist_cnn.tflite", "mnist_reader.tflite"]
    assert sorted(p.name for p in dest.iterdir()) == every
    assert listed_files(ROOT / "md5sums.txt") == every
    for name in listed_files(ROOT / "md5sums.txt"):
        assert (dest / name).read_bytes() == (MODELS / name).read_bytes()


@pytest.fixture(scope="module")
def serve_python():
    if not SERVE_PYTHON.is_file():
        pytest.skip(f"{SERVE_PYTHON} is absent: `make install` (which `make test` runs) makes it")
    return SERVE_PYTHON


def test_the_serving_venv_holds_no_tensorflow_keras_or_h5py(serve_python):
    found = subprocess.run(
        [serve_python, "-c", "import importlib.util as u; print([m for m in "
         "('tensorflow', 'keras', 'h5py', 'pytest') if u.find_spec(m)])"],
        capture_output=True, text=True, check=True).stdout.strip()
    assert found == "[]"


def test_the_serving_venv_serves_a_prediction(serve_python):
    server = Server([serve_python, "serve.py"], env={"WORKERS": "1"})  # as `make run` serves
    try:
        answer = requests.post(server.url + "/model/predict", timeout=30,
                               files={"image": ("7.png", sample("7_mnist_style.png"))})
        assert answer.status_code == 200
        assert answer.json()["predictions"][0]["prediction"] == 7
    finally:
        server.stop()
    log = server.output()
    assert f"Drawing page: {server.url}/app/" in log
    assert f"API and Swagger UI: {server.url}/" in log


def test_an_h5_model_in_the_serving_venv_says_what_to_install(serve_python):
    result = subprocess.run(
        [serve_python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": "0",
             "MODEL_PATH": str(ROOT / "assets" / "mnist_cnn.h5")})
    assert result.returncode == 3
    assert "is a Keras .h5, which runs on TensorFlow" in result.stderr
    assert "pip install -r requirements.txt" in result.stderr
    assert "Traceback" not in result.stderr
