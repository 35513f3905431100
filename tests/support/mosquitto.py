"""A throw-away Mosquitto broker for tests, started from the installed binary.

``mosquitto_broker()`` writes a configuration with one listener on a free port of 127.0.0.1,
persistence in a temporary directory and, optionally, a password file, an ACL file and broker
settings (e.g. the shipped queueing policy from ``deploy/mosquitto/mosquitto.conf``, see
:func:`shipped_policy`); runs ``mosquitto -c <that file>``, waits until it accepts MQTT
connections, yields a :class:`Broker`, and stops it and removes the directory afterwards.
The machine's own Mosquitto (port 1883) is never touched.

- If ``STADSWACHT_TEST_MQTT_URL`` is set (``mqtt://host:port`` of a broker that lets anonymous
  clients publish and subscribe to ``stadswacht/v1/#``), that broker is used and nothing is
  started; tests that need their own broker configuration are skipped then.
- ``STADSWACHT_TEST_MOSQUITTO_BIN`` overrides the binary; by default ``mosquitto`` on ``PATH``
  or ``/usr/sbin/mosquitto``.
- If the binary is missing the test fails (it is not skipped), naming ``make test``, which
  installs it.
- Run as root, Mosquitto would switch to the user ``mosquitto`` and could no longer write its
  temporary directory, so the configuration names the current user (``user root``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = [
    "SHIPPED_CONF",
    "Broker",
    "MosquittoUnavailable",
    "find_binary",
    "mosquitto_broker",
    "shipped_policy",
]

URL_ENV = "STADSWACHT_TEST_MQTT_URL"
BIN_ENV = "STADSWACHT_TEST_MOSQUITTO_BIN"
_FALLBACK_BINARY = "/usr/sbin/mosquitto"
_MACHINE_PORT = 1883  # the machine's own broker: never ours
_START_TIMEOUT_S = 10.0

SHIPPED_CONF = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
"""The production broker configuration this repository ships."""

# Directives of the shipped configuration that decide how the broker queues, keeps and
# delivers messages. Listeners, certificates, paths and the user are the machine's business
# and are replaced by the test's own.
_POLICY = frozenset(
    {
        "persistence",
        "autosave_interval",
        "autosave_on_changes",
        "persistent_client_expiration",
        "max_inflight_messages",
        "max_inflight_bytes",
        "max_queued_messages",
        "max_queued_bytes",
        "queue_qos0_messages",
        "upgrade_outgoing_qos",
        "message_size_limit",
        "max_packet_size",
        "max_keepalive",
        "set_tcp_nodelay",
        "retain_available",
        "allow_zero_length_clientid",
    }
)


class MosquittoUnavailable(RuntimeError):
    """Raised when no Mosquitto broker can be started for the tests."""


@dataclass
class Broker:
    """A running broker: where it listens and, when the test started it, its log."""

    host: str
    port: int
    managed: bool
    workdir: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """``mqtt://host:port``, as ``STADSWACHT_MQTT_URL`` takes it."""
        return f"mqtt://{self.host}:{self.port}"

    def log(self) -> str:
        """What the broker has logged so far (empty for a broker the test did not start)."""
        if self.workdir is None:
            return ""
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def restart(self) -> None:
        """Stop the broker cleanly (it saves its database) and start it again, same port."""
        if self.process is None or self.workdir is None:
            pytest.skip(f"{URL_ENV} is set: this test restarts a broker it started itself")
        _stop(self.process)
        self.process = _launch(find_binary(), self.workdir, self.port)
        if self.process.poll() is not None:
            raise MosquittoUnavailable(f"mosquitto did not restart:\n{self.log()}")


def find_binary() -> str:
    """The ``mosquitto`` binary to run; raises :class:`MosquittoUnavailable` if there is none."""
    candidates = [os.environ.get(BIN_ENV), shutil.which("mosquitto"), _FALLBACK_BINARY]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise MosquittoUnavailable(
        "mosquitto is not installed (looked for $STADSWACHT_TEST_MOSQUITTO_BIN, mosquitto on "
        f"PATH and {_FALLBACK_BINARY}); run `make test`, which installs it "
        "(apt-get install mosquitto), or set STADSWACHT_TEST_MQTT_URL to a broker"
    )


