"""The command-line client (`python -m client`) against the real server over HTTP."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
from PIL import Image, ImageDraw

from client import cli
from harness import ROOT
from harness.images import encode
from harness.processes import free_port
from tests.builders import number

FORMATS = ["PNG", "JPEG", "BMP", "WEBP", "GIF"]


@pytest.fixture(scope="module")
def digit_files(tmp_path_factory):
    """Twenty image files of known digits in several formats: the samples, re-encoded."""
    folder = tmp_path_factory.mktemp("digits")
    files = []
    for copy in range(2):
        for digit in range(10):
            picture = Image.open(ROOT / "samples" / f"{digit}_mnist_style.png").convert("L")
            fmt = FORMATS[(digit + copy) % len(FORMATS)]
            path = folder / f"{digit}_copy{copy}.{fmt.lower()}"
            path.write_bytes(encode(picture, fmt))
            files.append(path)
    return files


def run_client(*args):
    return subprocess.run([sys.executable, "-m", "client", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_prints_digit_and_confidence_per_file_in_order(server, digit_files):
    done = run_client(*digit_files, "--url", server.url, "--batch-size", "6", "--progress")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(path) for path in digit_files]
    for path, line in zip(digit_files, lines):
        _, digit, confidence = line.split("\t")
        assert digit == path.name[0], line
        assert 0.5 < float(confidence) <= 1.0
    assert "20/20 files 100%" in done.stderr  # the bar, forced on although stderr is a pipe


def test_a_reader_that_stops_early_ends_it_quietly(server, digit_files):
    """`python -m client ... | head -1`: no traceback when the pipe closes."""
    client = subprocess.Popen([sys.executable, "-m", "client", *map(str, digit_files), "--url",
                               server.url, "--batch-size", "2"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert client.stdout.readline().startswith(str(digit_files[0]).encode())
    client.stdout.close()
    assert client.wait(timeout=120) == cli.EXIT_PIPE_CLOSED
    assert client.stderr.read() == b""
    client.stderr.close()


def test_one_request_carries_a_whole_batch(server, digit_files):
    """Several `image` fields in one POST: one outcome per file, in the order sent."""
    files = [(path.name, path.read_bytes()) for path in digit_files[:7]]
    outcomes = cli.post_files(server.url, files, timeout=60)
    assert [outcome[0] for outcome in outcomes] == ["ok"] * 7
    assert [outcome[1] for outcome in outcomes] == [int(name[0]) for name, _ in files]


def test_batches_respect_count_and_bytes():
    items = [(f"f{i}", b"x" * size, None) for i, size in enumerate([5, 5, 5, 20, 1, 1, 1])]
    groups = list(cli.batches(items, max_files=3, max_bytes=12))
    assert [[name for name, _, _ in group] for group in groups] == [
        ["f0", "f1"], ["f2"], ["f3"], ["f4", "f5", "f6"]]


def test_bad_and_missing_files_fail_alone_and_exit_non_zero(server, digit_files, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    missing = tmp_path / "missing.png"
    done = run_client(digit_files[3], notes, missing, digit_files[7], "--url", server.url)
    assert done.returncode == cli.EXIT_FILE_ERRORS
    lines = done.stdout.splitlines()
    assert lines[0].split("\t")[1] == "3" and lines[3].split("\t")[1] == "7"
    assert "error: the file is not an image" in lines[1]
    assert "error: No such file" in lines[2]
    assert "2 of 4 files could not be classified" in done.stderr


def test_unreachable_server_exits_non_zero(digit_files):
    done = run_client(digit_files[0], "--url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == cli.EXIT_SERVER
    assert "cannot reach" in done.stderr and done.stdout == ""


def test_batch_larger_than_the_server_takes_is_reported(server, digit_files):
    done = run_client(*(digit_files * 4), "--url", server.url, "--batch-size", "80")
    assert done.returncode == cli.EXIT_SERVER
    assert "refused the request (400)" in done.stderr and "at most" in done.stderr


def test_json_lines(server, digit_files):
    done = run_client(digit_files[5], "--url", server.url, "--json")
    assert done.returncode == 0, done.stderr
    assert '"digit": 5' in done.stdout and '"probability"' in done.stdout


@pytest.mark.parametrize("option", [["--url", ""], ["--url", "ftp://127.0.0.1/"],
                                    ["--url", "http://[::1"], ["--timeout", "0"],
                                    ["--timeout", "nan"], ["--batch-size", "0"]])
def test_unusable_options_are_usage_errors(digit_files, option):
    done = run_client(digit_files[0], *option)
    assert done.returncode == cli.EXIT_USAGE and "Traceback" not in done.stderr, done.stderr


@pytest.fixture
def garbling_server():
    """`answer_with(raw)`: the URL of a loopback server that answers one request with `raw`
    bytes (a garbled status line, a cut body, JSON of the wrong shape), then closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    threads = []

    def serve(raw):
        connection, _ = listener.accept()
        with connection:
            connection.recv(1 << 20)
            connection.sendall(raw)

    def answer_with(raw):
        threads.append(threading.Thread(target=serve, args=(raw,), daemon=True))
        threads[-1].start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield answer_with
    for thread in threads:
        thread.join(10)
    listener.close()


