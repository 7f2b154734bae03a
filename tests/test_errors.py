"""Mistaken requests and files that are not images: each a JSON 4xx that says what to fix."""
import io
import os

import pytest

from harness.images import encode, gif_declaring, png_chunk
from tests.builders import digit_image, zip_file
from tests.helpers import PREDICT, assert_json_error, post_files


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
    "bad-ihdr.png": (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", b"\xff" * 13)
                     + png_chunk(b"IEND", b"")),
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
