"""Faults: a bad model never serves, a killed worker is replaced, a model crash is a JSON 500.

Most tests run a real gunicorn master (the service's own gunicorn.conf.py) on a free port; the
others load the model in-process or run `make`.
"""
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time

import h5py
import pytest
import requests

import app
from core.errors import ModelLoadError
from core.runtime import load_runtime
from harness import ROOT
from harness.images import encode
from harness.processes import Server, children, free_port, gunicorn_command
from tests.builders import digit_image
from tests.fault_app import SECRET
from tests.helpers import MODEL_PATH



def run_until_exit(env, workers, timeout=120):
    """Start gunicorn as `make run` does and wait for it to give up; (exit code, log)."""
    environment = {**os.environ, "HOST": "127.0.0.1", "PORT": str(free_port()), **env}
    process = subprocess.run(gunicorn_command(workers), cwd=ROOT, env=environment,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return process.returncode, process.stdout.decode(errors="replace")


def assert_refused_cleanly(code, log, lines=1):
    assert code == app.WORKER_BOOT_ERROR, log
    refusals = [line for line in log.splitlines() if "refusing to start" in line]
    assert len(refusals) == lines and all("CRITICAL" in line for line in refusals), log
    assert "Traceback" not in log, log


def test_a_missing_model_stops_gunicorn_before_any_worker(tmp_path):
    code, log = run_until_exit({"MODEL_PATH": str(tmp_path / "absent.h5")}, workers=2)
    assert_refused_cleanly(code, log)
    assert "absent.h5 not found" in log and "make install" in log
    assert "Booting worker" not in log


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not-keras"])
def test_a_damaged_model_stops_gunicorn_with_one_clear_line(tmp_path, damage):
    model = tmp_path / f"{damage}.h5"
    if damage == "truncated":
        model.write_bytes(MODEL_PATH.read_bytes()[:20_000])
    elif damage == "garbage":
        model.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4096))
    else:
        with h5py.File(model, "w") as handle:
            handle.attrs["note"] = "an HDF5 file, but not a Keras model"
    code, log = run_until_exit({"MODEL_PATH": str(model)}, workers=2)
    assert_refused_cleanly(code, log)
    assert f"{damage}.h5" in log and "Booting worker" not in log


@pytest.fixture(scope="module")
def other_network(tmp_path_factory):
    """A loadable Keras model that is not this service's network (it outputs 5 classes)."""
    import keras
    path = tmp_path_factory.mktemp("models") / "other.h5"
    keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                      keras.layers.Dense(5)]).save(path)
    return path


