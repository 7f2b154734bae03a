"""Hostile and mistaken input: every case a clear JSON 4xx, quickly, and the server stays healthy.

Every file here is built by the test itself: decompression bombs, truncated and corrupt images,
things that are not images at all, odd shapes and modes, hostile names and oversize bodies.
"""
import io
import os
import pathlib
import shlex
import socket
import struct
import threading
import zipfile
import zlib

import numpy as np
import pytest
import requests
from PIL import Image, ImageDraw

import config
from app import _load_model, create_app
from core.model import ModelWrapper
from tests.helpers import MODEL_PATH, ROOT, children, encode

PREDICT = "/model/predict"
MIB = 1 << 20


# ----------------------------------------------------------------------------- image builders

def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width, height):
    """A small PNG whose header claims width x height; its pixel data stops after one row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\0" * (width + 1))) + _chunk(b"IEND", b""))


def png_inflating(width, height, rows_per_block=1000):
    """A complete, valid 8-bit grey PNG of zeros whose pixel data inflates to width*height bytes.

    One deflate block of `rows_per_block` zero rows, ended by a full flush (so it stands alone),
    is repeated; an empty final block and the Adler-32 of all-zero data close the zlib stream.
    """
    assert height % rows_per_block == 0
    row = width + 1  # filter byte + pixels
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(b"\0" * (row * rows_per_block)) + packer.flush(zlib.Z_FULL_FLUSH)
    total = row * height
    adler = ((total % 65521) << 16) | 1  # Adler-32 of `total` zero bytes
    stream = (b"\x78\xda" + block * (height // rows_per_block) + b"\x01\x00\x00\xff\xff"
              + struct.pack(">I", adler))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream)
            + _chunk(b"IEND", b""))


def gif_declaring(width, height):
    """A GIF whose screen and single frame claim width x height, with a few bytes of pixels."""
    screen = b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\0\0\0\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00"
    return screen + frame + b"\x02\x02\x44\x01\x00" + b"\x3b"


def jpeg_declaring(width, height):
    """A real 16x16 JPEG with its frame header (SOF0) patched to claim width x height."""
    data = bytearray(encode(Image.new("L", (16, 16), 255), "JPEG"))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def digit_image(mode="L", size=(96, 96), ink=0, paper=255):
    """A thick hand-drawn-looking 7 on plain paper, in any Pillow mode."""
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.line([(w * 0.2, h * 0.2), (w * 0.8, h * 0.2), (w * 0.45, h * 0.85)], fill=ink,
              width=max(2, w // 10))
    return image.convert(mode)


def zip_file():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("digit.png", encode(digit_image()))
    return buffer.getvalue()


def animated_gif():
    frames = [digit_image("P"), Image.new("P", (96, 96), 0), digit_image("P", ink=128)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def service(wrapper):
    """The app as served (TESTING off: errors go through the real handlers)."""
    return create_app({}, model=wrapper).test_client()


def post_files(client, *files):
    return client.post(PREDICT, data={"image": [(io.BytesIO(data), name) for name, data in files]},
                       content_type="multipart/form-data")


def assert_json_error(response, status, *words):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == "error"
    assert body["message"] and "Traceback" not in body["message"]
    for word in words:
        assert word in body["message"]
    return body


# ----------------------------------------------------------------------------- requests

@pytest.mark.parametrize("content_type, body", [
    (None, b""),
    ("application/json", b'{"image": "aGVsbG8="}'),
    ("application/x-www-form-urlencoded", b"image=%89PNG"),
    ("text/plain", b"image"),
    ("multipart/form-data", b"--x\r\n"),  # no boundary parameter
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; name=image\r\n"),
    ("multipart/form-data; boundary=x", b"garbage without any boundary line"),
], ids=["empty", "json", "urlencoded", "text", "no-boundary", "truncated-part", "garbage"])
def test_bodies_that_are_not_a_file_upload_get_a_400_naming_the_field(service, content_type, body):
    response = service.post(PREDICT, data=body, content_type=content_type)
    assert_json_error(response, 400, "multipart/form-data", "'image'")


def test_a_file_in_the_wrong_field_names_both_fields(service):
    response = service.post(PREDICT, data={"file": (io.BytesIO(encode(digit_image())), "7.png")})
    assert_json_error(response, 400, "'image'", "file")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_methods_get_a_json_405_that_says_use_post(service, method):
    response = service.open(PREDICT, method=method)
    assert_json_error(response, 405, method, "POST")
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/predict", "/model/predict/extra", "/model/../etc/passwd",
                                  "/%00", "/" + "a" * 5000, "/static/../../app.py"])
def test_unknown_paths_get_a_json_404(service, path):
    body = assert_json_error(service.get(path), 404, "/swagger.json")
    assert len(body["message"]) < 300


def test_a_malformed_field_mask_header_gets_a_json_400(service):
    response = service.get("/model/metadata", headers={"X-Fields": "{,"})
    assert_json_error(response, 400, "X-Fields")


# ----------------------------------------------------------------------------- not images

NOT_IMAGES = {
    "zero-bytes.png": b"",
    "notes.txt": b"just some text, not a digit\n" * 20,
    "paper.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n",
    "digit.zip": zip_file(),
    "program.elf": b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x90" * 200,
    "program.exe": b"MZ\x90\x00\x03\x00\x00\x00" + bytes(52) + b"PE\x00\x00" + b"\x00" * 200,
    "digit.svg": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="28" '
                  b'height="28"><text x="5" y="20">7</text></svg>'),
    "page.html": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "icon.ico": encode(digit_image("RGB", (32, 32)), "ICO"),
    "targa.tga": encode(digit_image("RGB"), "TGA"),
    "truncated.png": encode(digit_image())[:200],
    "truncated.jpg": encode(digit_image(), "JPEG", quality=90)[:300],
    "header-only.gif": encode(digit_image("P"), "GIF")[:13],
    "bad-crc.png": encode(digit_image())[:29] + b"\0\0\0\0" + encode(digit_image())[33:],
    "bad-ihdr.png": b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", b"\xff" * 13) + _chunk(b"IEND", b""),
    "jpeg-magic-only.jpg": b"\xff\xd8\xff\xe0" + os.urandom(64),
    "png-magic-only.png": b"\x89PNG\r\n\x1a\n" + os.urandom(64),
    "zero-size.gif": gif_declaring(0, 0),
}


@pytest.mark.parametrize("name", sorted(NOT_IMAGES))
def test_files_that_are_not_readable_images_get_a_400(service, name):
    body = assert_json_error(post_files(service, (name, NOT_IMAGES[name])), 400)
    assert any(hint in body["message"] for hint in ("not an image", "empty", "not accepted",
                                                    "truncated or corrupt", "no pixels"))


def test_a_bad_file_in_a_batch_fails_only_its_own_entry(service):
    files = [("seven.png", encode(digit_image()))] + sorted(NOT_IMAGES.items())
    response = post_files(service, *files)
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert results[0]["status"] == "ok"
    assert all(entry["status"] == "error" and entry["message"] for entry in results[1:])


# ----------------------------------------------------------------------------- bombs and sizes

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
    """MAX_BATCH_PIXELS: 64 large PNGs (4000x4000 decodes in ~0.5 s each) would hold a worker
    past WORKER_TIMEOUT; the files past the budget fail alone, before they are decoded."""
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
    served = _load_model({**budget, "MODEL_PATH": str(ROOT / "assets" / "mnist_cnn.tflite")})
    outcomes = served.predict([encode(digit_image(size=(28, 28)))] * 2)  # 784 pixels each
    assert not isinstance(outcomes[0], Exception) and "MAX_BATCH_PIXELS" in str(outcomes[1])


def _raw_request(server, head, body_chunks):
    """Send a request by hand, body in a thread; return (response bytes, body bytes sent)."""
    sent = [0]
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=60)

    def send_body():
        try:
            for chunk in body_chunks:
                connection.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending: expected

    connection.sendall(head)
    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            part = connection.recv(65536)
            if not part:
                break
            answer += part
    finally:
        connection.close()
        sender.join(30)
    return answer, sent[0]


def test_the_guarded_body_still_reads_and_iterates_as_wsgi_input_must():
    from api.wsgi_input import GuardedInput
    assert list(GuardedInput(io.BytesIO(b"a\nb\n"))) == [b"a\n", b"b\n"]
    assert GuardedInput(io.BytesIO(b"a\nb\n")).readlines() == [b"a\n", b"b\n"]


def test_a_broken_chunked_body_is_a_json_400(server):
    """gunicorn's own reader raises InvalidChunkSize inside the app; that is the client's fault."""
    head = (f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nConnection: close\r\n\r\n")
    answer, _ = _raw_request(server, head.encode(), [b"zz\r\nhello\r\n0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b'"status": "error"' in answer and b"could not be read" in answer
    assert healthy(server)


def _multipart_head(boundary):
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n").encode()


def test_a_real_server_refuses_a_declared_huge_body_before_reading_it(server):
    declared = 1 << 30
    head = (f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n"
            "Content-Type: multipart/form-data; boundary=b0undary\r\n\r\n").encode()
    body = [_multipart_head("b0undary")] + [b"\0" * MIB] * 64
    answer, sent = _raw_request(server, head, iter(body))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"status": "error"' in answer and b"MAX_UPLOAD_BYTES" in answer
    assert sent < 48 * MIB  # the server stopped reading long before the declared gigabyte
    assert healthy(server)


def test_a_real_server_stops_reading_a_chunked_body_at_the_cap(server):
    head = (f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: multipart/form-data; boundary=b0undary\r\n\r\n").encode()

    def chunks(total=128 * MIB):
        first = _multipart_head("b0undary")
        yield b"%x\r\n%s\r\n" % (len(first), first)
        for _ in range(total // MIB):
            yield b"%x\r\n%s\r\n" % (MIB, b"\0" * MIB)
        yield b"0\r\n\r\n"

    worker = only_worker(server)
    before = rss_bytes(worker)
    answer, sent = _raw_request(server, head, chunks())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"MAX_UPLOAD_BYTES" in answer
    assert sent < 64 * MIB  # far less than the 128 MiB the client wanted to send
    assert rss_bytes(worker) - before < 64 * MIB
    assert healthy(server)


# ----------------------------------------------------------------------------- odd images

def cmyk_jpeg():
    return encode(digit_image("CMYK"), "JPEG", quality=95)


ODD_IMAGES = {
    "one-pixel.png": (encode(Image.new("L", (1, 1), 0)), {422}),
    "one-by-9000.png": (encode(Image.new("L", (1, 9000), 255)), {422}),
    "9000-by-one-with-ink.png": (encode(np.tile(np.r_[np.full(4000, 255), np.zeros(1000),
                                                      np.full(4000, 255)].astype(np.uint8),
                                                (1, 1))), {200, 422}),
    "blank-white.png": (encode(Image.new("L", (280, 280), 255)), {422}),
    "blank-black.jpg": (encode(Image.new("RGB", (280, 280), 0), "JPEG"), {422}),
    "noise.png": (encode(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)),
                  {200, 422}),
    "animated.gif": (animated_gif(), {200}),
    "cmyk.jpg": (cmyk_jpeg(), {200}),
    "progressive.jpg": (encode(digit_image("RGB"), "JPEG", progressive=True), {200}),
    "sixteen-bit.png": (encode(np.asarray(digit_image(), dtype=np.uint16) * 257), {200}),
    "one-bit.bmp": (encode(digit_image("1"), "BMP"), {200}),
    "transparent.png": (encode(digit_image("LA")), {200}),
    "palette.gif": (encode(digit_image("P"), "GIF"), {200}),
    "rgba.webp": (encode(digit_image("RGBA"), "WEBP"), {200}),
    "float.tiff": (encode(digit_image("F"), "TIFF"), {200}),
    "lab.tiff": (encode(digit_image("RGB").convert("LAB"), "TIFF"), {200, 400, 422}),
    "ycbcr.jpg": (encode(digit_image("YCbCr"), "JPEG"), {200}),
}


@pytest.mark.parametrize("name", sorted(ODD_IMAGES))
def test_odd_but_real_images_are_answered_never_a_5xx(service, name):
    data, expected = ODD_IMAGES[name]
    response = post_files(service, (name, data))
    assert response.status_code in expected, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == ("ok" if response.status_code == 200 else "error")


def test_an_absurdly_long_thin_image_is_refused_by_the_side_limit(service):
    assert_json_error(post_files(service, ("1x20000.png", encode(Image.new("L", (1, 20000))))),
                      413, "1x20000")


HOSTILE_NAMES = ["../../../../etc/passwd", "..\\..\\windows\\system32\\cmd.exe", "/tmp/x.png",
                 "ümlaut-数字-😀.png", "a" * 1000 + ".png", "<script>alert(1)</script>.png", ".",
                 "con.png"]


def test_hostile_file_names_are_only_echoed_never_used(service, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = [(name, encode(digit_image())) for name in HOSTILE_NAMES]
    response = post_files(service, *files)
    assert response.status_code == 200
    results = response.get_json()["results"]
    # Multipart quoting turns "\\x" into "x": the name is echoed as the server received it.
    expected = [name.replace("\\", "")[:255] for name in HOSTILE_NAMES]
    assert [entry["filename"] for entry in results] == expected
    assert all(entry["status"] == "ok" for entry in results)
    assert list(tmp_path.iterdir()) == []


def test_a_file_name_carrying_a_header_injection_breaks_only_its_own_part(service):
    bad = ("name\r\nX-Injected: 1.png", encode(digit_image()))
    response = post_files(service, bad)
    assert_json_error(response, 400, "'image'")  # the part is malformed, so no file arrived
    assert "X-Injected" not in response.headers
    response = post_files(service, bad, ("good.png", encode(digit_image())))
    assert response.status_code == 200 and "X-Injected" not in response.headers
    assert response.get_json()["predictions"][0]["prediction"] == 7  # the good file's answer


# ----------------------------------------------------------------------------- security basics

def test_debug_is_off_unless_asked_for(wrapper):
    assert config.from_env({})["DEBUG"] is False
    assert create_app({}, model=wrapper).debug is False
    for value in ("", "0", "false", "no", "off"):
        assert config.from_env({"DEBUG": value})["DEBUG"] is False


def test_the_container_runs_as_a_non_root_user_with_debug_off():
    lines = [line.split() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [words[1] for words in lines if words and words[0] == "USER"]
    assert users and users[-1] not in ("root", "0")
    environment = final_stage_environment()
    assert environment["MODEL_PATH"].endswith(".tflite")  # the ENV lines were read
    assert config.from_env(environment)["DEBUG"] is False


def final_stage_environment():
    """The variables the Dockerfile's final stage sets with ENV (continued lines joined)."""
    final_stage = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").rsplit("\nFROM ", 1)[1]
    environment = {}
    for line in final_stage.splitlines():
        if line.startswith("ENV "):
            environment.update(pair.split("=", 1) for pair in shlex.split(line[4:]))
    return environment


