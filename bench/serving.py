"""`make bench`: load-test the service as `make run` serves it, and the original serving path.

"As `make run` serves it" is serve.py: nginx in front of gunicorn's sync workers, so the figures
include the front's cost.

Starts both servers on free loopback ports, times each from process start to its first
successful prediction, drives them with wrk (GET /model/metadata, POST one 28x28 PNG, POST 32 of
them; concurrency 1, 8 and 32), samples each server's total RSS (master + workers) meanwhile, and
prints a Markdown table with the speed-up over the baseline and each target's verdict.

This machine's speed drifts by up to a third from one minute to the next, so one pass would
compare cells measured at different speeds. The cells therefore run in BENCH_ROUNDS rounds
(default 3), each round visiting every cell on both servers in turn, and the table reports each
cell's median round, with the spread of the rounds beside it. Each run is BENCH_SECONDS (twice
that for the slow baseline) after a one-second warm-up; about ten minutes in all by default.

    python -m bench.serving [--seconds 4] [--rounds 3] [--no-baseline] [--upper-bound]
                            [--without-front]

WORKERS and THREADS in the environment reach gunicorn.conf.py as they do for `make run`.
"""
import argparse
import datetime
import os
import pathlib
import re
import signal
import subprocess  # nosec B404  # starts the servers under test and wrk, fixed commands
import sys
import tempfile
import threading
import time
import urllib.request

from client.cli import encode_multipart
from harness.processes import free_port, stop_process, tree_cpu, tree_rss

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*_mnist_style.png"))
CONCURRENCY = (1, 8, 32)
BATCH = 32
BOUNDARY = "maxmnistbenchboundary"
START_LIMIT = 120  # seconds a server may take to answer its first prediction


def multipart(files):
    """A multipart/form-data body carrying `files` in the `image` field (with BOUNDARY)."""
    return encode_multipart([(f"{index}_{path.name}", path.read_bytes())
                             for index, path in enumerate(files)], BOUNDARY)[0]


def request_bodies():
    """The two upload bodies the benchmarks send: one 28x28 PNG, and BATCH of them."""
    return multipart(SAMPLES[7:8]), multipart([SAMPLES[i % len(SAMPLES)] for i in range(BATCH)])


