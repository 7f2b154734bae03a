"""Process helpers the benchmarks share: a free loopback port, and the CPU and memory of a
server's whole process tree (gunicorn's master and its workers) read from /proc."""
import os
import pathlib
import re
import socket


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_tree(pid):
    """A process and all its descendants (gunicorn's master and workers)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            for task in pathlib.Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue  # the process ended meanwhile
        found.append(current)
    return found


def _read_each(pids, read):
    total = 0
    for pid in pids:
        try:
            total += read(pid)
        except (OSError, AttributeError, IndexError):
            continue  # the process ended meanwhile
    return total


def tree_rss(pid):
    """Resident memory of a process and all its descendants, in bytes."""
    return _read_each(process_tree(pid), lambda p: int(re.search(
        r"VmRSS:\s+(\d+) kB", pathlib.Path(f"/proc/{p}/status").read_text()).group(1)) * 1024)


def tree_cpu(pid):
    """CPU seconds used so far by a process and all its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    return _read_each(process_tree(pid), lambda p: sum(map(int, pathlib.Path(
        f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[11:13])) / ticks)
