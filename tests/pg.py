"""A throw-away PostgreSQL server for one test session (one per xdist worker).

`start_postgres()` finds `initdb`/`pg_ctl`, creates a cluster in a fresh temp
dir, starts it on a free 127.0.0.1 port with durability switched off, and
returns a `PostgresServer`; it returns None when no binaries are installed.
The server is stopped (and its directory removed) by `stop()`, which is also
registered with atexit in case the session dies before its teardown runs.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

SKIP_REASON = "PostgreSQL binaries (initdb, pg_ctl) not found"
SUPERUSER = "postgres"
_START_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, else the newest
    /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        bindir = Path(on_path).resolve().parent  # /usr/local/bin/initdb is often a symlink
        return bindir if (bindir / "pg_ctl").is_file() else Path(on_path).parent
    candidates = []
    for bindir in glob.glob("/usr/lib/postgresql/*/bin"):
        path = Path(bindir)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            version = tuple(int(part) for part in re.findall(r"\d+", path.parent.name))
            candidates.append((version, path))
    return max(candidates)[1] if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class PostgresServer:
    """A running throw-away cluster; superuser `postgres`, trust auth, 127.0.0.1 only."""

    host = "127.0.0.1"

    def __init__(self, bindir: Path, base_dir: Path) -> None:
        self.bindir = bindir
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.socket_dir = base_dir  # short path: unix socket names are limited to ~107 bytes
        self.log_file = base_dir / "postgres.log"
        self.port = 0
        self._as_postgres: list[str] = []
        self._admin: psycopg.Connection | None = None
        self._running = False

    # -- lifecycle ---------------------------------------------------------------

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_postgres, *args],
            cwd=self.base_dir,  # initdb/postgres complain when they cannot read the cwd
            capture_output=True,
            text=True,
            check=False,
        )

    def _start(self) -> None:
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root.
            try:
                user = pwd.getpwnam(SUPERUSER)
            except KeyError as exc:
                raise RuntimeError(
                    "running as root but there is no `postgres` user to run the server"
                ) from exc
            os.chown(self.base_dir, user.pw_uid, user.pw_gid)
            self._as_postgres = ["runuser", "-u", SUPERUSER, "--"]
        result = self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data_dir),
            "-U", SUPERUSER,
            "--auth=trust",
            "-E", "UTF8",
            "--no-locale",
            "--no-sync",  # a throw-away cluster need not survive a power cut
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        for _ in range(_START_ATTEMPTS):
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {shlex.quote(str(self.socket_dir))} -c listen_addresses=127.0.0.1"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            result = self._run(
                str(self.bindir / "pg_ctl"), "start", "-w",
                "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options,
            )  # fmt: skip
            if result.returncode == 0:
                self._running = True
                atexit.register(self.stop)
                return
            if "could not bind" not in _tail(self.log_file, 10):
                break
        raise RuntimeError(
            f"pg_ctl start failed ({result.returncode}): {result.stdout}{result.stderr}\n"
            f"--- {self.log_file} (tail) ---\n{_tail(self.log_file)}"
        )

    def stop(self) -> None:
        """Stop the server (immediate mode) and remove its directory; idempotent."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        # postmaster.pid also covers a server that started but missed pg_ctl's -w deadline.
        if self._running or (self.data_dir / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "stop", "-m", "immediate", "-D", str(self.data_dir))
        if self._running:
            self._running = False
            atexit.unregister(self.stop)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- databases -----------------------------------------------------------------

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def admin(self) -> psycopg.Connection:
        """An autocommit connection to the `postgres` database (kept open)."""
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(
                host=self.host, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
            )
        return self._admin

    def create_database(self, name: str, template: str | None = None) -> None:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self.admin().execute(query)

    def add_password_user(self, user: str, password: str) -> None:
        """A login that must give its password (scram-sha-256 from 127.0.0.1), for tests
        of a refused password; every other login stays trusted. Idempotent."""
        exists = self.admin().execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        if exists is None:
            create = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
            self.admin().execute(create.format(sql.Identifier(user), sql.Literal(password)))
        hba = self.data_dir / "pg_hba.conf"
        rule = f"host all {user} 127.0.0.1/32 scram-sha-256\n"
        text = hba.read_text()
        if rule not in text:
            hba.write_text(rule + text)  # first match wins: before the trust lines
            self.admin().execute("SELECT pg_reload_conf()")

    def drop_database(self, name: str) -> None:
        # FORCE: a test that leaked a connection must not make the teardown fail.
        self.admin().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def start_postgres(base_dir: str | Path | None = None) -> PostgresServer | None:
    """Start a throw-away server, or return None when PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        return None
    base = Path(tempfile.mkdtemp(prefix="csbot-pg-", dir=base_dir))
    server = PostgresServer(bindir, base)
    try:
        server._start()
    except BaseException:
        server.stop()
        raise
    return server
