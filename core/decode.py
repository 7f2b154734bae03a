"""Upload bytes to a decoded, upright Pillow image: which formats are read, and the size limits
checked from the header before any pixel is decoded."""
import io

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ImageTooLarge, InvalidImage

UPLOAD_SIZE = "max_mnist_upload_size"  # read_header's note of a JPEG's size before draft
DECODE_SIDE = 200  # JPEGs decode at a reduced scale as long as both sides keep this many pixels

# the only Pillow parsers that ever see an upload (the JPEG one also yields MPO)
PARSERS = ("BMP", "DIB", "GIF", "JPEG", "PNG", "PPM", "TIFF", "WEBP")
NO_EXIF_FORMATS = frozenset({"GIF", "BMP", "DIB", "PPM"})  # formats that cannot carry EXIF


def open_image(data, max_pixels, max_side):
    """Decode an upload with Pillow, checking the declared size before any pixel is decoded."""
    return decode(read_header(data, max_pixels, max_side))


def read_header(data, max_pixels, max_side):
    """An upload opened but not decoded: its declared size checked, and a JPEG set to decode
    at reduced scale, so `width * height` is what decoding it will cost."""
    if not data:
        raise InvalidImage("the file is empty")
    try:
        image = Image.open(io.BytesIO(data), formats=PARSERS)  # only these parsers see the bytes
    except Image.DecompressionBombError as error:
        raise ImageTooLarge(f"the image declares far more than {max_pixels} pixels; send a "
                            "smaller image") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InvalidImage("the file is not an image in a format this service reads "
                           "(PNG, JPEG, GIF, BMP, TIFF, WebP, PPM)") from error
    width, height = image.size
    if width * height > max_pixels or max(width, height) > max_side:
        raise ImageTooLarge(f"the image is {width}x{height} pixels; the limit is {max_side} "
                            f"pixels a side and {max_pixels} pixels in all: send a smaller image")
    if width < 1 or height < 1:
        raise InvalidImage("the image has no pixels")
    if image.format in ("JPEG", "MPO"):
        # let libjpeg decode at reduced scale, and only the luma of a colour photo
        image.info[UPLOAD_SIZE] = image.size
        image.draft("L" if image.mode == "RGB" else image.mode, (DECODE_SIDE, DECODE_SIDE))
    return image


def upload_size(image):
    """The (width, height) an image from read_header has in the upload, before orientation:
    a JPEG's decodes smaller."""
    return image.info.get(UPLOAD_SIZE, image.size)


def decode(image):
    """The pixels of an image from read_header, upright (EXIF orientation applied)."""
    try:
        image.load()
        if _may_carry_orientation(image):
            image = ImageOps.exif_transpose(image)
    except Exception as error:  # Pillow raises many types on corrupt data
        raise InvalidImage(f"the image data is truncated or corrupt ({type(error).__name__})") \
            from error
    return image


def _may_carry_orientation(image):
    """False when the image cannot hold an EXIF orientation, so reading EXIF is skipped: a PNG
    only holds one in an eXIf chunk or a raw-profile text chunk."""
    if image.format in NO_EXIF_FORMATS:
        return False
    if image.format == "PNG":
        return any("exif" in str(key).lower() for key in image.info)
    return True
