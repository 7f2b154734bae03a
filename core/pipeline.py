"""The pre-processing pipeline: upload bytes to model-ready digits made the way MNIST was made.

    decode -> grey -> find ink -> cut -> stroke -> size -> centre

MNIST digits are white ink on black, size-normalised to fit a 20x20 box (aspect ratio kept,
anti-aliased) and centred by centre of mass in a 28x28 field. A model trained on MNIST is only
as good as the step that makes a real photo, scan or canvas export look like that.
"""
import numpy as np

from core.batch import PixelBudget, in_stacks
from core.decode import decode, read_header, upload_size
from core.errors import ImageError, NoDigitFound
from core.grey import to_grey
from core.ink import cut, find_ink
from core.normalise import centre_by_mass, fit_box, match_stroke


def digits_from_uploads(uploads, max_pixels, max_side, max_batch_pixels=None):
    """Upload bytes to 28x28 float32 digits in [0, 1], white on black: for each upload, in
    order, its digit or the ImageError that says why it has none.

    Per upload: decode -> grey. Per stack of equal-sized images, all at once: find ink. Per
    image: cut -> stroke -> size -> centre. With `max_batch_pixels`, the uploads decode to at
    most that many pixels in all (a file past it fails alone)."""
    budget = PixelBudget(max_batch_pixels)
    return in_stacks(uploads, lambda data: grey_from_upload(data, max_pixels, max_side,
                                                            budget)[0], digits_from_greys)


def grey_from_upload(data, max_pixels, max_side, budget):
    """Upload bytes to a grey float32 image (decode -> grey), charged to a PixelBudget; and
    the upload's (width, height) after EXIF orientation, which is larger than the grey
    image's when a JPEG decoded at reduced scale. Raises the upload's ImageError."""
    image = read_header(data, max_pixels, max_side)
    width, height = upload_size(image)
    drafted = image.size
    upright = decode(budget.charge(image))
    if upright.size != drafted:  # EXIF orientation turned it a quarter
        width, height = height, width
    return to_grey(upright), (width, height)


def digits_from_greys(greys):
    """Equal-sized grey images (any polarity) to digits: find ink for the whole stack at once,
    then cut -> stroke -> size -> centre per image; each one a digit or a NoDigitFound."""
    greys = [np.asarray(grey, dtype=np.float32) for grey in greys]
    digits = []
    for grey, where in zip(greys, find_ink(greys)):
        if isinstance(where, NoDigitFound):
            digits.append(where)
            continue
        try:
            digits.append(centre_by_mass(fit_box(match_stroke(cut(grey, where)))))
        except NoDigitFound as error:
            digits.append(error.with_traceback(None))  # kept as a value: hold no frames
    return digits


def digit_from_upload(data, max_pixels, max_side):
    """One upload's digit; raises its ImageError."""
    return _raise_error(digits_from_uploads([data], max_pixels, max_side)[0])


def digit_from_grey(grey):
    """One grey image's (any size, any polarity) digit; raises NoDigitFound for a blank page."""
    return _raise_error(digits_from_greys([grey])[0])


def _raise_error(outcome):
    if isinstance(outcome, ImageError):
        raise outcome
    return outcome
