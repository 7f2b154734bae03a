"""Size limits: decompression bombs refused from the header, upload, part, batch and pixel
caps, each a clear JSON answer, and the server's memory stays flat."""
import io

import numpy as np
import pytest
import requests
from PIL import Image

import config
from api.served_model import EXTENSION_KEY
from app import create_app
from core.model import ModelWrapper
from harness.images import encode, gif_declaring, jpeg_declaring, png_declaring, png_inflating
from harness.processes import rss_bytes
from tests.builders import digit_image
from tests.helpers import (MODEL_PATH, PREDICT, assert_json_error, healthy, only_worker,
                           post_files)

MIB = 1 << 20


@pytest.fixture(scope="module")
def bombs():
    """Small files declaring huge images; the last is a fully valid PNG inflating to 1.6 GB."""
    return {
        "wide.png": png_declaring(50_000, 50_000),
        "wide.gif": gif_declaring(60_000, 60_000),
        "wide.jpg": jpeg_declaring(60_000, 60_000),
        "many-pixels.png": png_declaring(9_000, 9_000),
        "inflates-to-1.6GB.png": png_inflating(40_000, 40_000),
    }


def test_the_inflating_png_builder_makes_valid_pngs():
    image = Image.open(io.BytesIO(png_inflating(300, 200, rows_per_block=50)))
    image.load()
    assert image.size == (300, 200) and not np.asarray(image).any()


def test_decompression_bombs_are_refused_from_the_header(service, bombs):
    for name, data in bombs.items():
        assert len(data) < 2 * MIB
        assert_json_error(post_files(service, (name, data)), 413, "pixels", "smaller image")


def test_bombs_leave_a_real_servers_memory_flat(server, bombs):
    worker = only_worker(server)
    before = rss_bytes(worker)
    for _ in range(3):
        for name, data in bombs.items():
            response = requests.post(server.url + PREDICT, files={"image": (name, data)},
                                     timeout=30)
            assert response.status_code == 413 and response.json()["status"] == "error"
    # Decoding any one of them would take gigabytes; being refused from the header takes none.
    assert rss_bytes(worker) - before < 100 * MIB
    assert healthy(server)


def test_an_upload_over_the_size_cap_gets_a_json_413(service):
    response = post_files(service, ("big.png", b"\0" * (config.SETTINGS["MAX_UPLOAD_BYTES"][0] + 1)))
    assert_json_error(response, 413, "MAX_UPLOAD_BYTES")


def test_a_small_form_of_too_many_parts_gets_a_413_that_says_so(service):
    body = "".join(f'--b\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\nv\r\n'
                   for n in range(1001)) + "--b--\r\n"
    response = service.post(PREDICT, data=body, content_type="multipart/form-data; boundary=b")
    assert_json_error(response, 413, "more than 1000 parts")
    assert "MAX_UPLOAD_BYTES" not in response.get_json()["message"]  # 30 KB is far below it


def test_a_batch_over_the_count_cap_gets_a_400(wrapper):
    client = create_app({"MAX_BATCH_FILES": 3}, model=wrapper).test_client()
    files = [(f"{i}.png", encode(digit_image())) for i in range(4)]
    assert_json_error(post_files(client, *files), 400, "4 files", "at most 3")
    assert post_files(client, *files[:3]).status_code == 200


def test_a_batch_stops_at_its_pixel_budget_and_only_later_files_fail(wrapper):
    """MAX_BATCH_PIXELS: 64 large PNGs would hold a worker past WORKER_TIMEOUT; the files past
    the budget fail alone, before they are decoded."""
    def client_with_budget(pixels):
        budgeted = ModelWrapper(MODEL_PATH, **config.image_limits(),
                                runtime=wrapper.runtime, max_batch_pixels=pixels)
        return create_app({}, model=budgeted).test_client()

    client = client_with_budget(2 * 96 * 96 + 100 * 100)
    files = [(f"{n}.png", encode(digit_image(size=(96, 96) if n < 2 else (100, 100))))
             for n in range(4)]
    results = post_files(client, *files).get_json()["results"]
    assert [entry["status"] for entry in results] == ["ok", "ok", "ok", "error"]
    assert "MAX_BATCH_PIXELS" in results[3]["message"] and "10000 pixels" in results[3]["message"]
    assert post_files(client, files[3]).status_code == 200  # alone, it fits
    photo = encode(digit_image(size=(1600, 1600)), "JPEG")  # decodes at 1/8 scale: 200x200
    results = post_files(client_with_budget(50_000), *[("p.jpg", photo)] * 2).get_json()["results"]
    assert [entry["status"] for entry in results] == ["ok", "error"]
    assert "40000 pixels" in results[1]["message"]
    truncated = encode(digit_image(size=(100, 100)))[:-40]  # decodes, then fails at its end
    results = post_files(client_with_budget(100 * 100 + 96 * 96 - 1), ("cut.png", truncated),
                         ("good.png", encode(digit_image()))).get_json()["results"]
    assert "truncated or corrupt" in results[0]["message"]
    assert "MAX_BATCH_PIXELS" in results[1]["message"]  # the corrupt file's decoding counted


def test_the_service_takes_its_pixel_budget_from_the_settings():
    budget = config.from_env({"MAX_BATCH_PIXELS": "1000"})
    served = create_app(budget).extensions[EXTENSION_KEY]  # the model the factory loaded
    outcomes = served.predict([encode(digit_image(size=(28, 28)))] * 2)  # 784 pixels each
    assert not isinstance(outcomes[0], Exception) and "MAX_BATCH_PIXELS" in str(outcomes[1])


def test_an_absurdly_long_thin_image_is_refused_by_the_side_limit(service):
    assert_json_error(post_files(service, ("1x20000.png", encode(Image.new("L", (1, 20000))))),
                      413, "1x20000")
