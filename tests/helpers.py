"""Shared test helpers: build image files in memory, find the shared data, run the server."""
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import requests
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from training.user_style import save

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("MAX_MNIST_SHARED", ROOT.parent / "shared"))
MODEL_PATH = ROOT / "assets" / "mnist_cnn.h5"
# The original project's samples and what they show (image6 is absent).
SEED_DIGITS = {0: 8, 1: 7, 2: 1, 3: 7, 4: 1, 5: 2, 7: 9, 8: 5, 9: 4}


def encode(image, fmt="PNG", **save_args):
    """A Pillow image (or a uint8 array) as the bytes of an image file."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    return save(image, fmt, **save_args)


def samples(text):
    """{(sample name, sorted label items): value} from a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(name):
    """The bytes of a committed sample image (samples/)."""
    return (ROOT / "samples" / name).read_bytes()


def shared_dir(*parts):
    """A folder under ../shared, or skip: a user's fresh clone does not have it."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (it exists only beside the project's own checkout)")
    return path


def children(pid):
    """The child processes of `pid` (gunicorn's workers under its master), from /proc."""
    return sorted(int(child) for task in pathlib.Path(f"/proc/{pid}/task").iterdir()
                  for child in (task / "children").read_text().split())


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A real server process on a free loopback port, stopped by `stop()`."""

    def __init__(self, command, env=None, timeout=90):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {name: value for name, value in {
            **os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), **(env or {})}.items()
            if value is not None}  # None in `env` leaves a variable out
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would stall it
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                if requests.get(self.url + "/model/metadata", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.output()}")

    def output(self):
        """Everything the server printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        stop_process(self.process)


def stop_process(process, grace=20):
    """Terminate a server process, and kill it if it has not exited within `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gunicorn_command(workers=1):
    return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers",
            str(workers), "app:create_app()"]
