"""`make attack`: what idle, slow and odd clients do to the service, as shipped and as it was.

Serves the service twice on free loopback ports, one after the other: as shipped (serve.py:
nginx in front of gunicorn's sync workers) and gunicorn alone (how `make run` served before),
and runs the same attacks on each, printing one Markdown table:

- hold: 64 idle, 16 slowloris (headers at a byte a second) and 8 slow-body connections, each
  reopened when the server drops it, held --hold seconds, while a normal client posts one digit
  after another (a failure: no 200 within 5 s) and a probe asks /v2/health/ready every second;
- a slow but steady upload: a real photo of --upload-kb KB sent at --rate-kb KB/s;
- the server's own protocol errors (10 KB URL, 20 KB header, garbled request line, a declared
  body over MAX_UPLOAD_BYTES): status and whether the answer is JSON;
- pipelining (two requests in one write) and keep-alive (20 requests on one connection);
- probes under load: 32 clients posting batches of large photos, both probes asked every
  0.25 s with a 1 s timeout;
- drain: 12 requests in flight (8 large batches sent whole, 4 uploads half sent, finished
  after the signal), SIGTERM, and how many were answered.

About five minutes with the defaults. `--only shipped` (or `alone`) runs one arrangement.

    python -m bench.attack [--hold 40] [--upload-kb 2048] [--rate-kb 50] [--only shipped]
"""
import argparse
import datetime
import http.client
import io
import os
import pathlib
import select
import signal
import socket
import sys
import tempfile
import threading
import time

import numpy as np
from PIL import Image

