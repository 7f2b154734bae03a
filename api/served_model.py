"""The model an app serves: attached once by the factory, read by the resources."""
from flask import current_app

EXTENSION_KEY = "max_mnist.model"


def attach_model(app, model):
    """Make `model` (a ModelWrapper) the one `app` serves."""
    app.extensions[EXTENSION_KEY] = model


def current_model():
    """The ModelWrapper this app was built around (loaded once per process by the factory)."""
    return current_app.extensions[EXTENSION_KEY]
