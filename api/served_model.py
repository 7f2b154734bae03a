"""The model an app serves, and the number reader around it: attached once by the factory, read
by the resources."""
from flask import current_app

EXTENSION_KEY = "max_mnist.model"
READER_KEY = "max_mnist.reader"


def attach_model(app, model):
    """Make `model` (a ModelWrapper) the one `app` serves."""
    app.extensions[EXTENSION_KEY] = model


def attach_reader(app, reader):
    """Make `reader` (a NumberReader around the app's model) the one `app` reads numbers with."""
    app.extensions[READER_KEY] = reader


def current_reader():
    """The NumberReader this app was built with."""
    return current_app.extensions[READER_KEY]


def current_model():
    """The ModelWrapper this app was built around (loaded once per process by the factory)."""
    return current_app.extensions[EXTENSION_KEY]
