"""The Open Inference Protocol (KServe V2) REST API, proven with tritonclient's HTTP client
against the real server, and its error answers through Flask's test client."""
import json

import numpy as np
import pytest
import requests
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

import config
from core.pipeline import digit_from_upload
from harness import ROOT
from tests.helpers import metric_values

SAMPLES = sorted(p for p in (ROOT / "samples").iterdir() if p.suffix in (".png", ".jpg"))
INFER = "/v2/models/mnist/infer"


@pytest.fixture(scope="module")
def client_v2(server):
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}", network_timeout=60)
    yield client
    client.close()


def infer(client, batch, binary=True, outputs=None):
    tensor = triton.InferInput("images", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch, binary_data=binary)
    wanted = [triton.InferRequestedOutput(name, binary_data=binary) for name in outputs or ()]
    return client.infer("mnist", [tensor], outputs=wanted or None, request_id="batch-1")


def prepared_samples(paths=SAMPLES):
    """Committed sample images made MNIST-like by the service's own pre-processing."""
    digits = [digit_from_upload(path.read_bytes(), **config.image_limits()) for path in paths]
    return np.stack(digits), np.array([int(path.name[0]) for path in paths])


def test_health_and_readiness(client_v2):
    assert client_v2.is_server_live()
    assert client_v2.is_server_ready()
    assert client_v2.is_model_ready("mnist")
    assert client_v2.is_model_ready("mnist", model_version="1")
    assert not client_v2.is_model_ready("resnet50")


def test_server_and_model_metadata(client_v2):
    server = client_v2.get_server_metadata()
    assert server["name"] == "max-mnist" and "binary_tensor_data" in server["extensions"]
    model = client_v2.get_model_metadata("mnist")
    assert model["name"] == "mnist" and model["versions"] == ["1"]
    assert model["platform"] == "tflite"  # the served file runs on LiteRT
    assert model["inputs"] == [{"name": "images", "datatype": "FP32", "shape": [-1, 28, 28]}]
    assert model["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]},
                                {"name": "digit", "datatype": "INT64", "shape": [-1]},
                                {"name": "not_a_digit", "datatype": "FP32", "shape": [-1]}]
    with pytest.raises(InferenceServerException, match="unknown model") as error:
        client_v2.get_model_metadata("resnet50")
    assert error.value.status() == "404"


def test_model_metadata_names_the_runtime_of_the_loaded_file(client):
    """The suite's shared wrapper loads the Keras .h5 (TensorFlow); the server above, the
    .tflite."""
    assert client.get("/v2/models/mnist").get_json()["platform"] == "tensorflow_keras"


def test_a_batch_of_mnist_test_digits_against_the_labels(client_v2, mnist_test):
    images, labels = mnist_test
    picks = np.random.default_rng(5).choice(len(images), 500, replace=False)
    batch = images[picks].astype(np.float32) / 255.0
    result = infer(client_v2, batch)  # tritonclient's default: binary tensor data both ways
    probabilities, digits = result.as_numpy("probabilities"), result.as_numpy("digit")
    not_a_digit = result.as_numpy("not_a_digit")
    assert probabilities.shape == (500, 10) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1) + not_a_digit, 1.0, atol=1e-4)
    answered = digits >= 0  # -1: refused as not a digit
    assert answered.mean() >= 0.99
    np.testing.assert_array_equal(digits[answered], probabilities[answered].argmax(axis=1))
    assert result.get_response()["id"] == "batch-1"
    assert (digits == labels[picks]).mean() >= 0.98


def test_samples_prepared_by_core_digit_come_back_right(client_v2):
    digits, expected = prepared_samples(sorted(ROOT.glob("samples/*_mnist_style.png")))
    assert len(expected) == 10
    result = infer(client_v2, digits)
    np.testing.assert_array_equal(result.as_numpy("digit"), expected)


def test_json_tensor_data_and_the_4d_shape_give_the_same_answer(client_v2):
    digits, _ = prepared_samples()
    binary = infer(client_v2, digits).as_numpy("probabilities")
    as_json = infer(client_v2, digits[..., np.newaxis], binary=False,
                    outputs=["probabilities", "digit"])
    assert as_json.get_output("probabilities")["data"]  # really sent back as JSON
    np.testing.assert_array_equal(as_json.as_numpy("probabilities"), binary)


