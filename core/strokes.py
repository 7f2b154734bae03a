"""The strokes of a row of digits grouped into digits: pieces of one digit merged (a 5's flag,
a broken stroke), and frames, ruled lines, specks, dashes, dots and commas told apart by their
shape. Strokes are the labels of core.components.label, described by its stats rows."""
import numpy as np

SPECK = 0.25  # a stroke lower than this fraction of the row's height, and small, is a speck
MARK = 0.4  # a mark lower than this fraction of the row's height is a dash, dot or comma
BAR = 0.6  # a stroke filling this much of its box, and flat, is a dash or a bar
LINE = 1.8  # a stroke this many times taller than the row is a ruled line, not a 1
ABOVE = 0.5  # strokes sharing this much of the narrower one's width belong to one digit
FRAGMENT = 0.75  # ... when the lower of them is under this fraction of the row's height
PIECES = 8  # a group of more strokes than this is a texture (dots, hatching), not a digit


def group_strokes(stats):
    """The strokes (labels 1.. of `stats`) as lists of labels, one list per digit or mark, left
    to right, with frames, ruled lines and specks left out; and the row's height."""
    frames = _frames(stats)
    strokes = [index for index in range(1, len(stats)) if not frames[index]]
    if not strokes:
        return [], 1.0
    largest = max(stats[i, 4] for i in strokes)
    row = _row_height(stats, strokes)
    strokes = [i for i in strokes
               if not (stats[i, 3] < SPECK * row and stats[i, 4] < 0.02 * largest)
               and not (stats[i, 3] > LINE * row and stats[i, 2] < 0.3 * stats[i, 3])]
    groups = []
    for index in sorted(strokes, key=lambda i: stats[i, 0]):
        x, _, w, h, _ = stats[index]
        for group in groups:
            gx, _, gw, gh = extent(group, stats)
            overlap = min(x + w, gx + gw) - max(x, gx)
            if (overlap >= ABOVE * min(w, gw) and min(h, gh) < FRAGMENT * row
                    or overlap > 0 and max(h, gh) < FRAGMENT * row):  # pieces of one stroke
                group.append(index)
                break
        else:
            groups.append([index])
    groups.sort(key=lambda group: extent(group, stats)[0])
    return groups, row


def is_mark(labels, stats, row):
    """Whether strokes are a mark, not a digit: lower than MARK of the row (a dash, a dot, a
    comma, an underline), a bar: a solid stroke less than half as high as it is wide, or a
    texture: more than PIECES separate strokes (a digit has at most a few pieces)."""
    _, _, width, height = extent(labels, stats)
    solid = sum(int(stats[i, 4]) for i in labels) / (width * height)
    return (height < MARK * row or (height < width / 2 and solid > BAR)
            or len(labels) > PIECES)


def _row_height(stats, strokes):
    """How high the row of digits is: from the top of the strokes to their bottom, leaving out
    the highest and lowest 2 % of their ink (a stray speck or a long tail)."""
    tops = np.asarray([stats[i, 1] for i in strokes], np.float64)
    bottoms = tops + [stats[i, 3] for i in strokes]
    areas = np.asarray([stats[i, 4] for i in strokes], np.float64)
    order, weights = np.argsort(tops), np.cumsum(areas[np.argsort(tops)])
    top = tops[order][np.searchsorted(weights, 0.02 * weights[-1])]
    order = np.argsort(-bottoms)
    weights = np.cumsum(areas[order])
    bottom = bottoms[order][np.searchsorted(weights, 0.02 * weights[-1])]
    return max(float(bottom - top), 1.0)


def extent(labels, stats):
    """(x, y, w, h) of the union of the strokes' boxes."""
    x0 = min(stats[i, 0] for i in labels)
    y0 = min(stats[i, 1] for i in labels)
    x1 = max(stats[i, 0] + stats[i, 2] for i in labels)
    y1 = max(stats[i, 1] + stats[i, 3] for i in labels)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _frames(stats):
    """For each label, whether its stroke's box holds two or more other strokes whole, each
    at least a quarter of its height: a box drawn round the number (label 0 is never one)."""
    x, y, w, h = (stats[:, k].astype(np.int64)[:, np.newaxis] for k in range(4))
    inside = ((x.T >= x) & (y.T >= y) & (x.T + w.T <= x + w) & (y.T + h.T <= y + h)
              & (4 * h.T >= h))  # [frame, other]
    inside[0, :] = inside[:, 0] = False
    np.fill_diagonal(inside, False)
    return inside.sum(axis=1) >= 2
