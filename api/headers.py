"""The headers every answer carries: security headers, a Content-Security-Policy per content
type, and CORS (off unless CORS_ENABLE, limited to CORS_ORIGINS when that is set)."""
from flask import request

from api.v2 import BINARY_HEADER

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


def register_headers(app):
    """Add the security, content-policy and CORS headers to every answer of `app`."""

    @app.after_request
    def add_headers(response):
        response.headers.update(SECURITY_HEADERS)
        # setdefault: a blueprint's own, narrower policy (the drawing page's) stands.
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        elif response.mimetype == "application/json":
            response.headers.setdefault("Content-Security-Policy", JSON_POLICY)
            response.headers.setdefault("Cache-Control", "no-store")
        _add_cors(response, app.config)
        return response


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