def test_v2_runs_the_same_model_stage_as_model_predict(server, client_v2):
    """The tensor path skips only the image pipeline: same digit in, same probabilities out."""
    digits, _ = prepared_samples()
    probabilities = infer(client_v2, digits[:3]).as_numpy("probabilities")
    for path, row in zip(SAMPLES[:3], probabilities):
        body = requests.post(server.url + "/model/predict",
                             files={"image": (path.name, path.read_bytes())}, timeout=30).json()
        by_digit = {p["prediction"]: p["probability"] for p in body["predictions"]}
        np.testing.assert_allclose([by_digit[d] for d in range(10)], row, rtol=1e-5, atol=1e-7)


def test_protocol_errors_reach_the_client(client_v2):
    with pytest.raises(InferenceServerException, match=r"shape \[n, 28, 28\]") as error:
        infer(client_v2, np.zeros((2, 28, 27), dtype=np.float32))
    assert error.value.status() == "400"
    with pytest.raises(InferenceServerException, match=r"\[0, 1\]"):
        infer(client_v2, np.full((1, 28, 28), 255.0, dtype=np.float32))


def body(**changes):
    document = {"inputs": [{"name": "images", "datatype": "FP32", "shape": [1, 28, 28],
                            "data": [0.0] * 784}]}
    document["inputs"][0].update(changes)
    return document


@pytest.mark.parametrize("document, fragment", [
    ({}, "'inputs' must list exactly one tensor"),
    ({"inputs": []}, "'inputs' must list exactly one tensor"),
    (body(name="pixels"), "unknown input 'pixels'"),
    (body(datatype="FP64"), "datatype FP32"),
    (body(datatype="UINT8"), "datatype FP32"),
    (body(shape=[1, 784]), "shape [n, 28, 28]"),
    (body(shape=[0, 28, 28], data=[]), "n >= 1"),
    (body(shape=[1, 28, 28, 3]), "shape [n, 28, 28]"),
    (body(shape=["1", 28, 28]), "shape [n, 28, 28]"),
    (body(data=[0.0] * 783), "has 783 values"),
    (body(data=[[0.0] * 28] * 27 + [[0.0] * 27]), "not a regular array"),
    (body(data=["0.5"] * 784), "must be numbers"),
    (body(data=[2.0] + [0.0] * 783), "1 values are outside"),
    (body(data=[-0.1] + [0.0] * 783), "1 values are outside"),
    ({**body(), "outputs": [{"name": "logits"}]}, "unknown output 'logits'"),
    ({**body(), "parameters": [1]}, "parameters must be a JSON object"),
    (body(shape=[1025, 28, 28]), "at most 1024"),
])
def test_bad_requests_get_a_protocol_error(client, document, fragment):
    response = client.post(INFER, json=document)
    assert response.status_code == 400
    assert set(response.get_json()) == {"error"} and fragment in response.get_json()["error"]


ODD_VALUES = [None, True, 0, -1, 2.5, "x", [], [1], {}, {"a": 1}, [[]], [None] * 784]


@pytest.mark.parametrize("odd", ODD_VALUES, ids=lambda value: repr(value)[:12])
def test_odd_values_anywhere_are_a_4xx_never_a_500(client, odd):
    paths = [("inputs",), ("inputs", 0), ("inputs", 0, "name"), ("inputs", 0, "datatype"),
             ("inputs", 0, "shape"), ("inputs", 0, "shape", 0), ("inputs", 0, "data"),
             ("inputs", 0, "parameters"), ("inputs", 0, "parameters", "binary_data_size"),
             ("outputs",), ("outputs", 0), ("outputs", 0, "name"), ("outputs", 0, "parameters"),
             ("parameters",), ("parameters", "binary_data_output"), ("id",)]
    for path in paths:
        document = {**body(parameters={}), "outputs": [{"name": "digit", "parameters": {}}],
                    "parameters": {}}
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = odd
        response = client.post(INFER, json=document)
        assert response.status_code in (200, 400), (path, response.get_data(as_text=True))
        if response.status_code == 400:
            assert set(response.get_json()) == {"error"}


def test_loose_json_values_are_refused_not_guessed(client):
    before = _inference_calls(client)
    numbered = client.post(INFER, json={**body(), "id": 7})
    assert "'id' must be a string" in numbered.get_json()["error"]
    assert _inference_calls(client) == before  # refused before the model ran
    nan_id = '{"id": NaN, ' + json.dumps(body())[1:]  # Python reads NaN; JSON has none
    assert client.post(INFER, data=nan_id, content_type="application/json").status_code == 400
    as_text = {**body(), "outputs": [{"name": "digit", "parameters": {"binary_data": "false"}}]}
    refused = client.post(INFER, json=as_text).get_json()["error"]
    assert "binary_data must be true or false" in refused
    identity = client.post(INFER, json=body(), headers={"Content-Encoding": "identity"})
    assert identity.status_code == 200


