"""The batch contract of POST /model/predict, over real HTTP to the real gunicorn server.

Several `image` fields answer `{"status": "ok", "results": [...]}`: one entry per file, in the
order sent, each with the file's name; a file that cannot become a digit fails only its own
entry (`"status": "error"` and a `message`); more than MAX_BATCH_FILES files is a 400.
"""
import io

import numpy as np
import requests

import config
from harness.images import encode
from tests.builders import sample

LIMIT = config.from_env({})["MAX_BATCH_FILES"]  # the server under test runs the default


def post(server, files):
    return requests.post(server.url + "/model/predict",
                         files=[("image", (name, data)) for name, data in files], timeout=120)


def test_results_come_back_in_the_order_sent_with_their_names(server):
    rng = np.random.default_rng(1)
    digits = [int(d) for d in rng.permutation(10)]
    styles = ["photo.jpg", "canvas.png", "mnist_style.png"]
    files = [(f"upload-{i:02d}-{digit}.{styles[i % 3].split('.')[-1]}",
              sample(f"{digit}_{styles[i % 3]}")) for i, digit in enumerate(digits)]
    response = post(server, files)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "results"} and body["status"] == "ok"
    assert [r["filename"] for r in body["results"]] == [name for name, _ in files]
    assert [r["status"] for r in body["results"]] == ["ok"] * 10
    assert [r["predictions"][0]["prediction"] for r in body["results"]] == digits
    assert all(len(r["predictions"]) == 10 for r in body["results"])


def test_the_same_file_twice_and_odd_names_are_kept_apart(server):
    files = [("same.png", sample("2_canvas.png")), ("same.png", sample("5_canvas.png")),
             ("ünïcödé ziffer.jpg", sample("8_photo.jpg"))]
    results = post(server, files).json()["results"]
    assert [r["filename"] for r in results] == ["same.png", "same.png", "ünïcödé ziffer.jpg"]
    assert [r["predictions"][0]["prediction"] for r in results] == [2, 5, 8]


def test_each_bad_file_fails_only_its_own_entry(server):
    blank = encode(np.full((300, 300), 250, dtype=np.uint8), "JPEG")
    png = sample("6_canvas.png")
    files = [("four.jpg", sample("4_photo.jpg")),
             ("notes.txt", b"not an image at all"),
             ("blank.jpg", blank),
             ("empty.png", b""),
             ("truncated.png", png[:len(png) // 2]),
             ("huge.png", encode(np.zeros((1, 12_000), dtype=np.uint8))),
             ("nine.png", sample("9_canvas.png"))]
    response = post(server, files)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["filename"] for r in results] == [name for name, _ in files]
    assert [r["status"] for r in results] == ["ok", "error", "error", "error", "error", "error",
                                              "ok"]
    assert results[0]["predictions"][0]["prediction"] == 4
    assert results[6]["predictions"][0]["prediction"] == 9
    messages = [r.get("message", "") for r in results]
    assert "not an image" in messages[1]
    assert "no digit found" in messages[2]
    assert "empty" in messages[3]
    assert "truncated" in messages[4] or "corrupt" in messages[4]
    assert "pixels" in messages[5]
    for entry in results[1:6]:
        assert set(entry) == {"filename", "status", "message"}


def test_a_batch_of_only_bad_files_still_answers_each(server):
    results = post(server, [("a.txt", b"hello"), ("b.txt", b"world")]).json()["results"]
    assert [(r["filename"], r["status"]) for r in results] == [("a.txt", "error"),
                                                               ("b.txt", "error")]


def test_one_file_keeps_the_single_shape_and_its_error_status(server):
    body = post(server, [("3.png", sample("3_canvas.png"))]).json()
    assert set(body) == {"status", "predictions"}
    assert body["predictions"][0]["prediction"] == 3
    blank = post(server, [("blank.png", encode(np.zeros((50, 50), dtype=np.uint8)))])
    assert blank.status_code == 422
    assert blank.json()["status"] == "error" and "no digit found" in blank.json()["message"]


def test_the_cap_is_inclusive_and_one_more_is_a_400(server):
    digit = sample("7_mnist_style.png")
    full = post(server, [(f"{i}.png", digit) for i in range(LIMIT)])
    assert full.status_code == 200
    assert [r["filename"] for r in full.json()["results"]] == [f"{i}.png" for i in range(LIMIT)]
    assert {r["predictions"][0]["prediction"] for r in full.json()["results"]} == {7}
    over = post(server, [(f"{i}.png", digit) for i in range(LIMIT + 1)])
    assert over.status_code == 400
    assert over.json()["status"] == "error"
    assert f"{LIMIT + 1} files" in over.json()["message"] and str(LIMIT) in over.json()["message"]


def test_the_cap_is_a_setting(wrapper):
    from app import create_app
    client = create_app({"TESTING": True, "MAX_BATCH_FILES": 2}, model=wrapper).test_client()
    data = {"image": [(io.BytesIO(sample(f"{d}_canvas.png")), f"{d}.png") for d in range(3)]}
    response = client.post("/model/predict", data=data)
    assert response.status_code == 400 and "at most 2" in response.get_json()["message"]
    data = {"image": [(io.BytesIO(sample(f"{d}_canvas.png")), f"{d}.png") for d in range(2)]}
    assert client.post("/model/predict", data=data).status_code == 200
