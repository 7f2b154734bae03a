"""Every error the API answers, as JSON: `{"status": "error", "message": ...}`, or the Open
Inference Protocol's `{"error": ...}` on /v2 paths; messages say what to fix."""
from flask import current_app, g, jsonify, request
from flask_restx.mask import MaskError, ParseError
from werkzeug.exceptions import HTTPException

from api.v2 import v2_ns
from core.errors import ImageError

SHOWN_PATH = 120  # characters of a request path echoed in an error message


def error_body(message, code, **extra):
    """(body, status) of an error answer, in the shape the request's path calls for."""
    if request.path == v2_ns.path or request.path.startswith(v2_ns.path + "/"):
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


def register_error_handlers(app, api):
    """Answer image errors, bad field masks, HTTP errors and server errors in JSON."""
    app.config.setdefault("RESTX_ERROR_404_HELP", False)
    app.config.setdefault("ERROR_INCLUDE_MESSAGE", False)  # error_body() alone shapes errors

    @api.errorhandler(ImageError)
    def image_error(error):
        return error_body(str(error), error.status)

    @api.errorhandler(ParseError)
    @api.errorhandler(MaskError)
    def field_mask_error(error):
        # Replaces Flask-RESTX's own handlers (same keys, so they keep their precedence).
        return error_body(f"the X-Fields header is not a valid field mask: {error}", 400)

    @api.errorhandler(HTTPException)
    def http_error(error):
        allow = error.get_response().headers.get("Allow")
        body, code = error_body(_http_message(error, allow), error.code)
        return body, code, ({"Allow": allow} if allow else {})

    @app.errorhandler(HTTPException)
    def http_error_outside_the_api(error):
        """Routes Flask-RESTX does not own (static files, the Swagger UI's assets)."""
        body, code, headers = http_error(error)
        return jsonify(body), code, headers

    @api.errorhandler(Exception)
    def server_error(error):
        # Flask-RESTX logs the traceback (stamped with the request id) for every 5xx.
        return error_body("internal server error; the server log has the details",
                          500, request_id=g.get("request_id", "-"))