def shipped_policy(conf: Path = SHIPPED_CONF) -> list[str]:
    """The queueing, persistence and delivery directives of the shipped configuration."""
    lines = []
    for raw in conf.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and line.split()[0] in _POLICY:
            lines.append(line)
    if not any(line.startswith("max_queued_messages") for line in lines):
        raise AssertionError(f"{conf} sets no max_queued_messages; the burst tests need it")
    return lines


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != _MACHINE_PORT:
            return port


def _accepts(port: int) -> bool:
    """Whether an MQTT CONNECT on ``port`` is answered with a CONNACK."""
    connect = bytes.fromhex("100e00044d5154540402000a0002") + b"pz"  # v3.1.1, client id "pz"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(connect)
            return s.recv(4)[:1] == b"\x20"
    except OSError:
        return False


def _config(
    workdir: Path,
    port: int,
    settings: Sequence[str],
    password_file: Path | None,
    acl_file: Path | None,
) -> str:
    lines = [
        f"user {pwd.getpwuid(os.geteuid()).pw_name}",
        f"listener {port} 127.0.0.1",
        f"allow_anonymous {'false' if password_file else 'true'}",
        f"persistence_location {workdir}/",
        f"log_dest file {workdir}/mosquitto.log",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "persistence true",
    ]
    if password_file is not None:
        lines.append(f"password_file {password_file}")
    if acl_file is not None:
        lines.append(f"acl_file {acl_file}")
    lines.extend(settings)  # later lines win
    return "\n".join(lines) + "\n"


@contextmanager
def mosquitto_broker(
    *,
    settings: Sequence[str] = (),
    password_file: Path | None = None,
    acl_file: Path | None = None,
) -> Iterator[Broker]:
    """Run Mosquitto on 127.0.0.1 with persistence in a temporary directory.

    Args:
        settings: extra configuration lines, e.g. :func:`shipped_policy`.
        password_file: a ``mosquitto_passwd`` file; anonymous clients are refused then.
        acl_file: an ACL file.
    """
    external = os.environ.get(URL_ENV)
    if external:
        if settings or password_file or acl_file:
            pytest.skip(f"{URL_ENV} is set, and this test needs a broker configured its way")
        host, _, ext_port = external.removeprefix("mqtt://").rstrip("/").partition(":")
        yield Broker(host, int(ext_port or 1883), managed=False)
        return
    try:
        binary = find_binary()
    except MosquittoUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    with tempfile.TemporaryDirectory(prefix="stadswacht-mosquitto-") as tmp:
        workdir = Path(tmp)
        for _attempt in range(3):  # another process may take the free port before we bind it
            port = _free_port()
            conf = workdir / "mosquitto.conf"
            conf.write_text(_config(workdir, port, settings, password_file, acl_file))
            proc = _launch(binary, workdir, port)
            if proc.poll() is None:
                break
            text = (workdir / "mosquitto.out").read_text(errors="replace") + (
                (workdir / "mosquitto.log").read_text(errors="replace")
                if (workdir / "mosquitto.log").exists()
                else ""
            )
            if "Address already in use" not in text:
                raise MosquittoUnavailable(
                    f"{binary} did not start on 127.0.0.1:{port} (exit code {proc.poll()}):\n"
                    f"{conf.read_text()}\n{text}"
                )
        else:
            raise MosquittoUnavailable(f"{binary} found no free port on 127.0.0.1")
        broker = Broker("127.0.0.1", port, managed=True, workdir=workdir, process=proc)
        try:
            yield broker
        finally:
            if broker.process is not None:
                _stop(broker.process)


def _launch(binary: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """Start the broker of ``workdir``; returns once it answers, or has exited."""
    with (workdir / "mosquitto.out").open("ab") as out:
        proc = subprocess.Popen(
            [binary, "-c", str(workdir / "mosquitto.conf")],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    deadline = time.monotonic() + _START_TIMEOUT_S
    while proc.poll() is None:
        if _accepts(port):
            return proc
        if time.monotonic() > deadline:
            _stop(proc)
            break
        time.sleep(0.02)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
