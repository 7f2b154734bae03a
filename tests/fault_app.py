"""A test-only WSGI entry point: the real app around a model whose inference stage raises.

Only the fault tests point gunicorn here (`tests.fault_app:create_app_with_failing_model()`);
tests/ is not shipped in the container image and nothing in the service imports this module.
"""
import app
import config
from core.model import ModelWrapper
from core.runtime import FunctionRuntime

SECRET = "secret-internal-detail-7f3a"


def _failing_inference(batch):
    raise RuntimeError(f"the model stage failed on a batch of {len(batch)} ({SECRET})")


def create_app_with_failing_model():
    wrapper = ModelWrapper("unused.h5", **config.image_limits(),
                           runtime=FunctionRuntime(_failing_inference))
    return app.create_app(model=wrapper)
