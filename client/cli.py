"""Classify image files with a MAX-MNIST server, many files per request, in the order given:
a digit per image, or with --read a number (a row of digits) per image."""
import argparse
import http.client
import json
import math
import mimetypes
import os
import pathlib
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

DEFAULT_URL = os.environ.get("MAX_MNIST_URL", "http://127.0.0.1:5000")
DEFAULT_BATCH_FILES = 32  # the server takes at most MAX_BATCH_FILES (64 by default) per request
DEFAULT_BATCH_BYTES = 6 * 1024 * 1024  # stays under the server's MAX_UPLOAD_BYTES (8 MiB)
PREDICT, READ = "/model/predict", "/model/read"
EXIT_FILE_ERRORS, EXIT_USAGE, EXIT_SERVER = 1, 2, 3
EXIT_PIPE_CLOSED = 141  # what a shell reports for a command that SIGPIPE ended
EXIT_INTERRUPTED = 130  # ... and for one that Ctrl-C ended
# What a folder is searched for: the formats the server reads (Pillow's names for them).
IMAGE_SUFFIXES = frozenset((".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".bmp", ".dib",
                            ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm"))
SURE = 0.7  # below this probability an answer is printed as not sure, with the runner-up
REFUSED = "does not look like a digit"  # in the server's 422 for a picture of no digit


class ServerError(Exception):
    """The server cannot be reached, or refused a whole request: nothing more can be done."""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m client", description=__doc__,
        epilog=f"Exit status: 0 all files classified, {EXIT_FILE_ERRORS} some file could not be "
               f"classified, {EXIT_USAGE} bad arguments, {EXIT_SERVER} the server is "
               f"unreachable or refused a request, {EXIT_INTERRUPTED} interrupted, "
               f"{EXIT_PIPE_CLOSED} the output's reader stopped early.")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files of one digit each, or folders: searched recursively "
                             "for image files by their extension (hidden ones skipped)")
    parser.add_argument("--url", default=DEFAULT_URL,
                        help="the server's base URL (default: $MAX_MNIST_URL or %(default)s)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_FILES, metavar="N",
                        help="files per request (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="per request (default: %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per file instead of a line of text")
    parser.add_argument("--read", action="store_true",
                        help="read each image as a number, a row of digits (POST /model/read): "
                             "print the digits and the probability that all are right")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", default=None,
                          help="always show the progress bar (default: on a terminal, "
                               "when there is more than one batch)")
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        parser.error("--timeout must be a positive number of seconds")
    try:
        url = urllib.parse.urlsplit(args.url)
        usable = url.scheme in ("http", "https") and bool(url.hostname)
    except ValueError:  # a broken IPv6 address, say
        usable = False
    if not usable:
        parser.error(f"--url must be an http:// or https:// address, not {args.url!r}")
    return args


def image_paths(arguments):
    """Each argument as given, or, for a folder, the image files under it (by extension),
    recursively, in sorted order; hidden files and folders are skipped."""
    for argument in arguments:
        if not os.path.isdir(argument):
            yield argument
            continue
        for folder, subfolders, names in os.walk(argument):
            subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
            for name in sorted(names):
                if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                    yield os.path.join(folder, name)


def read_files(paths):
    """(path, bytes, None) for each readable file, (path, None, reason) for the others."""
    for path in paths:
        try:
            yield path, pathlib.Path(path).read_bytes(), None
        except OSError as error:
            yield path, None, error.strerror or str(error)


def batches(items, max_files, max_bytes):
    """Consecutive groups of at most `max_files` items and about `max_bytes` of file data."""
    batch, size = [], 0
    for item in items:
        length = len(item[1] or b"")
        if batch and (len(batch) >= max_files or size + length > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += length
    if batch:
        yield batch


def encode_multipart(files, boundary=None):
    """A multipart/form-data body with every (name, bytes) as an `image` field, and its
    Content-Type (a random boundary unless one is given)."""
    boundary = boundary or uuid.uuid4().hex
    parts = []
    for name, data in files:
        filename = os.path.basename(name).translate({ord(c): "_" for c in '"\r\n'})
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                f"filename=\"{filename}\"\r\nContent-Type: {kind}\r\n\r\n")
        parts += [head.encode("utf-8", "replace"), data, b"\r\n"]  # a name not in UTF-8 gets "?"
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_files(url, files, timeout, route=PREDICT):
    """Send files in one request to `route`; one outcome per file: ("ok", digit or number,
    probability) or ("error", message)."""
    body, content_type = encode_multipart(files)
    request = urllib.request.Request(url.rstrip("/") + route, data=body,
                                     headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        message = _message(error)
        if len(files) == 1 and 400 <= error.code < 500:
            return [("error", message)]  # the server judged this one file
        raise ServerError(f"the server refused the request ({error.code}): {message}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        if len(files) == 1 and isinstance(reason, (BrokenPipeError, ConnectionResetError)):
            # the server stopped reading this one file: over its upload limit, most likely
            return [("error", f"the server closed the connection while it was sent ({reason});"
                              " is it over the server's upload limit?")]
        raise ServerError(f"cannot reach {url}: {reason}") from error
    except http.client.HTTPException as error:  # a cut or garbled answer
        raise ServerError(f"{url} broke off its answer ({type(error).__name__})") from error
    except ValueError as error:
        raise ServerError(f"{url} did not answer with JSON: is it a MAX-MNIST server?") from error
    try:
        if "predictions" in answer or "text" in answer:  # one file: /model/predict's or /read's
            return [_outcome({**answer, "status": "ok"})]
        return [_outcome(entry) for entry in answer.get("results", [])]
    except (AttributeError, KeyError, IndexError, TypeError) as error:
        raise ServerError(f"{url} answered JSON of a shape this client does not know: "
                          "is it a MAX-MNIST server?") from error


def _message(error):
    """The server's JSON message, with the request id it gives for a 5xx to quote."""
    try:
        answer = json.load(error)
        request_id = answer.get("request_id")
        return answer["message"] + (f" (request id {request_id})" if request_id else "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return error.reason


def _outcome(entry):
    """("ok", digit, probability[, runner-up digit, its probability]), ("ok", number as text,
    probability) for /model/read, or ("error", message)."""
    if entry.get("status") == "ok" and "text" in entry:  # a number from /model/read
        return "ok", entry["text"], entry["probability"]
    if entry.get("status") == "ok":
        best, others = entry["predictions"][0], entry["predictions"][1:2]
        runner_up = (others[0]["prediction"], others[0]["probability"]) if others else ()
        return ("ok", best["prediction"], best["probability"], *runner_up)
    return "error", entry.get("message", "the server could not classify this file")


def classify(batch, url, timeout, route=PREDICT):
    """Outcomes for a batch of read_files() items, in order; unreadable files are not sent."""
    readable = [(path, data) for path, data, problem in batch if problem is None]
    answers = iter(post_files(url, readable, timeout, route) if readable else [])
    return [(path, ("error", problem) if problem else next(answers, ("error", "no answer")))
            for path, _, problem in batch]


def line(path, outcome, as_json):
    """One output line: JSON, or tab-separated text (a tab or line break in a file name is
    written as \\t or \\n, so every file stays one line of three fields)."""
    unsure = outcome[0] == "ok" and outcome[2] < SURE
    refused = outcome[0] == "error" and REFUSED in outcome[1]
    if as_json:
        if outcome[0] == "ok":
            what = "number" if isinstance(outcome[1], str) else "digit"
            answer = {"file": path, what: outcome[1], "probability": outcome[2],
                      "sure": not unsure}
            if unsure and len(outcome) > 3:
                answer["runner_up"] = {"digit": outcome[3], "probability": outcome[4]}
            return json.dumps(answer)
        return json.dumps({"file": path, "error": outcome[1], **({"not_a_digit": True}
                                                                 if refused else {})})
    shown = str(path).translate({ord("\\"): "\\\\", ord("\t"): "\\t", ord("\n"): "\\n",
                                 ord("\r"): "\\r"})
    if outcome[0] == "ok":
        doubt = ""
        if unsure:  # still three fields: the doubt follows the probability
            doubt = " (not sure" + (f"; or {outcome[3]} at {outcome[4]:.3f}"
                                    if len(outcome) > 3 else "") + ")"
        return f"{shown}\t{outcome[1]}\t{outcome[2]:.3f}{doubt}"
    if refused:
        return f"{shown}\tnot a digit: that {REFUSED}"
    return f"{shown}\terror: {outcome[1]}"


def duration(seconds):
    """Seconds as a short clock reading: 0:07, 12:30, 1:02:03."""
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressBar:
    """A one-line bar on stderr, redrawn in place; cleared before results are printed. Once
    some files are done it estimates the time left from the rate so far."""

    WIDTH = 30

    def __init__(self, total, stream, clock=time.monotonic):
        self.total, self.stream, self.done = total, stream, 0
        self.clock = clock
        self.started = clock()

    def eta(self):
        """Seconds left at the rate so far, or None before anything is done."""
        elapsed = self.clock() - self.started
        if self.done == 0 or elapsed <= 0:
            return None
        return (self.total - self.done) * elapsed / self.done

    def show(self):
        filled = self.WIDTH * self.done // max(self.total, 1)
        percent = 100 * self.done // max(self.total, 1)
        left = self.eta()
        timing = f" {duration(self.clock() - self.started)} elapsed" + (
            f", ETA {duration(left)}" if left is not None and self.done < self.total else "")
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                          f"{self.done}/{self.total} files {percent:3d}%{timing}")
        self.stream.flush()

    def advance(self, count):
        self.done += count
        self.show()

    def clear(self):
        self.stream.write("\r\033[K" if self.stream.isatty() else "\n")


def main(argv=None):
    args = parse_args(argv)
    paths = list(image_paths(args.images))
    if not paths:
        print("error: no image files in " + ", ".join(args.images), file=sys.stderr)
        return EXIT_USAGE
    groups = batches(read_files(paths), args.batch_size, DEFAULT_BATCH_BYTES)
    show_bar = args.progress
    if show_bar is None:
        show_bar = sys.stderr.isatty() and len(paths) > args.batch_size
    bar = ProgressBar(len(paths), sys.stderr) if show_bar else None
    failed = 0
    if bar:
        bar.show()
    try:
        for batch in groups:
            outcomes = classify(batch, args.url, args.timeout, READ if args.read else PREDICT)
            if bar and sys.stderr.isatty():
                bar.clear()
            for path, outcome in outcomes:
                print(line(path, outcome, args.json), flush=True)
                failed += outcome[0] == "error"
            if bar:
                bar.advance(len(batch))
    except ServerError as error:
        if bar:
            bar.clear()
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SERVER
    except BrokenPipeError:  # the reader stopped early (`| head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        if bar:
            bar.clear()
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if bar:
        bar.clear()
    if failed:
        print(f"{failed} of {len(paths)} files could not be classified", file=sys.stderr)
        return EXIT_FILE_ERRORS
    return 0
