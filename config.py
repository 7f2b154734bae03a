"""Every setting of MAX-MNIST in one place: environment variables with defaults.

The README's configuration table lists each one. Limits live here too, so there is exactly one
place to look up (and change) what the service accepts.
"""
import os

API_TITLE = "MAX-MNIST"
API_VERSION = "2.0.0"
API_DESCRIPTION = ("Classify a handwritten digit (0-9) in an image: a Keras CNN trained on MNIST, "
                   "behind the Model Asset eXchange REST API. **[Draw a digit](app/)** on the "
                   "drawing page, or send an image to `POST /model/predict` below.")


def _flag(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _log_level(value):
    """A logging level name in any case; a wrong one fails at start-up, naming the setting."""
    level = str(value).strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, "
                         f"not {value!r}")
    return level


def _words(value):
    return [word for word in str(value).replace(",", " ").split() if word]


ALL_INTERFACES = "0.0.0.0"  # nosec B104  # a container must listen beyond its own loopback

# name: (default, parser). Order is the README table's order.
SETTINGS = {
    "HOST": (ALL_INTERFACES, str),
    "PORT": (5000, int),
    "DEBUG": (False, _flag),
    "LOG_LEVEL": ("INFO", _log_level),
    "MODEL_PATH": ("assets/mnist_cnn.tflite", str),  # .tflite: LiteRT; .h5: Keras (README)
    "READER_PATH": ("assets/mnist_reader.tflite", str),  # joined digits, for /model/read
    "MAX_UPLOAD_BYTES": (8 * 1024 * 1024, int),
    "MAX_BATCH_FILES": (64, int),
    "MAX_TENSOR_BATCH": (1024, int),
    "MAX_IMAGE_PIXELS": (16_000_000, int),
    "MAX_IMAGE_SIDE": (10_000, int),
    "MAX_BATCH_PIXELS": (64_000_000, int),
    "REFUSE_NOT_DIGITS": (True, _flag),  # 422 for ink the model reads as no digit
    "CORS_ENABLE": (False, _flag),
    "CORS_ORIGINS": ([], _words),
}


def browser_url(host, port):
    """The base URL a browser on this machine opens for a server listening on host:port (the
    loopback address when it listens on all interfaces)."""
    host = {ALL_INTERFACES: "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def image_limits(settings=None):
    """The image limits as the keyword arguments core.pipeline and ModelWrapper take; the defaults
    unless `settings` (from `from_env`) says otherwise."""
    settings = settings or from_env({})
    return {"max_pixels": settings["MAX_IMAGE_PIXELS"], "max_side": settings["MAX_IMAGE_SIDE"]}


def from_env(environ=None):
    """The settings as a dict of upper-case names, environment values parsed over defaults."""
    environ = os.environ if environ is None else environ
    settings = {}
    for name, (default, parse) in SETTINGS.items():
        settings[name] = parse(environ[name]) if name in environ else default
    return settings
