"""The probability the service reports means what it says, on every path.

Checked on held-out MNIST training images (the seeded split `training.train` never fits on):
the mean reported top probability matches the accuracy, and the expected calibration error is
small, through the Keras .h5 path, `POST /model/predict` (LiteRT, as served) and V2 `infer`.
"""
import numpy as np
import pytest
import requests

from harness.images import encode
from tests.helpers import shared_dir
from training.calibrate import (calibration_gap, expected_calibration_error, fit_temperature,
                                softmax)
from training.mnist import load_split
from training.train import normalise_all, split_indices

HELD_OUT = 1000  # of the 5,000 held-out training images; enough for the mean to be ~0.3 % sure
BATCH = 64


@pytest.fixture(scope="module")
def held_out():
    images, labels = load_split(shared_dir("mnist"), "train")
    _, held = split_indices(len(images), seed=20261127)
    held = held[:HELD_OUT]
    return images[held], labels[held].astype(np.int64)


def assert_calibrated(probabilities, labels, path, refused=None):
    """The answered digits' top probability matches how often it is right; few are refused
    (a model with a "not a digit" output refuses some digits too)."""
    refused = np.zeros(len(labels), dtype=bool) if refused is None else np.asarray(refused)
    assert refused.mean() <= 0.01
    probabilities, labels = probabilities[~refused], labels[~refused]
    top = probabilities.max(axis=1)
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    ece = expected_calibration_error(probabilities, labels)
    print(f"{path}: accuracy {accuracy:.4f}, mean reported p {top.mean():.4f}, ECE {ece:.4f}")
    assert abs(float(top.mean()) - accuracy) <= 0.01
    assert ece <= 0.015
    right = probabilities.argmax(axis=1) == labels
    assert (top[right] >= 0.9).mean() >= 0.95


def test_ece_is_zero_when_confidence_matches_accuracy_and_the_gap_otherwise():
    labels = np.array([0] * 8 + [1] * 2)
    sure = np.tile([0.8, 0.2], (10, 1))  # says 0 at 0.8, right 8 times in 10
    assert expected_calibration_error(sure, labels) == pytest.approx(0.0)
    overconfident = np.tile([0.99, 0.01], (10, 1))
    assert expected_calibration_error(overconfident, labels) == pytest.approx(0.19)


def test_the_calibration_gap_of_answers_weighs_each_bin_by_its_answers():
    assert calibration_gap([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert calibration_gap([1.0, 1.0], [True, False]) == pytest.approx(0.5)
    assert calibration_gap([0.95] * 3 + [0.55], [True] * 3 + [False]) == \
        pytest.approx((3 * 0.05 + 0.55) / 4)


def test_fit_temperature_finds_the_temperature_that_made_the_data():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20000, 10))
    labels = np.array([rng.choice(10, p=row) for row in softmax(logits / 2.5)])
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.05)


def test_the_h5_model_reports_calibrated_probabilities(wrapper, held_out):
    images, labels = held_out
    probabilities = wrapper.predict_tensor(normalise_all(images))
    assert_calibrated(probabilities[:, :10], labels, "h5, model stage",
                      wrapper.refused(probabilities))


def test_model_predict_reports_calibrated_probabilities(server, held_out):
    images, labels = held_out
    rows, refused = [], []
    for start in range(0, len(images), BATCH):
        files = [("image", (f"{i}.png", encode(image)))
                 for i, image in enumerate(images[start:start + BATCH])]
        answer = requests.post(server.url + "/model/predict", files=files, timeout=60)
        assert answer.status_code == 200, answer.text
        for entry in answer.json()["results"]:
            refused.append(entry["status"] == "error")
            by_digit = {p["prediction"]: p["probability"] for p in entry.get("predictions", [])}
            rows.append([by_digit.get(digit, 0.0) for digit in range(10)])
    assert_calibrated(np.array(rows), labels, "POST /model/predict", refused)


def test_v2_infer_reports_calibrated_probabilities(server, held_out):
    images, labels = held_out
    digits = normalise_all(images)
    document = {"inputs": [{"name": "images", "datatype": "FP32", "shape": list(digits.shape),
                            "data": digits.ravel().tolist()}]}
    answer = requests.post(server.url + "/v2/models/mnist/infer", json=document, timeout=120)
    assert answer.status_code == 200, answer.text
    outputs = {tensor["name"]: tensor for tensor in answer.json()["outputs"]}
    probabilities = np.array(outputs["probabilities"]["data"], dtype=np.float64).reshape(
        outputs["probabilities"]["shape"])
    assert_calibrated(probabilities, labels, "V2 infer",
                      np.array(outputs["digit"]["data"]) == -1)


def test_the_refusal_offset_refuses_no_more_digits_than_allowed():
    from training.calibrate import refusal_offset, refused_share
    rng = np.random.default_rng(1)
    sure = 6 * np.eye(10)[rng.integers(0, 10, 1000)]
    digits = np.concatenate([rng.normal(0, 1, (1000, 10)) + sure, rng.normal(0, 1, (1000, 1))],
                            axis=1)
    others = np.concatenate([rng.normal(0, 1, (500, 10)), rng.normal(4, 1, (500, 1))], axis=1)
    logits = np.concatenate([digits, others])
    labels = np.concatenate([rng.integers(0, 10, 1000), np.full(500, 10)])
    offset = refusal_offset(logits, labels, 10, 0.01)
    logits[:, 10] += offset
    assert refused_share(logits[:1000], 10) <= 0.011
    assert refused_share(logits[1000:], 10) >= 0.9
