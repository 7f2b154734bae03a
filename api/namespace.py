"""The `model` namespace that MAX models expose (`/model/metadata`, `/model/predict`)."""
from flask import current_app
from flask_restx import Namespace

EXTENSION_KEY = "max_mnist.model"

model_ns = Namespace("model", description="Model information and inference", path="/model")


def current_model():
    """The ModelWrapper this app was built around (loaded once per process by the factory)."""
    return current_app.extensions[EXTENSION_KEY]
