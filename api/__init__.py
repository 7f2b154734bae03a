"""The HTTP layer: the Flask-RESTX API, its error mapping, request ids and response headers."""
import logging
import re
import uuid

from flask import g, has_request_context, request
from flask_restx import Api
from werkzeug.exceptions import HTTPException

import config
from api import metadata, predict  # noqa: F401  (registers the resources on the namespace)
from api.namespace import model_ns
from core.digit import ImageError

log = logging.getLogger(__name__)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class RequestIdFilter(logging.Filter):
    """Stamp every log record with the id of the request being served (or '-')."""

    def filter(self, record):
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def _error(message, code, **extra):
    return {"status": "error", "message": message, **extra}, code


def create_api(app):
    """Attach the API, its Swagger UI at `/` and the JSON error handling to `app`."""
    app.config.setdefault("RESTX_ERROR_404_HELP", False)
    api = Api(app, title=config.API_TITLE, version=config.API_VERSION,
              description=config.API_DESCRIPTION, doc="/", catch_all_404s=True)
    api.add_namespace(model_ns)

    @app.before_request
    def assign_request_id():
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex

    @app.after_request
    def add_headers(response):
        response.headers.update(SECURITY_HEADERS)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response

    @api.errorhandler(ImageError)
    def image_error(error):
        return _error(str(error), error.status)

    @api.errorhandler(HTTPException)
    def http_error(error):
        body, code = _error(error.description, error.code)
        allow = error.get_response().headers.get("Allow")
        return body, code, ({"Allow": allow} if allow else {})

    app.register_error_handler(HTTPException, http_error)  # routes outside the API: /app

    @api.errorhandler(Exception)
    def server_error(error):
        # Flask-RESTX logs the traceback (stamped with the request id) for every 5xx.
        return _error("internal server error; the server log has the details",
                      500, request_id=g.get("request_id", "-"))

    return api
