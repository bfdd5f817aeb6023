"""The server under test: a subprocess on a free loopback port, its readiness and peak memory.

Each run is a fresh process of the real entry point (`trailkeeper serve`) or of the minimal
handler, configured only through `TRAILKEEPER_*` variables, so nothing of the bench process
(its imports, its caches, its open database) leaks into what is measured.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from trailkeeper.bench import BenchError

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
DETECT_VARIABLE = "TRAILKEEPER_DETECT"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def app_command() -> list[str]:
    """`trailkeeper serve` run by this interpreter (the console script may not be on PATH)."""
    return [sys.executable, "-c", "from trailkeeper.cli import main; main()", "serve"]


def minimal_command(org_id: str) -> list[str]:
    """The minimal ASGI handler serving one organization."""
    return [sys.executable, "-m", "trailkeeper.web.minimal", "--org", org_id]


def server_env(
    database_url: str, port: int, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a server under test: our database, our port, no rate limit.

    In-process anomaly detection is off unless the caller's environment turns it on: on a freshly
    bulk-loaded store it would replay the whole history while the figures are being measured.
    """
    env = dict(os.environ if base is None else base)
    env.setdefault(DETECT_VARIABLE, "off")
    env.update(
        {
            "TRAILKEEPER_DATABASE_URL": database_url,
            "TRAILKEEPER_HOST": HOST,
            "TRAILKEEPER_PORT": str(port),
            "TRAILKEEPER_RATE_LIMIT_PER_MINUTE": "0",
            "TRAILKEEPER_LOG_LEVEL": "warning",
        }
    )
    return env


def peak_memory_kib(pid: int) -> int | None:
    """The peak resident set (VmHWM) of a live process, in KiB; None off Linux."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


@dataclass
class ServerRun:
    """One server process: where it listens, its log, and (once stopped) its peak memory."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    peak_memory_kib: int | None = None

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's output, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _is_listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_ready(run: ServerRun, timeout_s: float = START_TIMEOUT_S) -> None:
    """Block until the server accepts connections (uvicorn binds after startup completes)."""
    deadline = time.monotonic() + timeout_s
    while not _is_listening(run.port):
        if run.process.poll() is not None:
            raise BenchError(f"{run.name} server exited on start:\n{run.log_tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"{run.name} server did not start in {timeout_s:.0f}s")
        time.sleep(0.05)


def stop(run: ServerRun) -> None:
    """Record the peak memory, then stop the server (SIGTERM, then SIGKILL)."""
    if run.process.poll() is None:
        run.peak_memory_kib = peak_memory_kib(run.process.pid)
        run.process.send_signal(signal.SIGTERM)
        try:
            run.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            run.process.kill()
            run.process.wait()


def _start(name: str, command: list[str], env: dict[str, str], log: IO[bytes]) -> ServerRun:
    port = int(env["TRAILKEEPER_PORT"])
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    return ServerRun(name, port, process, Path(log.name))


@contextmanager
def running_server(
    name: str, command: list[str], database_url: str, log_dir: Path
) -> Iterator[ServerRun]:
    """A started, ready server; stopped (and its peak memory recorded) on exit."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"server-{name}.log").open("wb") as log:
        run = _start(name, command, server_env(database_url, port), log)
        try:
            wait_ready(run)
            yield run
        finally:
            stop(run)
