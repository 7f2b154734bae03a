"""Request ids: each request gets the client's X-Request-ID (when well-formed) or a fresh one,
echoed in the answer and stamped on every log record written while serving it."""
import logging
import re
import uuid

from flask import g, has_request_context, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    """Stamp every log record with the id of the request being served (or '-')."""

    def filter(self, record):
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def register_request_ids(app):
    """Give every request of `app` an id and answer it in X-Request-ID."""

    @app.before_request
    def assign_request_id():
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
