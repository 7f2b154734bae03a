"""Train the MAX-MNIST CNN on the official MNIST training set and save it as HDF5.

    python -m training.train ../shared/mnist --out models/mnist_cnn.h5

Every training image goes through the same `digit_from_grey` the server applies to uploads, so
training and serving see digits made the same way. A second, distorted copy of each image
(thick and thin strokes, slant, squash) is normalised too; each epoch draws from both. The last
5,000 training images (after a seeded shuffle) are held out for validation; the test set is only
read at the end, for the report. Batch-norm is folded into the convolution weights before
saving, so the served model is plain Conv/Dense layers.
"""
import argparse
import json
import logging
import pathlib
import platform
import sys
import time

import numpy as np
from PIL import Image, ImageFilter

from core.errors import NoDigitFound
from core.pipeline import digit_from_grey
from training import negatives, styles
from training.mnist import load_split

log = logging.getLogger("training")
VALIDATION_SIZE = 5000
NOT_A_DIGIT = 10  # the label, and output index, of "not a digit"
GENERIC_STYLE_SHARE = 0.25  # each any-digit style restyles this share of the training digits


def split_indices(count, seed, held_out=VALIDATION_SIZE):
    """(training, held-out) indices of the MNIST training set: the last `held_out` of a seeded
    shuffle are never fitted on (validation, then calibration and the refusal rule)."""
    order = np.random.default_rng(seed).permutation(count)
    return order[:-held_out], order[-held_out:]


def distort(image, rng):
    """One random, plausible variant of a 28x28 uint8 digit: stroke width, slant, aspect."""
    big = Image.fromarray(image).resize((84, 84), Image.Resampling.BILINEAR)
    stroke = rng.choice(["thin", "same", "thick", "thicker"], p=[0.2, 0.3, 0.3, 0.2])
    if stroke == "thin":
        big = big.filter(ImageFilter.MinFilter(3))
    elif stroke == "thick":
        big = big.filter(ImageFilter.MaxFilter(5))
    elif stroke == "thicker":
        big = big.filter(ImageFilter.MaxFilter(7))
    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.25, 0.25)
    scale_x, scale_y = np.exp(rng.uniform(-0.3, 0.3, size=2))
    cos, sin = np.cos(angle), np.sin(angle)
    forward = np.array([[cos * scale_x, (-sin + shear) * scale_y], [sin * scale_x, cos * scale_y]])
    inverse = np.linalg.inv(forward)
    centre = np.array([42.0, 42.0])
    offset = centre - inverse @ centre
    coefficients = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    big = big.transform((84, 84), Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)
    return np.asarray(big, dtype=np.float32) / 255.0


def normalise_all(images, rng=None):
    """Normalise uint8 digits (optionally distorted first) exactly as the server does."""
    out = np.empty((len(images), 28, 28), dtype=np.float32)
    for i, image in enumerate(images):
        clean = image / np.float32(255.0)
        try:
            out[i] = digit_from_grey(distort(image, rng) if rng is not None else clean)
        except NoDigitFound:  # a distortion that thinned the digit away: keep the original
            out[i] = digit_from_grey(clean)
    return out


def normalise_maps(maps):
    """Float coverage maps (white on black, any size) normalised as the server does; the
    indices of those the server would call blank are left out."""
    kept, out = [], []
    for index, coverage in enumerate(maps):
        try:
            out.append(digit_from_grey(coverage))
            kept.append(index)
        except NoDigitFound:
            pass
    return np.asarray(out, dtype=np.float32).reshape(-1, 28, 28), np.asarray(kept, dtype=int)


def styled_digits(images, labels, rng):
    """Restyled copies of MNIST training digits (training/styles.py), normalised as served:
    every digit a style is for (the 1s, 7s, 9s) and GENERIC_STYLE_SHARE of all for the rest."""
    maps, targets = [], []
    for name, (restyle, _) in styles.STYLES.items():
        eligible = [i for i in range(len(images)) if styles.applies(name, labels[i])]
        if styles.STYLES[name][1] is None:
            eligible = rng.choice(eligible, int(len(eligible) * GENERIC_STYLE_SHARE),
                                  replace=False)
        maps += [restyle(images[i], rng) for i in eligible]
        targets += [labels[i] for i in eligible]
    digits, kept = normalise_maps(maps)
    return digits, np.asarray(targets)[kept]


def not_digits(count, rng):
    """`count` synthesised non-digits (training/negatives.py) normalised as served, labelled
    NOT_A_DIGIT (fewer when the server would call some of them blank)."""
    maps, _ = negatives.make(count, rng)
    digits, _ = normalise_maps(maps)
    return digits, np.full(len(digits), NOT_A_DIGIT)


