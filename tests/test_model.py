"""ModelWrapper: each stage on its own, then the whole `predict()`."""
import numpy as np
import pytest

import config
from core.errors import InvalidImage, ModelLoadError, NoDigitFound, NotADigit
from core.model import ModelWrapper
from core.runtime import FunctionRuntime, load_runtime
from harness.images import encode
from tests.builders import sample
from tests.helpers import MODEL_PATH


def test_pre_process_gives_an_mnist_style_digit(wrapper):
    [digit] = wrapper._pre_process([sample("7_photo.jpg")])
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.min() >= 0 and digit.max() == pytest.approx(1.0)
    # MNIST layout: the ink fits a 20x20 box and its centre of mass is the field's centre.
    rows, cols = np.nonzero(digit > 0.05)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21
    mass = digit / digit.sum()
    centre = (np.indices(digit.shape) * mass).sum(axis=(1, 2))
    np.testing.assert_allclose(centre, [13.5, 13.5], atol=1.0)
    # White ink on black: far more background than ink.
    assert (digit > 0.5).mean() < 0.4


def test_pre_process_answers_each_upload_in_order_and_names_what_is_not_an_image(wrapper):
    digit, text, blank = wrapper._pre_process([sample("7_photo.jpg"), b"plain text, no picture",
                                               encode(np.full((28, 28), 255, np.uint8))])
    assert digit.shape == (28, 28)
    assert isinstance(text, InvalidImage) and isinstance(blank, NoDigitFound)


def test_predict_stage_returns_probabilities_per_row(wrapper):
    batch = np.stack(wrapper._pre_process([sample(f"{d}_canvas.png") for d in (3, 5)]))
    probabilities = wrapper._predict(batch)
    assert probabilities.shape == (2, wrapper.classes)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert list(probabilities[:, :10].argmax(axis=1)) == [3, 5]


class Refusing(FunctionRuntime):
    """A stand-in model with the eleventh, "not a digit", output."""

    output_shape = (11,)


def wrapper_of(runtime, **options):
    return ModelWrapper(None, max_pixels=1, max_side=1, runtime=runtime, **options)


def test_post_process_ranks_all_ten_digits():
    probabilities = np.array([0.01, 0.02, 0.6, 0.05, 0.1, 0.02, 0.05, 0.1, 0.03, 0.02])
    ranked = wrapper_of(FunctionRuntime(None))._post_process(probabilities)
    assert [entry["prediction"] for entry in ranked][:3] == [2, 4, 7]
    assert sorted(entry["prediction"] for entry in ranked) == list(range(10))
    assert all(isinstance(entry["prediction"], int) for entry in ranked)
    assert ranked[0]["probability"] == pytest.approx(0.6)
    assert [e["probability"] for e in ranked] == sorted((e["probability"] for e in ranked),
                                                        reverse=True)


def test_post_process_refuses_what_the_not_a_digit_output_wins_unless_told_not_to():
    probabilities = np.array([0.01, 0.02, 0.05, 0.01, 0.1, 0.01, 0.01, 0.01, 0.02, 0.01, 0.75])
    refused = wrapper_of(Refusing(None))._post_process(probabilities)
    assert isinstance(refused, NotADigit) and isinstance(refused, NoDigitFound)
    assert str(refused).startswith("no digit found: the ink does not look like a digit")
    assert "75.0% sure" in str(refused) and "closest digit is 4 at 10.0%" in str(refused)
    assert "(>99.9% sure it is not one; the closest digit is 4 at <0.1%)" in str(
        wrapper_of(Refusing(None))._post_process(np.eye(11)[10] * 0.9999 + np.eye(11)[4] * 1e-4))
    ranked = wrapper_of(Refusing(None), refuse_not_digits=False)._post_process(probabilities)
    assert [entry["prediction"] for entry in ranked][:2] == [4, 2]
    assert len(ranked) == 10  # "not a digit" is never ranked as a digit
    assert sum(entry["probability"] for entry in ranked) == pytest.approx(0.25)
    answered = wrapper_of(Refusing(None))._post_process(np.roll(probabilities, 1))
    assert answered[0] == {"prediction": 0, "probability": pytest.approx(0.75)}


def test_predict_keeps_order_and_reports_bad_files_in_place(wrapper):
    blank = encode(np.full((40, 40), 255, dtype=np.uint8))
    outcomes = wrapper.predict([sample("4_photo.jpg"), b"garbage", sample("9_canvas.png"), blank])
    assert outcomes[0][0]["prediction"] == 4
    assert isinstance(outcomes[1], InvalidImage)
    assert outcomes[2][0]["prediction"] == 9
    assert isinstance(outcomes[3], NoDigitFound)


def test_predict_stage_runs_a_whole_batch_in_one_call(wrapper):
    calls = []

    def counting(batch):
        calls.append(len(batch))
        return wrapper.runtime(batch)

    counted = ModelWrapper(MODEL_PATH, **config.image_limits(), runtime=FunctionRuntime(counting))
    counted.predict([sample(f"{d}_photo.jpg") for d in range(10)])
    assert calls == [10]


def test_a_missing_model_file_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        load_runtime(tmp_path / "absent.h5")


def test_a_truncated_model_file_is_refused(tmp_path):
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(MODEL_PATH.read_bytes()[:20000])
    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        load_runtime(truncated)
