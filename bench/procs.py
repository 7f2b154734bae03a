"""Process helpers the benchmarks share: the CPU and memory of a server's whole process tree
(gunicorn's master and its workers) read from /proc."""
import os
import pathlib
import re

from tests.helpers import children


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
