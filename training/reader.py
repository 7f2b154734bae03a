"""Train the sequence model that reads joined digits, from numbers composed of MNIST training
digits, and save it as LiteRT.

    python -m training.reader ../shared/mnist --out models/mnist_reader.tflite

Each example is a number of 1-8 MNIST **training** digits (a distorted copy for half of them),
written touching, tight, spaced or a mix (`training.numbers.compose`), sometimes with a mark
that is not a digit among them (`training.negatives`: to be passed over), enlarged, thickened
or thinned, blurred and noised, its ink told from the paper by a threshold, then made into the
model's input by the same `core.sequence.make_strip` the server uses. The 5,000 training digits
`training.train` holds out are held out here too: validation numbers are composed from them
only. The model is small and convolutional (a window sliding along the strip, no recurrence),
trained with CTC loss; a temperature fitted on the held-out numbers makes its digit
probabilities mean what they say; it is converted to LiteRT with its width left open.
"""
import argparse
import json
import logging
import multiprocessing
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageFilter

from core.arrays import dilate
from core.sequence import BLANK, HEIGHT, INK_HEIGHT, STRIDE, Strip, best_path, make_strip
from training import negatives
from training.calibrate import ECE_BINS, softmax
from training.mnist import load_split
from training.numbers import compose
from training.train import distort, split_indices

log = logging.getLogger("training")
LENGTHS = np.arange(1, 9)
LENGTH_SHARES = np.array([0.09] + [0.13] * 7)
SPACING_SHARES = {"touching": 0.6, "tight": 0.15, "spaced": 0.1, "mixed": 0.15}
WITH_MARK = 0.08  # share of numbers with a mark that is not a digit among their digits
ONLY_MARKS = 0.02  # share of examples that are only such marks: nothing to read
MARKS = ("letter", "symbol", "scribble", "doodle")
WIDTH_STEP = 32  # examples are padded to a multiple of this width (fewer graph shapes)


def number_example(images, labels, rng):
    """(strip pixels [HEIGHT, width] uint8, digits, the strip column of each digit's centre)
    of one composed number: 1-8 digits, sometimes with a mark that is not a digit among them
    (a letter, a symbol, a scribble, which the model learns to pass over), or only such marks
    (no digits)."""
    count = int(rng.choice(LENGTHS, p=LENGTH_SHARES))
    picks = list(rng.integers(0, len(images), count))
    digits = []
    for pick in picks:
        if rng.random() < 0.5:
            digits.append(_small(distort(images[pick], rng)))
        else:
            digits.append(images[pick])
    places = list(range(count))  # where each digit is among the shapes written
    chance = rng.random()
    if chance < ONLY_MARKS:
        picks, places = [], []
        digits = [_small(_mark(rng)) for _ in range(int(rng.integers(1, 3)))]
    elif chance < ONLY_MARKS + WITH_MARK:
        mark = int(rng.integers(0, count + 1))
        digits.insert(mark, _small(_mark(rng)))
        places = [place + (place >= mark) for place in places]
    kind = rng.choice(list(SPACING_SHARES), p=list(SPACING_SHARES.values()))
    spacing = (list(rng.choice(["touching", "tight", "spaced"], max(len(digits) - 1, 1),
                               p=[0.6, 0.25, 0.15])) if kind == "mixed" else str(kind))
    coverage, boxes = compose(digits, spacing, rng)
    levels = degrade(coverage, rng)
    threshold = float(rng.uniform(0.2, 0.5))
    mask = levels > threshold
    if not mask.any():
        return None
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    near = dilate(mask.astype(np.float32), 1) > 0
    strip = make_strip((levels * near)[box], mask[box], threshold)
    enlarged = levels.shape[1] / coverage.shape[1]
    centres = [STRIDE + ((boxes[k][0] + boxes[k][2] / 2) * enlarged - cols[0]) * strip.scale
               for k in places]
    return (np.round(strip.pixels * 255).astype(np.uint8), [int(labels[p]) for p in picks],
            centres)


def _small(coverage):
    """A coverage map in [0, 1] of any size as a 28x28 uint8 digit-sized image."""
    return np.asarray(Image.fromarray(np.round(coverage * 255).astype(np.uint8)).resize(
        (28, 28), Image.Resampling.BILINEAR))


def _mark(rng):
    """A hand-drawn mark that is not a digit (training.negatives): a letter, a symbol or shape,
    a scribble or a doodle."""
    return negatives.MAKERS[str(rng.choice(MARKS))](rng)


