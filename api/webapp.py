"""The drawing page at /app: static files that post to /model/predict and /model/read like any
other client.

The page has no server-side logic of its own, so a drawn digit takes exactly the upload path
and pre-processing that a photographed one does. Everything it needs is served from here
(no CDN), so it works offline.
"""
from pathlib import Path

from flask import Blueprint, send_from_directory

PAGE_DIR = Path(__file__).resolve().parent / "static" / "app"
# Only files from this app itself: scripts, styles, fetches; pictures the user chose (blob:).
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
                           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

webapp = Blueprint("webapp", __name__, url_prefix="/app", static_folder=PAGE_DIR,
                   static_url_path="/static")


@webapp.get("/")
def page():
    """The page itself; `/app` redirects here so its relative links resolve under /app/."""
    return send_from_directory(PAGE_DIR, "index.html")


@webapp.after_request
def restrict_page(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
