"""Read the official MNIST idx `.gz` files (LeCun, Cortes and Burges; CC BY-SA 3.0)."""
import gzip
import pathlib

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path):
    """One idx file as a uint8 array; the header gives the magic number and the dimensions."""
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = magic & 0xFF
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file (magic {magic:#x})")
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_split(folder, split):
    """(images uint8 [n, 28, 28], labels uint8 [n]) for "train" or "test"."""
    images_file, labels_file = FILES[split]
    folder = pathlib.Path(folder)
    images, labels = read_idx(folder / images_file), read_idx(folder / labels_file)
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {len(images)} images but {len(labels)} labels")
    return images, labels
