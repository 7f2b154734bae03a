"""Serve MAX-MNIST as shipped: nginx on HOST:PORT in front of gunicorn's sync workers.

nginx reads every request whole before a worker sees it, so idle, slow and half-sent connections
never hold a worker; gunicorn listens on a unix socket that only nginx uses. `make run` and the
container start this, in the foreground. SIGTERM, SIGHUP (a closed terminal) or Ctrl-C drains:
nginx stops accepting and answers every request it has accepted (for at most WORKER_TIMEOUT
seconds), then gunicorn stops. If either process dies, the other is stopped and this exits
non-zero, so a supervisor restarts it; if this dies, Linux stops both.

    python serve.py [APP]    (HOST, PORT and the other settings from the environment; APP is
                              gunicorn's application, app:create_app() unless given)
"""
import os
import pathlib
import re
import shutil
import signal
import subprocess  # nosec B404  # starts nginx and gunicorn, fixed commands
import sys
import tempfile
import threading
import time

import config

ROOT = pathlib.Path(__file__).resolve().parent
TEMPLATE = ROOT / "nginx.conf.template"
READY_FILE_VARIABLE = "MAX_MNIST_READY_FILE"  # gunicorn.conf.py touches it once a worker is up
DEFAULT_APP = "app:create_app()"
START_SECONDS = 120  # for gunicorn to bind its socket (a slow machine importing the app)
# What the app's add_headers() puts on a JSON answer, for the answers nginx makes itself.
JSON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Request-ID": "$front_request_id",
}
# nginx alone limits the request line and headers (8 KB each, 32 KB in all), answering in JSON;
# gunicorn's own, smaller limits would answer what nginx lets through with an HTML page.
GUNICORN_BEHIND_NGINX = ["--limit-request-line", "0", "--limit-request-field_size", "0",
                         "--limit-request-fields", "32768", "--permit-unconventional-http-method"]
NO_NGINX = ("serve.py: nginx is not installed. `make run` installs it when run as root; "
            "otherwise install it yourself (Debian, Ubuntu: sudo apt-get install nginx) or "
            "set NGINX to its path")


def worker_timeout():
    """gunicorn's WORKER_TIMEOUT (gunicorn.conf.py reads the same variable)."""
    return int(os.environ.get("WORKER_TIMEOUT", "30"))


def find_nginx():
    found = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        sys.exit(NO_NGINX)
    return found


def listen_address(host, port):
    """nginx's listen address; "::" takes IPv4 too, as gunicorn's does."""
    if host == "::":
        return f"[::]:{port} ipv6only=off"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def user_directive():
    """As root, nginx would hand its workers to `nobody`, who cannot use the run folder: they
    run as the user who started it, as gunicorn's workers do. Not root: no directive needed."""
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd
    return (f"user {pwd.getpwuid(os.geteuid()).pw_name} "
            f"{grp.getgrgid(os.getegid()).gr_name};")


def nginx_config(settings, run_dir):
    """The text of nginx.conf.template with every ${NAME} filled in."""
    indent = " " * 16
    values = {
        "USER_DIRECTIVE": user_directive(),
        "RUN_DIR": str(run_dir),
        "APP_SOCKET": str(run_dir / "app.sock"),
        "READY_FILE": str(run_dir / "ready"),
        "LISTEN": listen_address(settings["HOST"], settings["PORT"]),
        "MAX_UPLOAD_BYTES": str(settings["MAX_UPLOAD_BYTES"]),
        "DRAIN_SECONDS": str(worker_timeout()),
        "UPSTREAM_SECONDS": str(worker_timeout() + 30),
        "JSON_HEADERS": "\n".join(f"{indent}add_header {name} \"{value}\" always;"
                                  for name, value in JSON_HEADERS.items()),
    }
    return re.sub(r"\$\{([A-Z_]+)\}", lambda match: values[match.group(1)],
                  TEMPLATE.read_text())


def start(command, env=None):
    """A child in its own process group, so a terminal's Ctrl-C reaches only this launcher,
    which then stops the children in the order that drains. Not its own session: Linux shares
    the CPU between sessions first, and nginx and gunicorn would wait for each other at every
    hop (docs/performance.md). On Linux the child gets SIGTERM if this launcher dies."""
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},  # nosec B603  # fixed commands
                            process_group=0, preexec_fn=die_with_parent(os.getpid()))


def die_with_parent(parent):
    """For Popen's preexec_fn: the child gets SIGTERM when `parent` dies, even by SIGKILL
    (Linux's PR_SET_PDEATHSIG); None, and no effect, elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def preexec():
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
    return preexec


def wait_for_socket(path, gunicorn, stopping):
    deadline = time.monotonic() + START_SECONDS
    while not path.exists():
        if gunicorn.poll() is not None or stopping.is_set() or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def stop(process, sig, grace):
    """Signal a child and wait up to `grace` seconds for it, then kill it."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve(settings, run_dir, app):
    """Run both until a signal or a death; the exit status."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stopping.set())
    socket_path = run_dir / "app.sock"
    config_path = run_dir / "nginx.conf"
    config_path.write_text(nginx_config(settings, run_dir))
    gunicorn = start([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                      "--bind", f"unix:{socket_path}", *GUNICORN_BEHIND_NGINX,
                      app],
                     {READY_FILE_VARIABLE: str(run_dir / "ready")})
    if not wait_for_socket(socket_path, gunicorn, stopping):
        timed_out = gunicorn.poll() is None
        stop(gunicorn, signal.SIGTERM, 15)
        if stopping.is_set():
            return 0
        if timed_out:
            print(f"serve.py: gunicorn did not listen on {socket_path} within {START_SECONDS} s; "
                  "check its log above, that the machine is not overloaded or out of memory, "
                  f"and that {run_dir} is writable", file=sys.stderr)
            return 1
        print("serve.py: gunicorn stopped before it listened; its log is above",
              file=sys.stderr)
        return gunicorn.returncode or 1
    # connections nginx accepts meanwhile wait at the socket until a worker has the model
    nginx = start([find_nginx(), "-p", str(run_dir), "-c", str(config_path), "-e", "stderr",
                   "-g", "daemon off; master_process on;"])
    base = config.browser_url(settings["HOST"], settings["PORT"])
    print(f"serve.py: nginx on {listen_address(settings['HOST'], settings['PORT'])} in front of "
          f"gunicorn\nDrawing page: {base}/app/\nAPI and Swagger UI: {base}/", file=sys.stderr,
          flush=True)
    while not stopping.wait(0.2):
        if nginx.poll() is not None or gunicorn.poll() is not None:
            break
    died = [name for name, process in (("nginx", nginx), ("gunicorn", gunicorn))
            if process.poll() is not None]
    # Drain: nginx closes its listening socket and idle connections and finishes the rest
    # (worker_shutdown_timeout caps it); then gunicorn, which has nothing left in flight.
    stop(nginx, signal.SIGQUIT, worker_timeout() + 5)
    stop(gunicorn, signal.SIGTERM, 15)
    if died:
        print(f"serve.py: {' and '.join(died)} exited; stopped the rest", file=sys.stderr)
        return 1
    return 0


def main():
    settings = config.from_env()
    find_nginx()  # fail before starting anything
    run_dir = pathlib.Path(tempfile.mkdtemp(prefix="max-mnist-serve-"))
    try:
        return serve(settings, run_dir, sys.argv[1] if len(sys.argv) > 1 else DEFAULT_APP)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
