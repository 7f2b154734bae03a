"""How a batch of uploads goes through the pipeline: its pixel budget, and which images are
analysed together (small ones, one stack per size) or alone (large ones)."""
from core.errors import ImageError, ImageTooLarge
from core.ink import ANALYSIS_SIDE


class PixelBudget:
    """The pixels a request's uploads may still decode to, in all; None means no limit."""

    def __init__(self, pixels):
        self.left = pixels

    def charge(self, image):
        """Charge an opened, not yet decoded image its decoded size, or raise ImageTooLarge
        (charged before decoding: a corrupt file costs it too)."""
        if self.left is None:
            return image
        cost = image.width * image.height
        if cost > self.left:
            raise ImageTooLarge(f"this file decodes to {cost} pixels, more than the "
                                f"{self.left} its request has left of "
                                "MAX_BATCH_PIXELS: send it in another request")
        self.left -= cost
        return image


def in_stacks(uploads, grey, digits):
    """For each upload, in order, its outcome from `digits(equal-sized greys)`, or the
    ImageError `grey(upload)` raised.

    Small images (no side over ANALYSIS_SIDE, such as MNIST-style scans and thumbnails) go to
    `digits` together, one stack per size, so a batch shares the work of locating the ink;
    larger ones go one at a time, as soon as they are grey, so a batch of large photos never
    sits in memory at once."""
    outcomes = [None] * len(uploads)
    small = {}
    for index, upload in enumerate(uploads):
        try:
            pixels = grey(upload)
        except ImageError as error:
            outcomes[index] = error
            continue
        if max(pixels.shape) <= ANALYSIS_SIDE:
            small.setdefault(pixels.shape, []).append((index, pixels))
        else:
            outcomes[index] = digits([pixels])[0]
        del pixels  # a large image's grey copy goes before the next upload is decoded
    for group in small.values():
        for (index, _), outcome in zip(group, digits([pixels for _, pixels in group])):
            outcomes[index] = outcome
    return outcomes
