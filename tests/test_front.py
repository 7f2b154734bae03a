"""The service as shipped (serve.py: nginx in front of gunicorn's sync workers) over real HTTP:
slow and idle clients hold no worker, a slow upload outlives the worker timeout, the stack's
own errors are JSON, pipelining and keep-alive work, probes answer while workers are busy, and
SIGTERM drains every request already accepted.
"""
import http.client
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from PIL import Image

from client.cli import encode_multipart
from harness import ROOT
from harness.images import encode
from harness.processes import Server, children, free_port, process_tree, serve_command
from harness.raw_http import connect, exchange, parse, read_all, whole_post
from tests.builders import sample

WORKER_TIMEOUT = 4  # short, so the slow upload below outlives it in a few seconds
PREDICT = "/model/predict"
HEADERS_OF_JSON = ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                   "Cross-Origin-Resource-Policy", "Content-Security-Policy", "Cache-Control")


@pytest.fixture(scope="module")
def front():
    """serve.py on a free loopback port, with 2 workers and a short WORKER_TIMEOUT."""
    running = Server(serve_command(), env={"WORKERS": "2", "WORKER_TIMEOUT": str(WORKER_TIMEOUT)})
    yield running
    running.stop()


DIGIT = [("7.png", sample("7_mnist_style.png"))]


def heavy_batch():
    """16 large photos of a 7: a few hundred milliseconds of a worker's time."""
    photo = Image.open(ROOT / "samples" / "7_photo.jpg").convert("RGB")
    large = encode(photo.resize((photo.width * 4, photo.height * 4)), "JPEG", quality=95)
    return [(f"{index}.jpg", large) for index in range(16)]


# ----------------------------------------------------------------------------- protocol errors

BIG_HEADER = b"X-Big: " + b"a" * 20_000 + b"\r\n"
PROTOCOL_ERRORS = {
    "a 10 KB URL": (b"GET /model/" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                    414, "URL"),
    "a 20 KB header": (b"GET /model/metadata HTTP/1.1\r\nHost: x\r\n" + BIG_HEADER + b"\r\n",
                       431, "headers"),
    "a garbled request line": (b"\x16\x03\x01 garbage\r\n\r\n", 400, "HTTP"),
    "a request line of a made-up version": (b"GET / HTTP/7.1\r\nHost: x\r\n\r\n", 505, "HTTP"),
    "a body declared over the cap": (b"POST /model/predict HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Length: 9000000\r\n\r\n", 413, "MAX_UPLOAD_BYTES"),
}


@pytest.mark.parametrize("case", PROTOCOL_ERRORS)
def test_errors_of_the_stack_itself_are_json_that_says_what_to_fix(front, case):
    request, code, hint = PROTOCOL_ERRORS[case]
    status, headers, body = parse(exchange(front.port, request))
    assert status == code
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    assert answer["status"] == "error" and hint in answer["message"]
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-ID"])


def test_errors_of_the_stack_on_v2_paths_have_the_protocols_shape(front):
    request = b"GET /v2/models/mnist HTTP/1.1\r\nHost: x\r\n" + BIG_HEADER + b"\r\n"
    status, _, body = parse(exchange(front.port, request))
    assert status == 431
    assert set(json.loads(body)) == {"error"}


def test_methods_the_front_refuses_itself_get_json_in_the_services_shape(front):
    """TRACE is nginx's own 405; CONNECT its 405 or, before nginx 1.25, its 400."""
    status, headers, body = parse(exchange(front.port, b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == 405 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] == "error" and headers["Cache-Control"] == "no-store"
    status, _, body = parse(exchange(front.port, b"TRACE /v2/models/mnist HTTP/1.1\r\n"
                                                 b"Host: x\r\n\r\n"))
    assert status == 405 and set(json.loads(body)) == {"error"}
    connect_request = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    status, headers, body = parse(exchange(front.port, connect_request))
    assert status in (400, 405) and headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] == "error"


def test_the_fronts_own_answers_carry_the_apps_json_headers(front):
    made_by_app = parse(exchange(front.port, b"GET /model/metadata HTTP/1.1\r\nHost: x\r\n"
                                        b"Connection: close\r\n\r\n"))[1]
    made_by_front = parse(exchange(front.port, b"GET /x HTTP/7.1\r\nHost: x\r\n\r\n"))[1]
    for name in HEADERS_OF_JSON:
        assert made_by_front[name] == made_by_app[name], name