def http_answer(body, length=None):
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n\r\n").encode() + body


@pytest.mark.parametrize("answer", [
    b"SPAM 200 OK\r\n\r\n", http_answer(b'{"predictions": [', length=1000), http_answer(b"[1]"),
    http_answer(b'{"predictions": []}'), http_answer(b'{"results": [{"status": "ok"}]}')],
    ids=["garbled status", "cut body", "a list", "no predictions", "entry without any"])
def test_a_garbled_answer_is_a_server_error_without_a_traceback(garbling_server, digit_files,
                                                                 answer):
    url = garbling_server(answer)
    done = run_client(digit_files[0], "--url", url)
    assert done.returncode == cli.EXIT_SERVER and "Traceback" not in done.stderr, done.stderr
    assert url in done.stderr


def test_odd_names_and_a_file_over_the_upload_limit_fail_alone(server, digit_files, tmp_path):
    """A name that is not UTF-8 still goes (as '?'); a 9 MB file (over MAX_UPLOAD_BYTES) fails
    alone and the files after it are still classified."""
    odd = tmp_path / os.fsdecode(b"seven-\xff.png")
    odd.write_bytes(digit_files[7].read_bytes())
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (9 * 1024 * 1024))
    done = subprocess.run([sys.executable, "-m", "client", odd, big, digit_files[3], "--url",
                           server.url], cwd=ROOT, capture_output=True, timeout=120)
    assert done.returncode == cli.EXIT_FILE_ERRORS, done.stderr
    assert b"Traceback" not in done.stderr
    lines = done.stdout.decode(errors="replace").splitlines()
    assert lines[0].endswith("\t7\t" + lines[0].rsplit("\t", 1)[1]) and "error" in lines[1]
    assert lines[2].split("\t")[1] == "3"


