"""gunicorn settings for MAX-MNIST, from the same environment variables as config.py."""
import os

import config as _config

_settings = _config.from_env()
bind = f"{_settings['HOST']}:{_settings['PORT']}"
workers = int(os.environ.get("WORKERS", "2"))
threads = int(os.environ.get("THREADS", "1"))
worker_class = "sync" if threads == 1 else "gthread"
timeout = int(os.environ.get("WORKER_TIMEOUT", "30"))
graceful_timeout = 10
max_requests = 0
control_socket_disable = True
accesslog = os.environ.get("ACCESS_LOG") or None
loglevel = _settings["LOG_LEVEL"].lower()
