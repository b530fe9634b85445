"""The package's HTTP transport (`tidbit.transport`): every request the core makes travels
through it, and it keeps the bounds each request carries.

The library under test is built without the core's own HTTP client (tests/bindings/common.sh),
as apps get it, so a request the package's transport did not carry could not be made at all.
"""

import asyncio
import http.server
import threading

import pytest

import tidbit as tb
from conftest import GUARD_SECONDS, ManualClock, MemoryKeyStore, START_MS, env


class Recording(tb.StdlibTransport):
    """The package's transport, noting each request's method and path."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def send(self, call, request):
        self.sent.append((request.method, request.url.split("/", 3)[-1]))
        return super().send(call, request)


@pytest.fixture
def recording():
    transport = Recording()
    tb.set_http_transport(transport)
    yield transport
    tb.set_http_transport(tb.StdlibTransport())


def test_a_sync_travels_through_the_packages_transport(recording, tmp_path, fixture_files):
    config = tb.TidbitConfig(
        data_dir=str(tmp_path / "phone"),
        learner_id="ada@example.org",
        device_id="python-transport-phone",
        time_zone="Europe/Berlin",
        trusted_keys=[fixture_files["author_pub"]],
    )
    phone = tb.Tidbit.open_with_clock(config, MemoryKeyStore(), ManualClock(START_MS))
    try:
        report = asyncio.run(phone.sync(env("TIDBIT_SYNC_URL"), env("TIDBIT_PHONE_TOKEN")))
    finally:
        phone.close_store()
    syncs = [sent for sent in recording.sent if sent == ("POST", "v1/learners/ada@example.org/sync")]
    assert report.round_trips >= 1
    assert len(syncs) == report.round_trips + report.retries


class Handler(http.server.BaseHTTPRequestHandler):
    """/hop/N redirects N more times, /body answers 100,000 bytes, /stall announces 10 bytes and
    sends none, /cut sends 5 of them and closes; every answer names the request's method and the
    length of the body it received."""

    def do_GET(self):
        self.answer()

    def do_HEAD(self):
        self.answer()

    def do_PUT(self):
        self.answer()

    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        received = self.rfile.read(length) if length else b""
        if self.path.startswith("/hop/"):
            left = int(self.path.rsplit("/", 1)[1])
            self.send_response(302 if left else 200)
            if left:
                self.send_header("location", f"/hop/{left - 1}")
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = b"x" * 100_000 if self.path == "/body" else b""
        self.send_response(200)
        self.send_header("x-method", self.command)
        self.send_header("x-received", str(len(received)))
        announced = 10 if self.path in ("/stall", "/cut") else len(body)
        self.send_header("content-length", str(announced))
        self.end_headers()
        if self.path == "/stall":
            self.wfile.flush()
            self.server.stalled.wait(GUARD_SECONDS)
            return
        if self.path == "/cut":
            self.wfile.write(b"12345")
            self.wfile.flush()
            self.close_connection = True
            return
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.stalled = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.stalled.set()
    server.shutdown()
    server.server_close()


def request(url, method="GET", body=b"", timeout_ms=None, read_timeout_ms=None, max_redirects=0):
    return tb.HttpRequest(
        method=method,
        url=url,
        headers=[tb.HttpHeader(name="authorization", value="Bearer t")],
        body=body,
        connect_timeout_ms=5_000,
        timeout_ms=timeout_ms,
        read_timeout_ms=read_timeout_ms,
        max_redirects=max_redirects,
    )


def header(head, name):
    return next(h.value for h in head.headers if h.name.lower() == name)


def test_the_body_arrives_in_pieces_no_larger_than_asked(local_server):
    transport = tb.StdlibTransport()
    head = transport.send(1, request(f"{local_server}/body"))
    pieces = []
    while piece := transport.read(1, 30_000):
        pieces.append(len(piece))
    transport.finish(1)
    assert head.status == 200
    assert sum(pieces) == 100_000
    assert max(pieces) <= 30_000
    assert len(pieces) >= 4


def test_methods_and_bodies_reach_the_server(local_server):
    transport = tb.StdlibTransport()
    put = transport.send(1, request(f"{local_server}/echo", method="PUT", body=b"12345"))
    transport.finish(1)
    head = transport.send(2, request(f"{local_server}/body", method="HEAD"))
    assert transport.read(2, 1_000) == b""
    transport.finish(2)
    assert (header(put, "x-method"), header(put, "x-received")) == ("PUT", "5")
    assert header(head, "x-method") == "HEAD"


def test_redirects_are_followed_up_to_the_requests_bound(local_server):
    transport = tb.StdlibTransport()
    followed = transport.send(1, request(f"{local_server}/hop/2", max_redirects=2))
    transport.finish(1)
    assert followed.status == 200
    with pytest.raises(tb.HttpError.TooManyRedirects):
        transport.send(2, request(f"{local_server}/hop/3", max_redirects=2))
    transport.finish(2)
    with pytest.raises(tb.HttpError.TooManyRedirects):
        transport.send(3, request(f"{local_server}/hop/1", max_redirects=0))
    transport.finish(3)


@pytest.mark.parametrize(
    "bound", [{"read_timeout_ms": 200}, {"timeout_ms": 300}], ids=["read timeout", "deadline"]
)
def test_a_stalled_body_fails_at_the_read_timeout_or_the_calls_deadline(local_server, bound):
    transport = tb.StdlibTransport()
    transport.send(1, request(f"{local_server}/stall", **bound))
    with pytest.raises(tb.HttpError.Failed) as failed:
        transport.read(1, 1_000)
    transport.finish(1)
    assert failed.value.reason == "timed out"


def test_cancel_from_another_thread_ends_a_blocked_read(local_server):
    transport = tb.StdlibTransport()
    transport.send(1, request(f"{local_server}/stall"))
    outcome = []

    def read():
        try:
            outcome.append(transport.read(1, 1_000))
        except tb.HttpError.Failed as error:
            outcome.append(error.reason)

    reader = threading.Thread(target=read)
    reader.start()
    # Blocked (the server sent its headers and nothing more), or about to be: either way the
    # cancel ends the read.
    transport.cancel(1)
    reader.join(GUARD_SECONDS)
    transport.finish(1)
    assert not reader.is_alive()
    assert outcome == ["the call was cancelled"]


def test_a_body_cut_short_of_its_length_is_an_error_not_an_end(local_server):
    transport = tb.StdlibTransport()
    transport.send(1, request(f"{local_server}/cut"))
    with pytest.raises(tb.HttpError.Failed) as failed:
        while transport.read(1, 1_000):
            pass
    transport.finish(1)
    assert failed.value.reason == "the answer was cut off 5 bytes short"