def request_id(front, headers):
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    connection.request("GET", "/model/metadata", headers=headers)
    with connection.getresponse() as response:
        return response.getheader("X-Request-ID")


def test_a_request_id_is_the_clients_or_one_id_for_front_and_app(front):
    assert request_id(front, {"X-Request-ID": "trace-42.a_b"}) == "trace-42.a_b"
    assert re.fullmatch(r"[0-9a-f]{32}", request_id(front, {"X-Request-ID": "not valid!"}))
    refused = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Request-ID: trace-43\r\n"
    headers = parse(exchange(front.port, refused + BIG_HEADER + b"\r\n"))[1]
    assert headers["X-Request-ID"] == "trace-43"  # on nginx's own 431


# ----------------------------------------------------------------------------- connections

def test_pipelined_requests_each_get_their_answer_in_order(front):
    first = b"GET /model/metadata HTTP/1.1\r\nHost: x\r\n\r\n"
    second = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with connect(front.port) as sock:
        sock.sendall(first + second)
        answer = read_all(sock)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.index(b'"id": "max-mnist"') < answer.index(b'{"live": true}')


def test_one_connection_is_kept_for_many_requests(front):
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    connection.connect()
    sock = connection.sock
    body, content_type = encode_multipart(DIGIT)
    for _ in range(5):
        connection.request("POST", PREDICT, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        assert response.status == 200 and not response.will_close
        response.read()
    assert connection.sock is sock  # never reopened


def test_idle_and_slow_connections_leave_the_workers_to_real_clients(front):
    """Far more stalled connections than workers, held past WORKER_TIMEOUT."""
    stalled = [connect(front.port) for _ in range(16)]  # idle: send nothing
    for sock in [connect(front.port) for _ in range(4)]:  # slowloris: headers never end
        sock.sendall(b"GET /model/metadata HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        stalled.append(sock)
    for sock in [connect(front.port) for _ in range(4)]:  # slow body: a promise never kept
        sock.sendall(b"POST /model/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\n")
        stalled.append(sock)
    try:
        body, content_type = encode_multipart(DIGIT)
        started = time.monotonic()
        while time.monotonic() - started < WORKER_TIMEOUT + 1:
            connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=3)
            connection.request("POST", PREDICT, body=body, headers={"Content-Type": content_type})
            assert connection.getresponse().status == 200
            connection.close()
    finally:
        for sock in stalled:
            sock.close()


def test_a_slow_steady_upload_outlives_the_worker_timeout(front):
    """About 270 KB at 50 KB/s: longer than WORKER_TIMEOUT, which gunicorn alone would kill."""
    photo = Image.open(ROOT / "samples" / "7_photo.jpg").convert("RGB")
    large = encode(photo.resize((photo.width * 4, photo.height * 4)), "JPEG", quality=100)
    data = whole_post([("photo.jpg", large)])
    assert len(data) > 250_000
    rate, started = 50_000, time.monotonic()
    with connect(front.port) as sock:
        for offset in range(0, len(data), rate // 10):
            time.sleep(max(0.0, started + offset / rate - time.monotonic()))
            sock.sendall(data[offset:offset + rate // 10])
        answer = read_all(sock)
    assert time.monotonic() - started > WORKER_TIMEOUT
    status, _, body = parse(answer)
    assert status == 200, body
    assert json.loads(body)["predictions"][0]["prediction"] == 7


def test_probes_answer_within_a_second_while_every_worker_is_busy(front):
    batch = whole_post(heavy_batch())
    answered = []
    end = time.monotonic() + 4

    def keep_busy():
        while time.monotonic() < end:
            answered.append(parse(exchange(front.port, batch))[0])

    clients = [threading.Thread(target=keep_busy) for _ in range(8)]
    for client in clients:
        client.start()
    time.sleep(0.5)
    try:
        for _ in range(6):
            for probe in ("/v2/health/ready", "/v2/health/live"):
                connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=1)
                connection.request("GET", probe)  # a timeout past 1 s raises
                assert connection.getresponse().status == 200
                connection.close()
            time.sleep(0.3)
    finally:
        for client in clients:
            client.join()
    assert answered and set(answered) == {200}


# ----------------------------------------------------------------------------- stopping

def test_sigterm_answers_every_request_already_accepted_then_exits():
    server = Server(serve_command(), env={"WORKERS": "2"})
    try:
        whole, single = whole_post(heavy_batch()), whole_post(DIGIT)
        half = len(single) // 2
        socks = [connect(server.port) for _ in range(8)]
        for sock in socks[:5]:
            sock.sendall(whole)
        for sock in socks[5:]:
            sock.sendall(single[:half])
        time.sleep(0.3)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        for sock in socks[5:]:  # accepted before the signal: their bodies may still come
            sock.sendall(single[half:])
        assert [parse(read_all(sock, 30))[0] for sock in socks] == [200] * 8
        assert server.process.wait(30) == 0
        with pytest.raises(OSError):  # stopped listening
            connect(server.port, timeout=2)
    finally:
        server.stop()


def test_when_gunicorn_dies_the_whole_server_exits_with_an_error():
    server = Server(serve_command(), env={"WORKERS": "1"})
    try:
        (gunicorn,) = [pid for pid in children(server.process.pid)
                       if b"gunicorn" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()]
        os.kill(gunicorn, signal.SIGKILL)
        assert server.process.wait(30) == 1
        assert "gunicorn exited" in server.output()
    finally:
        server.stop()


def alive(pid):
    """Whether `pid` still runs (a zombie waiting for its reaper does not)."""
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until_gone(pids, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.2)
    return [pid for pid in pids if alive(pid)]


def test_a_hang_up_drains_and_stops_nginx_and_gunicorn():
    server = Server(serve_command(), env={"WORKERS": "1"})
    tree = [pid for pid in process_tree(server.process.pid) if pid != server.process.pid]
    try:
        assert len(tree) >= 4  # nginx's master and worker, gunicorn's master and worker
        server.process.send_signal(signal.SIGHUP)
        assert server.process.wait(60) == 0
        assert wait_until_gone(tree, 30) == []
    finally:
        server.stop()
        for pid in wait_until_gone(tree, 0):  # without the fix: leave nothing behind
            os.kill(pid, signal.SIGKILL)


def test_when_serve_py_is_killed_nginx_and_gunicorn_stop_too():
    server = Server(serve_command(), env={"WORKERS": "1"})
    tree = [pid for pid in process_tree(server.process.pid) if pid != server.process.pid]
    try:
        server.process.kill()
        server.process.wait(10)
        assert wait_until_gone(tree, 60) == []  # a generous bound: they stop in about a second
        with pytest.raises(OSError):
            connect(server.port, timeout=2)
    finally:
        for pid in wait_until_gone(tree, 0):  # without the fix: leave nothing behind
            os.kill(pid, signal.SIGKILL)


def test_when_gunicorn_does_not_listen_in_time_it_says_what_to_check():
    """START_SECONDS of 0: the socket cannot be there yet at the first look."""
    launch = "import sys, serve; serve.START_SECONDS = 0; sys.exit(serve.main())"
    result = subprocess.run([sys.executable, "-c", launch], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "HOST": "127.0.0.1",
                                            "PORT": str(free_port())}, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "did not listen" in result.stderr and "check its log" in result.stderr


def test_with_no_worker_alive_readiness_no_longer_comes_from_the_ready_file():
    server = Server(serve_command(), env={"WORKERS": "1"})
    try:
        command_lines = {pid: pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode()
                         for pid in children(server.process.pid)}
        (nginx,) = [line for line in command_lines.values() if "nginx" in line]
        (gunicorn,) = [pid for pid, line in command_lines.items() if "gunicorn" in line]
        ready = pathlib.Path(re.search(r" -p (\S+)", nginx).group(1)) / "ready"
        assert ready.exists()
        (worker,) = children(gunicorn)
        os.kill(worker, signal.SIGKILL)
        deadline, seen_gone = time.monotonic() + 20, False
        while time.monotonic() < deadline and not seen_gone:  # before a new worker warms up
            seen_gone = not ready.exists()
            time.sleep(0.005)
        assert seen_gone
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ready.exists():  # the replacement is ready
            time.sleep(0.1)
        assert requests.get(server.url + "/v2/health/ready", timeout=10).json() == {"ready": True}
    finally:
        server.stop()

def test_without_nginx_it_says_how_to_install_it():
    result = subprocess.run([sys.executable, "serve.py"], cwd=ROOT, capture_output=True,
                            text=True, env={"NGINX": "/nonexistent/nginx", "PATH": "/usr/bin"},
                            timeout=30)
    assert result.returncode != 0
    assert "apt-get install nginx" in result.stderr
