"""Fixtures for the Python binding suite.

`tests/bindings/python.sh` builds the library, generates `tidbit_ffi.py` next to it, signs the
fixture course and exports where everything is through TIDBIT_* environment variables.
"""

import asyncio
import os
import pathlib
import shutil
import socket
import threading

import pytest

import tidbit as tb

START_MS = 1_790_000_000_000  # 2026-09-21, a fixed instant so plans and streaks are repeatable


def env(name):
    """The value tests/bindings/python.sh exported as `name`."""
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite through tests/bindings/python.sh", 2)
    return value


def env_path(name):
    return pathlib.Path(env(name))


class ManualClock(tb.Clock):
    """A clock the tests move by hand (implements the foreign trait `Clock`)."""

    def __init__(self, start_ms=START_MS):
        self.ms = start_ms

    def now_ms(self):
        return self.ms


RANDOM = object()


class MemoryKeyStore(tb.KeyStore):
    """The app's key store: the certificate issuer's private key file and this device's at-rest
    key (random unless given; None keeps the store in plain form)."""

    def __init__(self, signing_key=None, at_rest=RANDOM):
        self.signing_key = signing_key
        self.at_rest = os.urandom(32) if at_rest is RANDOM else at_rest
        self.destroyed = 0

    def certificate_signing_key(self):
        return self.signing_key

    def at_rest_key(self):
        return self.at_rest

    def destroy_at_rest_key(self):
        self.at_rest = None
        self.destroyed += 1


class ListLogger(tb.Logger):
    def __init__(self):
        self.records = []
        self.lock = threading.Lock()

    def log(self, record):
        with self.lock:
            self.records.append(record)


class Progress(tb.ProgressListener):
    def __init__(self):
        self.calls = []

    def on_progress(self, done, total):
        self.calls.append((done, total))


@pytest.fixture(scope="session")
def fixture_files():
    return {
        "pack": env_path("TIDBIT_PACK"),
        "author_pub": env_path("TIDBIT_AUTHOR_PUB").read_text(),
        "issuer_key": env_path("TIDBIT_ISSUER_KEY").read_text(),
        "issuer_pub": env_path("TIDBIT_ISSUER_PUB").read_text(),
    }


@pytest.fixture
def config(tmp_path, fixture_files):
    return tb.TidbitConfig(
        data_dir=str(tmp_path / "learner"),
        learner_id="ada@example.org",
        device_id="python-test-device",
        time_zone="Europe/Berlin",
        trusted_keys=[fixture_files["author_pub"]],
    )


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def tidbit(config, clock, fixture_files):
    opened = tb.Tidbit.open_with_clock(config, MemoryKeyStore(fixture_files["issuer_key"]), clock)
    yield opened
    opened.close_store()


@pytest.fixture
def tampered_pack(tmp_path, fixture_files):
    data = bytearray(fixture_files["pack"].read_bytes())
    data[-10] ^= 0xFF
    path = tmp_path / "tampered.tidbit"
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def pack_copy(tmp_path, fixture_files):
    path = tmp_path / "tour.tidbit"
    shutil.copy(fixture_files["pack"], path)
    return path


class SilentServer:
    """A server on 127.0.0.1 that accepts connections, reads what comes and never answers."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted = 0
        # Released once for every connection the server accepted.
        self.opened = threading.Semaphore(0)
        # Released once for every connection the client closed.
        self.closed = threading.Semaphore(0)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self.opened.release()
            threading.Thread(target=self._drain, args=(connection,), daemon=True).start()

    def _drain(self, connection):
        with connection:
            try:
                while connection.recv(4096):
                    pass
            except OSError:
                pass
        self.closed.release()

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.listener.close()


# Long enough that a wait fails the test rather than hang it; never what a test asserts.
GUARD_SECONDS = 60


async def acquire_within(semaphore, seconds=GUARD_SECONDS):
    """Waits for one permit off the event loop, so the sync keeps running meanwhile."""
    return await asyncio.to_thread(semaphore.acquire, timeout=seconds)


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def refusing_server_url():
    """`http://127.0.0.1:PORT` where nothing listens: a port bound, read and let go."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
