"""A request body the server cannot read is the client's 400, not a 500."""
from werkzeug.exceptions import BadRequest


class GuardedInput:
    """wsgi.input whose read errors are the client's 400: a broken chunked encoding or a body
    cut short raises whatever the server's own reader raises (gunicorn's InvalidChunkSize,
    NoMoreData, ...), none of which Flask knows."""

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


def guard_input(app):
    """Wrap `app`'s WSGI callable so every request reads its body through GuardedInput."""
    wsgi_app = app.wsgi_app

    def guarded(environ, start_response):
        environ["wsgi.input"] = GuardedInput(environ["wsgi.input"])
        return wsgi_app(environ, start_response)

    app.wsgi_app = guarded
