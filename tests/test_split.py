"""core.split: the columns joined digits are cut at."""
import numpy as np

from core.split import cut_columns


def test_joined_digits_are_cut_at_the_least_ink_between_their_centres():
    mask = np.ones((10, 30), bool)
    mask[:, 14] = False  # a gap in the stroke between two digits
    mask[:3, 15] = False
    assert cut_columns(mask, [6, 23]) == [0, 14, 30]


def test_every_piece_keeps_a_column_when_the_digits_read_crowd_the_groups_end():
    mask = np.ones((6, 10), bool)
    cuts = cut_columns(mask, [1, 9.5, 9.6, 9.8])
    assert cuts[0] == 0 and cuts[-1] == 10 and len(cuts) == 5
    assert all(a < b for a, b in zip(cuts, cuts[1:])), cuts


def test_more_digits_than_columns_still_cut_inside_the_group():
    cuts = cut_columns(np.ones((4, 2), bool), [0.2, 0.5, 1.0, 1.5])
    assert cuts[0] == 0 and cuts[-1] == 2 and all(0 <= c <= 2 for c in cuts)
    assert all(a <= b for a, b in zip(cuts, cuts[1:]))
