"""Model-side Prometheus metrics: how long each model call takes and which digits it predicts,
and how long the sequence model takes to read a group of joined digits.

They live in prometheus_client's default registry. Under gunicorn every worker writes its
values to files in PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py makes a fresh one per server
start) and `/metrics` adds them up (api/metrics.py); in a single process they stay in memory.
"""
import numpy as np
from prometheus_client import Counter, Histogram

INFERENCE_SECONDS = Histogram(
    "maxmnist_model_inference_seconds", "Time of one model call (a whole batch), in seconds",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
BATCH_SIZE = Histogram(
    "maxmnist_model_batch_size", "Digits sent through the model in one call",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))
PREDICTIONS = Counter(
    "maxmnist_predictions", "Digits predicted, by the predicted (most probable) digit, or "
    "not_a_digit",
    ["digit"])


SEQUENCE_SECONDS = Histogram(
    "maxmnist_sequence_inference_seconds", "Time of one sequence-model call (/model/read "
    "reading a row that holds joined digits, or one piece that may), in seconds",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1))


def record_inference(seconds, probabilities):
    """Count one model call that took `seconds` and produced `probabilities` [n, classes]
    (an 11th class, "not a digit", is counted as digit="not_a_digit")."""
    INFERENCE_SECONDS.observe(seconds)
    BATCH_SIZE.observe(len(probabilities))
    counts = np.bincount(np.argmax(probabilities, axis=1), minlength=probabilities.shape[1])
    for digit in np.flatnonzero(counts):
        PREDICTIONS.labels(digit=str(digit) if digit < 10 else "not_a_digit").inc(
            int(counts[digit]))
