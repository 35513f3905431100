"""A throw-away NATS server with JetStream for tests, started from the installed binary.

``nats_server()`` runs ``nats-server -js -a 127.0.0.1 -p <free port> -sd <temporary dir>``,
waits until it accepts connections, yields its URL, and stops it and removes the directory
afterwards. The machine's own NATS server (port 4222) is never touched. Where util-linux's
``setpriv`` is installed the server is started under ``--pdeathsig TERM``, so a test run that is
killed does not leave it running.

- If ``STADSWACHT_TEST_NATS_URL`` is set (``nats://host:port`` of a server with JetStream and no
  stream of its own on ``stadswacht.>``), that server is used instead and nothing is started.
- ``STADSWACHT_TEST_NATS_BIN`` overrides the binary; by default ``nats-server`` on ``PATH`` or
  ``/usr/sbin/nats-server``.
- If the binary is missing this raises :class:`NatsUnavailable`, naming ``make test`` (which
  installs it): tests that need NATS fail, they are not skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["NatsUnavailable", "find_binary", "nats_server"]

URL_ENV = "STADSWACHT_TEST_NATS_URL"
BIN_ENV = "STADSWACHT_TEST_NATS_BIN"
_FALLBACK_BINARY = "/usr/sbin/nats-server"
_MACHINE_PORT = 4222  # the machine's own server: never ours
_START_TIMEOUT_S = 10.0


class NatsUnavailable(RuntimeError):
    """Raised when no NATS server can be started for the tests."""


def find_binary() -> str:
    """The ``nats-server`` binary to run; raises :class:`NatsUnavailable` if there is none."""
    candidates = [os.environ.get(BIN_ENV), shutil.which("nats-server"), _FALLBACK_BINARY]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise NatsUnavailable(
        "nats-server is not installed (looked for $STADSWACHT_TEST_NATS_BIN, nats-server on "
        f"PATH and {_FALLBACK_BINARY}); run `make test`, which installs it "
        "(apt-get install nats-server), or set STADSWACHT_TEST_NATS_URL to a NATS server "
        "with JetStream"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    if port == _MACHINE_PORT:  # cannot happen while that server listens; be explicit anyway
        return _free_port()
    return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            return s.recv(4).startswith(b"INFO")
    except OSError:
        return False


@contextmanager
def nats_server() -> Iterator[str]:
    """Run a JetStream-enabled NATS server on 127.0.0.1; yields its ``nats://`` URL."""
    external = os.environ.get(URL_ENV)
    if external:
        yield external
        return
    binary = find_binary()
    with tempfile.TemporaryDirectory(prefix="stadswacht-nats-") as tmp:
        port = _free_port()
        log_path = Path(tmp) / "nats-server.log"
        command = [binary, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", f"{tmp}/jetstream"]
        setpriv = shutil.which("setpriv")
        if setpriv:  # util-linux: the server gets SIGTERM if the test run is killed
            command = [setpriv, "--pdeathsig", "TERM", *command]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + _START_TIMEOUT_S
            while not _accepts(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise NatsUnavailable(
                        f"{binary} did not start on 127.0.0.1:{port} "
                        f"(exit code {proc.poll()}):\n{log_path.read_text(errors='replace')}"
                    )
                time.sleep(0.02)
            yield f"nats://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
