"""The command-line client (`python -m client`) against the real server over HTTP."""
import subprocess
import sys

import pytest
from PIL import Image

from client import cli
from tests.helpers import ROOT, encode, free_port

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
