"""The files of a multipart/form-data request, split straight out of the body where it is plain.

The body is capped at MAX_UPLOAD_BYTES, so it can be read whole and cut at its boundaries with
bytes methods that run in C, much cheaper than Werkzeug's streaming form parser (figures in
docs/performance.md). Only bodies written the way curl, browsers, requests and Werkzeug's own
client write them take this path (CRLF line breaks, a closing boundary, `form-data;
name="..."; filename="..."` without escapes, no boundary text anywhere but at the
boundaries); any other body goes to Werkzeug.
tests/test_uploads.py checks that both give the same files.
"""
import re

from flask import request

SIMPLE_DISPOSITION = re.compile(
    rb'Content-Disposition: form-data; name="([^"\\%\r\n]*)"(?:; filename="([^"\\%\r\n]*)")?',
    re.IGNORECASE)
PLAIN_HEADER = re.compile(rb"[!-9;-~]+:[^\r\n]*")  # one header on one line (no continuation)


class _NotPlain(Exception):
    """The body is written in a way that only Werkzeug's parser should judge."""


def request_files():
    """[(field name, filename, content)] of every file part of the request, in the order sent."""
    boundary = request.mimetype_params.get("boundary", "")
    if request.mimetype == "multipart/form-data" and boundary and boundary.isascii():
        plain = split_plain_multipart(_whole_body(), boundary.encode("ascii"),
                                      request.max_form_parts)
        if plain is not None:
            return plain
    return [(name, storage.filename, storage.read())
            for name, storage in request.files.items(multi=True)]


def _whole_body():
    """The request body, read once (the form parser below reuses it). Werkzeug's reader stops
    quietly at MAX_UPLOAD_BYTES; for a chunked body that has not ended there, one more read
    raises its 413, as the form parser's own reads would."""
    body = request.get_data(cache=True)
    request.stream.read(1)
    return body


def split_plain_multipart(body, boundary, max_parts=1000):
    """The file parts of a plainly written multipart body, or None if it is not one (or has
    more than `max_parts` parts: Werkzeug's parser refuses those with its 413)."""
    delimiter = b"\r\n--" + boundary
    if max_parts is not None and body.count(delimiter) > max_parts:  # None: Flask's "no limit"
        return None
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        return None  # no closing boundary after the last part
    if any(b"--" + boundary in piece for piece in pieces[:-1]):
        return None  # Werkzeug also takes a boundary after a bare LF or CR, or in the preamble
    try:
        parts = [_part(piece) for piece in pieces[1:-1]]
    except _NotPlain:
        return None
    return [part for part in parts if part is not None]


def _part(piece):
    """(name, filename, content) of one part between two boundaries; None for a text field."""
    if not piece.startswith(b"\r\n"):
        raise _NotPlain  # the boundary string inside a part, or padding after a boundary
    head, separator, content = piece[2:].partition(b"\r\n\r\n")
    if not separator:
        raise _NotPlain
    found = None
    for line in head.split(b"\r\n"):
        if not PLAIN_HEADER.fullmatch(line):
            raise _NotPlain
        disposition = SIMPLE_DISPOSITION.fullmatch(line)
        if disposition and not found:
            found = disposition
        elif disposition or line.lower().startswith(b"content-disposition:"):
            raise _NotPlain  # two dispositions, or one with parameters or escapes we do not read
    if not found:
        raise _NotPlain
    name, filename = found.groups()
    if filename is None:
        return None
    try:
        return name.decode("utf-8"), filename.decode("utf-8"), content
    except UnicodeDecodeError:
        raise _NotPlain from None
