"""Calibrate a trained model's probabilities by temperature scaling, folded into its weights.

    python -m training.calibrate ../shared/mnist --model models/mnist_cnn.h5

A network trained on softened targets (or on hard ones) reports probabilities that do not match
how often it is right. Temperature scaling (Guo et al. 2017) divides the final layer's logits by
one number T, fitted to minimise the negative log-likelihood on images the weights never saw:
the 5,000 held-out training images of `training.train` (same seeded split), never the test set.
T is folded into the final Dense layer (kernel / T, bias / T), so the saved .h5 and the .tflite
converted from it emit calibrated probabilities on every path, with no serving code. The ranking
of digits, and so the accuracy, is unchanged. The test set is read only to report ECE.
"""
import argparse
import json
import logging
import pathlib

import numpy as np

from training.mnist import load_split

log = logging.getLogger("calibrate")
ECE_BINS = 15


def expected_calibration_error(probabilities, labels, bins=ECE_BINS):
    """ECE: the bin-weighted gap between mean confidence and accuracy, over equal-width bins of
    the top probability (Naeini et al. 2015; 15 bins as in Guo et al. 2017)."""
    return calibration_gap(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels,
                           bins)


def calibration_gap(confidence, correct, bins=ECE_BINS):
    """The ECE of answers given with `confidence` (their probabilities) and `correct` or not."""
    confidence, correct = np.asarray(confidence, np.float64), np.asarray(correct, bool)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for index in range(bins):
        members = which == index
        if members.any():
            total += members.sum() * abs(correct[members].mean() - confidence[members].mean())
    return float(total / len(correct))


def softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits, labels, temperature):
    shifted = logits / temperature
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_sum - shifted[np.arange(len(labels)), labels]))


def fit_temperature(logits, labels, low=0.05, high=20.0, steps=80):
    """The T minimising the held-out negative log-likelihood of softmax(logits / T): a golden-
    section search over log T (the NLL is unimodal in T)."""
    logits = logits.astype(np.float64)
    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    for _ in range(steps):
        if negative_log_likelihood(logits, labels, np.exp(c)) < \
                negative_log_likelihood(logits, labels, np.exp(d)):
            b = d
        else:
            a = c
        c, d = b - ratio * (b - a), a + ratio * (b - a)
    return float(np.exp((a + b) / 2))


def final_dense(keras, model):
    """The last layer: a Dense with softmax, whose logits the temperature divides."""
    layer = model.layers[-1]
    if not isinstance(layer, keras.layers.Dense):
        raise ValueError(f"the model's last layer is {type(layer).__name__}, not Dense")
    return layer


def logits_of(keras, model, images):
    """The final Dense layer's logits (its input times kernel plus bias) for a batch."""
    dense = final_dense(keras, model)
    features = keras.Model(model.inputs, dense.input).predict(images, batch_size=512, verbose=0)
    kernel, bias = dense.get_weights()
    return features.astype(np.float64) @ kernel.astype(np.float64) + bias


def fold_temperature(keras, model, temperature):
    """Divide the final Dense layer's kernel and bias by `temperature`, in place."""
    dense = final_dense(keras, model)
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel / np.float32(temperature), bias / np.float32(temperature)])


def held_out(data_dir, seed):
    """The held-out training images and labels of `training.train` (normalised as served)."""
    from training.train import VALIDATION_SIZE, normalise_all, split_indices
    images, labels = load_split(data_dir, "train")
    _, val_idx = split_indices(len(images), seed, VALIDATION_SIZE)
    return normalise_all(images[val_idx])[..., None], labels[val_idx].astype(np.int64)


def refusal_offset(logits, labels, not_a_digit, digit_refusals):
    """The amount added to the "not a digit" logit so that at most `digit_refusals` of the
    held-out digits are refused (a refusal being "not a digit" outscoring every digit), with
    as many of the held-out non-digits refused as that allows."""
    digits = labels != not_a_digit
    margins = np.delete(logits, not_a_digit, axis=1).max(axis=1) - logits[:, not_a_digit]
    return float(np.quantile(margins[digits], digit_refusals))


def refused_share(logits, not_a_digit):
    return float((logits.argmax(axis=1) == not_a_digit).mean())


def held_out_not_digits(count, seed):
    """Synthesised non-digits for calibration, from another stream than training's."""
    from training.train import not_digits
    images, labels = not_digits(count, np.random.default_rng([seed, 3]))
    return images[..., None], labels.astype(np.int64)


def held_out_styled(data_dir, seed):
    """The held-out training images restyled (training/styles.py), normalised as served."""
    from training.train import VALIDATION_SIZE, split_indices, styled_digits
    images, labels = load_split(data_dir, "train")
    _, val_idx = split_indices(len(images), seed, VALIDATION_SIZE)
    digits, targets = styled_digits(images[val_idx], labels[val_idx],
                                    np.random.default_rng([seed, 4]))
    return digits[..., None], targets.astype(np.int64)


def summary(probabilities, labels):
    """Accuracy, ECE, mean top probability and the share of right answers at p >= 0.9."""
    correct = probabilities.argmax(axis=1) == labels
    top = probabilities.max(axis=1)
    return {"accuracy": round(float(correct.mean()), 5),
            "ece": round(expected_calibration_error(probabilities, labels), 5),
            "mean_top_probability": round(float(top.mean()), 5),
            "right_answers_at_0_9": round(float((top[correct] >= 0.9).mean()), 5)}


