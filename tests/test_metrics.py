"""GET /metrics: Prometheus text, counted right in one process and across gunicorn workers."""
import io
import os
import pathlib
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from harness import ROOT
from harness.processes import Server, gunicorn_command
from tests.helpers import metric_values

SAMPLE = ROOT / "samples" / "7_photo.jpg"
PREDICT = ("POST", "/model/predict", "200")


def value(parsed, name, **labels):
    return parsed.get((name, tuple(sorted(labels.items()))), 0.0)


def total(parsed, name):
    return sum(v for (sample, _), v in parsed.items() if sample == name)


def requests_count(parsed, method, endpoint, status):
    return value(parsed, "maxmnist_http_requests_total", endpoint=endpoint, method=method,
                 status=status)


def test_metrics_count_requests_predictions_and_inference(client):
    before = metric_values(client.get("/metrics").get_data(as_text=True))
    files = {"image": [(io.BytesIO(SAMPLE.read_bytes()), "a.jpg"),
                       (io.BytesIO(SAMPLE.read_bytes()), "b.jpg")]}
    predicted = client.post("/model/predict", data=files).get_json()["results"]
    client.get("/no/such/page")
    after = metric_values(client.get("/metrics").get_data(as_text=True))

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert requests_count(after, *PREDICT) - requests_count(before, *PREDICT) == 1
    assert requests_count(after, "GET", "unmatched", "404") - \
        requests_count(before, "GET", "unmatched", "404") == 1
    assert delta("maxmnist_http_request_duration_seconds_count",
                 method="POST", endpoint="/model/predict") == 1
    digit = str(predicted[0]["predictions"][0]["prediction"])
    assert delta("maxmnist_predictions_total", digit=digit) == 2
    assert total(after, "maxmnist_predictions_total") - \
        total(before, "maxmnist_predictions_total") == 2
    assert delta("maxmnist_model_inference_seconds_count") == 1
    assert delta("maxmnist_model_batch_size_sum") == 2


def test_metrics_speak_prometheus_text_and_openmetrics(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "# TYPE maxmnist_http_request_duration_seconds histogram" in response.get_data(True)
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).endswith("# EOF\n")


def test_any_accept_header_and_made_up_methods_keep_metrics_bounded(client):
    odd = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=x"})
    assert odd.status_code == 200 and odd.mimetype == "text/plain"  # prometheus_client's bug
    for method in ("FOOBAR", "BREW"):
        assert client.open("/model/metadata", method=method).status_code == 405
    before = requests_count(metric_values(client.get("/metrics").get_data(as_text=True)),
                            "GET", "/model/predict", "405")
    assert client.get("/model/predict").status_code == 405  # a known route: its own label
    parsed = metric_values(client.get("/metrics").get_data(as_text=True))
    assert requests_count(parsed, "GET", "/model/predict", "405") == before + 1
    methods = {dict(labels)["method"] for (name, labels) in parsed
               if name == "maxmnist_http_requests_total"}
    assert "other" in methods and not methods & {"FOOBAR", "BREW"}  # one label, not one each


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    """A real 2-worker gunicorn with its metrics directory where the test can see it; a stale
    file from an earlier run is in it and must be wiped at start."""
    metrics_dir = tmp_path_factory.mktemp("multiproc")
    (metrics_dir / "counter_1.db").write_bytes(b"stale bytes from a previous server run")
    running = Server(gunicorn_command(workers=2),
                     env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    yield running, metrics_dir
    running.stop()


def worker_pids(metrics_dir, kind):
    return {int(p.stem.rsplit("_", 1)[1]) for p in pathlib.Path(metrics_dir).glob(f"{kind}_*.db")}


def post_sample(server):
    """POST the sample photo to a real server; its status code."""
    files = {"image": (SAMPLE.name, SAMPLE.read_bytes())}
    return requests.post(server.url + "/model/predict", files=files, timeout=60).status_code


def scrape(server):
    return metric_values(requests.get(server.url + "/metrics", timeout=10).text)


def predictions_by_worker(metrics_dir, scratch):
    """Each worker's own count of answered predictions, read from its file alone."""
    counts = {}
    for pid in worker_pids(metrics_dir, "counter"):
        folder = scratch / str(pid)
        folder.mkdir(exist_ok=True)
        shutil.copy(metrics_dir / f"counter_{pid}.db", folder)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(folder))
        counts[pid] = requests_count(metric_values(generate_latest(registry).decode()), *PREDICT)
    return counts


def test_counts_add_up_across_two_gunicorn_workers(two_workers, tmp_path):
    server, metrics_dir = two_workers
    assert not (metrics_dir / "counter_1.db").exists()
    sent, deadline = 0, time.monotonic() + 120
    with ThreadPoolExecutor(max_workers=4) as pool:  # concurrent, so both workers serve
        while True:  # the second worker may still be loading its model at first
            assert list(pool.map(post_sample, [server] * 8)) == [200] * 8
            sent += 8
            by_worker = predictions_by_worker(metrics_dir, tmp_path)
            if sent >= 24 and len(by_worker) == 2 and min(by_worker.values()) > 0 \
                    or time.monotonic() > deadline:
                break
    assert len(by_worker) == 2 and min(by_worker.values()) > 0, by_worker
    assert sum(by_worker.values()) == sent
    for _ in range(6):  # each scrape lands on either worker; every one sees all requests
        parsed = scrape(server)
        assert requests_count(parsed, *PREDICT) == sent
        assert total(parsed, "maxmnist_predictions_total") == sent
        assert value(parsed, "maxmnist_model_inference_seconds_count") == sent
        assert value(parsed, "maxmnist_http_request_duration_seconds_count",
                     method="POST", endpoint="/model/predict") == sent


def test_a_server_started_as_make_run_starts_it_counts_too():
    """`make run` and the container set no PROMETHEUS_MULTIPROC_DIR: gunicorn.conf.py makes a
    temporary one, and the workers must write there. prometheus_client picks in-memory or file
    storage when it is first imported, so the directory has to exist before that."""
    server = Server(gunicorn_command(workers=2), env={"PROMETHEUS_MULTIPROC_DIR": None})
    try:
        for _ in range(4):
            assert post_sample(server) == 200
        parsed = scrape(server)
        assert requests_count(parsed, *PREDICT) == 4
        assert total(parsed, "maxmnist_predictions_total") == 4
        assert value(parsed, "maxmnist_model_inference_seconds_count") == 4
    finally:
        server.stop()


def test_a_dead_workers_counts_are_kept(two_workers, tmp_path):
    server, metrics_dir = two_workers
    assert post_sample(server) == 200
    counted = predictions_by_worker(metrics_dir, tmp_path)
    victim = max(pid for pid, count in counted.items() if count > 0)  # it served predictions
    before = requests_count(scrape(server), *PREDICT)
    assert f"PPid:\t{server.process.pid}\n" in pathlib.Path(f"/proc/{victim}/status").read_text()
    os.kill(victim, signal.SIGKILL)  # gunicorn replaces it; its files must still count
    deadline = time.monotonic() + 20
    while pathlib.Path(f"/proc/{victim}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert requests_count(scrape(server), *PREDICT) == before
