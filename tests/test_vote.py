"""core.vote: the majority of several readings, and two models' opinions of one digit pooled."""
import numpy as np
import pytest

from core.sequence import Read
from core.vote import DIGIT_WEIGHT, likelihood, majority, one_each, pooled


def reads(text, probability):
    return [Read(int(digit), probability, (i, i + 1), (i, i + 1)) for i, digit in enumerate(text)]


def test_the_majority_of_readings_is_kept_and_the_likeliest_among_them():
    readings = [reads("12", 0.6), reads("17", 0.99), reads("12", 0.7), reads("112", 0.9)]
    assert majority(readings) is readings[2]
    assert majority([reads("5", 0.4)]) == reads("5", 0.4)


def test_a_readings_likelihood_is_the_product_of_its_digits():
    assert likelihood(reads("123", 0.9)) == pytest.approx(0.729)
    assert likelihood([]) == 1


def one_hot(digit, sure, classes=10):
    probabilities = np.full(classes, (1 - sure) / (classes - 1))
    probabilities[digit] = sure
    return probabilities


def test_pooling_sums_to_one_and_leaves_out_not_a_digit():
    digit_model = np.append(one_hot(4, 0.5) * 0.8, 0.2)  # an 11th output, "not a digit"
    both = pooled(digit_model, one_hot(4, 0.9))
    assert both.shape == (10,) and both.sum() == pytest.approx(1)
    assert both.argmax() == 4


def test_the_digit_model_outweighs_the_sequence_model_when_both_are_as_sure():
    assert DIGIT_WEIGHT > 0.5
    assert pooled(one_hot(7, 0.9), one_hot(1, 0.9)).argmax() == 7
    assert pooled(one_hot(7, 0.55), one_hot(1, 0.999)).argmax() == 1  # an unsure one yields


def test_each_span_gets_the_one_centre_in_or_nearest_it():
    spans = [(0, 10), (20, 30), (40, 50)]
    assert one_each([5, 26, 44], spans) == [0, 1, 2]
    assert one_each([5, 44], spans) == [0, None, 1]
    assert one_each([12, 33], spans) == [0, 1, None]  # between spans: the nearer one


def test_two_centres_in_one_span_match_nothing():
    assert one_each([2, 8, 26], [(0, 10), (20, 30)]) is None
