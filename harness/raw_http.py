"""HTTP over raw sockets, for what an HTTP library will not send: stalled, partial, pipelined
and malformed requests (bench/attack.py and the front's tests)."""
import re
import socket

from client.cli import encode_multipart


def connect(port, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def whole_post(files, path="/model/predict"):
    """A POST of `files` ([(name, bytes)]) in the `image` field, as bytes on the wire; the
    server closes the connection after its answer."""
    body, content_type = encode_multipart(files)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def read_all(sock, timeout=10):
    """Everything the server sends until it closes the connection (or `timeout` passes)."""
    sock.settimeout(timeout)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    return answer


def read_answer(sock, timeout=10):
    """One whole answer (its head and Content-Length bytes of body), not waiting for a close."""
    sock.settimeout(timeout)
    answer = b""
    while True:
        head, found, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
        if found and len(body) >= (int(length.group(1)) if length else 0):
            return answer
        try:
            chunk = sock.recv(65536)
        except OSError:
            return answer
        if not chunk:
            return answer
        answer += chunk


def exchange(port, data, timeout=10):
    """Send `data` on a new connection; the server's first answer (b"" when none came)."""
    with connect(port, timeout) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may answer and close before it has read everything
        return read_answer(sock, timeout)


def parse(answer):
    """(status, {header: value}, body) of a raw answer; status None when it is not HTTP."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    words = lines[0].split()
    if not answer.startswith(b"HTTP/1.") or len(words) < 2:
        return None, {}, answer
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(words[1]), headers, body
