"""training.reader: the composed numbers the sequence model learns from, and a short training
run that yields a model the server loads."""
import json

import numpy as np

from core.runtime import load_sequence
from core.sequence import BLANK, HEIGHT, STRIDE
from tests.builders import sample_digit
from tests.helpers import shared_dir
from training import reader


def digits_set():
    """The committed sample digits 0-9 as a tiny training set."""
    return np.stack([sample_digit(d) for d in range(10)]), np.arange(10, dtype=np.uint8)


def test_examples_are_strips_of_the_models_height_labelled_with_their_digits():
    images, labels = digits_set()
    rng = np.random.default_rng(3)
    examples = [reader.number_example(images, labels, rng) for _ in range(300)]
    examples = [e for e in examples if e is not None]
    assert len(examples) > 290
    lengths = [len(digits) for _, digits, _ in examples]
    assert min(lengths) == 0 and max(lengths) == 8  # some only marks, some eight digits
    assert 0.005 < lengths.count(0) / len(examples) < 0.06
    for strip, digits, centres in examples:
        assert strip.dtype == np.uint8 and strip.shape[0] == HEIGHT
        assert strip.shape[1] % STRIDE == 0 and strip.max() > 0
        assert all(0 <= d < BLANK for d in digits)
        assert strip.shape[1] // STRIDE >= 2 * len(digits)  # room for CTC's blanks
        assert len(centres) == len(digits) and centres == sorted(centres)
        assert all(STRIDE <= centre <= strip.shape[1] - STRIDE for centre in centres)


def test_batches_pad_to_a_width_step_and_keep_every_example():
    images, labels = digits_set()
    rng = np.random.default_rng(4)
    examples = [e for e in (reader.number_example(images, labels, rng) for _ in range(50)) if e]
    seen = 0
    for pixels, targets, lengths, chunk in reader.batches(examples, 16, rng):
        assert [len(examples[k][1]) for k in chunk] == list(lengths)
        assert pixels.shape[1:] == (HEIGHT, pixels.shape[2], 1)
        assert pixels.shape[2] % reader.WIDTH_STEP == 0 and pixels.max() <= 1
        assert len(targets) == len(lengths) == len(pixels)
        assert targets.shape[1] == max(lengths)
        seen += len(pixels)
    assert seen == len(examples)


def test_a_short_training_run_saves_a_model_the_server_loads_and_its_card(tmp_path):
    mnist = shared_dir("mnist")
    out = tmp_path / "reader.tflite"
    reader.main([str(mnist), "--out", str(out), "--examples", "96", "--validation", "32",
                 "--epochs", "1", "--workers", "1", "--keras", str(tmp_path / "reader.keras")])
    runtime = load_sequence(out)
    assert runtime(np.zeros((HEIGHT, 40), np.float32)).shape == (40 // STRIDE, BLANK + 1)
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["data"]["numbers"] == 96 and card["training"]["loss"] == "CTC"
    assert "MNIST training digits only" in card["data"]["digits"]
    assert str(tmp_path) not in json.dumps(card["data"])
    assert set(card["calibration"]) >= {"temperature", "ece_before", "ece_after"}
    assert "peak_offset" in card["alignment"]
    again = tmp_path / "again.tflite"  # a second stage continues the first
    reader.main([str(mnist), "--out", str(again), "--examples", "64", "--validation", "32",
                 "--epochs", "1", "--workers", "1", "--init-from", str(tmp_path / "reader.keras"),
                 "--keras", str(tmp_path / "again.keras")])
    continued = json.loads(again.with_suffix(".json").read_text())
    assert [stage["command"] for stage in continued["stages"]] == [card["command"]]
    assert continued["training"]["continued_from"] == str(tmp_path / "reader.keras")
