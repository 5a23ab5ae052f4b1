"""A real PostgreSQL (Debian's package) on 127.0.0.1 for the tests, in a folder of its own."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import free_port


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


def available() -> bool:
    """Whether Debian's PostgreSQL server is installed (`make test` installs it)."""
    return _bin("initdb") is not None and _bin("pg_ctl") is not None


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's package brings the user postgres.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throw-away cluster; yield its SQLAlchemy URL (asyncpg); stop and delete it after."""
    folder = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    data, port = folder / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    try:
        subprocess.run(
            _as_postgres(
                [_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "bot", "--no-sync", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=200"
        subprocess.run(
            _as_postgres(
                [_bin("pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-o", options, "-w", "start"]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield f"postgresql+asyncpg://bot@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)