def _inference_calls(client):
    return metric_values(client.get("/metrics").get_data(as_text=True))[
        ("maxmnist_model_inference_seconds_count", ())]


def test_json_nested_deeper_than_python_parses_is_a_400(client):
    response = client.post(INFER, data="[" * 100_000, content_type="application/json")
    assert response.status_code == 400 and "not valid JSON" in response.get_json()["error"]


def test_nan_and_infinity_are_refused(client):
    # JSON has no NaN, but Python's json (and many clients) write it anyway.
    raw = json.dumps(body(data=[float("nan"), float("inf")] + [0.0] * 782))
    response = client.post(INFER, data=raw, content_type="application/json")
    assert response.status_code == 400 and "2 values are outside" in response.get_json()["error"]


def test_binary_tensor_data_is_checked(client):
    header = json.dumps({"inputs": [{"name": "images", "datatype": "FP32", "shape": [1, 28, 28],
                                     "parameters": {"binary_data_size": 3136}}]}).encode()
    pixels = np.zeros(784, dtype="<f4").tobytes()
    ok = client.post(INFER, data=header + pixels,
                     headers={"Inference-Header-Content-Length": str(len(header))})
    assert ok.status_code == 200 and ok.headers["Content-Type"] == "application/json"
    for data, length, fragment in [
        (header + pixels[:-4], len(header), "needs 3136 bytes"),
        (header + pixels, len(header) + len(pixels) + 1, "must be the JSON header's length"),
        (header + pixels, "twelve", "must be the JSON header's length"),
        (header[:-5] + pixels, len(header) - 5, "not valid JSON"),
    ]:
        response = client.post(INFER, data=data,
                               headers={"Inference-Header-Content-Length": str(length)})
        assert response.status_code == 400 and fragment in response.get_json()["error"], data[:9]
    stray = client.post(INFER, data=json.dumps(body()).encode() + pixels,
                        headers={"Inference-Header-Content-Length": str(len(json.dumps(body())))})
    assert stray.status_code == 400 and "no input declares" in stray.get_json()["error"]


def test_binary_outputs_follow_the_json_header(client):
    response = client.post(INFER, json={**body(), "id": "x7", "outputs": [
        {"name": "digit", "parameters": {"binary_data": True}}]})
    assert response.status_code == 200
    length = int(response.headers["Inference-Header-Content-Length"])
    header = json.loads(response.data[:length])
    assert header["id"] == "x7" and [o["name"] for o in header["outputs"]] == ["digit"]
    assert header["outputs"][0]["parameters"] == {"binary_data_size": 8}
    assert np.frombuffer(response.data[length:], dtype="<i8").shape == (1,)


@pytest.mark.parametrize("method, path, status, fragment", [
    ("get", "/v2/models/resnet50", 404, "unknown model 'resnet50'"),
    ("get", "/v2/models/mnist/versions/7", 404, "no version '7'"),
    ("post", "/v2/models/resnet50/infer", 404, "unknown model"),
    ("get", INFER, 405, "not allowed"),
    ("get", "/v2/nothing/here", 404, "there is no /v2/nothing/here"),
])
def test_routing_errors_use_the_protocol_error_shape(client, method, path, status, fragment):
    response = getattr(client, method)(path, json=body() if method == "post" else None)
    assert response.status_code == status
    assert set(response.get_json()) == {"error"} and fragment in response.get_json()["error"]


def test_compressed_and_oversized_requests_are_refused(client, app):
    response = client.post(INFER, data=b"\x1f\x8b", headers={"Content-Encoding": "gzip"})
    assert response.status_code == 415 and "Content-Encoding" in response.get_json()["error"]
    big = b"0" * (app.config["MAX_UPLOAD_BYTES"] + 1)
    response = client.post(INFER, data=big, content_type="application/json")
    assert response.status_code == 413 and set(response.get_json()) == {"error"}


def test_the_max_api_keeps_its_own_error_shape(client):
    response = client.get("/model/nothing")
    assert response.status_code == 404 and response.get_json()["status"] == "error"


def test_v2_is_documented_in_swagger(client):
    paths = client.get("/swagger.json").get_json()["paths"]
    assert {"/v2", "/v2/models/{model_name}", "/v2/models/{model_name}/ready",
            "/v2/models/{model_name}/infer", "/v2/health/live", "/v2/health/ready",
            "/metrics"} <= set(paths)