def degrade(coverage, rng):
    """The coverage map as an upload's ink might look: enlarged, its strokes thickened or
    thinned, blurred, noised; levels in [0, 1]."""
    scale = rng.uniform(1.0, 3.0)
    image = Image.fromarray(np.round(coverage * 255).astype(np.uint8)).resize(
        (max(1, round(coverage.shape[1] * scale)), max(1, round(coverage.shape[0] * scale))),
        Image.Resampling.BICUBIC)
    stroke = rng.random()
    if stroke < 0.25:
        image = image.filter(ImageFilter.MaxFilter(3))
    elif stroke < 0.35 and scale > 2:
        image = image.filter(ImageFilter.MinFilter(3))
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.6) * scale))
    levels = np.asarray(image, np.float32) / 255
    levels = levels * rng.uniform(0.6, 1.0) + rng.normal(0, rng.uniform(0, 0.06), levels.shape)
    return levels.clip(0.0, 1.0)


def _examples(job):
    """`count` examples from a seed (one worker's share)."""
    data_dir, indices, count, seed = job
    images, labels = load_split(data_dir, "train")
    images, labels = images[indices], labels[indices]
    rng = np.random.default_rng(seed)
    made = []
    while len(made) < count:
        example = number_example(images, labels, rng)
        if example is not None:
            made.append(example)
    return made


