"""Shared test helpers: where the data is, posting files and checking JSON errors, and reading
the real server's metrics and health."""
import io
import os
import pathlib

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from harness import ROOT
from harness.images import encode
from harness.processes import children
from tests.builders import digit_image

SHARED = pathlib.Path(os.environ.get("MAX_MNIST_SHARED", ROOT.parent / "shared"))
MODEL_PATH = ROOT / "assets" / "mnist_cnn.h5"
READER_PATH = ROOT / "assets" / "mnist_reader.tflite"
PREDICT = "/model/predict"
# The original project's samples and what they show (image6 is absent).
SEED_DIGITS = {0: 8, 1: 7, 2: 1, 3: 7, 4: 1, 5: 2, 7: 9, 8: 5, 9: 4}


def shared_dir(*parts):
    """A folder under ../shared, or skip: a user's fresh clone does not have it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (it exists only beside the project's own checkout)")
    return path


def metric_values(text):
    """{(sample name, sorted label items): value} from a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def post_files(client, *files):
    """POST (name, bytes) files to /model/predict through a Flask test client."""
    return client.post(PREDICT, data={"image": [(io.BytesIO(data), name) for name, data in files]},
                       content_type="multipart/form-data")


def assert_json_error(response, status, *words):
    """The response is a JSON error of `status` whose message holds each of `words`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "error"
    assert body["message"] and "Traceback" not in body["message"]
    for word in words:
        assert word in body["message"]
    return body


def only_worker(server):
    """The pid of the single gunicorn worker under the session server's master."""
    workers = children(server.process.pid)
    assert len(workers) == 1, workers
    return workers[0]


def healthy(server):
    """The server still answers a real prediction after the abuse."""
    response = requests.post(server.url + PREDICT,
                             files={"image": ("7.png", encode(digit_image()))}, timeout=30)
    return response.status_code == 200 and response.json()["status"] == "ok"
