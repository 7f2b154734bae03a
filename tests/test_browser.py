"""The drawing page and the Swagger UI in a real headless browser (Debian's Chromium).

Digits are drawn with real mouse (and touch) strokes on the page served by the real gunicorn
server; the page sends them through /model/predict like any upload. Every request the browser
makes is recorded: a page that reaches beyond the server (a CDN, a font host) fails the test.
Screenshots land in test-artifacts/browser/ for a person to look at.
"""
import base64
import json
import math
import os
import pathlib

import numpy as np
import pytest
from PIL import Image

from harness import ROOT
from tests.builders import number

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test requirement")

CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SETTLE_MS = 15_000


def _arc(cx, cy, rx, ry, start, end, points=16):
    """Points along an ellipse from angle `start` to `end` (degrees, 0 = right, 90 = down)."""
    return [(cx + rx * math.cos(math.radians(start + (end - start) * i / points)),
             cy + ry * math.sin(math.radians(start + (end - start) * i / points)))
            for i in range(points + 1)]


# Each digit: strokes of (x, y) points in pad units (0..1), written as people write them.
DIGITS = {
    0: [_arc(0.5, 0.5, 0.2, 0.3, -90, 275, 28)],
    1: [[(0.53, 0.2), (0.5, 0.5), (0.47, 0.8)]],
    2: [_arc(0.5, 0.34, 0.17, 0.14, 200, 380, 12) + [(0.58, 0.55), (0.3, 0.8), (0.72, 0.8)]],
    3: [_arc(0.48, 0.33, 0.17, 0.14, 210, 450, 14)[:-1] + _arc(0.48, 0.64, 0.19, 0.17, 270, 500, 14)],
    4: [[(0.34, 0.2), (0.3, 0.56), (0.72, 0.56)], [(0.64, 0.22), (0.62, 0.84)]],
    5: [[(0.68, 0.2), (0.38, 0.2), (0.35, 0.47)] + _arc(0.49, 0.63, 0.19, 0.17, 225, 505, 14)],
    6: [[(0.62, 0.18), (0.45, 0.35)] + _arc(0.5, 0.64, 0.17, 0.17, 200, 560, 20)],
    7: [[(0.28, 0.22), (0.72, 0.22), (0.45, 0.82)]],
    8: [_arc(0.5, 0.32, 0.14, 0.13, 90, -270, 18) + _arc(0.5, 0.63, 0.17, 0.17, -90, 270, 20)],
    9: [_arc(0.5, 0.36, 0.16, 0.15, 0, -360, 20) + [(0.65, 0.6), (0.62, 0.84)]],
}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make browser-deps` installs it")
        pytest.skip(f"{CHROMIUM} is missing: `make browser-deps` installs it")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        running = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield running
        running.close()


class Visit:
    """A browser page on the server that records every request and console error it makes."""

    def __init__(self, browser, server, **context_args):
        self.context = browser.new_context(**context_args)
        self.outside, self.errors = [], []
        self.context.route("**/*", self._only_server(server.url))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.set_default_timeout(SETTLE_MS)

    def _only_server(self, origin):
        def handle(route):
            if route.request.url.startswith(origin + "/"):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()
        return handle

    def screenshot(self, name):
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self):
        self.context.close()
        assert self.outside == [], f"the page reached beyond the server: {self.outside}"
        assert self.errors == [], f"errors in the browser console: {self.errors}"


@pytest.fixture
def drawing_page(browser, server):
    visit = Visit(browser, server, viewport={"width": 900, "height": 800})
    visit.page.goto(server.url + "/app")
    yield visit
    visit.close()


def draw(page, strokes, scale=1.0, offset=(0.0, 0.0)):
    """Draw strokes on #pad with the mouse; `scale` and `offset` (pad units) move them."""
    box = page.locator("#pad").bounding_box()

    def at(x, y):
        return (box["x"] + (offset[0] + 0.5 + (x - 0.5) * scale) * box["width"],
                box["y"] + (offset[1] + 0.5 + (y - 0.5) * scale) * box["height"])

    for stroke in strokes:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*at(*point), steps=4)
        page.mouse.up()


def settled_digit(page):
    """The digit shown once every request the page started has been answered."""
    page.locator("body[data-pending='0']").wait_for(state="attached")
    return page.text_content("#digit")


def predict_drawing(page):
    page.click("#predict")
    return settled_digit(page)


@pytest.mark.parametrize("digit", sorted(DIGITS))
def test_drawn_digit_is_recognised(drawing_page, digit):
    page = drawing_page.page
    page.click("#clear")
    draw(page, DIGITS[digit])
    shown = predict_drawing(page)
    drawing_page.screenshot(f"drawn-{digit}")
    assert shown == str(digit)
    assert page.locator("#bars li").count() == 10
    top = page.locator("#bars li.top")
    assert top.get_attribute("data-digit") == str(digit)
    assert float(top.locator(".value").text_content().rstrip("%")) > 50


def test_small_off_centre_drawing_with_the_same_pen(drawing_page):
    """A digit drawn small in a corner has relatively thick strokes; it still comes out right."""
    page = drawing_page.page
    draw(page, DIGITS[3], scale=0.45, offset=(-0.22, -0.2))
    shown = predict_drawing(page)
    drawing_page.screenshot("drawn-3-small")
    assert shown == "3"


def test_prediction_follows_when_a_stroke_ends_and_clear_empties(drawing_page):
    page = drawing_page.page
    draw(page, DIGITS[7])  # no click: the page predicts by itself when the stroke ends
    page.locator("#digit:not(:empty)").wait_for()
    assert settled_digit(page) == "7"
    page.click("#clear")
    assert page.text_content("#digit") == ""
    page.click("#predict")  # nothing drawn: the page says so rather than sending a blank
    assert "draw a digit" in page.text_content("#message")
    blank = page.evaluate("""() => {
        const pad = document.querySelector('#pad');
        const pixels = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
        return pixels.every((value) => value === 255);
    }""")
    assert blank


def test_clear_right_after_predict_leaves_the_pad_blank(drawing_page):
    """The PNG is encoded after the click; a clear in between must win, not the old drawing."""
    page = drawing_page.page
    page.click("#clear")
    draw(page, DIGITS[3])
    page.evaluate("() => { document.querySelector('#predict').click();"
                  " document.querySelector('#clear').click(); }")
    assert settled_digit(page) == ""
    page.wait_for_timeout(500)  # an answer arriving late would show up here
    assert page.text_content("#digit") == ""


def test_chosen_and_dropped_image_files_are_predicted(drawing_page):
    page = drawing_page.page
    page.set_input_files("#file", str(ROOT / "samples" / "4_photo.jpg"))
    assert settled_digit(page) == "4"
    drawing_page.screenshot("file-4-photo")

    dropped = base64.b64encode((ROOT / "samples" / "9_canvas.png").read_bytes()).decode()
    transfer = page.evaluate_handle("""(data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "9_canvas.png", {type: "image/png"}));
        return transfer;
    }""", dropped)
    page.dispatch_event("#pad", "drop", {"dataTransfer": transfer})
    assert settled_digit(page) == "9"
    drawing_page.screenshot("dropped-9-canvas")


def test_unreadable_file_shows_the_servers_message(drawing_page):
    page = drawing_page.page
    page.set_input_files("#file", files=[{"name": "notes.png", "mimeType": "image/png",
                                          "buffer": b"not an image at all"}])
    assert settled_digit(page) == "?"
    assert "not an image" in page.text_content("#message")
    drawing_page.errors.clear()  # the browser logs the 400 and the failed preview


def test_phone_sized_screen_and_a_finger(browser, server):
    visit = Visit(browser, server, viewport={"width": 375, "height": 667}, has_touch=True,
                  is_mobile=True, device_scale_factor=2)
    page = visit.page
    page.goto(server.url + "/app")
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("#pad").bounding_box()
    assert fits, "the page scrolls sideways on a phone"
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375 and box["width"] >= 250
    for selector in ("#predict", "#clear"):
        assert page.locator(selector).bounding_box()["height"] >= 40, "too small for a finger"

    session = visit.context.new_cdp_session(page)
    stroke = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in DIGITS[1][0]]
    session.send("Input.dispatchTouchEvent",
                 {"type": "touchStart", "touchPoints": [{"x": stroke[0][0], "y": stroke[0][1]}]})
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
        for step in range(1, 9):
            session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                {"x": x0 + (x1 - x0) * step / 8, "y": y0 + (y1 - y0) * step / 8}]})
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    page.locator("#digit:not(:empty)").wait_for()
    shown = settled_digit(page)
    visit.screenshot("phone-drawn-1")
    visit.close()
    assert shown == "1"


def test_swagger_ui_lists_predict_and_try_it_out_works(browser, server):
    visit = Visit(browser, server, viewport={"width": 1200, "height": 1000})
    page = visit.page
    page.goto(server.url + "/")
    page.locator("#operations-tag-model").click()  # the namespace starts folded
    operation = page.locator("#operations-model-post_predict")
    operation.wait_for()
    assert "/model/predict" in operation.locator(".opblock-summary").text_content()
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("input[type=file]").set_input_files(str(ROOT / "samples" / "2_canvas.png"))
    operation.locator("button.execute").click()
    response = operation.locator(".live-responses-table .response")
    response.wait_for()
    visit.screenshot("swagger-try-it-out")
    assert response.locator(".response-col_status").first.text_content().strip() == "200"
    body = response.locator(".response-col_description pre").first.text_content()
    visit.close()
    assert json.loads(body)["predictions"][0]["prediction"] == 2


def test_page_is_served_by_the_app_with_its_contract(client):
    """No browser needed: the redirect, the ids the tests rely on, the CSP, JSON errors."""
    assert client.get("/app").headers["Location"].endswith("/app/")
    page = client.get("/app/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for contract in ('<canvas id="pad"', 'id="predict"', 'id="clear"', 'id="digit"'):
        assert contract in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "http" not in html.replace('href="../"', "")  # nothing from elsewhere
    assert client.get("/app/static/app.js").status_code == 200
    missing = client.get("/app/static/nope.js")
    assert missing.status_code == 404 and missing.get_json()["status"] == "error"


INK_PIXELS = """() => {
    const pad = document.querySelector('#pad');
    const pixels = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
    let count = 0;
    for (let i = 0; i < pixels.length; i += 4) count += pixels[i] < 128;
    return count;
}"""
README_SCREENSHOT = ROOT / "docs" / "drawing-page.png"


def test_each_pen_width_draws_wider_and_is_still_read(drawing_page):
    page = drawing_page.page
    ink = {}
    for pen in ("fine", "medium", "bold"):
        page.click("#clear")
        page.get_by_label(pen, exact=True).check()
        draw(page, DIGITS[7])
        ink[pen] = page.evaluate(INK_PIXELS)
        assert predict_drawing(page) == "7", f"a 7 drawn with the {pen} pen"
    assert ink["fine"] * 1.3 < ink["medium"] and ink["medium"] * 1.3 < ink["bold"], ink


def test_undo_takes_back_the_last_stroke_and_predicts_again(drawing_page):
    page = drawing_page.page
    page.click("#clear")
    assert page.locator("#undo").is_disabled()
    draw(page, DIGITS[4])
    four = page.evaluate(INK_PIXELS)
    assert settled_digit(page) == "4" or predict_drawing(page) == "4"
    draw(page, [[(0.1, 0.9), (0.9, 0.1)]])  # a slip of the pen across the digit
    assert page.evaluate(INK_PIXELS) > four
    page.click("#undo")
    assert page.evaluate(INK_PIXELS) == four  # redrawn from the strokes: exactly the 4 again
    page.locator("#digit:not(:empty)").wait_for()  # predicts again by itself
    assert settled_digit(page) == "4"
    page.keyboard.press("Control+z")  # the 4's second stroke
    page.keyboard.press("Control+z")  # its first
    assert page.evaluate(INK_PIXELS) == 0
    assert page.locator("#undo").is_disabled()
    assert page.text_content("#digit") == ""
    draw(page, DIGITS[1])
    page.click("#clear")
    assert page.locator("#undo").is_disabled() and page.evaluate(INK_PIXELS) == 0


def looks_the_same(one, other):
    """Whether two PNG files show the same picture, up to a few pixels of anti-aliasing."""
    first, second = (np.asarray(Image.open(path).convert("RGB"), np.int16)
                     for path in (one, other))
    return first.shape == second.shape and \
        (np.abs(first - second).max(axis=2) > 32).mean() < 0.001


def test_the_readme_screenshot_of_the_drawing_page(drawing_page):
    """Redraws docs/drawing-page.png, the picture the README opens with, when the page no
    longer looks like it (a new picture lands in the working tree, to commit)."""
    page = drawing_page.page
    page.click("#clear")
    draw(page, DIGITS[3])
    assert predict_drawing(page) == "3"
    fresh = ARTIFACTS / "drawing-page.png"
    page.locator("main").screenshot(path=str(fresh), animations="disabled")
    assert fresh.stat().st_size > 10_000
    if not README_SCREENSHOT.is_file() or not looks_the_same(fresh, README_SCREENSHOT):
        README_SCREENSHOT.write_bytes(fresh.read_bytes())


def test_swagger_ui_fits_a_phone_and_links_to_the_drawing_page(browser, server):
    visit = Visit(browser, server, viewport={"width": 390, "height": 844}, has_touch=True,
                  is_mobile=True, device_scale_factor=2)
    page = visit.page
    page.goto(server.url + "/")
    link = page.locator(".info a", has_text="Draw a digit")
    link.wait_for()
    layout_width = page.evaluate("window.innerWidth")  # 980 without a viewport meta tag
    visit.screenshot("phone-swagger")
    with visit.context.expect_page() as opened:  # Swagger UI opens description links in a tab
        link.click()
    drawing = opened.value
    drawing.locator("#pad").wait_for()
    visit.close()
    assert layout_width <= 400
    assert drawing.url == server.url + "/app/"


def test_a_drawing_that_is_not_a_digit_is_refused_in_words(drawing_page):
    page = drawing_page.page
    draw(page, [[(0.25, 0.2), (0.75, 0.8)], [(0.75, 0.2), (0.25, 0.8)]])  # an X
    assert predict_drawing(page) == ""
    drawing_page.screenshot("drawn-x-refused")
    assert page.text_content("#confidence") == "that does not look like a digit"
    assert page.get_attribute(".answer", "data-state") == "refused"
    assert page.locator("#bars li.top").count() == 0
    drawing_page.errors.clear()  # the browser logs the 422
    page.click("#clear")
    assert page.get_attribute(".answer", "data-state") == ""


def test_an_unsure_answer_is_shown_small_with_the_runner_up(drawing_page):
    page = drawing_page.page
    page.route("**/model/predict", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=json.dumps({"status": "ok", "predictions": [
            {"prediction": 4, "probability": 0.55}, {"prediction": 9, "probability": 0.4},
            *({"prediction": d, "probability": 0.05 / 8} for d in (0, 1, 2, 3, 5, 6, 7, 8))]})))
    draw(page, DIGITS[4])
    assert predict_drawing(page) == "4"
    drawing_page.screenshot("unsure-4-or-9")
    assert page.get_attribute(".answer", "data-state") == "unsure"
    assert page.text_content("#confidence") == "not sure: 4 (55.0%) or 9 (40.0%)"
    small = page.eval_on_selector("#digit", "e => parseFloat(getComputedStyle(e).fontSize)")
    page.unroute("**/model/predict")
    page.click("#clear")
    draw(page, DIGITS[7])
    assert predict_drawing(page) == "7"
    assert page.get_attribute(".answer", "data-state") == "sure"
    sure = page.eval_on_selector("#digit", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert small < sure


def test_no_guess_between_the_strokes_of_one_digit(drawing_page):
    """The page predicts when the drawing rests: a second stroke begun within the pause
    cancels the guess the first stroke would have had."""
    page = drawing_page.page
    sent = []
    page.on("request", lambda request: request.url.endswith("/model/predict") and
            sent.append(request))
    first, second = DIGITS[4]
    draw(page, [first])
    page.wait_for_timeout(150)  # well within the page's pause after a stroke
    draw(page, [second])
    page.locator("#digit:not(:empty)").wait_for()
    assert settled_digit(page) == "4"
    assert len(sent) == 1

def write_number(page, text, slot=0.7):
    """Write the digits of `text` side by side on the wide pad, each in a slot `slot` times
    the pad's height wide, the row centred."""
    box = page.locator("#pad").bounding_box()
    width = slot * box["height"]
    left = box["x"] + (box["width"] - width * len(text)) / 2
    for index, character in enumerate(text):
        for stroke in DIGITS[int(character)]:
            points = [(left + (index + x) * width, box["y"] + y * box["height"])
                      for x, y in stroke]
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point, steps=4)
            page.mouse.up()


def test_number_mode_reads_a_written_number_and_boxes_each_digit(drawing_page):
    page = drawing_page.page
    page.check("input[name='mode'][value='number']")
    pad = page.locator("#pad").bounding_box()
    assert pad["width"] > 2.5 * pad["height"]
    assert page.evaluate("[pad.width, pad.height]") == [840, 280]
    page.uncheck("#auto")
    write_number(page, "2026")
    shown = predict_drawing(page)
    drawing_page.screenshot("number-2026")
    assert shown == "2026"
    assert "sure of all 4 digits" in page.text_content("#confidence")
    boxes = page.locator("#boxes .box")
    assert [boxes.nth(i).get_attribute("data-digit") for i in range(4)] == list("2026")
    placed = [boxes.nth(i).bounding_box() for i in range(4)]
    assert [b["x"] for b in placed] == sorted(b["x"] for b in placed)
    for placed_box in placed:  # on the pad, each about a digit's size
        assert pad["x"] - 1 <= placed_box["x"] and placed_box["x"] + placed_box["width"] <= (
            pad["x"] + pad["width"] + 1)
        assert 0.3 * pad["height"] < placed_box["height"] <= pad["height"] + 1
    assert page.locator("#bars").is_hidden()


def test_number_mode_reads_a_dropped_picture_and_places_its_boxes_on_it(drawing_page, tmp_path):
    page = drawing_page.page
    page.check("input[name='mode'][value='number']")
    picture = tmp_path / "1984.png"
    picture.write_bytes(number("1984", medium="photo").data)
    page.set_input_files("#file", str(picture))
    assert settled_digit(page) == "1984"
    pad = page.locator("#pad").bounding_box()
    lefts = [page.locator("#boxes .box").nth(i).bounding_box()["x"] for i in range(4)]
    assert lefts == sorted(lefts) and pad["x"] <= lefts[0] and lefts[-1] < pad["x"] + pad["width"]


def test_back_to_one_digit_the_pad_is_square_and_the_boxes_are_gone(drawing_page):
    page = drawing_page.page
    page.check("input[name='mode'][value='number']")
    write_number(page, "77")
    assert predict_drawing(page) == "77"
    page.check("input[name='mode'][value='digit']")
    assert page.evaluate("[pad.width, pad.height]") == [280, 280]
    assert page.locator("#boxes .box").count() == 0
    draw(page, DIGITS[7])
    assert predict_drawing(page) == "7"
    assert page.locator("#bars li").count() == 10
