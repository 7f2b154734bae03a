"""POST /model/read: numbers spaced, tight and touching read over HTTP from the real server, the
digit boxes, one digit, a blank page, marks that are not digits, batches, and hostile input."""
import io

import numpy as np
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

import config
from core.errors import ImageError
from core.number import NumberReader, Reading
from core.sequence import BLANK, VIEWS
from harness.images import encode, gif_declaring, jpeg_declaring, png_declaring, png_inflating
from tests.builders import (broken_digit, hand_letter, number, row_scan, row_scan_boxes,
                            sample, sample_digit, short_digit)
from tests.helpers import metric_values
from training.numbers import MEDIA, canvas, compose, make_number, make_set, scan
from training.user_style import EXIF_ORIENTATION

READ = "/model/read"
MIB = 1024 * 1024
FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def post(server, *files):
    """POST (name, bytes) files to /model/read on the real server."""
    return requests.post(server.url + READ, files=[("image", file) for file in files],
                         timeout=60)


def assert_error(response, status, *words):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "error" and body["message"]
    for word in words:
        assert word in body["message"]


def overlap(a, b):
    """Intersection over union of two (x, y, w, h) boxes."""
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.mark.parametrize("medium", MEDIA)
@pytest.mark.parametrize("spacing", ["spaced", "tight"])
def test_a_number_reads_digit_by_digit_with_boxes_on_its_digits(server, spacing, medium):
    written = number("90210", spacing, medium)
    response = post(server, ("zip.png", written.data))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["text"] == "90210"
    assert [d["prediction"] for d in body["digits"]] == [9, 0, 2, 1, 0]
    for digit, true_box in zip(body["digits"], written.boxes):
        assert overlap(digit["box"], true_box) > 0.6, (digit["box"], true_box)
        assert 0 < digit["probability"] <= 1
    assert body["probability"] == pytest.approx(
        np.prod([d["probability"] for d in body["digits"]]))


def test_every_digit_reads_in_a_long_number(server):
    body = post(server, ("all.png", number("0123456789", "spaced", "scan").data))
    assert body.json()["text"] == "0123456789"


def exact(server, numbers, batch=50):
    """How many numbers the server reads exactly, sent `batch` files a request."""
    results = []
    for start in range(0, len(numbers), batch):
        files = [(f"{index}.png", n.data) for index, n in enumerate(numbers[start:start + batch])]
        results += post(server, *files).json()["results"]
    return sum(result.get("text") == n.text for result, n in zip(results, numbers))


@pytest.mark.parametrize("spacing", ["spaced", "tight"])
def test_numbers_of_mnist_test_digits_read_exactly(server, mnist_test, spacing):
    numbers = make_set(*mnist_test, spacing, "photo", 20, seed=14)
    assert exact(server, numbers) >= 18


@pytest.mark.parametrize("medium", MEDIA)
def test_numbers_whose_digits_touch_read_exactly(server, mnist_test, medium):
    numbers = make_set(*mnist_test, "touching", medium, 100, seed=14)
    assert exact(server, numbers) >= 80  # 88-92 % of 300 a medium (docs/reading.md)


@pytest.mark.parametrize("medium", MEDIA)
@pytest.mark.parametrize("text", ["2026", "13579", "468"])
def test_touching_digits_read_with_a_box_on_each_digit(server, text, medium):
    written = number(text, "touching", medium)
    width, height = Image.open(io.BytesIO(written.data)).size
    body = post(server, ("n.png", written.data)).json()
    assert body["status"] == "ok" and body["text"] == text
    overlaps = [overlap(digit["box"], true) for digit, true in zip(body["digits"], written.boxes)]
    assert min(overlaps) > 0.4 and np.mean(overlaps) > 0.6, overlaps
    for x, y, w, h in (digit["box"] for digit in body["digits"]):
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= width and y + h <= height
    lefts = [digit["box"][0] for digit in body["digits"]]
    assert lefts == sorted(lefts)
    assert all(0 < digit["probability"] <= 1 for digit in body["digits"])


