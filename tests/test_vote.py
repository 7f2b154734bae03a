"""core.vote: the reading most views agree on, and two models' opinions of one digit pooled."""
import numpy as np
import pytest

from core.sequence import BLANK, Read
from core.vote import likelihood, majority, one_each, pooled


def reads(text, probability):
    return [Read(int(digit), probability, (i, i + 1), (i, i + 1), np.zeros(BLANK + 1))
            for i, digit in enumerate(text)]


def test_the_reading_most_views_give_is_kept_with_its_probabilities_averaged():
    readings = [reads("12", 0.6), reads("17", 0.99), reads("12", 0.8), reads("112", 0.9)]
    kept = majority(readings)
    assert [read.digit for read in kept] == [1, 2]
    assert [read.probability for read in kept] == pytest.approx([0.7, 0.7])
    assert majority([reads("5", 0.4)]) == reads("5", 0.4)


def test_a_tie_goes_to_the_earliest_reading_not_the_likeliest():
    assert [r.digit for r in majority([reads("1234", 0.5), reads("124", 0.99)])] == [1, 2, 3, 4]
    assert [r.digit for r in majority([reads("9", 0.2), reads("47", 0.6), reads("47", 0.6),
                                       reads("18", 0.9), reads("18", 0.9)])] == [4, 7]


def test_empty_readings_vote_only_when_every_reading_is_empty():
    assert [r.digit for r in majority([reads("12", 0.5), [], [], []])] == [1, 2]
    assert majority([[], []]) == []


def test_a_readings_likelihood_is_the_product_of_its_digits():
    assert likelihood(reads("123", 0.9)) == pytest.approx(0.729)
    assert likelihood([]) == 1


def opinion(digit, sure, nothing=0.0):
    """Probabilities of the ten digits, `digit` at `sure`, and a last one, `nothing`."""
    probabilities = np.full(BLANK + 1, (1 - sure - nothing) / (BLANK - 1))
    probabilities[digit], probabilities[BLANK] = sure, nothing
    return probabilities


def test_pooling_keeps_the_digit_models_classes_and_sums_to_one():
    both = pooled(opinion(4, 0.5, nothing=0.2), opinion(4, 0.9, nothing=0.01))
    assert both.shape == (11,) and both.sum() == pytest.approx(1) and both.argmax() == 4
    ten = pooled(opinion(4, 0.6)[:BLANK] / opinion(4, 0.6)[:BLANK].sum(), opinion(4, 0.9))
    assert ten.shape == (10,) and ten.sum() == pytest.approx(1)


def test_a_sure_refusal_outweighs_a_sure_sequence_digit_and_an_unsure_one_does_not():
    refused = pooled(opinion(2, 0.001, nothing=0.997), opinion(2, 0.95, nothing=0.02))
    assert refused.argmax() == BLANK
    doubted = pooled(opinion(2, 0.35, nothing=0.6), opinion(2, 0.95, nothing=0.02))
    assert doubted.argmax() == 2


def test_the_digit_model_outweighs_the_sequence_model_when_both_are_as_sure():
    assert pooled(opinion(7, 0.9), opinion(1, 0.9)).argmax() == 7
    assert pooled(opinion(7, 0.55), opinion(1, 0.999)).argmax() == 1  # an unsure one yields


def test_each_span_gets_the_one_centre_in_or_nearest_it():
    spans = [(0, 10), (20, 30), (40, 50)]
    assert one_each([5, 26, 44], spans) == [0, 1, 2]
    assert one_each([5, 44], spans) == [0, None, 1]
    assert one_each([12, 33], spans) == [0, 1, None]  # between spans: the nearer one
    assert one_each([], spans) == [None, None, None]


def test_a_centre_in_overlapping_spans_goes_to_the_span_whose_middle_is_nearer():
    assert one_each([18], [(0, 20), (15, 40)]) == [0, None]
    assert one_each([22], [(0, 25), (15, 40)]) == [None, 0]


def test_two_centres_in_one_span_match_nothing():
    assert one_each([2, 8, 26], [(0, 10), (20, 30)]) is None
