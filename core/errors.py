"""The errors the core raises. An image error carries the HTTP status the API answers with and
a message that tells the client what to fix."""


class ImageError(ValueError):
    """An upload that cannot become a digit; the message tells the client what to fix."""

    status = 400


class InvalidImage(ImageError):
    """Not an image, or a corrupt or truncated one."""


class ImageTooLarge(ImageError):
    """Declares more pixels than the service accepts (refused from the header)."""

    status = 413


class NoDigitFound(ImageError):
    """A blank page: nothing stands out from the background."""

    status = 422


class NotADigit(NoDigitFound):
    """Ink that the model reads as no digit at all: a letter, a shape, a scribble."""


class ModelLoadError(RuntimeError):
    """The model file is missing, truncated or not the network this service expects."""


def one_line(error):
    """An error as one log line: its type and the first line of its message (Keras and h5py
    messages can run to pages)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