@pytest.mark.parametrize("spacing", ["spaced", "touching"])
def test_hand_drawn_letters_among_the_digits_are_left_out(server, spacing):
    for letters in (["A"], ["X"], ["H"], ["A", "X"]):
        shapes = [sample_digit(1), sample_digit(2), *[hand_letter(name) for name in letters],
                  sample_digit(3), sample_digit(4)]
        body = post(server, ("row.png", row_scan(shapes, spacing))).json()
        assert body.get("text") == "1234", (letters, body)


@pytest.mark.parametrize("first,digit,last", [(3, 5, 5), (1, 5, 8), (7, 5, 2), (1, 6, 8),
                                              (7, 6, 2)])
def test_a_piece_broken_off_a_digit_is_read_with_it(server, first, digit, last):
    data, boxes = row_scan_boxes([sample_digit(first), broken_digit(digit), sample_digit(last)],
                                 "spaced")
    body = post(server, ("broken.png", data)).json()
    assert body.get("text") == f"{first}{digit}{last}", body
    x, _, width, _ = body["digits"][1]["box"]
    true_x, _, true_width, _ = boxes[1]
    assert x <= true_x + 3 and x + width >= true_x + true_width - 3  # the piece is in its box


@pytest.mark.parametrize("text,medium", [("01", "scan"), ("111", "scan"), ("212", "photo"),
                                         ("616", "scan"), ("818", "scan")])
def test_a_short_1_beside_other_digits_is_a_digit_not_a_sliver(server, text, medium):
    shapes = [short_digit(1, 0.55) if digit == "1" else sample_digit(int(digit))
              for digit in text]
    written = make_number(shapes, [int(digit) for digit in text], "tight", medium,
                          np.random.default_rng(0))
    body = post(server, ("short." + ("jpg" if medium == "photo" else "png"), written.data)).json()
    assert body.get("text") == text, body


@pytest.mark.parametrize("spacing", ["spaced", "tight", "touching"])
def test_only_hand_drawn_letters_are_a_422(server, spacing):
    for seed in (0, 2):  # four letters, each drawn its own way
        letters = [hand_letter("AXH"[(i + seed) % 3], i + 10 * seed) for i in range(4)]
        data = row_scan(letters, spacing, seed=seed + 1)
        assert_error(post(server, ("letters.png", data)), 422, "no digit found")


def test_one_digit_reads_as_one_character(server):
    response = post(server, ("7.jpg", sample("7_photo.jpg")))
    body = response.json()
    assert body["text"] == "7" and len(body["digits"]) == 1
    x, y, w, h = body["digits"][0]["box"]
    assert (w, h) < (300, 360) and x >= 0 and y >= 0
    assert body["probability"] == body["digits"][0]["probability"]


def test_a_blank_page_is_the_same_422_as_predict(server):
    blank = encode(Image.new("L", (400, 200), 235))
    assert_error(post(server, ("blank.png", blank)), 422, "no digit found")
    predicted = requests.post(server.url + "/model/predict", files={"image": ("b.png", blank)},
                              timeout=30)
    assert predicted.status_code == 422
    assert predicted.json()["message"] == post(server, ("b.png", blank)).json()["message"]


def with_marks(draw):
    """A scan of 12 34 with marks drawn on the coverage map by `draw(field, boxes)`."""
    digits = [sample_digit(d) for d in (1, 2, 3, 4)]
    field, boxes = compose(digits, "spaced", np.random.default_rng(3))
    field = np.pad(field, 8)
    boxes = [(x + 8, y + 8, w, h) for x, y, w, h in boxes]
    draw(field, boxes)
    big = Image.fromarray(np.round(field * 255).astype(np.uint8)).resize(
        (field.shape[1] * 3, field.shape[0] * 3), Image.Resampling.BICUBIC)
    return scan(np.asarray(big, np.float32) / 255, np.random.default_rng(3))