def _ctrl_c_as_at_a_terminal():
    """A shell's background job inherits SIGINT ignored, and Python then keeps ignoring it:
    give the client SIGINT's default, as a terminal's foreground program has."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_it_with_130_and_no_traceback(digit_files):
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    client = subprocess.Popen([sys.executable, "-m", "client", str(digit_files[0]), "--url",
                               f"http://127.0.0.1:{listener.getsockname()[1]}"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=_ctrl_c_as_at_a_terminal)
    try:
        connection, _ = listener.accept()  # the client is waiting for its answer now
        client.send_signal(signal.SIGINT)
        _, errors = client.communicate(timeout=30)
    finally:
        listener.close()
    connection.close()
    assert client.returncode == cli.EXIT_INTERRUPTED
    assert b"interrupted" in errors and b"Traceback" not in errors


def test_a_name_with_a_tab_or_line_break_stays_one_line_of_three_fields():
    text = cli.line("a\tb\nc\\d.png", ("ok", 7, 0.9), as_json=False)
    assert text == "a\\tb\\nc\\\\d.png\t7\t0.900" and len(text.split("\t")) == 3


def test_a_server_error_is_reported_with_the_request_id_to_quote(garbling_server, digit_files):
    body = b'{"status": "error", "message": "boom", "request_id": "abc123"}'
    url = garbling_server(http_answer(body).replace(b"200 OK", b"500 INTERNAL SERVER ERROR"))
    done = run_client(digit_files[0], digit_files[1], "--url", url)
    assert done.returncode == cli.EXIT_SERVER
    assert "boom (request id abc123)" in done.stderr


def test_a_folder_is_searched_recursively_for_image_files_only(server, tmp_path):
    sample = (ROOT / "samples" / "7_mnist_style.png").read_bytes()
    for name in ("scans/b/7.PNG", "scans/a/deep/7.jpg.png", "scans/7.png", "scans/.7.png",
                 "scans/.git/7.png", "scans/notes.txt", "scans/a/7.png.bak"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(sample)
    named = tmp_path / "notes.txt"
    named.write_bytes(sample)  # named on the command line: sent whatever its extension
    done = run_client(tmp_path / "scans", named, "--url", server.url)
    assert done.returncode == 0, done.stderr
    sent = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert sent == [str(tmp_path / name) for name in
                    ("scans/7.png", "scans/a/deep/7.jpg.png", "scans/b/7.PNG", "notes.txt")]
    assert all(line.split("\t")[1] == "7" for line in done.stdout.splitlines())


def test_a_folder_without_images_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    done = run_client(tmp_path, "--url", "http://127.0.0.1:9")
    assert done.returncode == cli.EXIT_USAGE
    assert "no image files" in done.stderr and done.stdout == ""


class Captured:
    """A stand-in for stderr that keeps what the bar wrote."""

    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass

    def isatty(self):
        return False


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_progress_bar_estimates_the_time_left_from_the_rate_so_far():
    clock, stream = FakeClock(), Captured()
    bar = cli.ProgressBar(400, stream, clock=clock)
    bar.show()
    assert "0/400 files   0% 0:00 elapsed" in stream.text and "ETA" not in stream.text
    clock.now += 30
    bar.advance(100)  # 100 files in 30 s: 300 more take 90 s
    assert stream.text.endswith("100/400 files  25% 0:30 elapsed, ETA 1:30")
    clock.now += 3600
    bar.advance(100)
    assert stream.text.endswith("200/400 files  50% 1:00:30 elapsed, ETA 1:00:30")
    clock.now += 10
    bar.advance(200)
    assert stream.text.endswith("400/400 files 100% 1:00:40 elapsed")


def test_a_real_run_shows_the_estimate(server, digit_files):
    done = run_client(*digit_files, "--url", server.url, "--batch-size", "5", "--progress")
    assert done.returncode == 0, done.stderr
    assert "5/20 files  25%" in done.stderr and "elapsed, ETA" in done.stderr


def test_an_unsure_answer_says_so_and_names_the_runner_up():
    text = cli.line("4.png", ("ok", 4, 0.55, 9, 0.4), as_json=False)
    assert text == "4.png\t4\t0.550 (not sure; or 9 at 0.400)" and len(text.split("\t")) == 3
    assert cli.line("4.png", ("ok", 4, 0.95, 9, 0.04), as_json=False) == "4.png\t4\t0.950"
    assert json.loads(cli.line("4.png", ("ok", 4, 0.55, 9, 0.4), as_json=True)) == {
        "file": "4.png", "digit": 4, "probability": 0.55, "sure": False,
        "runner_up": {"digit": 9, "probability": 0.4}}


def test_a_picture_that_is_not_a_digit_is_reported_as_such(server, digit_files, tmp_path):
    cross = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(cross).line([(40, 40), (160, 160)], fill=0, width=14)
    ImageDraw.Draw(cross).line([(160, 40), (40, 160)], fill=0, width=14)
    path = tmp_path / "cross.png"
    path.write_bytes(encode(cross))
    done = run_client(digit_files[2], path, "--url", server.url)
    assert done.returncode == cli.EXIT_FILE_ERRORS
    lines = done.stdout.splitlines()
    assert lines[0].split("\t")[1] == "2"
    assert lines[1] == f"{path}\tnot a digit: that does not look like a digit"
    alone = run_client(path, "--url", server.url, "--json")  # one file: the server's 422
    assert json.loads(alone.stdout)["not_a_digit"] is True


@pytest.fixture(scope="module")
def number_files(tmp_path_factory):
    """Photos and scans of numbers written with the sample digits, named after the number."""
    folder = tmp_path_factory.mktemp("numbers")
    files = []
    for text, medium in (("2026", "photo"), ("90210", "scan"), ("7", "canvas"), ("31", "scan")):
        written = number(text, medium=medium)
        path = folder / f"{text}.{'jpg' if medium == 'photo' else 'png'}"
        path.write_bytes(written.data)
        files.append(path)
    return files


def test_read_prints_each_number_and_the_probability_of_all_its_digits(server, number_files):
    done = run_client("--read", *number_files, "--url", server.url, "--batch-size", "3")
    assert done.returncode == 0, done.stderr
    lines = [line.split("\t") for line in done.stdout.splitlines()]
    assert [name for name, _, _ in lines] == [str(path) for path in number_files]
    assert [text for _, text, _ in lines] == [path.stem for path in number_files]
    # a reading below 0.7 is marked "(not sure)" after its probability
    assert all(0 < float(probability.split()[0]) <= 1 for _, _, probability in lines)


def test_read_as_json_lines_and_a_blank_page_fails_alone(server, number_files, tmp_path):
    blank = tmp_path / "blank.png"
    blank.write_bytes(encode(Image.new("L", (300, 100), 255)))
    done = run_client("--read", "--json", number_files[0], blank, "--url", server.url)
    assert done.returncode == cli.EXIT_FILE_ERRORS
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["number"] == "2026" and 0 < first["probability"] <= 1
    assert "no digit found" in second["error"]
