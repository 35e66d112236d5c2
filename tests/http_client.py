"""Raw-socket HTTP helpers for tests: we write the request bytes ourselves and
let h11, an independent implementation, parse what the server answers."""
import socket
from typing import List, NamedTuple, Tuple

import h11


class Reply(NamedTuple):
    status: int
    reason: bytes
    headers: List[Tuple[bytes, bytes]]      # lower-case names, in order
    body: bytes
    informational: List[int]                # 1xx statuses seen first
    leftover: bytes                         # bytes after this response (pipelining)

    def header(self, name):
        """The value of a header sent once (None if absent)."""
        values = self.all(name)
        assert len(values) <= 1, "%s sent %d times" % (name, len(values))
        return values[0] if values else None

    def all(self, name):
        name = name.lower().encode()
        return [v.decode("latin-1") for k, v in self.headers if k == name]


def read_reply(sock, method="GET", buffered=b"", allow_close=True):
    """Read one response from sock (after `buffered` bytes already received)."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "test")]))
    conn.send(h11.EndOfMessage())
    if buffered:
        conn.receive_data(buffered)
    status, reason, headers, body, info = None, b"", [], b"", []
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(sock.recv(65536))
            continue
        if isinstance(event, h11.InformationalResponse):
            info.append(event.status_code)
        elif isinstance(event, h11.Response):
            status, reason, headers = event.status_code, event.reason, list(event.headers)
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            break
    return Reply(status, reason, headers, body, info, conn.trailing_data[0])


def read_replies(sock, count):
    """Read count responses in a row from sock (answers to pipelined GETs)."""
    replies, leftover = [], b""
    for _ in range(count):
        reply = read_reply(sock, buffered=leftover)
        replies.append(reply)
        leftover = reply.leftover
    return replies


def request(server, raw, method="GET", timeout=10.0):
    """Send raw request bytes on a new connection and read one reply."""
    with server.connect(timeout) as sock:
        sock.sendall(raw)
        return read_reply(sock, method)


def unix_request(path, raw, method="GET", timeout=10.0):
    """request() for a server's unix socket at path."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(raw)
        return read_reply(sock, method)


def get(path, host="test", version="1.1", headers=()):
    lines = ["GET %s HTTP/%s" % (path, version), "Host: %s" % host]
    lines += ["%s: %s" % h for h in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def recv_until_closed(sock, limit=1 << 30):
    """Everything the server sends until it closes the connection."""
    data = b""
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    raise AssertionError("server kept sending past %d bytes" % limit)


def is_closed(sock, timeout=5.0):
    """True if the server closed the connection (EOF within timeout)."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
