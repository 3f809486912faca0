"""Starting the servers a benchmark measures: each in its own process, on a free
local port, measured only once it accepts connections."""

from __future__ import annotations

import argparse
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(
    port: int, proc: subprocess.Popen[bytes], *, what: str = "server", seconds: float = 30
) -> None:
    """Return once `proc` accepts connections on `port`; SystemExit (the process killed)
    when it exits first or does not listen within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{what} did not start")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The hidden flags a benchmark passes to itself to run one server variant."""
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)


def start_server(
    command: list[str], variant: str, db_url: str, api_url: str, *, cwd: Path, seconds: float = 30
) -> tuple[subprocess.Popen[bytes], int]:
    """Run `command --serve variant` (see add_serve_arguments) on a free port; return once it listens."""
    port = free_port()
    args = ["--serve", variant, "--port", str(port), "--db", db_url, "--api", api_url]
    proc = subprocess.Popen([*command, *args], cwd=cwd)
    wait_listening(port, proc, what=f"{variant} server", seconds=seconds)
    return proc, port