def wait_idle(pid, limit=30.0):
    """Let a server finish requests that a closed load run left queued (it stops using CPU)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = tree_cpu(pid)
        time.sleep(0.2)
        if tree_cpu(pid) - before < 0.02:
            return


class RunningServer:
    """A server process started by `command`, timed to its first successful prediction."""

    def __init__(self, name, command, body, workdir):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(workdir / f"{name}.log", "wb")
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port)}
        started = time.monotonic()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log,  # nosec B603  # fixed command
                                        stderr=subprocess.STDOUT)
        self._sampling = False
        try:
            self._first_prediction(body)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - started
        self.peak_rss = tree_rss(self.process.pid)
        self._sampling = True
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _first_prediction(self, body):
        deadline = time.monotonic() + START_LIMIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log.name}")
            request = urllib.request.Request(
                self.url + "/model/predict", data=body, method="POST",
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
            try:  # a connection accepted before a worker is ready waits in the backlog
                with urllib.request.urlopen(request, timeout=START_LIMIT) as response:  # nosec B310  # our own http://127.0.0.1 URL
                    if response.status == 200:
                        return
            except OSError:  # refused until the port is bound; 5xx while loading
                time.sleep(0.01)
        raise RuntimeError(f"{self.name} gave no prediction within {START_LIMIT}s")

    def _sample(self):
        while self._sampling:
            self.peak_rss = max(self.peak_rss, tree_rss(self.process.pid))
            time.sleep(0.25)

    def stop(self):
        self._sampling = False
        stop_process(self.process)
        self.log.close()


def lua_post(body_path):
    return (f'local f = io.open("{body_path}", "rb")\nwrk.body = f:read("*all")\nf:close()\n'
            f'wrk.method = "POST"\n'
            f'wrk.headers["Content-Type"] = "multipart/form-data; boundary={BOUNDARY}"\n')


def _milliseconds(text):
    if text == "nan":  # no request completed
        return float("nan")
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(url, concurrency, seconds, script=None):
    """One wrk run: requests/s, p50 and p99 latency in ms, and how many requests failed."""
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s",
               "--latency", url] + (["-s", str(script)] if script else [])
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # nosec B603  # wrk, fixed arguments
    percentile = {"50": "nan", "99": "nan",
                  **dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.M))}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "p50": _milliseconds(percentile["50"]), "p99": _milliseconds(percentile["99"]),
            "errors": errors}


def measure(servers, scenarios, rounds):
    """{server name: {(scenario, concurrency): [one wrk result per round]}}. Every round visits
    every cell on every server, so a drift in the machine's speed spreads over all of them, and
    one server's endpoints at one concurrency run back to back, so the ratios between them
    (predict over metadata) compare runs seconds apart, not minutes."""
    results = {name: {} for name in servers}
    for round_number in range(1, rounds + 1):
        for concurrency in CONCURRENCY:
            for server, seconds in servers.values():
                for name, path, script in scenarios:
                    wrk(server.url + path, concurrency, 1, script)
                    wait_idle(server.process.pid)
                    cpu = tree_cpu(server.process.pid)
                    run = wrk(server.url + path, concurrency, seconds, script)
                    wait_idle(server.process.pid)
                    served = run["rps"] * seconds  # CPU of the whole tree: front included
                    run["cpu_ms"] = 1e3 * (tree_cpu(server.process.pid) - cpu) / served \
                        if served else float("nan")
                    results[server.name].setdefault((name, concurrency), []).append(run)
                    print(f"  round {round_number} {server.name:8} {name:14} c={concurrency:<3} "
                          f"{run['rps']:9.1f} req/s", file=sys.stderr)
    return results


def median_runs(runs_by_cell):
    """Each cell's median run by throughput (the lower middle one for an even count), with the
    lowest and highest throughput of its rounds and the failures of all of them."""
    cells = {}
    for cell, runs in runs_by_cell.items():
        ordered = sorted(runs, key=lambda run: run["rps"])
        cells[cell] = {**ordered[(len(ordered) - 1) // 2], "low": ordered[0]["rps"],
                       "high": ordered[-1]["rps"], "errors": sum(r["errors"] for r in runs)}
    return cells


def table(ours, baseline, scenarios):
    lines = ["| request | concurrency | req/s | rounds' req/s | images/s | p50 ms | p99 ms "
             "| baseline req/s | baseline p50 ms | baseline p99 ms | speed-up |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, _, _ in scenarios:
        images = {"metadata": 0, "predict 1": 1, f"predict {BATCH}": BATCH}[name]
        for concurrency in CONCURRENCY:
            row = ours[name, concurrency]
            cells = [name, str(concurrency), f"{row['rps']:.0f}",
                     f"{row['low']:.0f}–{row['high']:.0f}",
                     f"{row['rps'] * images:.0f}" if images else "",
                     f"{row['p50']:.1f}", f"{row['p99']:.1f}"]
            base = baseline.get((name, concurrency)) if baseline else None
            if base:
                cells += [f"{base['rps']:.1f}", f"{base['p50']:.0f}", f"{base['p99']:.0f}",
                          f"{row['rps'] / base['rps']:.0f}x" if base["rps"] else "n/a"]
            else:
                cells += ["", "", "", ""]
            failed = [f"{count} of ours failed" if count else "" for count in [row["errors"]]]
            failed += [f"{base['errors']} of the baseline's failed (or timed out at 10 s)"
                       if base and base["errors"] else ""]
            lines.append("| " + " | ".join(cells) + " | " + " ".join(filter(None, failed)))
    return "\n".join(lines)


def round_ratio(top, bottom):
    """The median over rounds of top/bottom throughput, each ratio within one round."""
    ratios = sorted(a["rps"] / b["rps"] for a, b in zip(top, bottom) if b["rps"])
    return ratios[(len(ratios) - 1) // 2] if ratios else float("nan")


def verdicts(runs, servers):
    """Each serving target with the number measured in this run: medians over the rounds,
    ratios taken within each round."""
    ours, baseline = median_runs(runs["ours"]), runs.get("baseline")
    predict = ours["predict 1", 8]
    batch = max(ours[f"predict {BATCH}", c]["rps"] * BATCH for c in CONCURRENCY)
    checks = [
        ("predict (1 image) / metadata throughput at c=8",
         round_ratio(runs["ours"]["predict 1", 8], runs["ours"]["metadata", 8]),
         0.5, ">=", "{:.0%}"),
        ("p99 latency of predict (1 image) at c=8, ms", predict["p99"], 15, "<=", "{:.1f}"),
        (f"batch of {BATCH}, best images/s", batch, 3000, ">=", "{:.0f}"),
        ("start to first prediction, s", servers["ours"].start_seconds, 5, "<=", "{:.1f}"),
        ("total server RSS (master + workers), GB", servers["ours"].peak_rss / 1e9, 1.0, "<=",
         "{:.2f}"),
    ]
    if baseline:
        checks.insert(1, ("predict (1 image) at c=8 over the baseline",
                          round_ratio(runs["ours"]["predict 1", 8], baseline["predict 1", 8]),
                          50, ">=", "{:.0f}x"))
    lines = []
    for label, value, target, sense, fmt in checks:
        met = value >= target if sense == ">=" else value <= target
        lines.append(f"- {label}: {fmt.format(value)} (target {sense} {fmt.format(target)}) "
                     f"{'met' if met else 'MISSED'}")
    return "\n".join(lines)


def figures_at_8(runs, name):
    """One server's figures at c=8: medians over the rounds, the ratio within each round."""
    cells = median_runs(runs[name])
    return {"metadata req/s": f"{cells['metadata', 8]['rps']:.0f}",
            "predict (1 image) req/s": f"{cells['predict 1', 8]['rps']:.0f}",
            "its p99 ms": f"{cells['predict 1', 8]['p99']:.1f}",
            "server CPU ms per metadata request": f"{cells['metadata', 8]['cpu_ms']:.2f}",
            "per predict (1 image) request": f"{cells['predict 1', 8]['cpu_ms']:.2f}",
            "predict / metadata":
                f"{round_ratio(runs[name]['predict 1', 8], runs[name]['metadata', 8]):.0%}",
            f"batch of {BATCH} images/s": f"{cells[f'predict {BATCH}', 8]['rps'] * BATCH:.0f}"}


