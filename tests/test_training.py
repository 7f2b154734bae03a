"""The training code's own pieces: the architectures, batch-norm folding and distillation targets."""
import keras
import numpy as np

from training.train import build_model, fold_batch_norm, teacher_targets


def multiply_adds(model):
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, _ = layer.output.shape
            total += height * width * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Dense):
            total += int(np.prod(layer.kernel.shape))
    return total


def test_the_served_architecture_does_about_a_quarter_of_the_teachers_work():
    small, large = build_model(keras, "small"), build_model(keras, "large")
    assert small.input_shape == large.input_shape == (None, 28, 28, 1)
    assert small.output_shape == large.output_shape == (None, 10)
    assert multiply_adds(small) < 6_000_000 < 20_000_000 < multiply_adds(large)
    assert 0.2 < multiply_adds(small) / multiply_adds(large) < 0.3


def test_folding_batch_norm_keeps_the_networks_outputs():
    model = build_model(keras, "small")
    rng = np.random.default_rng(0)
    for layer in model.layers:  # trained-looking statistics, not the identity they start as
        if isinstance(layer, keras.layers.BatchNormalization):
            size = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, size), rng.normal(0, 0.1, size),
                               rng.normal(0, 0.1, size), rng.uniform(0.5, 2.0, size)])
    folded = fold_batch_norm(keras, model)
    batch = rng.random((8, 28, 28, 1), dtype=np.float32)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    np.testing.assert_allclose(folded.predict_on_batch(batch), model.predict_on_batch(batch),
                               atol=1e-5)


def test_teacher_targets_mix_the_label_with_the_softened_teacher(tmp_path):
    teacher = build_model(keras, "small")
    path = tmp_path / "teacher.h5"
    teacher.save(path)
    images = np.random.default_rng(1).random((6, 28, 28, 1), dtype=np.float32)
    labels = np.array([0, 1, 2, 3, 4, 5])
    targets = teacher_targets(keras, path, images, labels, weight=0.7, temperature=4.0)
    probabilities = teacher.predict_on_batch(images).astype(np.float64)
    softened = probabilities ** 0.25 / (probabilities ** 0.25).sum(axis=1, keepdims=True)
    expected = 0.3 * np.eye(10)[labels] + 0.7 * softened
    np.testing.assert_allclose(targets, expected, atol=1e-5)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-5)
    assert (targets[np.arange(6), labels] >= 0.3).all()


def test_the_not_a_digit_head_keeps_the_ten_digits_weights():
    from training.train import NOT_A_DIGIT, with_not_a_digit_output
    model = build_model(keras, "small")
    grown = with_not_a_digit_output(keras, model)
    assert grown.output_shape == (None, NOT_A_DIGIT + 1)
    old_kernel, old_bias = model.layers[-1].get_weights()
    kernel, bias = grown.layers[-1].get_weights()
    np.testing.assert_array_equal(kernel[:, :10], old_kernel)
    np.testing.assert_array_equal(bias[:10], old_bias)
    assert (kernel[:, 10] == 0).all() and bias[10] < 0  # starts out saying "a digit"


def test_non_digit_examples_leave_out_the_look_alikes():
    from training.negatives import LETTERS, SYMBOLS, make
    assert not set(LETTERS) & set("OoIilJSsZzBGbqg")
    assert "circle" not in SYMBOLS and "ellipse" not in SYMBOLS
    maps, names = make(30, np.random.default_rng(0))
    assert len(maps) == 30 and all(m.shape == (96, 96) and m.max() > 0.3 for m in maps)
    assert set(names) <= {"letter", "symbol", "scribble", "doodle", "smudge", "fold_line"}