def test_a_dash_and_a_dot_between_digits_are_left_out(server):
    def dash_and_dot(field, boxes):
        middle = boxes[1][1] + boxes[1][3] // 2
        gap = boxes[1][0] + boxes[1][2] + 1, boxes[2][0] - 1
        field[middle - 1:middle + 1, gap[0]:gap[1]] = 1.0  # a dash between 12 and 34
        bottom = boxes[3][1] + boxes[3][3]
        field[bottom - 2:bottom, boxes[3][0] + boxes[3][2] + 2:][:, :2] = 1.0  # a full stop
    body = post(server, ("12-34.png", with_marks(dash_and_dot))).json()
    assert body["text"] == "1234"


def test_a_frame_round_the_number_is_left_out(server):
    def frame(field, boxes):
        field[2:4, 2:-2] = field[-4:-2, 2:-2] = 1.0
        field[2:-2, 2:4] = field[2:-2, -4:-2] = 1.0
    body = post(server, ("boxed.png", with_marks(frame))).json()
    assert body["text"] == "1234"


def test_only_a_dash_is_a_422_saying_the_marks_are_not_digits(server):
    image = Image.new("L", (300, 200), 240)
    image.paste(20, (60, 95, 240, 105))
    assert_error(post(server, ("dash.png", encode(image))), 422, "not digits")


def dots(side, step, dot, ink=0, paper=255):
    """A square grid of square dots: a texture, not a number."""
    pixels = np.full((side, side), paper, np.uint8)
    for y in range(0, side, step):
        for x in range(0, side, step):
            pixels[y:y + dot, x:x + dot] = ink
    return encode(Image.fromarray(pixels))


def test_thousands_of_dots_are_a_422_naming_how_many_before_they_are_grouped(server):
    grid = dots(1600, 29, 5)  # 56 x 56 dots in a few KB
    assert len(grid) < 16 * 1024
    assert_error(post(server, ("dots.png", grid)), 422, "no number found", "3064 separate marks",
                 "one row of digits")


@pytest.mark.parametrize("name, data, words", [
    ("fine.png", dots(64, 2, 1, ink=255, paper=0), "separate marks"),  # 1024 1-pixel dots
    ("finer.png", dots(30, 2, 1, ink=255, paper=0), "not digits"),  # 225: read, left out
    ("coarse.png", dots(600, 40, 5), "not digits"),
], ids=["1024-dots", "225-dots", "coarse-dots"])
def test_a_texture_of_dots_is_not_read_as_ones(server, name, data, words):
    assert_error(post(server, (name, data)), 422, words)


def test_more_digit_like_shapes_than_one_number_holds_are_a_422(server):
    row = np.full((240, 65 * 60 + 40), 255, np.uint8)
    for index in range(65):
        row[20:220, 40 + index * 60:64 + index * 60] = 0  # 65 ones
    assert_error(post(server, ("ones.png", encode(Image.fromarray(row)))), 422,
                 "more than 64 shapes that may be digits")


def test_boxes_are_in_the_upright_image_of_an_exif_rotated_photo(server):
    written = number("4711", "spaced", "photo")
    upright = Image.open(io.BytesIO(written.data))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # stored turned 90 degrees; the viewer turns it back
    stored = encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90, exif=exif)
    body = post(server, ("4711.jpg", stored)).json()
    assert body["text"] == "4711"
    for digit, true_box in zip(body["digits"], written.boxes):
        assert overlap(digit["box"], true_box) > 0.6


