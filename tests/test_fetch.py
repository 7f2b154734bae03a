"""The build-time model fetch: over real HTTP, from a folder, and its failures."""
import functools
import hashlib
import http.server
import subprocess
import sys
import threading

import pytest

from scripts.fetch_model import FetchError, fetch_model
from harness import ROOT

PAYLOAD = b"pretend model weights " * 100


@pytest.fixture
def bucket(tmp_path):
    folder = tmp_path / "bucket"
    folder.mkdir()
    (folder / "model.h5").write_bytes(PAYLOAD)
    md5sums = tmp_path / "md5sums.txt"
    md5sums.write_text(f"{hashlib.md5(PAYLOAD).hexdigest()}  assets/model.h5\n")
    return folder, md5sums


@pytest.fixture
def http_bucket(bucket):
    folder, _ = bucket
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_over_http(bucket, http_bucket, tmp_path):
    _, md5sums = bucket
    fetched = fetch_model(http_bucket, "model.h5", tmp_path / "assets", md5sums)
    assert fetched.read_bytes() == PAYLOAD


def test_local_folder_and_file_url(bucket, tmp_path):
    folder, md5sums = bucket
    assert fetch_model(str(folder), "model.h5", tmp_path / "a1" / "assets", md5sums).is_file()
    assert fetch_model(folder.as_uri(), "model.h5", tmp_path / "a2" / "assets", md5sums).is_file()


def test_checksum_mismatch_names_the_file_and_both_sums(bucket, tmp_path):
    folder, md5sums = bucket
    (folder / "model.h5").write_bytes(PAYLOAD + b"tampered")
    with pytest.raises(FetchError) as failure:
        fetch_model(str(folder), "model.h5", tmp_path / "assets", md5sums)
    message = str(failure.value)
    assert "assets/model.h5" in message
    assert hashlib.md5(PAYLOAD).hexdigest() in message
    assert hashlib.md5(PAYLOAD + b"tampered").hexdigest() in message
    assert list((tmp_path / "assets").iterdir()) == []


def test_missing_file_over_http_and_locally(bucket, http_bucket, tmp_path):
    folder, md5sums = bucket
    (folder / "model.h5").unlink()
    with pytest.raises(FetchError, match="404"):
        fetch_model(http_bucket, "model.h5", tmp_path / "assets", md5sums)
    with pytest.raises(FetchError, match="does not exist"):
        fetch_model(str(folder), "model.h5", tmp_path / "assets", md5sums)


def test_command_line_fails_loudly(bucket, tmp_path):
    folder, md5sums = bucket
    (folder / "model.h5").write_bytes(b"wrong")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "fetch_model.py"), "--bucket", str(folder),
         "--file", "model.h5", "--dest", str(tmp_path / "assets"), "--md5sums", str(md5sums)],
        capture_output=True, text=True)
    assert result.returncode == 1
    assert "checksum mismatch" in result.stderr and "assets/model.h5" in result.stderr


def test_committed_model_matches_md5sums():
    line = (ROOT / "md5sums.txt").read_text().split()
    assert line[1] == "assets/mnist_cnn.h5"
    assert hashlib.md5((ROOT / "models" / "mnist_cnn.h5").read_bytes()).hexdigest() == line[0]