def calibrate(keras, model, digits, labels, extra=None):
    """Fit T on (digits, labels) (plus `extra`, more held-out (images, labels) pairs such as
    synthesised non-digits), fold it into `model`, and return T with before/after figures."""
    images, targets = digits, labels
    if extra is not None:
        images = np.concatenate([digits, extra[0]])
        targets = np.concatenate([labels, extra[1]])
    logits = logits_of(keras, model, images)
    temperature = fit_temperature(logits, targets)
    before = summary(softmax(logits[:len(labels)]), labels)
    after = summary(softmax(logits[:len(labels)] / temperature), labels)
    fold_temperature(keras, model, temperature)
    return temperature, before, after


def set_refusal_rule(keras, model, digits, labels, rejects, not_a_digit, digit_refusals):
    """Shift the "not a digit" output's bias (after calibration) so that at most
    `digit_refusals` of the held-out `digits` are refused; return the shift and what it does
    on the held-out digits and non-digits."""
    images = np.concatenate([digits, rejects])
    targets = np.concatenate([labels, np.full(len(rejects), not_a_digit)])
    logits = logits_of(keras, model, images)
    offset = refusal_offset(logits, targets, not_a_digit, digit_refusals)
    dense = final_dense(keras, model)
    kernel, bias = dense.get_weights()
    bias = bias.copy()
    bias[not_a_digit] += np.float32(offset)
    dense.set_weights([kernel, bias])
    logits[:, not_a_digit] += offset
    return offset, {"digits_refused": round(refused_share(logits[:len(digits)], not_a_digit), 5),
                    "not_digits_refused": round(refused_share(logits[len(digits):],
                                                              not_a_digit), 5)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", help="folder holding the four MNIST idx .gz files")
    parser.add_argument("--model", default="models/mnist_cnn.h5",
                        help="the trained .h5; calibrated in place unless --out is given")
    parser.add_argument("--out", help="where to save the calibrated .h5 (default: --model)")
    parser.add_argument("--seed", type=int, default=20261127,
                        help="training.train's seed, which chose the held-out images")
    parser.add_argument("--not-a-digit", type=int, default=5000, metavar="COUNT",
                        help="held-out non-digits to synthesise (another seed than training's) "
                        "when the model has a \"not a digit\" output")
    parser.add_argument("--digit-refusals", type=float, default=0.002,
                        help="the share of held-out digits (plain and restyled) the refusal "
                        "rule may refuse")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import keras
    from training.train import NOT_A_DIGIT, normalise_all
    model = keras.models.load_model(args.model, compile=False)
    digits, labels = held_out(args.data_dir, args.seed)
    refusing = model.output_shape[-1] == NOT_A_DIGIT + 1
    extra = held_out_not_digits(args.not_a_digit, args.seed) if refusing else None
    temperature, before, after = calibrate(keras, model, digits, labels, extra)
    refusal = None
    if refusing:
        styled, styled_labels = held_out_styled(args.data_dir, args.seed)
        offset, measured = set_refusal_rule(
            keras, model, np.concatenate([digits, styled]),
            np.concatenate([labels, styled_labels]), extra[0], NOT_A_DIGIT, args.digit_refusals)
        refusal = {
            "rule": "refuse when the \"not a digit\" output (index 10) is the most probable",
            "bias_offset": round(offset, 4),
            "chosen_on": f"the held-out digits, plain and restyled ({len(digits) + len(styled)}),"
                         f" at most {args.digit_refusals:.1%} of them refused, and "
                         f"{len(extra[0])} held-out synthesised non-digits (seed {args.seed}, "
                         "stream 3; training used stream 2)",
            "held_out": measured,
        }
    test_images, test_labels = load_split(args.data_dir, "test")
    test_logits = logits_of(keras, model, normalise_all(test_images)[..., None])
    test_labels = test_labels.astype(np.int64)
    out = pathlib.Path(args.out or args.model)
    model.save(out)
    record = {
        "method": "temperature scaling folded into the final Dense layer (kernel and bias "
                  "divided by T)",
        "temperature": round(temperature, 4),
        "fitted_on": f"the {len(labels)} held-out MNIST training images (training.train's "
                     f"seeded split, seed {args.seed}; never used to fit weights)"
                     + (f" and {len(extra[0])} held-out synthesised non-digits" if refusing
                        else ""),
        "held_out_before": before,
        "held_out_after": after,
        "mnist_test_after": summary(softmax(test_logits), test_labels),
        "ece_bins": ECE_BINS,
    }
    card = pathlib.Path(args.model).with_suffix(".json")  # the training record of --model
    data = json.loads(card.read_text()) if card.exists() else {}
    data["file_bytes"] = out.stat().st_size
    data["calibration"] = record
    if refusal:
        refusal["mnist_test_refused"] = round(refused_share(test_logits, NOT_A_DIGIT), 5)
        data["refusal"] = refusal
    out.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    log.info("T = %.4f; held-out ECE %.4f -> %.4f; saved %s", temperature, before["ece"],
             after["ece"], out)


if __name__ == "__main__":
    main()