@pytest.mark.parametrize("orientation", [1, 6])
def test_boxes_are_in_the_uploads_pixels_for_a_jpeg_decoded_at_reduced_scale(server,
                                                                           orientation):
    written = number("4711", "spaced", "photo")
    small = Image.open(io.BytesIO(written.data)).convert("L")
    zoom = -(-400 // min(small.size))  # short side >= 400: libjpeg decodes at 1/2 or less
    upright = small.resize((small.width * zoom, small.height * zoom), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    stored = upright if orientation == 1 else upright.transpose(Image.Transpose.ROTATE_90)
    body = post(server, ("4711.jpg", encode(stored, "JPEG", quality=90, exif=exif))).json()
    assert body["text"] == "4711"
    for digit, (x, y, w, h) in zip(body["digits"], written.boxes):
        true_box = (x * zoom, y * zoom, w * zoom, h * zoom)
        assert overlap(digit["box"], true_box) > 0.6, (digit["box"], true_box)


def test_transparent_and_light_on_dark_numbers_read_too(server):
    written = number("365", "spaced", "scan")
    dark = 255 - np.asarray(Image.open(io.BytesIO(written.data)))  # chalk on a board
    coverage, _ = compose([sample_digit(d) for d in (3, 6, 5)], "spaced",
                          np.random.default_rng(1))
    assert post(server, ("dark.png", encode(dark))).json()["text"] == "365"
    layer = canvas(np.kron(coverage, np.ones((4, 4), np.float32)), np.random.default_rng(2))
    assert post(server, ("layer.png", layer)).json()["text"] == "365"


def test_a_batch_answers_one_entry_per_file_in_order(server):
    response = post(server, ("a.jpg", number("1984", "spaced", "photo").data),
                    ("blank.png", encode(Image.new("L", (64, 64), 255))),
                    ("notes.txt", b"not an image"),
                    ("7.jpg", sample("7_photo.jpg")))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["filename"] for r in results] == ["a.jpg", "blank.png", "notes.txt", "7.jpg"]
    assert [r["status"] for r in results] == ["ok", "error", "error", "ok"]
    assert [r.get("text") for r in results] == ["1984", None, None, "7"]
    assert "no digit found" in results[1]["message"] and "not an image" in results[2]["message"]
    assert len(results[0]["digits"]) == 4


@pytest.mark.parametrize("name, data", [
    ("wide.png", png_declaring(50_000, 50_000)),
    ("wide.gif", gif_declaring(60_000, 60_000)),
    ("wide.jpg", jpeg_declaring(60_000, 60_000)),
    ("inflates-to-1.6GB.png", png_inflating(40_000, 40_000)),
])
def test_decompression_bombs_are_refused_from_the_header(server, name, data):
    assert len(data) < 2 * MIB
    assert_error(post(server, (name, data)), 413, "pixels", "smaller image")


@pytest.mark.parametrize("name, data", [
    ("empty.png", b""),
    ("notes.txt", b"twelve"),
    ("cut.png", encode(Image.new("L", (200, 80), 255))[:60]),
])
def test_files_that_are_not_readable_images_get_a_400(server, name, data):
    assert_error(post(server, (name, data)), 400)


def test_an_upload_over_the_size_cap_gets_a_413(server):
    big = b"\0" * (config.SETTINGS["MAX_UPLOAD_BYTES"][0] + 1)
    assert_error(post(server, ("big.png", big)), 413, "MAX_UPLOAD_BYTES")


def test_a_file_in_the_wrong_field_gets_a_400_naming_the_field(server):
    response = requests.post(server.url + READ, files={"file": ("a.png", sample("7_canvas.png"))},
                             timeout=30)
    assert_error(response, 400, "'image'", "file")


def test_an_absurdly_long_thin_row_is_refused_by_the_side_limit(server):
    thin = encode(Image.new("L", (config.SETTINGS["MAX_IMAGE_SIDE"][0] + 1, 1), 255))
    assert_error(post(server, ("thin.png", thin)), 413, "pixels a side")


@pytest.fixture(scope="module")
def reader(wrapper, sequence):
    return NumberReader(wrapper, sequence, **config.image_limits())


def assert_reading_or_image_error(reader, data):
    [outcome] = reader.read([data])
    if isinstance(outcome, ImageError):
        assert str(outcome) and outcome.status in (400, 413, 422)
        return
    assert isinstance(outcome, Reading) and outcome.text.isdigit()
    assert len(outcome.digits) == len(outcome.text) and 0 <= outcome.probability <= 1


MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"II*\x00", b"RIFF"]


@FUZZ
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=2048))
def test_random_bytes_are_a_reading_or_an_image_error(reader, prefix, body):
    assert_reading_or_image_error(reader, prefix + body)


@FUZZ
@given(width=st.integers(1, 400), height=st.integers(1, 120), seed=st.integers(0, 2**16),
       mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16"]),
       fmt=st.sampled_from(["PNG", "GIF", "TIFF", "WEBP", "BMP"]))
