"""A small fault-injecting HTTP proxy in front of the moto server, for the reliability tests.

Point a client at ``FaultProxy.url`` (``AWS_ENDPOINT_URL`` for a CLI subprocess, or
``AwsOptions(endpoint_url=...)`` in process): every request is forwarded to the moto server,
except that the first N requests matching a :class:`Fault` get the fault instead:

* ``"500"``: HTTP 500 with a KMSInternalException body (InternalFailure for STS);
* ``"throttle"``: HTTP 400 ThrottlingException (Throttling for STS);
* ``"timeout"``: no answer for longer than the client's read timeout;
* ``"drop"``: the connection is closed without any response;
* ``"error"``: the given AWS error code and message (HTTP 400 unless ``status`` is given).

With ``forward=True`` the request is first carried out by moto (so a write lands) and only the
answer is lost or replaced: the "outcome unknown" cases. The operation is the ``X-Amz-Target``
action for KMS (``TrentService.PutKeyPolicy`` -> ``PutKeyPolicy``) or the form field ``Action``
for query APIs such as STS (``GetCallerIdentity``). ``key_id`` restricts a fault to requests
whose body names that key; ``skip`` lets the first matching requests through untouched.

The proxy is bounded: it stops itself after ``lifetime`` seconds, every sleep ends when it is
stopped, and its threads are daemons. Not a test module: import it from the tests.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

FaultKind = Literal["500", "throttle", "timeout", "drop", "error"]

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
}


@dataclass
class Fault:
    operation: str  # "PutKeyPolicy", "GetKeyPolicy", "DescribeKey", "GetCallerIdentity", ...
    kind: FaultKind
    count: int = 1  # how many matching requests get the fault
    skip: int = 0  # matching requests let through before the first fault
    forward: bool = False  # carry the request out on moto first, then fail the answer
    key_id: str | None = None  # only requests whose body contains this key ID or ARN
    code: str = ""  # for kind "error"
    message: str = ""  # for kind "error"
    status: int = 400  # for kind "error"
    delay: float = 3.0  # for kind "timeout": how long to stay silent (stop() ends it early)
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def matches(self, operation: str, body: str) -> bool:
        return operation == self.operation and (self.key_id is None or self.key_id in body)


@dataclass(frozen=True)
class Request:
    """One request the proxy received, and what it did with it."""

    operation: str
    body: str
    fault: str | None  # the fault kind applied, or None when simply forwarded
    forwarded: bool
    at: float = field(default_factory=time.monotonic)  # when it arrived


class FaultProxy:
    """``with FaultProxy(upstream) as proxy: proxy.add(Fault(...)); ... proxy.url``"""

    def __init__(self, upstream: str, lifetime: float = 300.0) -> None:
        self.upstream_url = upstream
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.lifetime = lifetime
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name="fault-proxy",
        )
        self._thread.start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._timer is not None:
            self._timer.cancel()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- faults and the record ------------------------------------------------------------

    def add(self, *faults: Fault) -> FaultProxy:
        with self._lock:
            self.faults.extend(faults)
        return self

    def clear(self) -> None:
        """Remove every fault (the record of requests is kept)."""
        with self._lock:
            self.faults.clear()

    def calls(self, operation: str, key_id: str | None = None) -> list[Request]:
        with self._lock:
            return [
                r for r in self.requests
                if r.operation == operation and (key_id is None or key_id in r.body)
            ]

    def count(self, operation: str, key_id: str | None = None) -> int:
        return len(self.calls(operation, key_id))

    def _choose(self, operation: str, body: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if not fault.matches(operation, body):
                    continue
                fault.seen += 1
                if fault.seen > fault.skip and fault.fired < fault.count:
                    fault.fired += 1
                    return fault
            return None

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _forward(
        self, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            sent = {k: v for k, v in headers if k.lower() not in _HOP_BY_HOP}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, kept, data
        finally:
            connection.close()


def _operation_of(target: str | None, body: str) -> str:
    if target:
        return target.rsplit(".", 1)[-1]
    action = urllib.parse.parse_qs(body).get("Action")
    return action[0] if action else ""


def _error_body(query_api: bool, code: str, message: str) -> tuple[str, bytes]:
    if query_api:  # STS and the other query APIs answer errors in XML
        xml = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault-proxy</RequestId></ErrorResponse>"
        )
        return "text/xml", xml.encode()
    return "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message}).encode()


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # each answer leaves in one write (flushed below)

        def setup(self) -> None:
            super().setup()
            # No Nagle: a small answer must not wait for the client's delayed ACK.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: no line per request."""

        def _send(self, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def _send_error(self, status: int, query_api: bool, code: str, message: str) -> None:
            content_type, body = _error_body(query_api, code, message)
            self._send(
                status,
                [("Content-Type", content_type), ("x-amzn-RequestId", "fault-proxy")],
                body,
            )

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = raw.decode("utf-8", "replace")
            target = self.headers.get("X-Amz-Target")
            operation = _operation_of(target, body)
            query_api = not target
            fault = proxy._choose(operation, body)
            forwarded = fault is None or fault.forward
            proxy._record(Request(operation, body, fault.kind if fault else None, forwarded))
            answer = (
                proxy._forward(self.command, self.path, self.headers.items(), raw)
                if forwarded else None
            )
            if fault is None:
                assert answer is not None
                self._send(*answer)
            elif fault.kind == "500":
                code = "InternalFailure" if query_api else "KMSInternalException"
                self._send_error(500, query_api, code, "injected internal error")
            elif fault.kind == "throttle":
                code = "Throttling" if query_api else "ThrottlingException"
                self._send_error(400, query_api, code, "Rate exceeded")
            elif fault.kind == "error":
                self._send_error(fault.status, query_api, fault.code, fault.message)
            elif fault.kind == "timeout":
                proxy._wait(fault.delay)  # the client gives up meanwhile
                self.close_connection = True
            elif fault.kind == "drop":
                self.close_connection = True  # closed with no response at all
            else:  # pragma: no cover - a typo in a test
                raise ValueError(f"unknown fault kind {fault.kind!r}")

        do_POST = _handle
        do_GET = _handle
        do_PUT = _handle
        do_DELETE = _handle

    return Handler
