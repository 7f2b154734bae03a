"""api/uploads: the files of a multipart body are the files Werkzeug's form parser finds, and the
bodies real clients write take the fast path."""
import io

import pytest
import requests
import urllib3
from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.test import EnvironBuilder

from api.uploads import request_files, split_plain_multipart
from client.cli import encode_multipart as client_encode_multipart

BOUNDARY = "b0undary"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--b0und\r\n\r\n--"
EXAMPLES = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024


def by_field(files):
    """{field name: [(filename, content), ...]}: Werkzeug keeps the order within a field only."""
    fields = {}
    for name, filename, content in files:
        fields.setdefault(name, []).append((filename, content))
    return fields


def both_ways(body, content_type=f"multipart/form-data; boundary={BOUNDARY}"):
    """(request_files(), the files Werkzeug's own parser finds) for one request body, by field."""
    with app.test_request_context("/", method="POST", data=body, content_type=content_type):
        ours = request_files()
    with app.test_request_context("/", method="POST", data=body, content_type=content_type):
        werkzeug = [(name, storage.filename, storage.read())
                    for name, storage in request.files.items(multi=True)]
    return by_field(ours), by_field(werkzeug)


def boundary_of(content_type):
    return parse_options_header(content_type)[1]["boundary"].encode()


def test_werkzeugs_test_client_body_takes_the_fast_path():
    """The body Flask's test client (the rest of the suite) writes."""
    builder = EnvironBuilder(method="POST", data={
        "image": [(io.BytesIO(PNG), "7.png"), (io.BytesIO(PNG), "été 8.png")], "note": "text"})
    environ = builder.get_environ()
    body, content_type = environ["wsgi.input"].read(), environ["CONTENT_TYPE"]
    expected = [("image", "7.png", PNG), ("image", "été 8.png", PNG)]
    assert split_plain_multipart(body, boundary_of(content_type)) == expected
    assert both_ways(body, content_type) == (by_field(expected), by_field(expected))


def test_requests_urllib3_and_our_client_bodies_take_the_fast_path():
    """requests (and curl, which writes the same) and urllib3 and client/cli.py."""
    prepared = requests.Request("POST", "http://127.0.0.1/", files=[
        ("image", ("a.png", PNG, "image/png")), ("image", ("b.jpg", b"jpeg", "image/jpeg"))],
        data={"x": "1"}).prepare()
    urllib3_body, urllib3_type = urllib3.encode_multipart_formdata(
        [("image", ("c.png", PNG)), ("other", ("d.png", b"d"))])
    ours, content_type = client_encode_multipart([("e.png", PNG)], BOUNDARY)
    for body, header, expected in [
            (prepared.body, prepared.headers["Content-Type"],
             [("image", "a.png", PNG), ("image", "b.jpg", b"jpeg")]),
            (urllib3_body, urllib3_type, [("image", "c.png", PNG), ("other", "d.png", b"d")]),
            (ours, content_type, [("image", "e.png", PNG)])]:
        assert split_plain_multipart(body, boundary_of(header)) == expected
        assert both_ways(body, header) == (by_field(expected), by_field(expected))


def part(name, filename, content, line=b"\r\n"):
    disposition = b'Content-Disposition: form-data; name="%s"' % name
    if filename is not None:
        disposition += b'; filename="%s"' % filename
    return b"--" + BOUNDARY.encode() + line + disposition + line + \
        b"Content-Type: application/octet-stream" + line + line + content + line


