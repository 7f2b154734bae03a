"""gunicorn settings for MAX-MNIST, from the same environment variables as config.py."""
import os
import socket

import config as _config

_settings = _config.from_env()
bind = f"{_settings['HOST']}:{_settings['PORT']}"
# One sync worker per usable core (at least 2), the fastest layout (docs/performance.md); each
# holds its own LiteRT model. Under a container CPU limit, set WORKERS to the limit.
workers = int(os.environ.get("WORKERS", max(2, len(os.sched_getaffinity(0)))))
threads = int(os.environ.get("THREADS", "1"))
worker_class = "sync" if threads == 1 else "gthread"
timeout = int(os.environ.get("WORKER_TIMEOUT", "30"))
graceful_timeout = 10
max_requests = 0
control_socket_disable = True
preload_app = False  # the app is imported in each worker, after on_starting has set up metrics
accesslog = os.environ.get("ACCESS_LOG") or None
loglevel = _settings["LOG_LEVEL"].lower()
# A sync worker answers one request at a time: a BLAS thread pool for numpy's larger products
# would only spend CPU (a pod's CPU quota) without answering sooner (docs/reading.md#speed).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


# Prometheus multiprocess mode (api/metrics.py): the workers of one server start share a fresh
# directory of metric files; a dead worker's files stay, so totals never go backwards.
_own_metrics_dir = None


def on_starting(server):
    """In the master, before any worker: empty PROMETHEUS_MULTIPROC_DIR, or make a temporary
    one; then a missing or damaged model stops gunicorn with one log line (workers that still
    fail to load it exit with code 3, which also halts gunicorn)."""
    _prepare_metrics_dir()
    from core.errors import ModelLoadError
    from core.runtime import WORKER_BOOT_ERROR, check_model_file
    try:
        for name in ("MODEL_PATH", "READER_PATH"):
            check_model_file(_settings[name])
    except ModelLoadError as error:
        server.log.critical("refusing to start: %s", error)
        on_exit(server)
        raise SystemExit(WORKER_BOOT_ERROR) from None


def _prepare_metrics_dir():
    """Before anything imports prometheus_client (core.metrics does): it chooses file-backed
    values, which every worker writes and a scrape adds up, only if this is already set."""
    global _own_metrics_dir
    import glob
    import tempfile
    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if configured:
        os.makedirs(configured, exist_ok=True)
        for stale in glob.glob(os.path.join(configured, "*.db")):
            os.remove(stale)
    else:
        _own_metrics_dir = tempfile.mkdtemp(prefix="max-mnist-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir


def when_ready(server):
    """Once bound, say where to point a browser: the drawing page and the API's Swagger UI
    (on this machine's loopback address when listening on all interfaces)."""
    for listener in server.LISTENERS:
        if listener.sock.family not in (socket.AF_INET, socket.AF_INET6):
            continue  # a unix socket has no URL a browser can open (serve.py says nginx's)
        base = _config.browser_url(*listener.sock.getsockname()[:2])
        server.log.info("Drawing page: %s/app/", base)
        server.log.info("API and Swagger UI: %s/", base)


def child_exit(server, worker):
    """In the master, once a worker is gone: its metrics stop counting as live, and with no
    worker left nginx stops answering ready from the file (post_worker_init writes it again)."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
    ready_file = os.environ.get("MAX_MNIST_READY_FILE")
    if ready_file and not server.WORKERS:
        try:
            os.remove(ready_file)
        except FileNotFoundError:
            pass


def on_exit(server):
    if _own_metrics_dir:
        import shutil
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)


def post_worker_init(worker):
    """A worker has loaded and warmed its model: behind serve.py's nginx, the file it names
    makes nginx answer readiness probes itself, never queued behind busy workers."""
    ready_file = os.environ.get("MAX_MNIST_READY_FILE")
    if ready_file:
        open(ready_file, "a").close()
