"""Soak the real service: many requests, good and bad mixed, then count what went wrong.

    python -m bench.soak [--requests 20000] [--concurrency 32] [--workers 2]

Starts gunicorn as `make run` does (gunicorn.conf.py, `app:create_app()`) on a free loopback
port, warms it up, then sends a fixed, seeded mix of uploads from a pool of client threads:
sample digits, batches, text, truncated PNGs, decompression-bomb headers, blank pages, wrong
fields, JSON bodies, wrong methods and unknown paths. It samples the server's RSS (master and
workers) throughout and prints: status counts, 5xx, connection errors, answers that differ from
the status each input should get, latency percentiles, and RSS in the first and last quarter.
Exits non-zero on any 5xx, connection error or unexpected status, or RSS growth of 10 % or more.
"""
import argparse
import itertools
import pathlib
import random
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from PIL import Image

from harness.images import encode, png_declaring
from harness.processes import Server, gunicorn_command, tree_rss

ROOT = pathlib.Path(__file__).resolve().parent.parent
RSS_GROWTH_LIMIT = 0.10


def request_kinds():
    """name -> (weight, expected status, function(url) -> requests.Response)."""
    samples = sorted(p for p in (ROOT / "samples").iterdir() if p.suffix in (".png", ".jpg"))
    good = [(p.name, p.read_bytes()) for p in samples]
    blank = encode(Image.new("L", (200, 200), 255))
    truncated = good[0][1][: len(good[0][1]) // 3]
    bomb = png_declaring(60_000, 60_000)
    predict = "/model/predict"

    def upload(*files):
        return lambda url: requests.post(url + predict, timeout=60,
                                         files=[("image", f) for f in files])

    rotation = itertools.cycle(good)

    def single(url):
        return upload(next(rotation))(url)

    return {
        "digit": (60, 200, single),
        "batch-of-3": (5, 200, upload(*good[:3])),
        "text-file": (8, 400, upload(("notes.txt", b"not an image at all\n" * 50))),
        "truncated-png": (5, 400, upload(("cut.png", truncated))),
        "bomb-header": (5, 413, upload(("bomb.png", bomb))),
        "blank-page": (5, 422, upload(("blank.png", blank))),
        "wrong-field": (4, 400, lambda url: requests.post(
            url + predict, files={"file": ("7.png", good[0][1])}, timeout=60)),
        "json-body": (3, 400, lambda url: requests.post(url + predict, json={"image": "x"},
                                                        timeout=60)),
        "get-predict": (2, 405, lambda url: requests.get(url + predict, timeout=60)),
        "unknown-path": (2, 404, lambda url: requests.get(url + "/no/such/path", timeout=60)),
        "metadata": (1, 200, lambda url: requests.get(url + "/model/metadata", timeout=60)),
    }


def run(url, kinds, count, concurrency, seed, on_done=None):
    """Send `count` requests drawn from `kinds`; return [(kind, status or error, seconds)]."""
    names = sorted(kinds)
    mix = random.Random(seed)  # nosec B311  # a repeatable load mix, nothing secret
    plan = mix.choices(names, weights=[kinds[n][0] for n in names], k=count)
    results = []
    lock = threading.Lock()

    def one(name):
        started = time.perf_counter()
        try:
            outcome = kinds[name][2](url).status_code
        except requests.RequestException as error:
            outcome = type(error).__name__
        with lock:
            results.append((name, outcome, time.perf_counter() - started))
            if on_done:
                on_done(len(results))

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, plan))
    return results


def quarter_means(samples, count):
    """Mean RSS over the samples taken in the first and in the last quarter of the requests."""
    first = [rss for done, rss in samples if done < count / 4]
    last = [rss for done, rss in samples if done >= 3 * count / 4]
    return statistics.mean(first), statistics.mean(last)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)
    kinds = request_kinds()
    server = Server(gunicorn_command(args.workers), timeout=300)
    url = server.url
    samples, done, stop = [], [0], threading.Event()

    def sample():
        while not stop.is_set():
            samples.append((done[0], tree_rss(server.process.pid)))
            stop.wait(0.25)

    try:
        run(url, kinds, args.warmup, args.concurrency, seed=args.seed + 1)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        results = run(url, kinds, args.requests, args.concurrency, args.seed,
                      on_done=lambda n: done.__setitem__(0, n))
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        alive = server.process.poll() is None
    finally:
        server.stop()

    statuses = {}
    for _, outcome, _ in results:
        statuses[outcome] = statuses.get(outcome, 0) + 1
    server_errors = sum(n for s, n in statuses.items() if isinstance(s, int) and s >= 500)
    connection_errors = sum(n for s, n in statuses.items() if not isinstance(s, int))
    unexpected = sum(1 for name, outcome, _ in results if outcome != kinds[name][1])
    latencies = sorted(seconds for _, _, seconds in results)
    first, last = quarter_means(samples, args.requests)
    growth = (last - first) / first
    print(f"soak: {args.requests} requests, concurrency {args.concurrency}, "
          f"{args.workers} gunicorn workers, {elapsed:.1f} s ({args.requests / elapsed:.0f} req/s)")
    print("  statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=str)))
    print(f"  5xx: {server_errors}   connection errors: {connection_errors}   "
          f"unexpected status: {unexpected}   server alive at the end: {alive}")
    print(f"  latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms")
    print(f"  server RSS (master + workers): first quarter {first / 2**20:.0f} MiB, "
          f"last quarter {last / 2**20:.0f} MiB, growth {growth * 100:+.1f} %")
    failed = server_errors or connection_errors or unexpected or not alive \
        or growth >= RSS_GROWTH_LIMIT
    print("soak: FAILED" if failed else "soak: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
