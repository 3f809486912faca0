"""The scaffolding the portfolio benches share (bench/health.py, metrics.py, digest.py,
app_home.py): their --accounts/--backends flags, the throw-away PostgreSQL,
one database per backend and size, the measured run in a subprocess of the same
script, its own peak memory, and the "does the statement count grow" verdict.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tests.pg import PostgresServer


def size_parser(doc: str | None, backends: str = "sqlite,postgresql") -> argparse.ArgumentParser:
    """A parser showing `doc` as is, with --accounts (the sizes, 1,000 and 10,000
    by default) and --backends (comma-separated, `backends` by default)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--backends", default=backends)
    return parser


@contextmanager
def databases(backends: list[str]) -> Iterator[tuple[PostgresServer | None, str]]:
    """(the PostgreSQL server or None, a temporary directory) for the run.

    Starts a throw-away PostgreSQL (tests/pg.py) if "postgresql" is in `backends`;
    without its binaries, says so and removes it from `backends` (in place). The
    directory is removed, then the server stopped, on the way out."""
    server = None
    if "postgresql" in backends:
        from tests.pg import start_postgres

        server = start_postgres()
        if server is None:
            print("PostgreSQL binaries not found: PostgreSQL skipped")
            backends.remove("postgresql")
    try:
        with tempfile.TemporaryDirectory(prefix="csbot-bench-") as tmp:
            yield server, tmp
    finally:
        if server is not None:
            server.stop()


def database_url(backend: str, server: PostgresServer | None, tmp: str, name: str) -> str:
    """The URL of a fresh database called `name`: a file in `tmp` for SQLite, a new
    database on `server` for PostgreSQL."""
    if backend == "sqlite":
        return f"sqlite:///{tmp}/{name}.db"
    assert server is not None
    server.create_database(name)
    return server.url(name)


def migrated_engine(url: str) -> Engine:
    """An engine on `url` with the schema migrated to the newest revision."""
    from models.db import make_engine
    from models.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine


def finish_load(engine: Engine) -> None:
    """After a bulk load with explicit ids: moves PostgreSQL's account id sequence
    past them, refreshes the planner's statistics (ANALYZE, committed) and
    disposes of the engine."""
    from sqlalchemy import text

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('account_id_seq', (SELECT max(id) FROM account))"))
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def run_script(script: str, *args: str) -> dict[str, Any]:
    """Runs `script` with `args` in a fresh Python process (its own peak RSS) and
    returns the JSON object on the last line it printed."""
    out = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries the
    parent's high-water mark across fork+exec, and the parent built the data."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def constancy(counts: Iterable[int]) -> str:
    """The distinct statement counts over the sizes and whether they stay the same,
    e.g. "[42] (constant)" or "[40, 42] (GROWS WITH ACCOUNTS)"."""
    distinct = sorted(set(counts))
    verdict = "constant" if len(distinct) == 1 else "GROWS WITH ACCOUNTS"
    return f"{distinct} ({verdict})"
