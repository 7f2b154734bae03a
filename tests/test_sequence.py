"""core.sequence and its runtime: a group's ink made into the strip the sequence model reads,
the model's outputs read back as digits, and the committed model loaded and run."""
import json

import numpy as np
import pytest

from core.errors import ModelLoadError
from core.runtime import load_sequence
from core.sequence import (BLANK, HEIGHT, INK_HEIGHT, MAX_WIDTH, PEAK_OFFSET, STRIDE, VIEWS,
                           Strip, View, best_path, make_strip)
from harness import ROOT


def outputs_for(labels, sure=0.9):
    """Model outputs [steps, BLANK + 1] whose likeliest class at each step is `labels[step]`."""
    outputs = np.full((len(labels), BLANK + 1), (1 - sure) / BLANK, np.float32)
    outputs[np.arange(len(labels)), labels] = sure
    return outputs


def test_the_best_path_merges_repeats_and_drops_blanks():
    b = BLANK
    reads = best_path(outputs_for([b, 3, 3, b, 3, b, b, 7, b]), Strip(None, 1.0))
    assert [read.digit for read in reads] == [3, 3, 7]
    assert [read.steps for read in reads] == [(1, 3), (4, 5), (7, 8)]


def test_a_digit_is_as_probable_as_its_surest_step():
    outputs = outputs_for([BLANK, 5, 5, BLANK])
    outputs[1, 5], outputs[2, 5] = 0.6, 0.95
    [read] = best_path(outputs, Strip(None, 1.0))
    assert read.digit == 5 and read.probability == pytest.approx(0.95)
    np.testing.assert_array_equal(read.outputs, outputs[2])  # the surest step's outputs


def test_only_blanks_read_as_no_digit():
    assert best_path(outputs_for([BLANK] * 6), Strip(None, 1.0)) == []


def test_columns_map_back_to_the_group_through_the_strips_scale_and_the_models_offset():
    [read] = best_path(outputs_for([BLANK] * 5 + [4] + [BLANK] * 3), Strip(None, 0.5))
    shift = STRIDE + PEAK_OFFSET * INK_HEIGHT  # strip column of the group's first, as read
    assert read.columns == (int((20 - shift) / 0.5), int(np.ceil((24 - shift) / 0.5)))


def test_the_offset_is_the_one_the_committed_model_was_measured_with():
    card = json.loads((ROOT / "models" / "mnist_reader.json").read_text())
    assert card["alignment"]["peak_offset"] == pytest.approx(PEAK_OFFSET, abs=0.005)
    assert card["calibration"]["ece_after"] <= 0.015  # the service's calibration bar


def stroke_box(height, width, pen):
    """A frame of ink `pen` pixels wide: levels 1 on its strokes, 0 elsewhere."""
    levels = np.zeros((height, width), np.float32)
    levels[:pen], levels[-pen:], levels[:, :pen], levels[:, -pen:] = 1, 1, 1, 1
    return levels


def test_a_strip_is_the_models_height_with_the_ink_in_its_band():
    levels = stroke_box(120, 300, 12)
    strip = make_strip(levels, levels > 0.5, 0.5)
    height, width = strip.pixels.shape
    assert height == HEIGHT and width % STRIDE == 0
    rows = np.flatnonzero(strip.pixels.max(axis=1) > 0.5)
    top = (HEIGHT - INK_HEIGHT) // 2
    assert rows[0] == top and rows[-1] == top + INK_HEIGHT - 1
    assert strip.scale == pytest.approx(INK_HEIGHT / 120, rel=0.02)
    assert strip.pixels[:, :STRIDE].max() == 0  # a step of blank before the ink


def test_a_thin_pen_line_is_thickened_and_a_thick_one_kept():
    ink = {}
    for pen in (2, 29, 60):  # a fine pen, MNIST's stroke (0.12 of the height), a broad marker
        levels = stroke_box(240, 240, pen)
        ink[pen] = make_strip(levels, levels > 0.5, 0.5).pixels.sum()
    assert ink[2] > 0.3 * ink[29]  # unthickened, it would keep 2/29 of the ink
    assert ink[60] > 1.5 * ink[29]


def test_a_view_widens_or_narrows_the_strip_and_changes_the_thin_lines_stroke():
    levels = stroke_box(240, 480, 4)
    plain = make_strip(levels, levels > 0.5, 0.5)
    wide = make_strip(levels, levels > 0.5, 0.5, View(stretch=1.3))
    narrow = make_strip(levels, levels > 0.5, 0.5, View(stretch=0.75))
    assert wide.scale == pytest.approx(1.3 * plain.scale, rel=0.02)
    assert narrow.scale == pytest.approx(0.75 * plain.scale, rel=0.02)
    bold = make_strip(levels, levels > 0.5, 0.5, View(stroke=1.3))
    fine = make_strip(levels, levels > 0.5, 0.5, View(stroke=0.8))
    assert fine.pixels.sum() < plain.pixels.sum() < bold.pixels.sum()
    assert bold.pixels.shape == fine.pixels.shape == plain.pixels.shape


def test_a_view_of_a_thick_stroke_may_be_the_plain_strip():
    levels = stroke_box(240, 480, 60)  # a broad marker: thicker than MNIST's stroke already
    plain = make_strip(levels, levels > 0.5, 0.5)
    bolder = make_strip(levels, levels > 0.5, 0.5, View(stroke=1.3))
    np.testing.assert_array_equal(plain.pixels, bolder.pixels)


def test_a_very_long_group_is_squeezed_to_the_widest_strip():
    levels = stroke_box(20, 4000, 3)
    for view in (View(), *VIEWS):
        strip = make_strip(levels, levels > 0.5, 0.5, view)
        assert strip.pixels.shape[1] <= MAX_WIDTH


@pytest.fixture(scope="module")
def runtime():
    return load_sequence(ROOT / "assets" / "mnist_reader.tflite")


def test_the_committed_model_gives_a_step_per_stride_for_every_width(runtime):
    for width in (8, 60, 64, 300, MAX_WIDTH):
        outputs = runtime(np.zeros((HEIGHT, width), np.float32))
        assert outputs.shape == (width // STRIDE, BLANK + 1)
        np.testing.assert_allclose(outputs.sum(axis=1), 1, atol=1e-4)
        assert (outputs.argmax(axis=1) == BLANK).all()  # no ink, no digit


def test_a_strip_wider_than_the_widest_bucket_is_refused_by_the_runtime(runtime):
    with pytest.raises(ValueError, match="wider than the widest"):
        runtime(np.zeros((HEIGHT, MAX_WIDTH + STRIDE), np.float32))


def test_a_file_that_is_not_the_sequence_model_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="sequence model"):
        load_sequence(ROOT / "assets" / "mnist_cnn.tflite")
    with pytest.raises(ModelLoadError, match="must be a LiteRT"):
        load_sequence(ROOT / "assets" / "mnist_cnn.h5")
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"TFL3" + bytes(200))
    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        load_sequence(garbage)