def test_bodies_written_otherwise_go_to_werkzeug_and_give_its_answer():
    close = b"--" + BOUNDARY.encode() + b"--\r\n"
    odd = {
        "LF line breaks": part(b"image", b"a.png", PNG, b"\n") + close,
        "no closing boundary": part(b"image", b"a.png", PNG),
        "backslash escape": part(b"image", b'a\\"b.png', PNG) + close,
        "percent escape": part(b"image", b"a%22b.png", PNG) + close,
        "unquoted name": part(b"image", b"a.png", PNG).replace(b'name="image"', b"name=image")
        + close,
        "folded header": part(b"image", b"a.png", PNG).replace(b"; filename", b";\r\n filename")
        + close,
        "padding after a boundary": part(b"image", b"a.png", PNG).replace(
            BOUNDARY.encode() + b"\r\n", BOUNDARY.encode() + b"  \r\n", 1) + close,
        "boundary text inside a file": part(b"image", b"a.png", b"x\r\n--" + BOUNDARY.encode()
                                            + b"y") + close,
        "boundary after a bare LF inside a file": part(b"image", b"a.png", b"x\n--"
                                                       + BOUNDARY.encode() + b"--") + close,
        "boundary inside the preamble": b"preamble--" + BOUNDARY.encode() + b"\r\n"
        + part(b"image", b"a.png", PNG)[len(BOUNDARY) + 4:] + close,
        "two dispositions": part(b"image", b"a.png", PNG).replace(
            b"\r\nContent-Type", b'\r\nContent-Disposition: form-data; name="other"; '
            b'filename="b.png"\r\nContent-Type') + close,
    }
    for label, body in odd.items():
        assert split_plain_multipart(body, BOUNDARY.encode()) is None, label
        ours, werkzeug = both_ways(body)
        assert ours == werkzeug, label
    assert both_ways(odd["backslash escape"])[0] == {"image": [('a"b.png', PNG)]}
    assert both_ways(odd["boundary text inside a file"])[0] == {
        "image": [("a.png", b"x\r\n--" + BOUNDARY.encode() + b"y")]}


def test_more_parts_than_the_app_allows_get_werkzeugs_413():
    body = b"".join(part(b"image", b"%d.png" % n, PNG) for n in range(4)) + \
        b"--" + BOUNDARY.encode() + b"--\r\n"
    assert split_plain_multipart(body, BOUNDARY.encode(), max_parts=4) is not None
    assert split_plain_multipart(body, BOUNDARY.encode(), max_parts=3) is None
    assert split_plain_multipart(body, BOUNDARY.encode(), max_parts=None) is not None  # no limit
    limited = Flask(__name__)
    limited.config["MAX_FORM_PARTS"] = 3
    with limited.test_request_context("/", method="POST", data=body,
                                      content_type=f"multipart/form-data; boundary={BOUNDARY}"):
        with pytest.raises(RequestEntityTooLarge):
            request_files()


def test_a_body_that_is_not_multipart_has_no_files():
    assert both_ways(b'{"image": 1}', "application/json") == ({}, {})
    assert both_ways(b"", "multipart/form-data") == ({}, {})
    assert both_ways(b"--x--\r\n", "multipart/form-data; boundary=x") == ({}, {})


NAMES = st.sampled_from([b"image", b"file", b"", b"im age", "é".encode()])
FILENAMES = st.none() | st.text(
    alphabet=st.sampled_from(list('ab .;=%"\\/é数-')), max_size=8).map(
        lambda name: name.replace("\\", "\\\\").replace('"', '\\"').encode())
CONTENT = st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b"--", BOUNDARY.encode(), b"x",
                                    b"\0\xff", b"\r\n\r\n"]), max_size=8).map(b"".join)


@EXAMPLES
@given(parts=st.lists(st.tuples(NAMES, FILENAMES, CONTENT), max_size=4),
       line=st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n"]),
       preamble=st.sampled_from([b"", b"preamble\r\n"]),
       epilogue=st.sampled_from([b"", b"epilogue", b"\r\n"]),
       closed=st.booleans())
def test_any_body_gives_the_files_werkzeug_finds(parts, line, preamble, epilogue, closed):
    body = preamble + b"".join(part(name, filename, content, line)
                               for name, filename, content in parts)
    if closed:
        body += b"--" + BOUNDARY.encode() + b"--" + line + epilogue
    ours, werkzeug = both_ways(body)
    assert ours == werkzeug
