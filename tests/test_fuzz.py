"""Fuzzing: schemathesis against the service's own /swagger.json, Hypothesis on `_pre_process`.

Both are bounded (a fixed number of examples, derandomised) so the suite stays fast and
repeatable; a failure prints the smallest input that broke it.
"""
import io

import numpy as np
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis.checks import not_a_server_error

from app import create_app
from core.errors import ImageError
from core.normalise import MNIST_SIDE

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def test_no_request_the_spec_allows_makes_a_server_error(wrapper):
    """Every operation in the app's own /swagger.json, fuzzed into that same WSGI app.

    (The operations are looped over inside one test: schemathesis' lazy pytest fixture loader
    does not run under pytest 9.)
    """
    schema = schemathesis.openapi.from_wsgi("/swagger.json", create_app({}, model=wrapper))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/model/predict", "/model/metadata"}
    seen = []

    for operation in operations:
        @settings(max_examples=60, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def no_server_error(case):
            response = case.call_and_validate(checks=[not_a_server_error])
            seen.append(response.status_code)
            assert response.status_code < 500
            if response.status_code >= 400:  # the MAX error shape, or the V2 protocol's
                body = response.json()
                if case.path.startswith("/v2"):
                    assert body.get("error"), (case.as_curl_command(), response.text)
                else:
                    assert body.get("status") == "error", (case.as_curl_command(), response.text)
                    assert body["message"]

        no_server_error()
    assert len(seen) > len(operations) and any(code >= 400 for code in seen)


def assert_digit_or_image_error(pre_process, data):
    [digit] = pre_process([data])
    if isinstance(digit, ImageError):
        assert str(digit)
        return
    assert digit.shape == (MNIST_SIDE, MNIST_SIDE) and digit.dtype == np.float32
    assert np.isfinite(digit).all() and digit.min() >= 0 and digit.max() <= 1


MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a", b"BM", b"II*\x00",
         b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"P5\n", b"P6\n"]


@FUZZ
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=2048))
def test_random_bytes_never_escape_as_anything_but_an_image_error(wrapper, prefix, body):
    assert_digit_or_image_error(wrapper._pre_process, prefix + body)


FORMATS = {"PNG": {"1", "L", "P", "RGB", "RGBA", "LA", "I;16"},  # Pillow writes no mode-I PNG
           "JPEG": {"L", "RGB", "CMYK", "YCbCr"},
           "GIF": {"1", "L", "P", "RGB", "RGBA"},
           "BMP": {"1", "L", "P", "RGB"},
           "TIFF": {"1", "L", "P", "RGB", "RGBA", "LA", "I", "I;16", "F", "CMYK", "YCbCr"},
           "WEBP": {"L", "RGB", "RGBA"}}


@st.composite
def odd_images(draw, widths=st.integers(1, 300), heights=st.integers(1, 300),
               kinds=st.sampled_from(["noise", "flat", "bar"])):
    """Valid files of any size from 1x1 up, any mode, noise or flat or a bar, any format."""
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(sorted(FORMATS[fmt])))
    width = draw(widths)
    height = draw(heights)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(kinds)
    pixels = np.full((height, width), draw(st.integers(0, 255)), dtype=np.uint8)
    if kind == "noise":
        pixels = rng.integers(0, 256, (height, width), dtype=np.uint8)
    elif kind == "bar":
        pixels[height // 3: 2 * height // 3 + 1, width // 2: width // 2 + max(1, width // 8)] = (
            255 - pixels[0, 0])
    image = Image.fromarray(pixels).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        image = Image.fromarray(pixels.astype(np.uint16) * 257)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    data = buffer.getvalue()
    if draw(st.booleans()):  # then damage it: truncate or flip bytes
        cut = draw(st.integers(0, len(data)))
        flips = draw(st.lists(st.tuples(st.integers(0, max(len(data) - 1, 0)),
                                        st.integers(0, 255)), max_size=8))
        damaged = bytearray(data)
        for at, value in flips:
            damaged[at] = value
        data = bytes(damaged[:cut] if draw(st.booleans()) else damaged)
    return data


@FUZZ
@given(data=odd_images())
def test_valid_but_odd_and_damaged_images_never_escape(wrapper, data):
    assert_digit_or_image_error(wrapper._pre_process, data)


@st.composite
def batches(draw):
    """Mostly images of one small size holding a digit-like bar (so they share a stack), with
    odd ones of any size, mode and damage mixed in."""
    side = st.just(draw(st.integers(8, 128)))
    same = odd_images(side, side, st.sampled_from(["bar", "bar", "noise"]))
    return draw(st.lists(same | same | odd_images(), min_size=2, max_size=6))


@FUZZ
@given(batch=batches())
def test_a_batch_gives_each_image_what_it_gets_alone(wrapper, batch):
    """Images of one size are located together; each must still get its own answer."""
    together = wrapper._pre_process(batch)
    for data, outcome in zip(batch, together):
        [alone] = wrapper._pre_process([data])
        if isinstance(alone, ImageError):
            assert type(outcome) is type(alone) and str(outcome) == str(alone)
        else:
            np.testing.assert_allclose(outcome, alone, atol=1e-6)
