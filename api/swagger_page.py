"""The Swagger UI page at `/`: Flask-RESTX's own, with a viewport so a phone lays it out at its
own width (without one, a phone renders it 980 px wide and shrinks it to an unreadable size)."""
from flask_restx import apidoc

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def register_swagger_page(api):
    """Serve `api`'s Swagger UI page with the viewport meta tag added to its head."""

    @api.documentation
    def swagger_ui():
        return apidoc.ui_for(api).replace("<head>", "<head>\n    " + VIEWPORT, 1)