def test_a_model_that_is_not_this_network_is_refused(other_network, tmp_path, caplog):
    with pytest.raises(ModelLoadError, match="expected"):
        load_runtime(other_network)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4096))
    with pytest.raises(SystemExit) as exited:
        app.create_app({"MODEL_PATH": str(garbage)})
    assert exited.value.code == app.WORKER_BOOT_ERROR
    critical = [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert len(critical) == 1 and "garbage.h5 cannot be loaded" in critical[0].getMessage()
    assert critical[0].exc_info is None and "\n" not in critical[0].getMessage()


def test_a_worker_that_cannot_load_the_model_halts_gunicorn(other_network):
    """Past the master's cheap checks: the worker's own load fails, it exits with code 3 and
    gunicorn stops instead of respawning it."""
    code, log = run_until_exit({"MODEL_PATH": str(other_network)}, workers=1)
    assert_refused_cleanly(code, log)
    assert "expected (None, 28, 28, 1) to (None, 10)" in log
    assert "Worker failed to boot" in log and log.count("Booting worker") == 1


def test_make_refuses_a_model_whose_checksum_does_not_match(tmp_path):
    """The Makefile's own fetch rule, on a copy of the project with a damaged bucket."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", project)
    shutil.copy(ROOT / "scripts" / "fetch_model.py", project / "scripts")
    digest = subprocess.run(["md5sum", str(MODEL_PATH)], capture_output=True, text=True,
                            check=True).stdout.split()[0]
    (project / "md5sums.txt").write_text(f"{digest}  assets/mnist_cnn.h5\n")
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (bucket / "mnist_cnn.h5").write_bytes(MODEL_PATH.read_bytes()[:-100])
    make = ["make", "-C", str(project), "assets/mnist_cnn.h5", f"MODEL_BUCKET={bucket}",
            f"BIN={pathlib.Path(sys.executable).parent}"]
    failed = subprocess.run(make, capture_output=True, text=True)
    assert failed.returncode != 0 and "checksum mismatch" in failed.stderr + failed.stdout
    assert not (project / "assets" / "mnist_cnn.h5").exists()
    shutil.copy(MODEL_PATH, bucket / "mnist_cnn.h5")
    assert subprocess.run(make, capture_output=True).returncode == 0
    assert (project / "assets" / "mnist_cnn.h5").read_bytes() == MODEL_PATH.read_bytes()


def model_loaded_by(server, pid):
    """A worker is booted once it has logged its model load (the log stamps each process id)."""
    return any(f"[{pid}] core.runtime" in line and " loaded" in line
               for line in server.output().splitlines())


def wait_for_booted_workers(server, count, timeout=180, exclude=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [pid for pid in children(server.process.pid) if pid not in exclude]
        if len(pids) >= count and all(model_loaded_by(server, pid) for pid in pids):
            return pids
        time.sleep(0.5)
    raise AssertionError(f"{count} booted workers did not appear under {server.process.pid}")


def test_a_worker_killed_under_load_is_replaced_and_traffic_continues():
    server = Server(gunicorn_command(workers=2), timeout=180)
    outcomes = []  # (monotonic time, status code or exception name)
    stop = threading.Event()
    image = encode(digit_image())

    def client():
        while not stop.is_set():
            try:
                status = requests.post(server.url + "/model/predict",
                                       files={"image": ("7.png", image)}, timeout=60).status_code
            except requests.RequestException as error:
                status = type(error).__name__
            outcomes.append((time.monotonic(), status))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    try:
        victim, survivor = wait_for_booted_workers(server, 2)
        for thread in threads:
            thread.start()
        time.sleep(3)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for_booted_workers(server, 1, exclude=(victim, survivor))  # a new one, or it fails
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            if thread.ident is not None:
                thread.join(70)
        server.stop()
    after = [status for at, status in outcomes if at > killed_at]
    failures = [status for _, status in outcomes if status != 200]
    assert all(not isinstance(s, int) or s < 500 for _, s in outcomes), failures
    assert len(failures) <= len(threads), failures  # at most the requests in flight on the victim
    assert after.count(200) >= 10
    assert "was sent SIGKILL" in server.output()


def test_a_crash_in_the_model_stage_is_a_json_500_and_a_logged_traceback():
    server = Server([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers", "1",
                     "tests.fault_app:create_app_with_failing_model()"])
    try:
        response = requests.post(server.url + "/model/predict",
                                 files={"image": ("7.png", encode(digit_image()))},
                                 headers={"X-Request-ID": "fault-probe-42"}, timeout=30)
        bad_input = requests.post(server.url + "/model/predict",
                                  files={"image": ("x.txt", b"text")}, timeout=30)
    finally:
        server.stop()
    log = server.output()
    assert response.status_code == 500
    assert response.json() == {"status": "error", "request_id": "fault-probe-42",
                               "message": "internal server error; the server log has the details"}
    assert SECRET not in response.text and "Traceback" not in response.text
    assert bad_input.status_code == 400  # input errors never reach the model stage
    logged = [line for line in log.splitlines() if "req=fault-probe-42" in line]
    assert any("ERROR" in line and "/model/predict" in line for line in logged), log
    assert "Traceback" in log and SECRET in log


def test_a_missing_sequence_model_stops_gunicorn_before_any_worker(tmp_path):
    code, log = run_until_exit({"READER_PATH": str(tmp_path / "absent.tflite")}, workers=2)
    assert_refused_cleanly(code, log)
    assert "absent.tflite not found" in log and "Booting worker" not in log


def test_a_digit_model_given_as_the_sequence_model_is_refused(caplog):
    with pytest.raises(SystemExit) as exited:
        app.create_app({"READER_PATH": str(ROOT / "assets" / "mnist_cnn.tflite")})
    assert exited.value.code == app.WORKER_BOOT_ERROR
    [critical] = [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert "mnist_cnn.tflite" in critical.getMessage() and "sequence model" in \
        critical.getMessage()
