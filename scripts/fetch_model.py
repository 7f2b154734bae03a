"""Put the model files into assets/ from MODEL_BUCKET and verify them against md5sums.txt.

    python scripts/fetch_model.py [--bucket BUCKET] [--file NAME ...] [--dest assets]

BUCKET is an http(s) URL, a file:// URL or a local folder; the default, the repository's own
`models/` folder, works offline on a fresh clone. Without --file, every file md5sums.txt lists
under the destination is fetched (the Keras .h5 and its LiteRT conversion, .tflite). Used by
both the Makefile and the Dockerfile; needs only the standard library. Exits non-zero, naming
the file and both checksums, when a download does not match.
"""
import argparse
import hashlib
import logging
import os
import pathlib
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request

log = logging.getLogger("fetch_model")
DEFAULT_BUCKET = "models"


class FetchError(RuntimeError):
    """The model could not be fetched or is not the file md5sums.txt names."""


def md5_of(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def listed_files(md5sums, dest="assets"):
    """The names of the files md5sums.txt lists under `dest` (its last path component)."""
    prefix = pathlib.Path(dest).name + "/"
    names = []
    for line in pathlib.Path(md5sums).read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*").startswith(prefix):
            names.append(parts[1].lstrip("*")[len(prefix):])
    return names


def expected_md5(md5sums, relative_path):
    """The checksum md5sums.txt lists for `relative_path` (as `md5sum -c` reads it)."""
    for line in pathlib.Path(md5sums).read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == relative_path:
            return parts[0].lower()
    raise FetchError(f"{md5sums} has no checksum for {relative_path}")


def _copy_from(source, target):
    """Copy a URL or local path to `target`; http(s) and file:// go through urllib."""
    scheme = urllib.parse.urlparse(source).scheme
    if scheme in ("http", "https", "file"):
        try:
            opened = urllib.request.urlopen(source, timeout=60)  # nosec B310  # scheme checked above
            with opened as response, open(target, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as error:
            raise FetchError(f"cannot download {source}: {error}") from error
    else:
        if not pathlib.Path(source).is_file():
            raise FetchError(f"model file {source} does not exist")
        shutil.copyfile(source, target)


def fetch_model(bucket, name, dest="assets", md5sums="md5sums.txt"):
    """Fetch `bucket/name` into `dest/name`, verified; nothing is left in dest on failure."""
    dest = pathlib.Path(dest)
    relative = f"{dest.name}/{name}"
    wanted = expected_md5(md5sums, relative)
    source = bucket.rstrip("/") + "/" + name
    dest.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=dest, prefix=f".{name}.")
    os.close(handle)
    try:
        _copy_from(source, temporary)
        got = md5_of(temporary)
        if got != wanted:
            raise FetchError(f"checksum mismatch for {relative} from {source}: md5sums.txt says "
                             f"{wanted}, the file has {got}")
        os.replace(temporary, dest / name)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    log.info("fetched %s from %s (md5 %s)", dest / name, source, got)
    return dest / name


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bucket", default=os.environ.get("MODEL_BUCKET") or DEFAULT_BUCKET)
    parser.add_argument("--file", action="append", dest="files", metavar="NAME",
                        help="a file to fetch (repeat it); default: all md5sums.txt lists")
    parser.add_argument("--dest", default="assets")
    parser.add_argument("--md5sums", default="md5sums.txt")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        names = args.files or listed_files(args.md5sums, args.dest)
        if not names:
            raise FetchError(f"{args.md5sums} lists no file under {args.dest}/")
        for name in names:
            fetch_model(args.bucket, name, args.dest, args.md5sums)
    except FetchError as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
