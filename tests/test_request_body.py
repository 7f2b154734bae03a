"""Request bodies a real server must read with care: broken chunked encodings are the client's
400, and a body over MAX_UPLOAD_BYTES is refused without reading it all (raw sockets)."""
import io
import socket
import threading

from api.wsgi_input import GuardedInput
from harness.processes import rss_bytes
from tests.helpers import PREDICT, healthy, only_worker

MIB = 1 << 20


def _raw_request(server, head, body_chunks):
    """Send a request by hand, body in a thread; return (response bytes, body bytes sent)."""
    sent = [0]
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=60)

    def send_body():
        try:
            for chunk in body_chunks:
                connection.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending: expected

    connection.sendall(head)
    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            part = connection.recv(65536)
            if not part:
                break
            answer += part
    finally:
        connection.close()
        sender.join(30)
    return answer, sent[0]


def test_the_guarded_body_still_reads_and_iterates_as_wsgi_input_must():
    assert list(GuardedInput(io.BytesIO(b"a\nb\n"))) == [b"a\n", b"b\n"]
    assert GuardedInput(io.BytesIO(b"a\nb\n")).readlines() == [b"a\n", b"b\n"]


def test_a_broken_chunked_body_is_a_json_400(server):
    """gunicorn's own reader raises InvalidChunkSize inside the app; that is the client's fault."""
    head = (f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nConnection: close\r\n\r\n")
    answer, _ = _raw_request(server, head.encode(), [b"zz\r\nhello\r\n0\r\n\r\n"])
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b'"status": "error"' in answer and b"could not be read" in answer
    assert healthy(server)


def _multipart_head(boundary):
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n").encode()


def test_a_real_server_refuses_a_declared_huge_body_before_reading_it(server):
    declared = 1 << 30
    head = (f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {declared}\r\n"
            "Content-Type: multipart/form-data; boundary=b0undary\r\n\r\n").encode()
    body = [_multipart_head("b0undary")] + [b"\0" * MIB] * 64
    answer, sent = _raw_request(server, head, iter(body))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"status": "error"' in answer and b"MAX_UPLOAD_BYTES" in answer
    assert sent < 48 * MIB  # the server stopped reading long before the declared gigabyte
    assert healthy(server)


def test_a_real_server_stops_reading_a_chunked_body_at_the_cap(server):
    head = (f"POST {PREDICT} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: multipart/form-data; boundary=b0undary\r\n\r\n").encode()

    def chunks(total=128 * MIB):
        first = _multipart_head("b0undary")
        yield b"%x\r\n%s\r\n" % (len(first), first)
        for _ in range(total // MIB):
            yield b"%x\r\n%s\r\n" % (MIB, b"\0" * MIB)
        yield b"0\r\n\r\n"

    worker = only_worker(server)
    before = rss_bytes(worker)
    answer, sent = _raw_request(server, head, chunks())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"MAX_UPLOAD_BYTES" in answer
    assert sent < 64 * MIB  # far less than the 128 MiB the client wanted to send
    assert rss_bytes(worker) - before < 64 * MIB
    assert healthy(server)
