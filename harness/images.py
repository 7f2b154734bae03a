"""Image files built in memory: any picture as file bytes, and files that declare huge images
(decompression bombs) while staying small."""
import io
import struct
import zlib

import numpy as np
from PIL import Image


def encode(image, fmt="PNG", **save_args):
    """A Pillow image (or a uint8 array) as the bytes of an image file."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def png_chunk(kind, data):
    """One PNG chunk: length, type, data, CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width, height):
    """A small PNG whose header claims width x height; its pixel data stops after one row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"\0" * (width + 1))) + png_chunk(b"IEND", b""))


def png_inflating(width, height, rows_per_block=1000):
    """A complete, valid 8-bit grey PNG of zeros whose pixel data inflates to width*height bytes.

    One deflate block of `rows_per_block` zero rows, ended by a full flush (so it stands alone),
    is repeated; an empty final block and the Adler-32 of all-zero data close the zlib stream.
    """
    if height % rows_per_block:
        raise ValueError(f"height {height} is not a multiple of rows_per_block")
    row = width + 1  # filter byte + pixels
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(b"\0" * (row * rows_per_block)) + packer.flush(zlib.Z_FULL_FLUSH)
    total = row * height
    adler = ((total % 65521) << 16) | 1  # Adler-32 of `total` zero bytes
    stream = (b"\x78\xda" + block * (height // rows_per_block) + b"\x01\x00\x00\xff\xff"
              + struct.pack(">I", adler))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", stream)
            + png_chunk(b"IEND", b""))


def gif_declaring(width, height):
    """A GIF whose screen and single frame claim width x height, with a few bytes of pixels."""
    screen = b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\0\0\0\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00"
    return screen + frame + b"\x02\x02\x44\x01\x00" + b"\x3b"


def jpeg_declaring(width, height):
    """A real 16x16 JPEG with its frame header (SOF0) patched to claim width x height."""
    data = bytearray(encode(Image.new("L", (16, 16), 255), "JPEG"))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)