from bench.serving import RunningServer, multipart
from client.cli import encode_multipart
from harness.raw_http import connect, exchange, parse, read_all, whole_post

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGIT = ROOT / "samples" / "7_mnist_style.png"
PHOTO = ROOT / "samples" / "7_photo.jpg"
ARRANGEMENTS = {
    "shipped": [sys.executable, "serve.py"],
    "alone": [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
}
TITLES = {"shipped": "nginx + gunicorn (serve.py)", "alone": "gunicorn alone"}
ATTACKERS = {"idle": 64, "slowloris": 16, "slow body": 8}
CLIENT_TIMEOUT = 5.0  # a normal client's request that takes longer counts as failed
PROBE_TIMEOUT = 1.0
LOAD_CLIENTS, LOAD_BATCH = 32, 8
DRAIN_WHOLE, DRAIN_HALF = 8, 4


# ----------------------------------------------------------------------------- bodies

def large_photo(kilobytes, scale):
    """A real photo of a 7, scaled up and grained until its JPEG is about `kilobytes` KB."""
    image = Image.open(PHOTO).convert("RGB")
    image = image.resize((image.width * scale, image.height * scale), Image.BICUBIC)
    pixels = np.asarray(image, dtype=np.float32)
    grain = np.random.default_rng(0).normal(0, 1, pixels.shape[:2])[..., None]
    for sigma in (2, 4, 6, 8, 12, 16, 24):
        noisy = np.clip(pixels + sigma * grain, 0, 255).astype(np.uint8)
        out = io.BytesIO()
        Image.fromarray(noisy).save(out, "JPEG", quality=95)
        if out.tell() >= kilobytes * 1024:
            break
    return out.getvalue()


# ----------------------------------------------------------------------------- HTTP

def status(answer):
    return parse(answer)[0]


def describe(answer):
    """'413 JSON', '414 HTML', 'no answer' ..."""
    code, headers, _ = parse(answer)
    if code is None:
        return "no answer" if not answer else "not HTTP"
    kind = headers.get("Content-Type", "").split(";")[0]
    return f"{code} " + {"application/json": "JSON", "text/html": "HTML"}.get(kind, kind)


def timed_request(port, method, path, body=None, headers=None, timeout=CLIENT_TIMEOUT):
    """(status or None, seconds) of one request on a new connection."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        code = response.status
    except (OSError, http.client.HTTPException):
        code = None
    finally:
        connection.close()
    return code, time.monotonic() - started


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


# ----------------------------------------------------------------------------- attacks

class Attackers:
    """Idle, slowloris and slow-body connections, each reopened as soon as the server drops it;
    one thread trickles their bytes once a second."""

    def __init__(self, port, counts):
        self.port, self.drops = port, {kind: 0 for kind in counts}
        self.connections = [(kind, None) for kind, count in counts.items() for _ in range(count)]
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _open(self, kind):
        first = {"idle": b"",
                 "slowloris": b"GET /model/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                 "slow body": b"POST /model/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Content-Type: multipart/form-data; boundary=b\r\n"
                              b"Content-Length: 1000000\r\n\r\n--b\r\n"}[kind]
        try:
            sock = connect(self.port, timeout=2)
            sock.sendall(first)
            return sock
        except OSError:
            return None  # tried again a second later

    def _trickle(self, kind, sock):
        if kind != "idle":
            sock.send(b"X" if kind == "slowloris" else b"\0" * 10)

    def _run(self):
        while self.running:
            for index, (kind, sock) in enumerate(self.connections):
                if sock is not None:
                    try:
                        readable = select.select([sock], [], [], 0)[0]
                        if readable and not sock.recv(4096, socket.MSG_PEEK):
                            raise ConnectionError("closed by the server")
                        if readable:  # an answer (a 408, say) ends the connection too
                            raise ConnectionError("answered")
                        self._trickle(kind, sock)
                        continue
                    except OSError:
                        sock.close()
                        self.drops[kind] += 1
                self.connections[index] = (kind, self._open(kind))
            time.sleep(1)

    def stop(self):
        self.running = False
        self.thread.join()
        for _, sock in self.connections:
            if sock is not None:
                sock.close()


def hold(server, seconds):
    """A normal client and a readiness probe while the attackers hold their connections."""
    digit = DIGIT.read_bytes()
    body, content_type = encode_multipart([("7.png", digit)])
    port, results, probes = server.port, [], []
    attackers = Attackers(port, ATTACKERS)
    time.sleep(2)  # every attacker connected
    end = time.monotonic() + seconds

    def probe():
        while time.monotonic() < end:
            code, took = timed_request(port, "GET", "/v2/health/ready", timeout=PROBE_TIMEOUT)
            probes.append(code == 200)
            time.sleep(max(0.0, 1 - took))

    prober = threading.Thread(target=probe)
    prober.start()
    while time.monotonic() < end:
        code, took = timed_request(port, "POST", "/model/predict", body,
                                   {"Content-Type": content_type})
        results.append((code == 200, took))
        time.sleep(0.02)
    prober.join()
    attackers.stop()
    latencies = [took for ok, took in results if ok]
    failed = sum(not ok for ok, _ in results)
    return {
        "hold: normal client's requests (failed)": f"{len(results)} ({failed} failed)",
        "hold: normal client's p50 / p99 / max, ms":
            f"{1e3 * percentile(latencies, .5):.0f} / {1e3 * percentile(latencies, .99):.0f}"
            f" / {1e3 * max(latencies, default=float('nan')):.0f}",
        "hold: readiness probes failed": f"{probes.count(False)} of {len(probes)}",
        "hold: attackers' connections dropped by the server":
            ", ".join(f"{kind} {count}" for kind, count in attackers.drops.items()),
    }


def slow_upload(server, photo, rate):
    """One photo sent at `rate` bytes/s, evenly; the answer and how long it all took."""
    data = whole_post([("photo.jpg", photo)])
    started, sent = time.monotonic(), 0
    sock = connect(server.port)
    try:
        while sent < len(data):
            due = started + sent / rate
            time.sleep(max(0.0, due - time.monotonic()))
            piece = data[sent:sent + rate // 10]
            sock.sendall(piece)
            sent += len(piece)
        answer = read_all(sock, 60)
    except OSError as error:
        answer = read_all(sock, 2) or f"({type(error).__name__} after {sent} bytes)".encode()
    finally:
        sock.close()
    took = time.monotonic() - started
    digit = answer.split(b'"prediction": ', 1)[1][:1].decode() if b'"prediction": ' in answer \
        else "-"
    shown = describe(answer) if status(answer) else answer.decode(errors="replace")
    return {f"slow upload: {len(photo) // 1024} KB photo at {rate // 1024} KB/s":
            f"{shown} after {took:.0f} s, digit {digit}"}


PROTOCOL_CASES = {
    "10 KB URL": b"GET /model/" + b"a" * 10240 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "20 KB header": b"GET /model/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                    + b"a" * 20480 + b"\r\n\r\n",
    "garbled request line": b"\x16\x03\x01 garbage\r\n\r\n",
    "body declared over MAX_UPLOAD_BYTES": b"POST /model/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           b"Content-Length: 1000000000\r\n\r\n",
}


def protocol_errors(server):
    return {f"protocol: {name}": describe(exchange(server.port, data, timeout=5))
            for name, data in PROTOCOL_CASES.items()}


def pipelining(server):
    request = b"GET /model/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    last = request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    with connect(server.port) as sock:
        sock.sendall(request + last)
        answer = read_all(sock)
    kept, connection = 0, http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    for _ in range(20):
        connection.request("GET", "/model/metadata")
        response = connection.getresponse()
        response.read()
        kept += not response.will_close
    connection.close()
    return {"pipelining: answers to 2 requests in one write": str(answer.count(b"HTTP/1.1 ")),
            "keep-alive: of 20 answers on one connection, kept it open": str(kept)}


def probes_under_load(server, batch, seconds=12):
    """Both probes, 4 times a second with a 1 s timeout, while clients post large batches."""
    end = time.monotonic() + seconds
    body, content_type = encode_multipart(batch)
    loads, probes = [], {"ready": [], "live": []}

    def load():
        while time.monotonic() < end:
            loads.append(timed_request(server.port, "POST", "/model/predict", body,
                                       {"Content-Type": content_type}, timeout=60)[0] == 200)

    clients = [threading.Thread(target=load) for _ in range(LOAD_CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(1)
    while time.monotonic() < end:
        for name in probes:
            probes[name].append(timed_request(server.port, "GET", f"/v2/health/{name}",
                                              timeout=PROBE_TIMEOUT))
        time.sleep(0.25)
    for client in clients:
        client.join()
    figures = {}
    for name, runs in probes.items():
        failed = sum(code != 200 for code, _ in runs)
        slowest = max((took for code, took in runs if code == 200), default=float("nan"))
        figures[f"probes under load: {name}, failed (slowest answer)"] = \
            f"{failed} of {len(runs)} ({1e3 * slowest:.0f} ms)"
    figures[f"probes under load: batches of {len(batch)} photos answered"] = \
        f"{sum(loads)} of {len(loads)}"
    return figures


def drain(server, batch):
    """Requests in flight when SIGTERM arrives: all answered? And how long the stop took."""
    whole = whole_post(batch)
    single = whole_post([("7.png", DIGIT.read_bytes())])
    half = len(single) // 2
    socks = []
    for data in [whole] * DRAIN_WHOLE + [single[:half]] * DRAIN_HALF:
        sock = connect(server.port)
        sock.sendall(data)
        socks.append(sock)
    time.sleep(0.3)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    for sock in socks[DRAIN_WHOLE:]:
        try:
            sock.sendall(single[half:])
        except OSError:
            pass
    answers = [read_all(sock, 60) for sock in socks]
    for sock in socks:
        sock.close()
    try:
        server.process.wait(90)
        stopped = f"exit {server.process.returncode} after {time.monotonic() - signalled:.1f} s"
    except Exception:  # noqa: BLE001  # still running: reported, then stopped by the caller
        stopped = "still running after 90 s"
    answered = sum(status(answer) == 200 for answer in answers)
    others = sorted({describe(answer) for answer in answers if status(answer) != 200})
    return {f"drain: of {len(socks)} requests in flight at SIGTERM, answered 200":
            f"{answered}" + (f" (others: {', '.join(others)})" if others else ""),
            "drain: the server stopped": stopped}


# ----------------------------------------------------------------------------- the run

def attack(name, args, workdir, photo, batch):
    print(f"  {TITLES[name]}: starting", file=sys.stderr, flush=True)
    server = RunningServer(name, ARRANGEMENTS[name], multipart([DIGIT]), workdir)
    figures = {}
    try:
        for step in (lambda: protocol_errors(server), lambda: pipelining(server),
                     lambda: hold(server, args.hold),
                     lambda: slow_upload(server, photo, args.rate_kb * 1024),
                     lambda: probes_under_load(server, batch),
                     lambda: drain(server, batch)):
            found = step()
            for label, value in found.items():
                print(f"  {TITLES[name]}: {label}: {value}", file=sys.stderr, flush=True)
            figures.update(found)
    finally:
        server.stop()
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold", type=int, default=40, help="seconds the attackers hold on")
    parser.add_argument("--upload-kb", type=int, default=2048, help="the slow upload's size")
    parser.add_argument("--rate-kb", type=int, default=50, help="the slow upload's KB/s")
    parser.add_argument("--only", choices=sorted(ARRANGEMENTS), help="one arrangement only")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="max-mnist-attack-"))
    photo = large_photo(args.upload_kb, scale=8)
    batch_photo = large_photo(300, scale=4)
    batch = [(f"{i}.jpg", batch_photo) for i in range(LOAD_BATCH)]
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start, "
          f"WORKERS={os.environ.get('WORKERS', 'default')}, hold {args.hold} s, "
          f"load batches of {LOAD_BATCH} photos of {len(batch_photo) // 1024} KB", flush=True)
    names = [args.only] if args.only else list(ARRANGEMENTS)
    results = {name: attack(name, args, workdir, photo, batch) for name in names}
    print()
    print("| | " + " | ".join(TITLES[name] for name in names) + " |")
    print("| --- |" + " --- |" * len(names))
    for label in results[names[0]]:
        print(f"| {label} | " + " | ".join(results[name].get(label, "")
                                           for name in names) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
