import numpy as np
import pytest

from app import create_app
import config
from core.model import ModelWrapper
from harness.processes import Server, gunicorn_command
from core.runtime import load_sequence
from tests.helpers import MODEL_PATH, READER_PATH, shared_dir
from training.mnist import load_split


@pytest.fixture(scope="session")
def wrapper():
    """The committed model, loaded once for the whole session."""
    assert MODEL_PATH.is_file(), f"{MODEL_PATH} missing: run `make install` (make test does)"
    return ModelWrapper(MODEL_PATH, **config.image_limits())


@pytest.fixture(scope="session")
def sequence():
    """The committed sequence model that reads joined digits, loaded once."""
    return load_sequence(READER_PATH)


@pytest.fixture
def app(wrapper):
    return create_app({"TESTING": True}, model=wrapper)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def service(wrapper):
    """The app as served (TESTING off: errors go through the real handlers)."""
    return create_app({}, model=wrapper).test_client()


@pytest.fixture(scope="session")
def server():
    """The real service under gunicorn alone (what `make run` puts behind nginx, see
    tests/test_front.py), on a free loopback port."""
    running = Server(gunicorn_command(workers=1))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def mnist_test():
    """The official MNIST test set (uint8 images, labels), when ../shared has it."""
    images, labels = load_split(shared_dir("mnist"), "test")
    return images, labels.astype(np.int64)
