"""Connected components (8-connected) of a small binary mask, with numpy alone.

The mask is cut into runs (horizontal stretches of ink); runs in neighbouring rows that touch,
diagonally included, are joined, and labels spread over the joins until every run of one
component carries the same label. Every step is a whole-array operation: no per-pixel Python
loop.
"""
import numpy as np

AREA = 4  # the columns of a stats row: x, y, width, height, area (OpenCV's layout)


def label(mask):
    """(labels, stats) of a 2-D bool mask: an int32 image, 0 for the background and 1..n for
    the components (numbered in the order of their first pixel, row by row), and an [n + 1, 5]
    array of each label's x, y, width, height and area (row 0: the background's box)."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    rows, starts = np.nonzero(edges == 1)  # row-major order: runs sorted by row, then column
    _, ends = np.nonzero(edges == -1)  # one past each run's last column
    count = len(starts)
    labels = np.zeros((height, width), np.int32)
    stats = np.zeros((1, 5), np.int32)
    stats[0] = (0, 0, width, height, height * width - int(mask.sum()))
    if count == 0:
        return labels, stats
    parent = _join(rows, starts, ends, width)
    roots, numbered = np.unique(parent, return_inverse=True)  # numbered by first run
    run_label = numbered.astype(np.int32) + 1
    lengths = ends - starts
    cover = np.repeat(np.arange(count), lengths)
    flat = rows[cover] * width + starts[cover] + (np.arange(len(cover)) -
                                                  np.repeat(np.cumsum(lengths) - lengths, lengths))
    labels.ravel()[flat] = run_label[cover]
    found = len(roots)
    left = np.full(found, width, np.int64)
    right = np.zeros(found, np.int64)
    top = np.full(found, height, np.int64)
    bottom = np.zeros(found, np.int64)
    area = np.zeros(found, np.int64)
    index = run_label - 1
    np.minimum.at(left, index, starts)
    np.maximum.at(right, index, ends)
    np.minimum.at(top, index, rows)
    np.maximum.at(bottom, index, rows + 1)
    np.add.at(area, index, lengths)
    boxes = np.stack([left, top, right - left, bottom - top, area], axis=1).astype(np.int32)
    return labels, np.concatenate([stats, boxes])


def _join(rows, starts, ends, width):
    """For runs sorted by row then column, each run's component as the smallest index of a run
    in it: runs in consecutive rows whose column ranges touch (diagonals too) are joined.
    Every run's parent has a smaller index, so the trees never loop."""
    count = len(starts)
    span = width + 2  # keys order runs by row, then column
    start_keys = rows.astype(np.int64) * span + starts
    end_keys = rows.astype(np.int64) * span + ends
    # for each run, the runs of the row above whose columns reach [start - 1, end]: a
    # contiguous range, since the runs of one row are sorted and disjoint
    above = (rows.astype(np.int64) - 1) * span
    first = np.searchsorted(end_keys, above + starts, side="left")  # end > start - 1
    last = np.searchsorted(start_keys, above + ends, side="right")  # start <= end
    counts = np.maximum(last - first, 0)
    lower = np.repeat(np.arange(count), counts)
    upper = np.repeat(first, counts) + (np.arange(counts.sum()) -
                                        np.repeat(np.cumsum(counts) - counts, counts))
    parent = np.arange(count)
    while True:  # hook each join's larger root onto its smaller one, then flatten the trees
        low, high = parent[lower], parent[upper]
        joined = low != high
        if not joined.any():
            return parent
        low, high = np.minimum(low, high)[joined], np.maximum(low, high)[joined]
        np.minimum.at(parent, high, low)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
