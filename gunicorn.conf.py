"""gunicorn settings for MAX-MNIST, from the same environment variables as config.py."""
import os

import config as _config

_settings = _config.from_env()
bind = f"{_settings['HOST']}:{_settings['PORT']}"
# One sync worker per usable core (at least 2) measured fastest (README, Performance); each holds
# its own LiteRT model (~90 MB). Under a container CPU limit, set WORKERS to the limit.
workers = int(os.environ.get("WORKERS", max(2, len(os.sched_getaffinity(0)))))
threads = int(os.environ.get("THREADS", "1"))
worker_class = "sync" if threads == 1 else "gthread"
timeout = int(os.environ.get("WORKER_TIMEOUT", "30"))
graceful_timeout = 10
max_requests = 0
control_socket_disable = True
accesslog = os.environ.get("ACCESS_LOG") or None
loglevel = _settings["LOG_LEVEL"].lower()


def on_starting(server):
    """In the master, before any worker: a missing or damaged model stops gunicorn with one log
    line (workers that still fail to load it exit with code 3, which also halts gunicorn)."""
    from core.model import ModelLoadError, check_model_file
    try:
        check_model_file(_settings["MODEL_PATH"])
    except ModelLoadError as error:
        server.log.critical("refusing to start: %s", error)
        raise SystemExit(3) from None
