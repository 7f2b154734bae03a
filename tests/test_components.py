"""core.components.label against a plain flood fill, on random and on drawn masks."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.components import label


def flood_fill_components(mask):
    """The 8-connected components of a mask as sets of (row, column), by breadth-first search."""
    seen = np.zeros(mask.shape, bool)
    components = []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        seen[start] = True
        todo, found = [start], set()
        while todo:
            y, x = todo.pop()
            found.add((int(y), int(x)))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if (0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1]
                            and mask[ny, nx] and not seen[ny, nx]):
                        seen[ny, nx] = True
                        todo.append((ny, nx))
        components.append(found)
    return components


def assert_same_as_flood_fill(mask):
    labels, stats = label(mask)
    expected = flood_fill_components(mask)
    assert len(stats) == len(expected) + 1
    assert (labels > 0).sum() == mask.sum() and not labels[~mask].any()
    for component in expected:
        ys, xs = zip(*component)
        [number] = set(labels[ys, xs].tolist())  # one label for the whole component...
        assert (labels == number).sum() == len(component)  # ...and for nothing else
        assert stats[number].tolist() == [min(xs), min(ys), max(xs) - min(xs) + 1,
                                          max(ys) - min(ys) + 1, len(component)]


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(height=st.integers(1, 30), width=st.integers(1, 30), density=st.floats(0.05, 0.9),
       seed=st.integers(0, 2**16))
def test_random_masks_label_as_a_flood_fill_does(height, width, density, seed):
    assert_same_as_flood_fill(np.random.default_rng(seed).random((height, width)) < density)


def test_snakes_spirals_and_diagonals_are_one_component_each():
    snake = np.zeros((21, 40), bool)
    snake[::4] = True
    snake[1::8, -1] = snake[2::8, -1] = snake[3::8, -1] = True
    snake[5::8, 0] = snake[6::8, 0] = snake[7::8, 0] = True
    diagonal = np.eye(25, dtype=bool) | np.eye(25, k=3, dtype=bool)[::-1]
    for mask in (snake, diagonal):
        assert_same_as_flood_fill(mask)
    assert len(label(snake)[1]) == 2  # the background and one snake


def test_an_empty_mask_has_only_the_background():
    labels, stats = label(np.zeros((5, 7), bool))
    assert not labels.any() and len(stats) == 1
