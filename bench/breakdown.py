"""Where one request's CPU goes inside a worker, without the network: a Markdown table.

Calls the WSGI app in-process with the bodies `make bench` sends (one 28x28 PNG, 32 of them)
and times, in CPU milliseconds per request: GET /model/metadata, POST /model/predict with the
model stages replaced by no-ops (Flask, Flask-RESTX and the multipart parser alone), the full
POST, and the two model stages on their own (pre-processing one image, one inference call).

    python -m bench.breakdown
"""
import argparse
import io
import logging
import sys
import time

import numpy as np

from api.served_model import EXTENSION_KEY
from app import create_app
from bench.serving import BATCH, BOUNDARY, SAMPLES, request_bodies
from core.model import ModelWrapper
from core.runtime import FunctionRuntime


def _environ(path, body):
    environ = {"REQUEST_METHOD": "POST" if body else "GET", "PATH_INFO": path,
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "127.0.0.1", "QUERY_STRING": "", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(body or b""), "wsgi.errors": sys.stderr}
    if body:
        environ.update(CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
                       CONTENT_LENGTH=str(len(body)))
    return environ


def request(app, path, body=None):
    """One request through the whole WSGI stack; the response body."""
    response = app.wsgi_app(_environ(path, body), lambda status, headers: None)
    try:
        return b"".join(response)
    finally:
        getattr(response, "close", lambda: None)()


def cpu_ms(call, seconds=1.5):
    """CPU milliseconds per call, after a warm-up."""
    for _ in range(10):
        call()
    calls, started, cpu = 0, time.perf_counter(), time.process_time()
    while calls < 10 or time.perf_counter() - started < seconds:
        call()
        calls += 1
    return (time.process_time() - cpu) / calls * 1e3


def main(argv=None):
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    logging.disable(logging.INFO)
    app = create_app()
    model = app.extensions[EXTENSION_KEY]
    hollow = ModelWrapper(None, 1, 1,
                          runtime=FunctionRuntime(lambda batch: np.full((len(batch), 10), 0.1)))
    hollow._pre_process = lambda uploads: [np.zeros((28, 28), np.float32)] * len(uploads)
    no_model = create_app(model=hollow)
    single, batch = request_bodies()
    digit = SAMPLES[7].read_bytes()
    rows = [
        ("GET /model/metadata", lambda: request(app, "/model/metadata")),
        ("POST 1 image, model stages as no-ops", lambda: request(no_model, "/model/predict",
                                                                  single)),
        ("POST 1 image", lambda: request(app, "/model/predict", single)),
        ("  pre-process 1 image (decode + normalise)", lambda: model._pre_process([digit])),
        ("  inference, batch of 1", lambda: model._predict(np.zeros((1, 28, 28), np.float32))),
        (f"POST {BATCH} images, model stages as no-ops", lambda: request(
            no_model, "/model/predict", batch)),
        (f"POST {BATCH} images", lambda: request(app, "/model/predict", batch)),
        (f"  inference, batch of {BATCH}", lambda: model._predict(
            np.zeros((BATCH, 28, 28), np.float32))),
    ]
    print("| in one worker, no network | CPU ms per call |")
    print("| --- | ---: |")
    for label, call in rows:
        print(f"| {label} | {cpu_ms(call):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
