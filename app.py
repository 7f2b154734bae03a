"""MAX-MNIST: the application factory. `python app.py` runs Flask's development server.

Production serving is serve.py: nginx in front of gunicorn, which runs `app:create_app()`.
"""
import logging

from flask import Flask
from flask_restx import Api

import config
from api.errors import register_error_handlers
from api.headers import register_headers
from api.health import health_ns, mark_ready
from api.metrics import instrument, metrics_ns
from api.model import model_ns
from api.request_ids import RequestIdFilter, register_request_ids
from api.served_model import attach_model, attach_reader
from api.swagger_page import register_swagger_page
from api.v2 import v2_ns
from api.webapp import webapp
from api.wsgi_input import guard_input
from core.errors import ModelLoadError
from core.model import ModelWrapper
from core.number import NumberReader
from core.runtime import WORKER_BOOT_ERROR, load_sequence

LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s req=%(request_id)s: %(message)s"

# Everything the service answers, registered here and only here.
NAMESPACES = (model_ns, health_ns, v2_ns, metrics_ns)
BLUEPRINTS = (webapp,)


def configure_logging(level):
    """One stream handler on the root logger, every record stamped with its request id."""
    root = logging.getLogger()
    if not any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    root.setLevel(level)


def _load(load, *args, **kwargs):
    """`load(*args, **kwargs)`, or exit with one clear log line: never serve from a half-loaded
    model."""
    try:
        return load(*args, **kwargs)
    except ModelLoadError as error:
        logging.getLogger(__name__).critical("refusing to start: %s", error)
        raise SystemExit(WORKER_BOOT_ERROR) from None


def create_app(overrides=None, model=None):
    """Build the service. `overrides` replaces settings from the environment; `model` reuses an
    already loaded ModelWrapper (otherwise the model at MODEL_PATH is loaded, once), which keeps
    the image limits it was built with."""
    settings = config.from_env()
    settings.update(overrides or {})
    configure_logging(settings["LOG_LEVEL"])
    app = Flask(__name__)
    app.config.from_mapping(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_UPLOAD_BYTES"]
    limits = config.image_limits(settings)
    model = model or _load(ModelWrapper, settings["MODEL_PATH"], **limits,
                           max_batch_pixels=settings["MAX_BATCH_PIXELS"],
                           refuse_not_digits=settings["REFUSE_NOT_DIGITS"])
    attach_model(app, model)
    attach_reader(app, NumberReader(model, _load(load_sequence, settings["READER_PATH"]),
                                    **limits, max_batch_pixels=settings["MAX_BATCH_PIXELS"]))
    api = Api(app, title=config.API_TITLE, version=config.API_VERSION,
              description=config.API_DESCRIPTION, doc="/", catch_all_404s=True)
    register_swagger_page(api)
    register_error_handlers(app, api)
    for namespace in NAMESPACES:
        api.add_namespace(namespace)
    instrument(app)
    guard_input(app)
    register_request_ids(app)
    register_headers(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    mark_ready(app)  # the model above is loaded and warmed by its runtime
    return app


if __name__ == "__main__":
    development = create_app()
    development.run(host=development.config["HOST"], port=development.config["PORT"],
                    debug=development.config["DEBUG"])