def test_api_responses_carry_protective_headers(service):
    for response in (service.get("/model/metadata"), service.get("/nope"),
                     post_files(service, ("x.txt", b"text"))):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert response.headers["Cache-Control"] == "no-store"
        assert "Access-Control-Allow-Origin" not in response.headers


def test_the_swagger_ui_page_and_its_assets_still_load(service):
    page = service.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy and "frame-ancestors 'none'" in policy
    html = page.get_data(as_text=True)
    assets = [part.split('"')[0] for part in html.split('src="')[1:] + html.split('href="')[1:]]
    local = [url for url in assets if url.startswith("/")]
    assert any(url.endswith(".js") for url in local)
    assert not [url for url in assets if url.startswith("http")]  # all same-origin, as CSP needs
    for url in local:
        assert service.get(url).status_code == 200, url
    assert service.get("/swagger.json").status_code == 200


def cors_client(wrapper, **settings):
    return create_app(settings, model=wrapper).test_client()


def test_cors_is_off_by_default(service):
    response = service.get("/model/metadata", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = service.options(PREDICT, headers={"Origin": "https://evil.example",
                                                  "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_enabled_without_origins_allows_any(wrapper):
    client = cors_client(wrapper, CORS_ENABLE=True)
    response = client.get("/model/metadata", headers={"Origin": "https://app.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]
    assert "Inference-Header-Content-Length" in response.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/model/metadata").headers


def test_cors_origins_restricts_and_answers_preflight(wrapper):
    client = cors_client(wrapper, CORS_ENABLE=True,
                         CORS_ORIGINS=config.SETTINGS["CORS_ORIGINS"][1](
                             "https://a.example, https://b.example"))
    preflight = client.options(PREDICT, headers={"Origin": "https://b.example",
                                                 "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "x-request-id"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "X-Request-ID" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Inference-Header-Content-Length" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Origin" in preflight.headers["Vary"]
    data = {"image": (io.BytesIO(encode(digit_image())), "7.png")}
    allowed = client.post(PREDICT, data=data, headers={"Origin": "https://a.example"})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://a.example"
    other = client.get("/model/metadata", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers and "Origin" in other.headers["Vary"]
    refused = client.options(PREDICT, headers={"Origin": "https://evil.example",
                                               "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Methods" not in refused.headers


# ----------------------------------------------------------------------------- real-server probes

def only_worker(server):
    """The pid of the single gunicorn worker under the session server's master."""
    workers = children(server.process.pid)
    assert len(workers) == 1, workers
    return workers[0]


def rss_bytes(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def healthy(server):
    """The server still answers a real prediction after the abuse."""
    response = requests.post(server.url + PREDICT,
                             files={"image": ("7.png", encode(digit_image()))}, timeout=30)
    return response.status_code == 200 and response.json()["status"] == "ok"
