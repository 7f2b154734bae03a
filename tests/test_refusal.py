"""Pictures that are not digits are refused the way a blank page is; digits and look-alikes
are answered. Over real HTTP to the real server, one file at a time and in batches."""
import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw

from app import create_app
from core.model import ModelWrapper
from harness.images import encode
from tests.helpers import MODEL_PATH, PREDICT, assert_json_error, post_files
from training.negatives import MAKERS
from training.user_style import on_paper

import config

# Strokes on a unit box (x right, y down), drawn dark on white paper as a person would.
PICTURES = {
    "the letter A": [[(0.1, 1), (0.5, 0), (0.9, 1)], [(0.28, 0.6), (0.72, 0.6)]],
    "the letter H": [[(0.15, 0), (0.15, 1)], [(0.85, 0), (0.85, 1)], [(0.15, 0.5), (0.85, 0.5)]],
    "an X": [[(0.1, 0), (0.9, 1)], [(0.9, 0), (0.1, 1)]],
    "a triangle": [[(0.5, 0.05), (0.95, 0.95), (0.05, 0.95), (0.5, 0.05)]],
    "a plus sign": [[(0.5, 0.05), (0.5, 0.95)], [(0.05, 0.5), (0.95, 0.5)]],
    "a star": [[(0.5, 0), (0.8, 1), (0, 0.35), (1, 0.35), (0.2, 1), (0.5, 0)]],
}
LOOK_ALIKES = {  # drawn like the digit a reader takes them for: they must be answered
    "a circle": ([("ellipse", (0.2, 0.05, 0.8, 0.95))], 0),
    "the letter I": ([[(0.5, 0.05), (0.5, 0.95)]], 1),
    "the letter Z": ([[(0.15, 0.1), (0.85, 0.1), (0.15, 0.9), (0.85, 0.9)]], 2),
    "the letter O": ([("ellipse", (0.15, 0.05, 0.85, 0.95))], 0),
}


def drawn(strokes, size=240, width=14, page=(240, 300)):
    """A grey PNG: `strokes` (polylines, or ("ellipse", box)) dark on white paper."""
    image = Image.new("L", page, 245)
    draw = ImageDraw.Draw(image)
    left, top = (page[0] - size) // 2, (page[1] - size) // 2

    def at(x, y):
        return left + x * size, top + y * size
    for stroke in strokes:
        if stroke[0] == "ellipse":
            x0, y0, x1, y1 = stroke[1]
            draw.ellipse((*at(x0, y0), *at(x1, y1)), outline=20, width=width)
        else:
            draw.line([at(x, y) for x, y in stroke], fill=20, width=width, joint="curve")
    return encode(image)


def fold_line():
    """An empty page with a crease across it: a long faint line, nearly level."""
    image = Image.new("L", (400, 300), 235)
    ImageDraw.Draw(image).line([(0, 140), (400, 170)], fill=150, width=2)
    return encode(image)


def post(server, *files):
    return requests.post(server.url + PREDICT, timeout=60,
                         files=[("image", (name, data)) for name, data in files])


@pytest.mark.parametrize("what", [*PICTURES, "a fold line across an empty page"])
def test_a_picture_that_is_not_a_digit_gets_a_422_saying_so(server, what):
    data = fold_line() if what.startswith("a fold") else drawn(PICTURES[what])
    answer = post(server, (f"{what}.png", data))
    assert answer.status_code == 422, f"{what}: {answer.text}"
    body = answer.json()
    assert body["status"] == "error"
    assert body["message"].startswith("no digit found: ")
    assert "not look like a digit" in body["message"]


@pytest.mark.parametrize("what", list(LOOK_ALIKES))
def test_look_alikes_are_read_as_the_digit_they_look_like(server, what):
    strokes, digit = LOOK_ALIKES[what]
    answer = post(server, (f"{what}.png", drawn(strokes)))
    assert answer.status_code == 200, f"{what}: {answer.text}"
    assert answer.json()["predictions"][0]["prediction"] == digit


def test_in_a_batch_only_the_non_digits_fail(server):
    seven, circle = drawn([[(0.15, 0.1), (0.85, 0.1), (0.4, 0.95)]]), \
        drawn(LOOK_ALIKES["a circle"][0])
    answer = post(server, ("seven.png", seven), ("a.png", drawn(PICTURES["the letter A"])),
                  ("zero.png", circle), ("x.png", drawn(PICTURES["an X"])))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["ok", "error", "ok", "error"]
    assert results[0]["predictions"][0]["prediction"] == 7
    assert results[2]["predictions"][0]["prediction"] == 0
    assert all(r["message"].startswith("no digit found: ") for r in results[1::2])


def test_generated_non_digits_are_refused_nine_times_in_ten(server):
    """Letters, symbols, scribbles, doodles, smudges and fold lines from the non-digit
    generators (a seed training never used), each drawn on paper, in one batch."""
    rng = np.random.default_rng(99)
    files = [(f"{name}{i}.png", on_paper(make(rng), rng))
             for name, make in MAKERS.items() for i in range(8)]
    results = post(server, *files).json()["results"]
    refused = [r for r in results if r["status"] == "error"]
    assert all(r["message"].startswith("no digit found: ") for r in refused)
    print(f"{len(refused)} of {len(files)} generated non-digits refused")
    assert len(refused) >= 0.85 * len(files)


def test_a_blank_page_is_still_refused_as_blank(server):
    answer = post(server, ("blank.png", encode(Image.new("L", (200, 200), 240))))
    assert answer.status_code == 422
    assert "blank" in answer.json()["message"]


def test_with_refusal_turned_off_a_non_digit_gets_its_best_guess(wrapper):
    permissive = ModelWrapper(MODEL_PATH, **config.image_limits(), runtime=wrapper.runtime,
                              refuse_not_digits=False)
    client = create_app({"REFUSE_NOT_DIGITS": False}, model=permissive).test_client()
    answer = post_files(client, ("a.png", drawn(PICTURES["the letter A"])))
    assert answer.status_code == 200
    predictions = answer.get_json()["predictions"]
    assert len(predictions) == 10
    assert sum(p["probability"] for p in predictions) < 0.5  # mostly "not a digit"
    refusing = create_app({}, model=wrapper).test_client()
    assert_json_error(post_files(refusing, ("a.png", drawn(PICTURES["the letter A"]))), 422,
                      "no digit found")


def test_v2_marks_a_non_digit_with_digit_minus_one(server, wrapper):
    digits = np.stack([wrapper._pre_process([drawn(PICTURES["the letter H"])])[0],
                       wrapper._pre_process([drawn([[(0.15, 0.1), (0.85, 0.1),
                                                     (0.4, 0.95)]])])[0]])
    document = {"inputs": [{"name": "images", "datatype": "FP32", "shape": [2, 28, 28],
                            "data": digits.ravel().tolist()}]}
    answer = requests.post(server.url + "/v2/models/mnist/infer", json=document, timeout=60)
    assert answer.status_code == 200, answer.text
    outputs = {o["name"]: o for o in answer.json()["outputs"]}
    assert outputs["digit"]["data"] == [-1, 7]
    assert outputs["probabilities"]["shape"] == [2, 10]
    not_a_digit = outputs["not_a_digit"]["data"]
    assert not_a_digit[0] > 0.5 > not_a_digit[1]
