"""What tests share besides fixtures: the repository's place, synthetic documents, ports, and the
bot run as a process. Fixtures stay in conftest.py; tests import helpers from here, never from it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from bot.config import Settings

REPO = Path(__file__).resolve().parent.parent.parent


DOC_TEMPLATE = """---
titel: {titel}
quelle: Synthetisches Testdokument (kein Text des ASB)
verantwortlich: Testteam
stand: 2026-01-01
gueltig_ab: 2026-01-01
status: {status}
---

## {heading}

{body}
"""


def write_doc(
    folder: Path,
    name: str,
    *,
    titel: str = "Testdokument",
    status: str = "freigegeben",
    heading: str = "Abschnitt",
    body: str = "Ein Satz über Testregeln.",
) -> Path:
    """Write a synthetic corpus document (clearly labelled as not ASB text)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(
        DOC_TEMPLATE.format(titel=titel, status=status, heading=heading, body=body), encoding="utf-8"
    )
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> int:
    """The first of `count` consecutive ports on 127.0.0.1 that are free right now (nginx and its workers)."""
    for _ in range(50):
        first = free_port()
        sockets = []
        try:
            for port in range(first, first + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


def bot_env(settings: Settings, *, index_dir: Path | None = None, data_dir: Path | None = None) -> dict:
    """Environment for a bot subprocess: these settings, offline, and CI unset (Chainlit's CI mode)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(
        HF_HUB_OFFLINE="1",
        BOT_CORPUS_DIR=str(settings.corpus_dir),
        BOT_INDEX_DIR=str(index_dir or settings.index_dir),
        BOT_DATA_DIR=str(data_dir or settings.data_dir),
    )
    return env


def run_bot(
    args: list[str],
    settings: Settings,
    *,
    stdin: str | bytes | None = None,
    index_dir: Path | None = None,
    data_dir: Path | None = None,
) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` in a subprocess on the given settings (CI unset); bytes in, bytes out."""
    env = bot_env(settings, index_dir=index_dir, data_dir=data_dir)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=not isinstance(stdin, bytes),
        cwd=REPO,
        env=env,
        timeout=180,
    )
