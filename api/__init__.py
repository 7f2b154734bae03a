"""The HTTP layer: the Flask-RESTX API, its error mapping, request ids, CORS and headers."""
import logging
import re
import uuid

from flask import current_app, g, has_request_context, jsonify, request
from flask_restx import Api
from flask_restx.mask import MaskError, ParseError
from werkzeug.exceptions import BadRequest, HTTPException

import config
from api import metadata, predict  # noqa: F401  (registers the resources on the namespace)
from api.health import health_ns
from api.metrics import instrument, metrics_ns
from api.namespace import model_ns
from api.v2 import BINARY_HEADER, v2_ns
from core.errors import ImageError

log = logging.getLogger(__name__)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# JSON answers load nothing; the Swagger UI page needs its own scripts, styles and inline init.
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = f"Accept, Content-Type, X-Request-ID, {BINARY_HEADER}"  # V2's binary requests
CORS_EXPOSED = f"X-Request-ID, {BINARY_HEADER}"  # ... and its binary answers
CORS_MAX_AGE = "600"
SHOWN_PATH = 120  # characters of a request path echoed in an error message


class RequestIdFilter(logging.Filter):
    """Stamp every log record with the id of the request being served (or '-')."""

    def filter(self, record):
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def _error(message, code, **extra):
    if request.path == v2_ns.path or request.path.startswith(v2_ns.path + "/"):  # V2's shape
        return {"error": message, **extra}, code
    return {"status": "error", "message": message, **extra}, code


def _http_message(error, allow):
    """Werkzeug's generic descriptions, replaced where we can say what to fix; a description
    the code raised on purpose (a V2 "unknown model", say) stands."""
    if error.description != type(error).description:
        return error.description
    path = request.path[:SHOWN_PATH]
    if error.code == 404:
        return f"there is no {path}; the API is listed at / and /swagger.json"
    if error.code == 405:
        return f"{request.method} is not allowed on {path}; use {allow}"
    if error.code == 413:
        limit = current_app.config["MAX_UPLOAD_BYTES"]
        if request.content_length is not None and request.content_length <= limit:
            # within the byte limit: Werkzeug's form parser refused its parts
            return (f"the form has more than {request.max_form_parts} parts or a text field "
                    f"over {request.max_form_memory_size} bytes; send only the image files")
        return (f"the request is over the {limit}-byte upload limit (MAX_UPLOAD_BYTES); send a "
                "smaller image or fewer files")
    return error.description


def _cors_origin(settings):
    """The Access-Control-Allow-Origin this request gets, or None (CORS is off by default)."""
    origin = request.headers.get("Origin")
    if not settings["CORS_ENABLE"] or not origin:
        return None
    allowed = settings["CORS_ORIGINS"]
    if not allowed:
        return "*"
    return origin if origin in allowed else None


def _add_cors(response, settings):
    if settings["CORS_ENABLE"] and settings["CORS_ORIGINS"]:
        response.vary.add("Origin")
    origin = _cors_origin(settings)
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE


class _GuardedBody:
    """wsgi.input whose read errors are the client's 400, not a 500: a broken chunked
    encoding or a body cut short raises whatever the server's own reader raises (gunicorn's
    InvalidChunkSize, NoMoreData, ...), none of which Flask knows."""

    def __init__(self, stream):
        self._stream = stream

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def read(self, *args):
        return self._guarded(self._stream.read, *args)

    def readline(self, *args):
        return self._guarded(self._stream.readline, *args)

    def readlines(self, *args):
        return self._guarded(self._stream.readlines, *args)

    def __iter__(self):  # PEP 3333: the input is iterable (dunders bypass __getattr__)
        return iter(self.readline, b"")

    @staticmethod
    def _guarded(read, *args):
        try:
            return read(*args)
        except Exception as error:  # the server's reader raises its own types
            raise BadRequest(f"the request body could not be read ({type(error).__name__}); "
                             "send it again") from error


def _body_read_errors_are_bad_requests(wsgi_app):
    def guarded(environ, start_response):
        environ["wsgi.input"] = _GuardedBody(environ["wsgi.input"])
        return wsgi_app(environ, start_response)
    return guarded


def create_api(app):
    """Attach the API, its Swagger UI at `/` and the JSON error handling to `app`."""
    app.config.setdefault("RESTX_ERROR_404_HELP", False)
    app.config.setdefault("ERROR_INCLUDE_MESSAGE", False)  # _error() alone shapes error bodies
    api = Api(app, title=config.API_TITLE, version=config.API_VERSION,
              description=config.API_DESCRIPTION, doc="/", catch_all_404s=True)
    api.add_namespace(model_ns)
    api.add_namespace(health_ns)
    api.add_namespace(v2_ns)
    api.add_namespace(metrics_ns)
    instrument(app)
    app.wsgi_app = _body_read_errors_are_bad_requests(app.wsgi_app)

    @app.before_request
    def assign_request_id():
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex

    @app.after_request
    def add_headers(response):
        response.headers.update(SECURITY_HEADERS)
        # setdefault: a blueprint's own, narrower policy (the drawing page's) stands.
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        elif response.mimetype == "application/json":
            response.headers.setdefault("Content-Security-Policy", JSON_POLICY)
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Request-ID"] = g.get("request_id", "")
        _add_cors(response, app.config)
        return response

    @api.errorhandler(ImageError)
    def image_error(error):
        return _error(str(error), error.status)

    @api.errorhandler(ParseError)
    @api.errorhandler(MaskError)
    def field_mask_error(error):
        # Replaces Flask-RESTX's own handlers (same keys, so they keep their precedence).
        return _error(f"the X-Fields header is not a valid field mask: {error}", 400)

    @api.errorhandler(HTTPException)
    def http_error(error):
        allow = error.get_response().headers.get("Allow")
        body, code = _error(_http_message(error, allow), error.code)
        return body, code, ({"Allow": allow} if allow else {})

    @app.errorhandler(HTTPException)
    def http_error_outside_the_api(error):
        """Routes Flask-RESTX does not own (static files, the Swagger UI's assets)."""
        body, code, headers = http_error(error)
        return jsonify(body), code, headers

    @api.errorhandler(Exception)
    def server_error(error):
        # Flask-RESTX logs the traceback (stamped with the request id) for every 5xx.
        return _error("internal server error; the server log has the details",
                      500, request_id=g.get("request_id", "-"))

    return api