def make_examples(data_dir, indices, count, seed, workers):
    """`count` examples from the MNIST training digits at `indices`, in `workers` processes."""
    shares = [count // workers + (k < count % workers) for k in range(workers)]
    jobs = [(data_dir, indices, share, [seed, k]) for k, share in enumerate(shares)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [example for part in pool.map(_examples, jobs) for example in part]


def batches(examples, size, rng):
    """Batches (pixels [b, HEIGHT, width, 1] float32, labels [b, longest] int32, lengths [b],
    which examples) of examples of similar width, each padded to a multiple of WIDTH_STEP, in
    random order."""
    order = np.argsort([example[0].shape[1] + rng.uniform(0, WIDTH_STEP) for example in examples])
    chunks = [order[start:start + size] for start in range(0, len(order), size)]
    for chunk in (chunks[k] for k in rng.permutation(len(chunks))):
        width = -(-max(examples[k][0].shape[1] for k in chunk) // WIDTH_STEP) * WIDTH_STEP
        pixels = np.zeros((len(chunk), HEIGHT, width, 1), np.float32)
        longest = max(len(examples[k][1]) for k in chunk)
        targets = np.zeros((len(chunk), longest), np.int32)
        lengths = np.zeros(len(chunk), np.int32)
        for row, k in enumerate(chunk):
            strip, digits = examples[k][:2]
            pixels[row, :, :strip.shape[1], 0] = strip / 255.0
            targets[row, :len(digits)] = digits
            lengths[row] = len(digits)
        yield pixels, targets, lengths, chunk


def build_model(keras):
    """A strip [HEIGHT, any width, 1] to [1, width / STRIDE, BLANK + 1] probabilities."""
    layers = keras.layers
    inputs = keras.Input((HEIGHT, None, 1))
    x = inputs
    for filters, pool in ((16, (2, 2)), (32, (2, 2)), (48, None), (48, (2, 1))):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if pool:
            x = layers.MaxPooling2D(pool)(x)
    x = layers.Conv2D(96, (HEIGHT // 8, 1), activation="relu")(x)  # the column, whole
    for _ in range(2):
        x = layers.Conv2D(96, (1, 5), padding="same", activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Conv2D(BLANK + 1, 1)(x)  # logits
    return keras.Model(inputs, x)


def ctc_loss(tf, logits, targets, lengths):
    """Mean CTC loss of logits [b, 1, steps, classes] for the padded targets."""
    logits = logits[:, 0]
    steps = tf.fill([tf.shape(logits)[0]], tf.shape(logits)[1])
    return tf.reduce_mean(tf.nn.ctc_loss(targets, logits, lengths, steps,
                                         logits_time_major=False, blank_index=BLANK))


def held_out_reads(model, examples, size=128):
    """For each example, its digits and the best path's reads of it: the digit read, the
    logits [steps, classes] of the steps it spans, and how far the centre of those steps lies
    from the centre of the digit it stands for (strip columns; None if the reading has not as
    many digits)."""
    found = []
    for pixels, targets, lengths, chunk in batches(examples, size, np.random.default_rng(0)):
        logits = model(pixels, training=False).numpy()[:, 0]
        for row, (length, k) in enumerate(zip(lengths, chunk)):
            reads = best_path(softmax(logits[row]), Strip(pixels[row], 1.0))
            centres = examples[k][2] if len(reads) == length else [None] * len(reads)
            found.append((list(targets[row, :length]),
                          [(read.digit, logits[row, read.steps[0]:read.steps[1]],
                            None if centre is None else sum(read.steps) / 2 * STRIDE - centre)
                           for read, centre in zip(reads, centres)]))
    return found


def peak_offset(reads):
    """Where the model's digits peak, from the centre of the digit (median, in ink heights,
    positive to the right): core.sequence.PEAK_OFFSET must match it."""
    offsets = [offset for _, read in reads for _, _, offset in read if offset is not None]
    return float(np.median(offsets)) / INK_HEIGHT if offsets else 0.0


def exact_share(reads):
    """The share of held_out_reads whose best path is exactly their digits."""
    return float(np.mean([[d for d, *_ in read] == digits for digits, read in reads]))


def digit_confidences(reads, temperature):
    """(probability, right) of every digit read from held-out numbers read with as many digits
    as they have (the others have no digit-by-digit truth), at a temperature."""
    probabilities, right = [], []
    for digits, read in reads:
        if len(read) == len(digits):
            for (digit, logits, _), truth in zip(read, digits):
                probabilities.append(softmax(logits / temperature)[:, digit].max())
                right.append(digit == truth)
    return np.asarray(probabilities, np.float64), np.asarray(right, np.float64)


def binary_ece(probabilities, right, bins=ECE_BINS):
    """Expected calibration error of probabilities that each answer is right."""
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    return float(sum(abs(right[which == b].mean() - probabilities[which == b].mean()) *
                     np.mean(which == b) for b in range(bins) if (which == b).any()))


def fit_temperature(reads):
    """The temperature (dividing the logits) whose digit probabilities fit the held-out
    digits' rightness best (least log loss), and the ECE before and after."""
    def loss(temperature):
        p, right = digit_confidences(reads, temperature)
        p = p.clip(1e-7, 1 - 1e-7)
        return -float(np.mean(right * np.log(p) + (1 - right) * np.log(1 - p)))
    if not len(digit_confidences(reads, 1.0)[0]):
        return 1.0, 0.0, 0.0
    grid = np.geomspace(0.4, 4.0, 41)
    best = float(grid[int(np.argmin([loss(t) for t in grid]))])
    return best, binary_ece(*digit_confidences(reads, 1.0)), binary_ece(
        *digit_confidences(reads, best))


def fold_temperature(model, temperature):
    """Divide the final layer's logits by the temperature, in its weights."""
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel / temperature, bias / temperature])


def with_softmax(keras, trained):
    """The trained model with a softmax over the classes: what is served."""
    outputs = keras.layers.Softmax(axis=-1)(trained.output)
    return keras.Model(trained.input, outputs)


def to_litert(tf, model, path):
    """Convert to LiteRT (through a SavedModel) with batch and width left open; write the file
    and return its bytes."""
    with tempfile.TemporaryDirectory() as folder:
        model.export(folder, input_signature=[tf.TensorSpec([None, HEIGHT, None, 1], tf.float32)],
                     verbose=False)
        data = tf.lite.TFLiteConverter.from_saved_model(folder).convert()
    pathlib.Path(path).write_bytes(data)
    return data


STAGE_KEYS = ("command", "training", "validation_exact", "calibration", "alignment",
              "duration_seconds", "machine")


def earlier_stages(init_from):
    """The records of the runs a continued model comes from: those in the record beside the
    Keras model it continues (written by that run's --out), oldest first."""
    record = pathlib.Path(init_from).with_suffix(".json")
    if not record.is_file():
        return []
    earlier = json.loads(record.read_text())
    return earlier.get("stages", []) + [{key: earlier.get(key) for key in STAGE_KEYS}]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="folder holding the MNIST idx .gz files")
    parser.add_argument("--out", default="models/mnist_reader.tflite")
    parser.add_argument("--keras", default="build/mnist_reader.keras",
                        help="where the trained Keras model goes (to continue training it)")
    parser.add_argument("--examples", type=int, default=160000)
    parser.add_argument("--validation", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=13)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--digit-seed", type=int, default=20261127,
                        help="training.train's seed: its held-out digits stay held out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--init-from", help="a Keras model (--keras of an earlier run) to "
                        "continue training instead of starting afresh")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.time()

    import tensorflow as tf
    import keras
    tf.random.set_seed(args.seed)
    keras.utils.set_random_seed(args.seed)
    fitted, held_out = split_indices(60000, args.digit_seed)
    examples = make_examples(args.data_dir, fitted, args.examples, [args.seed, 0], args.workers)
    validation = make_examples(args.data_dir, held_out, args.validation, [args.seed, 1],
                               args.workers)
    log.info("%d training and %d validation numbers made in %.0f s", len(examples),
             len(validation), time.time() - started)

    out = pathlib.Path(args.out)
    model = keras.models.load_model(args.init_from) if args.init_from else build_model(keras)
    steps = args.epochs * -(-len(examples) // args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, steps, alpha=0.02)
    optimizer = keras.optimizers.Adam(schedule)

    @tf.function(reduce_retracing=True)
    def step(pixels, targets, lengths):
        with tf.GradientTape() as tape:
            loss = ctc_loss(tf, model(pixels, training=True), targets, lengths)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    rng = np.random.default_rng(args.seed)
    history = []
    for epoch in range(args.epochs):
        began, losses = time.time(), []
        for pixels, targets, lengths, _ in batches(examples, args.batch_size, rng):
            losses.append(float(step(pixels, targets, lengths)))
        share = exact_share(held_out_reads(model, validation))
        history.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4),
                        "validation_exact": round(share, 4),
                        "seconds": round(time.time() - began)})
        log.info("epoch %d: loss %.4f, validation exact %.2f %% (%.0f s)", epoch + 1,
                 np.mean(losses), 100 * share, time.time() - began)
        to_litert(tf, with_softmax(keras, model), out)  # the model so far, usable at once

    reads = held_out_reads(model, validation)
    temperature, ece_before, ece_after = fit_temperature(reads)
    fold_temperature(model, temperature)
    log.info("temperature %.3f: held-out digit ECE %.2f %% -> %.2f %%", temperature,
             100 * ece_before, 100 * ece_after)
    model.save(pathlib.Path(args.keras))
    data = to_litert(tf, with_softmax(keras, model), out)
    card = {
        "model": out.name,
        "summary": "reads a group of joined handwritten digits as a sequence: a strip "
                   f"{HEIGHT} pixels high, any width, to one probability per digit and a blank "
                   f"for every {STRIDE} columns (CTC)",
        "parameters": int(model.count_params()),
        "file_bytes": len(data),
        "command": "python -m training.reader " + " ".join(argv if argv is not None
                                                            else sys.argv[1:]),
        "data": {
            "digits": "MNIST training digits only, the 5,000 that training.train holds out "
                      "kept for validation",
            "numbers": args.examples, "validation_numbers": args.validation,
            "lengths": "1-8 digits", "spacing_shares": SPACING_SHARES,
            "marks": f"{WITH_MARK:.0%} of numbers hold a hand-drawn mark that is not a digit "
                     f"({', '.join(MARKS)}; training.negatives), read as nothing; "
                     f"{ONLY_MARKS:.0%} of examples are only such marks",
            "augmentation": "half the digits distorted (stroke width, slant, aspect); the number "
                            "enlarged 1-3x, strokes thickened or thinned, blurred, its ink "
                            "level and noise varied, a threshold of 0.2-0.5",
        },
        "training": {"continued_from": args.init_from, "epochs": args.epochs,
                     "batch_size": args.batch_size,
                     "learning_rate": args.learning_rate, "schedule": "cosine", "loss": "CTC",
                     "seed": args.seed, "history": history},
        "validation_exact": exact_share(reads),
        "calibration": {
            "temperature": round(temperature, 4),
            "what": "the logits divided by T, folded into the final layer: fitted (least log "
                    "loss) on the held-out numbers' digits, those read with as many digits as "
                    "they have",
            "digits": int(len(digit_confidences(reads, 1.0)[0])),
            "ece_before": round(ece_before, 5), "ece_after": round(ece_after, 5)},
        "alignment": {
            "peak_offset": round(peak_offset(reads), 3),
            "what": "the median distance from a digit's centre to the centre of the steps the "
                    "model reads it at, in ink heights (positive: to the right), on the held-out "
                    "numbers read with as many digits as they have: core.sequence.PEAK_OFFSET"},
        "duration_seconds": round(time.time() - started),
        "machine": f"{platform.machine()}, {multiprocessing.cpu_count()} cores",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    if args.init_from:
        card["stages"] = earlier_stages(args.init_from)
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    log.info("saved %s (%d bytes)", out, len(data))


if __name__ == "__main__":
    main()