def front_cost(runs, servers):
    """Ours (nginx in front) next to gunicorn alone, measured in the same rounds."""
    ours, alone = figures_at_8(runs, "ours"), figures_at_8(runs, "alone")
    return ("- without the front (gunicorn alone, same rounds), at c=8: "
            + ", ".join(f"{label} {alone[label]} (ours {ours[label]})" for label in alone)
            + f"; start to first prediction {servers['alone'].start_seconds:.1f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 4)),
                        help="length of each timed wrk run (default 4)")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)),
                        help="rounds over all cells; each cell reports its median (default 3)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the original-path baseline (quick tuning runs)")
    parser.add_argument("--upper-bound", action="store_true",
                        help="also serve bench/upper_bound.py (no normalisation) and print its "
                             "predict/metadata ratio: the most any normalisation could reach")
    parser.add_argument("--without-front", action="store_true",
                        help="also serve gunicorn alone, without nginx in front, and print its "
                             "figures at c=8: what the front costs, measured in the same rounds")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="max-mnist-bench-"))
    single, batch = workdir / "single.body", workdir / "batch.body"
    single_body, batch_body = request_bodies()
    single.write_bytes(single_body)
    batch.write_bytes(batch_body)
    scenarios = [("metadata", "/model/metadata", None)]
    for name, body in (("predict 1", single), (f"predict {BATCH}", batch)):
        script = workdir / f"{body.stem}.lua"
        script.write_text(lua_post(body))
        scenarios.append((name, "/model/predict", script))
    # name: (command, seconds per cell); the baseline's latencies run to seconds at c=32
    commands = {"ours": ([sys.executable, "serve.py"], args.seconds)}
    if args.upper_bound:
        commands["bound"] = (commands["ours"][0] + ["bench.upper_bound:create_app()"],
                             args.seconds)
    if args.without_front:
        commands["alone"] = ([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                              "app:create_app()"], args.seconds)
    if not args.no_baseline:
        commands["baseline"] = ([sys.executable, "-m", "bench.baseline_app"], 2 * args.seconds)
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start, "
          f"WORKERS={os.environ.get('WORKERS', 'default')} "
          f"THREADS={os.environ.get('THREADS', 'default')}, wrk {args.seconds} s per cell "
          f"({2 * args.seconds} s for the baseline), {args.rounds} rounds, median round shown",
          flush=True)
    servers = {}
    try:
        for name, (command, seconds) in commands.items():  # one at a time: start-up is timed
            servers[name] = (RunningServer(name, command, single.read_bytes(), workdir), seconds)
        runs = measure(servers, scenarios, args.rounds)
    finally:
        for server, _ in servers.values():
            server.stop()
    results = {name: median_runs(cells) for name, cells in runs.items()}
    servers = {name: server for name, (server, _) in servers.items()}
    print()
    print(table(results["ours"], results.get("baseline"), scenarios))
    print()
    for name, server in servers.items():
        print(f"- {name}: start to first prediction {server.start_seconds:.1f} s, "
              f"peak total RSS {server.peak_rss / 2**20:.0f} MiB")
    print(verdicts(runs, servers))
    if "alone" in runs:
        print(front_cost(runs, servers))
    if "bound" in runs:
        print("- upper bound (bench/upper_bound.py, no normalisation): predict (1 image) / "
              "metadata throughput at c=8: "
              f"{round_ratio(runs['bound']['predict 1', 8], runs['bound']['metadata', 8]):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