def test_odd_images_of_any_shape_are_a_reading_or_an_image_error(reader, width, height, seed,
                                                                mode, fmt):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width), dtype=np.uint8)
    pixels[:, ::max(1, width // 5)] = 0  # a few strokes across the noise
    image = Image.fromarray(pixels).convert(mode)
    try:
        data = encode(image, fmt)
    except (OSError, ValueError, KeyError):  # Pillow cannot write this mode in this format
        return
    assert_reading_or_image_error(reader, data)


def test_hostile_uploads_never_get_a_5xx_from_the_real_server(server):
    rng = np.random.default_rng(0)
    good = number("42", "tight", "scan").data
    uploads = [good[:cut] for cut in (8, 33, 100, len(good) // 2)]
    uploads += [bytes(rng.integers(0, 256, 500, dtype=np.uint8)) for _ in range(4)]
    uploads += [encode(Image.new("RGBA", (300, 100), (0, 0, 0, 0))),  # fully transparent
                encode(Image.new("L", (1, 1), 0)), encode(Image.new("L", (4000, 1), 0))]
    for data in uploads:
        response = post(server, ("x.png", data))
        assert response.status_code < 500, response.text
        assert response.json()["status"] in ("ok", "error")


def sequence_calls(server):
    counted = metric_values(requests.get(server.url + "/metrics", timeout=30).text)
    return sum(value for (name, _), value in counted.items()
               if name == "maxmnist_sequence_inference_seconds_count")


def test_metrics_count_the_route_and_the_sequence_models_calls(server):
    before = sequence_calls(server)
    post(server, ("7.jpg", sample("7_photo.jpg")))
    counted = metric_values(requests.get(server.url + "/metrics", timeout=30).text)
    reads = [value for (name, labels), value in counted.items()
             if name == "maxmnist_http_requests_total" and ("endpoint", READ) in labels
             and ("method", "POST") in labels]
    assert sum(reads) >= 1
    assert sequence_calls(server) == before  # one digit read surely: the digit model alone
    post(server, ("2026.jpg", number("2026", "touching", "photo").data))
    assert sequence_calls(server) >= before + 1


def test_the_openapi_spec_documents_the_route_and_its_answer(server):
    spec = requests.get(server.url + "/swagger.json", timeout=30).json()
    operation = spec["paths"][READ]["post"]
    assert operation["responses"]["200"]["schema"]["$ref"].endswith("/ReadResponse")
    assert {"400", "413", "422"} <= set(operation["responses"])
    digit = spec["definitions"]["ReadDigit"]["properties"]
    assert {"box", "prediction", "probability"} <= set(digit)
    assert {p["name"] for p in operation["parameters"]} == {"image"}


def test_the_committed_number_sample_reads_as_its_name(server):
    body = post(server, ("2026.jpg", sample("numbers/2026.jpg"))).json()
    assert body["text"] == "2026" and len(body["digits"]) == 4


class NotADigitFor:
    """The real model stage, with its "not a digit" output (an 11th, added if the model has
    none) claiming every piece the real model reads as `digit`, this surely."""

    def __init__(self, wrapper, digit, sure=0.99):
        self._wrapper, self._digit, self._sure = wrapper, digit, sure

    def predict_tensor(self, digits):
        probabilities = self._wrapper.predict_tensor(digits)[:, :10]
        claimed = probabilities.argmax(axis=1) == self._digit
        extra = np.where(claimed, self._sure, 0.0)[:, None]
        scaled = probabilities * np.where(claimed, 1 - self._sure, 1.0)[:, None]
        return np.concatenate([scaled, extra], axis=1).astype(np.float32)

    @staticmethod
    def refused(probabilities):
        return probabilities[:, 10] > probabilities[:, :10].max(axis=1)


class NoDigitFor:
    """The real sequence model, reading no digit where it would read `digit`."""

    def __init__(self, sequence, digit):
        self._sequence, self._digit = sequence, digit

    def __call__(self, strip):
        outputs = self._sequence(strip).copy()
        outputs[:, BLANK] += outputs[:, self._digit]
        outputs[:, self._digit] = 0
        return outputs


def test_a_piece_the_digit_model_doubts_is_kept_when_the_sequence_model_reads_a_digit(
        wrapper, sequence):
    reader = NumberReader(NotADigitFor(wrapper, 3, sure=0.6), sequence, **config.image_limits())
    [reading] = reader.read([number("1234").data])
    assert reading.text == "1234" and len(reading.digits) == 4
    [undoubted] = NumberReader(wrapper, sequence, **config.image_limits()).read(
        [number("1234").data])
    assert reading.digits[2].probability < undoubted.digits[2].probability  # the doubt shows


def test_a_piece_the_digit_model_surely_refuses_stays_out_whatever_the_sequence_model_reads(
        wrapper, sequence):
    reader = NumberReader(NotADigitFor(wrapper, 3, sure=0.999), sequence,
                          **config.image_limits())
    [reading] = reader.read([number("1234").data])
    assert reading.text == "124" and len(reading.digits) == 3


def test_pieces_both_models_call_not_a_digit_are_left_out(wrapper, sequence):
    reader = NumberReader(NotADigitFor(wrapper, 3), NoDigitFor(sequence, 3),
                          **config.image_limits())
    [reading] = reader.read([number("1234").data])
    assert reading.text == "124" and len(reading.digits) == 3
    [refused] = reader.read([number("33").data])
    assert isinstance(refused, ImageError) and refused.status == 422


class NeverRefuses:
    """The real model stage, refusing no piece as "not a digit"."""

    def __init__(self, wrapper):
        self.predict_tensor = wrapper.predict_tensor

    @staticmethod
    def refused(probabilities):
        return np.zeros(len(probabilities), bool)


def test_a_stroke_joined_too_long_to_cut_is_not_read_as_one_digit(wrapper, sequence):
    zigzag = Image.new("L", (4040, 240), 255)
    ImageDraw.Draw(zigzag).line([(20 + 20 * i, 20 if i % 2 else 220) for i in range(200)],
                                fill=0, width=6)  # 200 teeth: more columns than MAX_CUTS
    reader = NumberReader(NeverRefuses(wrapper), sequence, **config.image_limits())
    [outcome] = reader.read([encode(zigzag)])
    if isinstance(outcome, ImageError):
        assert outcome.status == 422
        return
    for digit in outcome.digits:
        assert digit.box[2] < 1.5 * digit.box[3], digit.box  # no digit 1.5 times as wide


class WrongAtFirst:
    """The real sequence model, except that its first call reads the first digit as another,
    unsurely; counts its calls."""

    def __init__(self, sequence):
        self._sequence, self.calls = sequence, 0

    def __call__(self, strip):
        self.calls += 1
        outputs = self._sequence(strip).copy()
        if self.calls == 1:
            likeliest = outputs.argmax(axis=1)
            first = int(np.flatnonzero(likeliest != BLANK)[0])
            run = np.flatnonzero(likeliest == likeliest[first])
            run = run[run < first + np.argmax(likeliest[first:] != likeliest[first])]
            outputs[run] = 0
            outputs[run, (likeliest[first] + 1) % 10], outputs[run, BLANK] = 0.6, 0.4
        return outputs


def test_an_unsure_sequence_reading_is_outvoted_by_other_views_of_the_row(wrapper, sequence):
    wrong = WrongAtFirst(sequence)
    reader = NumberReader(wrapper, wrong, **config.image_limits())
    [reading] = reader.read([number("4096", spacing="touching", medium="scan").data])
    assert 3 <= wrong.calls <= 1 + len(VIEWS)  # views that change nothing are not read
    assert reading.text == "4096" and len(reading.digits) == 4
    assert reading.digits[0].probability > 0.6  # the mean of the views that agree


def test_a_sure_sequence_reading_is_read_once(wrapper, sequence):
    calls = WrongAtFirst(sequence)
    calls.calls = 1  # no wrong first reading: the plain one is the real model's
    reader = NumberReader(wrapper, calls, **config.image_limits())
    [reading] = reader.read([number("4096", spacing="touching", medium="scan").data])
    assert reading.text == "4096" and calls.calls == 2
