"""Real server processes on free loopback ports, and their process trees read from /proc."""
import os
import pathlib
import socket
import subprocess  # nosec B404  # starts the service under test, fixed commands
import sys
import tempfile
import time

import requests

from harness import ROOT


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_command(workers=1):
    """gunicorn alone, with `workers` worker processes: the app server without its front."""
    return [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers",
            str(workers), "app:create_app()"]


def serve_command():
    """The service as shipped: serve.py's nginx in front of gunicorn (`make run`, the image)."""
    return [sys.executable, "serve.py"]


class Server:
    """A real server process on a free loopback port, stopped by `stop()`."""

    def __init__(self, command, env=None, timeout=90):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {name: value for name, value in {
            **os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), **(env or {})}.items()
            if value is not None}  # None in `env` leaves a variable out
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would stall it
        self.process = subprocess.Popen(command, cwd=ROOT, env=environment,  # nosec B603  # fixed command
                                        stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.output()}")
            try:
                if requests.get(self.url + "/model/metadata", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout}s:\n{self.output()}")

    def output(self):
        """Everything the server printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        stop_process(self.process)


def stop_process(process, grace=20):
    """Terminate a server process, and kill it if it has not exited within `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children(pid):
    """The child processes of `pid` (gunicorn's workers under its master), from /proc."""
    return sorted(int(child) for task in pathlib.Path(f"/proc/{pid}/task").iterdir()
                  for child in (task / "children").read_text().split())


def process_tree(pid):
    """A process and all its descendants (gunicorn's master and workers)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            pending += children(current)
        except OSError:
            continue  # the process ended meanwhile
        found.append(current)
    return found


def rss_bytes(pid):
    """Resident memory of one process, in bytes."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ProcessLookupError(f"no VmRSS for {pid}")


def tree_rss(pid):
    """Resident memory of a process and all its descendants, in bytes."""
    return _sum_over(process_tree(pid), rss_bytes)


def tree_cpu(pid):
    """CPU seconds used so far by a process and all its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    return _sum_over(process_tree(pid), lambda p: sum(map(int, pathlib.Path(
        f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[11:13])) / ticks)


def _sum_over(pids, read):
    total = 0
    for pid in pids:
        try:
            total += read(pid)
        except (OSError, AttributeError, IndexError):
            continue  # the process ended meanwhile
    return total