def with_not_a_digit_output(keras, model):
    """`model` with an 11th output, "not a digit": the ten digit columns keep their weights,
    the new one starts at zero with a negative bias, and dropout guards the new head."""
    dense = model.layers[-1]
    x = keras.layers.Dropout(0.4)(dense.input)
    head = keras.layers.Dense(NOT_A_DIGIT + 1, activation="softmax", name=dense.name)
    outputs = head(x)
    kernel, bias = dense.get_weights()
    head.set_weights([np.concatenate([kernel, np.zeros((kernel.shape[0], 1), kernel.dtype)], 1),
                      np.concatenate([bias, np.full(1, -2.0, bias.dtype)])])
    return keras.Model(model.inputs, outputs, name=model.name)


# Convolution widths and pooling steps before the final 3x3 valid convolution. "small" is what
# serves: 125k parameters and 5.7M multiply-adds per digit, because inference is most of a
# prediction's CPU. "large" (171k parameters, 20M multiply-adds, two convolutions per block) is
# more accurate alone and teaches "small" (--teacher).
ARCHITECTURES = {
    "small": (32, "pool", 64, "pool"),
    "large": (32, 32, "pool", 64, 64, "pool"),
}


def build_model(keras, architecture="small", outputs=10):
    """Conv blocks with batch-norm and ReLU, one 3x3 valid conv, dropout, softmax."""
    layers = keras.layers
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for filters in ARCHITECTURES[architecture]:
        if filters == "pool":
            x = layers.MaxPooling2D()(x)
            continue
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Conv2D(128, 3, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    probabilities = layers.Dense(outputs, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, probabilities, name="max_mnist_cnn")


def fold_batch_norm(keras, trained):
    """The same network with each BatchNormalization folded into the convolution before it."""
    layers = keras.layers
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    trained_layers = trained.layers[1:]
    for index, layer in enumerate(trained_layers):
        following = trained_layers[index + 1] if index + 1 < len(trained_layers) else None
        if isinstance(layer, (layers.BatchNormalization, layers.Dropout)):
            continue
        if isinstance(layer, layers.Conv2D):
            kernel, *bias = layer.get_weights()
            bias = bias[0] if bias else np.zeros(layer.filters, dtype=kernel.dtype)
            if isinstance(following, layers.BatchNormalization):
                gamma, beta, mean, variance = following.get_weights()
                factor = gamma / np.sqrt(variance + following.epsilon)
                kernel, bias = kernel * factor, beta + (bias - mean) * factor
            conv = layers.Conv2D(layer.filters, layer.kernel_size, padding=layer.padding)
            x = conv(x)
            conv.set_weights([kernel, bias])
        elif isinstance(layer, layers.Dense):
            dense = layers.Dense(layer.units, activation="softmax", name=layer.name)
            x = dense(x)
            dense.set_weights(layer.get_weights())
        else:
            x = layer.__class__.from_config(layer.get_config())(x)
    return keras.Model(inputs, x, name=trained.name)


def teacher_targets(keras, teacher_path, images, labels, weight, temperature=4.0):
    """Soft targets for knowledge distillation (Hinton et al. 2015): the one-hot label mixed
    with a larger trained network's probabilities, softened at `temperature`. They say which
    other digits an image resembles, which a small network learns more from than labels alone."""
    teacher = keras.models.load_model(teacher_path, compile=False)
    probabilities = teacher.predict(images, batch_size=512, verbose=0).astype(np.float64)
    softened = np.maximum(probabilities, 1e-12) ** (1 / temperature)
    softened /= softened.sum(axis=1, keepdims=True)
    onehot = np.eye(softened.shape[1])[labels]
    return ((1 - weight) * onehot + weight * softened).astype(np.float32)


def augment_batch(keras, scale):
    """Small in-graph jitter on top of the distorted copies: shifts, zoom, rotation."""
    jitter = keras.Sequential([
        keras.layers.RandomTranslation(0.06 * scale, 0.06 * scale, fill_mode="constant"),
        keras.layers.RandomZoom(0.08 * scale, fill_mode="constant"),
        keras.layers.RandomRotation(0.03 * scale, fill_mode="constant"),
    ])
    return lambda images, labels: (jitter(images, training=True), labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="folder holding the four MNIST idx .gz files")
    parser.add_argument("--out", default="models/mnist_cnn.h5")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--architecture", choices=sorted(ARCHITECTURES), default="small")
    parser.add_argument("--init-from", help="continue training a saved .h5 instead of a new net")
    parser.add_argument("--jitter", type=float, default=1.0,
                        help="scale of the in-graph shift/zoom/rotation (0 turns it off)")
    parser.add_argument("--teacher", help="a trained .h5 whose softened probabilities are "
                        "mixed into the targets (knowledge distillation)")
    parser.add_argument("--teacher-weight", type=float, default=0.7,
                        help="share of the teacher's probabilities in each target")
    parser.add_argument("--styles", action="store_true",
                        help="add restyled training digits (training/styles.py)")
    parser.add_argument("--not-a-digit", type=int, default=0, metavar="COUNT",
                        help="add COUNT synthesised non-digits (training/negatives.py) as an "
                        "11th output; a 10-output --init-from model gets that output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.time()

    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    images, labels = load_split(args.data_dir, "train")
    train_idx, val_idx = split_indices(len(images), args.seed)
    rng.permutation(len(images))  # keep the generator's stream as it was for the distortions
    log.info("normalising %d training images and a distorted copy of each", len(train_idx))
    clean = normalise_all(images[train_idx])
    distorted = normalise_all(images[train_idx], rng)
    x_parts, y_parts = [clean, distorted], [labels[train_idx], labels[train_idx]]
    data = {"mnist_training_digits": len(train_idx), "distorted_copies": len(train_idx)}
    if args.styles:
        style_rng = np.random.default_rng([args.seed, 1])
        log.info("restyling training digits: %s", ", ".join(styles.STYLES))
        styled, styled_labels = styled_digits(images[train_idx], labels[train_idx], style_rng)
        x_parts.append(styled)
        y_parts.append(styled_labels)
        data["styled_copies"] = {name: int(sum(styles.applies(name, label)
                                               for label in labels[train_idx])
                                           * (1 if digits else GENERIC_STYLE_SHARE))
                                 for name, (_, digits) in styles.STYLES.items()}
    if args.not_a_digit:
        log.info("synthesising %d non-digits", args.not_a_digit)
        rejects, reject_labels = not_digits(args.not_a_digit, np.random.default_rng([args.seed, 2]))
        x_parts.append(rejects)
        y_parts.append(reject_labels)
        data["not_a_digit"] = {"count": len(rejects), "shares": negatives.SHARES}
    x_train = np.concatenate(x_parts)[..., None]
    y_train = np.concatenate(y_parts).astype(np.int32)
    log.info("%d training images", len(x_train))
    x_val = normalise_all(images[val_idx])[..., None]
    y_val = labels[val_idx].astype(np.int32)
    loss = "sparse_categorical_crossentropy"
    accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    if args.teacher:
        # the teacher knows plain and distorted MNIST digits (the first two parts); restyled
        # digits and non-digits keep their hard labels
        log.info("soft targets from %s", args.teacher)
        classes = NOT_A_DIGIT + 1 if args.not_a_digit else 10
        taught = 2 * len(train_idx)
        targets = np.eye(classes, dtype=np.float32)[y_train]
        targets[:taught, :10] = teacher_targets(keras, args.teacher, x_train[:taught],
                                                y_train[:taught], args.teacher_weight)
        y_train = targets
        y_val = np.eye(classes, dtype=np.float32)[y_val]
        loss = "categorical_crossentropy"
        accuracy = keras.metrics.CategoricalAccuracy(name="accuracy")

    steps = len(train_idx) // args.batch_size
    dataset = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
               .shuffle(len(x_train), seed=args.seed, reshuffle_each_iteration=True)
               .batch(args.batch_size, drop_remainder=True))
    if args.jitter > 0:
        dataset = dataset.map(augment_batch(keras, args.jitter),
                              num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.repeat().prefetch(tf.data.AUTOTUNE)
    if args.init_from:
        model = keras.models.load_model(args.init_from, compile=False)
        if args.not_a_digit and model.output_shape[-1] == NOT_A_DIGIT:
            model = with_not_a_digit_output(keras, model)
    else:
        model = build_model(keras, args.architecture, 11 if args.not_a_digit else 10)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate,
                                                      decay_steps=steps * args.epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=loss, metrics=[accuracy])
    history = model.fit(dataset, epochs=args.epochs, steps_per_epoch=steps,
                        validation_data=(x_val, y_val), verbose=2)

    served = fold_batch_norm(keras, model)
    gap = float(np.abs(served.predict(x_val[:512], verbose=0)
                       - model.predict(x_val[:512], verbose=0)).max())
    test_images, test_labels = load_split(args.data_dir, "test")
    x_test = normalise_all(test_images)[..., None]
    test_accuracy = float((served.predict(x_test, verbose=0).argmax(1) == test_labels).mean())
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    served.save(out)
    record = {
        "command": "python -m training.train " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": args.seed,
        "epochs": args.epochs,
        "architecture": "continued from " + args.init_from if args.init_from else args.architecture,
        "teacher": args.teacher and {"file": args.teacher, "weight": args.teacher_weight},
        "data": data,
        "duration_seconds": round(time.time() - started),
        "parameters": int(served.count_params()),
        "validation_accuracy": float(history.history["val_accuracy"][-1]),
        "test_accuracy": test_accuracy,
        "fold_max_abs_difference": gap,
        "file_bytes": out.stat().st_size,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    earlier = pathlib.Path(args.init_from).with_suffix(".json") if args.init_from else None
    if earlier is not None and earlier.exists():  # the stages that made the starting model
        previous = json.loads(earlier.read_text())
        record["earlier_stages"] = previous.pop("earlier_stages", []) + [previous]
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    log.info("saved %s: %s", out, record)


if __name__ == "__main__":
    main()
