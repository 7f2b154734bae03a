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
