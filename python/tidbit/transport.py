"""The HTTP transport of the Python package: Python's own `http.client` and `ssl`, which carry
every request the Rust core makes (sync, course updates, shared recordings, sign-in).

The library carries no TLS stack of its own; on a phone the platform's stack does this work
(HttpURLConnection, URLSession), here the standard library does, trusting the system's
certificate store through `ssl.create_default_context()`. The package puts it in place when it
is imported (`install`).

The core calls these methods from its background threads, never from the caller's. A call's
bounds come with its request: the connect timeout, a read timeout, and a deadline for the
whole call, at which the call is cancelled as if the app had cancelled it.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from .tidbit_ffi import HttpError, HttpHead, HttpHeader, HttpTransport, set_http_transport

_REDIRECTS = {301, 302, 303, 307, 308}


@dataclass
class _Call:
    connection: http.client.HTTPConnection | None = None
    # The connection's socket, kept: http.client lets go of it once a response ends the
    # connection, while the response still reads from it.
    sock: socket.socket | None = None
    response: http.client.HTTPResponse | None = None
    deadline: float | None = None
    read_timeout: float | None = None
    cancelled: bool = False
    timer: threading.Timer | None = field(default=None, repr=False)


class StdlibTransport(HttpTransport):
    """`http.client` over `ssl`: one connection per call, closed when the call is finished."""

    def __init__(self) -> None:
        self._calls: dict[int, _Call] = {}
        self._lock = threading.Lock()
        self._tls = ssl.create_default_context()

    def send(self, call: int, request) -> HttpHead:
        state = _Call()
        if request.timeout_ms is not None:
            state.deadline = time.monotonic() + request.timeout_ms / 1000
            state.timer = threading.Timer(request.timeout_ms / 1000, self.cancel, (call,))
            state.timer.daemon = True
            state.timer.start()
        if request.read_timeout_ms is not None:
            state.read_timeout = request.read_timeout_ms / 1000
        with self._lock:
            self._calls[call] = state
        method, url, body = request.method, request.url, bytes(request.body)
        headers = {h.name: h.value for h in request.headers}
        try:
            for _ in range(request.max_redirects + 1):
                response = self._exchange(state, method, url, headers, body, request)
                location = response.getheader("location")
                if response.status not in _REDIRECTS or location is None:
                    return HttpHead(
                        status=response.status,
                        headers=[HttpHeader(name=k, value=v) for k, v in response.getheaders()],
                    )
                response.close()
                url = urllib.parse.urljoin(url, location)
                if response.status == 303:
                    method, body = "GET", b""
            raise HttpError.TooManyRedirects(reason=f"more than {request.max_redirects} for {request.url}")
        except HttpError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise self._failed(state, error) from None

    def _exchange(self, state: _Call, method, url, headers, body, request):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError.Failed(reason=f"'{url}' is not an http or https URL")
        connect = request.connect_timeout_ms / 1000
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=connect, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=connect)
        with self._lock:
            if state.connection is not None:
                state.connection.close()
            state.connection = connection
            if state.cancelled:
                raise HttpError.Failed(reason="the call was cancelled")
        connection.connect()
        with self._lock:
            state.sock = connection.sock
        if state.cancelled:
            raise HttpError.Failed(reason="the call was cancelled")
        state.sock.settimeout(self._read_timeout(state))
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body or method in ("POST", "PUT"):
            connection.putheader("content-length", str(len(body)))
        connection.endheaders(body or None)
        state.response = connection.getresponse()
        return state.response

    def read(self, call: int, max: int) -> bytes:
        state = self._calls.get(call)
        if state is None or state.response is None:
            raise HttpError.Failed(reason="no such call")
        try:
            if state.sock is not None:
                state.sock.settimeout(self._read_timeout(state))
            piece = state.response.read1(max)
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise self._failed(state, error) from None
        if state.cancelled:
            raise self._failed(state, None)
        if not piece and max > 0 and state.response.length:
            # The connection ended before the length the server announced.
            raise HttpError.Failed(reason=f"the answer was cut off {state.response.length} bytes short")
        return piece

    def finish(self, call: int) -> None:
        with self._lock:
            state = self._calls.pop(call, None)
        if state is not None:
            self._close(state)

    def cancel(self, call: int) -> None:
        with self._lock:
            state = self._calls.get(call)
            if state is None:
                return
            state.cancelled = True
            sock = state.sock
        if sock is not None:
            # Wakes a send or read blocked on the socket in another thread.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _read_timeout(self, state: _Call) -> float | None:
        timeout = state.read_timeout
        if state.deadline is not None:
            left = max(state.deadline - time.monotonic(), 0.001)
            timeout = left if timeout is None else min(timeout, left)
        return timeout

    def _failed(self, state: _Call, error: BaseException | None) -> HttpError:
        if state.cancelled:
            timed_out = state.deadline is not None and time.monotonic() >= state.deadline
            return HttpError.Failed(reason="timed out" if timed_out else "the call was cancelled")
        if isinstance(error, socket.timeout):
            return HttpError.Failed(reason="timed out")
        return HttpError.Failed(reason=f"{type(error).__name__}: {error}")

    @staticmethod
    def _close(state: _Call) -> None:
        if state.timer is not None:
            state.timer.cancel()
        if state.response is not None:
            state.response.close()
        if state.connection is not None:
            state.connection.close()


def install() -> None:
    """Puts the standard library's HTTP in place for every request the core makes."""
    set_http_transport(StdlibTransport())
