"""Readings combined: the majority of several readings of the same ink, and two models'
opinions of one digit pooled."""
import collections
import math

import numpy as np

from core.model import DIGITS

DIGIT_WEIGHT = 0.7  # the digit model's share of a pooled opinion; the sequence model has the rest


def majority(readings):
    """Of several readings (lists of core.sequence.Read) of the same ink, the likeliest of those
    whose digits most of them agree on."""
    votes = collections.Counter(digits(reads) for reads in readings)
    return max(readings, key=lambda reads: (votes[digits(reads)], likelihood(reads)))


def digits(reads):
    return tuple(read.digit for read in reads)


def likelihood(reads):
    """The probability that every digit of a reading is right."""
    return math.prod(read.probability for read in reads)


def pooled(digit_model, sequence_model):
    """The probabilities of the digits 0-9 from both models' (log-linear pooling, the digit
    model weighted DIGIT_WEIGHT); a "not a digit" output past the tenth is not pooled."""
    logs = DIGIT_WEIGHT * np.log(np.maximum(digit_model[:DIGITS], 1e-12)) + \
        (1 - DIGIT_WEIGHT) * np.log(np.maximum(sequence_model[:DIGITS], 1e-12))
    weights = np.exp(logs - logs.max())
    return weights / weights.sum()


def one_each(centres, spans):
    """For each span (first, stop) of columns, left to right, the index of the one centre in
    it or nearest it; None unless every centre goes to a span and no span has two."""
    owners = [int(np.argmin([max(first - c, c - stop, 0) for first, stop in spans]))
              for c in centres]
    if len(set(owners)) != len(owners):
        return None
    found = dict(zip(owners, range(len(centres))))
    return [found.get(span) for span in range(len(spans))]
