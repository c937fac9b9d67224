"""A fault-injecting HTTP proxy in front of the moto S3 server (threaded, loopback).

Each request is forwarded to moto unless a rule matches it; a rule says which requests
(method, a fragment of the path, optionally only ranged or unranged GETs), what goes
wrong and how many times (``times=None``: every time). Faults:

- ``slowdown``: 503 with S3's ``SlowDown`` error body (throttling), moto not asked
- ``error500``: 500 ``InternalError``, moto not asked
- ``reset``: moto's response headers and the first ``cut`` bytes of the body, then a TCP
  reset (SO_LINGER 0): a connection reset mid-object
- ``truncate``: headers (with the full Content-Length) and ``cut`` bytes, then a normal
  close: a truncated body
- ``short``: ``cut`` bytes with a Content-Length saying that is all: a body that looks
  complete but is not the object (only the listing's size can tell)

``injected`` counts the faults served, per kind.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_ERRORS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "error500": (500, "InternalError", "We encountered an internal error. Please try again."),
}
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Rule:
    fault: str  # slowdown | error500 | reset | truncate | short
    path: str = ""  # fragment the request path must contain
    method: str = "GET"
    times: int | None = 1  # None: always
    cut: int = 100_000  # bytes of the body sent before a reset / truncation
    ranged: bool | None = None  # only requests with (True) / without (False) a Range header
    served: int = 0

    def matches(self, method: str, path: str, ranged: bool) -> bool:
        return (
            method == self.method
            and self.path in path
            and (self.ranged is None or self.ranged == ranged)
            and (self.times is None or self.served < self.times)
        )


@dataclass
class FaultProxy:
    upstream: str  # moto's endpoint URL
    rules: list[Rule] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, *rules: Rule) -> None:
        with self._lock:
            self.rules.extend(rules)

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.requests.clear()

    def pick(self, method: str, path: str, ranged: bool) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, ranged):
                    rule.served += 1
                    self.injected[rule.fault] += 1
                    return rule
        return None

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                ranged = "Range" in self.headers
                with proxy._lock:
                    proxy.requests.append((self.command, self.path, self.headers.get("Range")))
                rule = proxy.pick(self.command, self.path, ranged)
                if rule is not None and rule.fault in _ERRORS:
                    self._error(*_ERRORS[rule.fault])
                    return
                target = urlsplit(proxy.upstream)
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = self.headers.get("Host", "")
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                upstream.close()
                if rule is not None and response.status in (200, 206):
                    self._broken(response, payload, rule)
                    return
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _error(self, status: int, code: str, message: str) -> None:
                xml = (
                    f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                    f"<Message>{message}</Message><RequestId>fault</RequestId></Error>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(xml)))
                self.end_headers()
                self.wfile.write(xml)

            def _broken(
                self, response: http.client.HTTPResponse, payload: bytes, rule: Rule
            ) -> None:
                cut = min(rule.cut, max(len(payload) - 1, 0))
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                sent_length = cut if rule.fault == "short" else len(payload)
                self.send_header("Content-Length", str(sent_length))
                self.end_headers()
                self.wfile.write(payload[:cut])
                self.wfile.flush()
                if rule.fault == "reset":  # RST instead of FIN
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                self.close_connection = True
                if rule.fault != "short":
                    self.connection.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
