"""Readings combined: the reading most views of the same ink agree on, and two models' opinions
of one digit pooled."""
import collections
import dataclasses
import math

import numpy as np

DIGIT_WEIGHT = 0.7  # the digit model's share of a pooled opinion; the sequence model has the rest


def majority(readings):
    """Of several readings (lists of core.sequence.Read) of the same ink, the plain layout's
    first: the digits most of them read (an empty reading votes only if all are; a tie goes to
    the earliest), at the columns of the earliest such reading, each digit's probability the
    mean over the readings that agree."""
    voting = [reads for reads in readings if reads] or readings[:1]
    votes = collections.Counter(labels(reads) for reads in voting)
    winner = next(reads for reads in voting if votes[labels(reads)] == max(votes.values()))
    agreeing = [reads for reads in voting if labels(reads) == labels(winner)]
    return [dataclasses.replace(read, probability=float(np.mean(
        [reads[index].probability for reads in agreeing]))) for index, read in enumerate(winner)]


def labels(reads):
    """The digits of a reading, as a tuple."""
    return tuple(read.digit for read in reads)


def likelihood(reads):
    """The probability that every digit of a reading is right."""
    return math.prod(read.probability for read in reads)


def pooled(digit_model, sequence_model):
    """One group's probabilities pooled from the digit model's (ten digits, and "not a digit"
    if it has that output) and the sequence model's (ten digits, then "no digit here"), as long
    as the digit model's: log-linear, the digit model weighted DIGIT_WEIGHT."""
    share = sequence_model[:len(digit_model)]
    logs = DIGIT_WEIGHT * np.log(np.maximum(digit_model, 1e-12)) + \
        (1 - DIGIT_WEIGHT) * np.log(np.maximum(share, 1e-12))
    weights = np.exp(logs - logs.max())
    return (weights / weights.sum()).astype(np.float32)


def one_each(centres, spans):
    """For each span (first, stop) of columns, left to right, the index of the one centre
    nearest it (inside it: nearest its middle); None if two centres share a span."""
    owners = [min(range(len(spans)), key=lambda s: (max(spans[s][0] - c, c - spans[s][1], 0),
                                                    abs(c - sum(spans[s]) / 2)))
              for c in centres]
    if len(set(owners)) != len(owners):
        return None
    found = dict(zip(owners, range(len(centres))))
    return [found.get(span) for span in range(len(spans))]
