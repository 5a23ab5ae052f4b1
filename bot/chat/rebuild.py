"""After a release or a withdrawal, bring the index up to date in the background.

The build runs as `python -m bot index` in a process of its own: the chat keeps answering from
the current index meanwhile, a crash of the build cannot take the chat with it, and the model's
memory goes with the process. `build_index` holds a lock on the index folder, so of several
workers one builds at a time and a second finds its work done (an unchanged corpus is skipped
without loading the model). Each worker switches to the new build on its next question
(bot/pipeline/assistant.py reads manifest.json's time). Within a process, requests that come
while a build runs are gathered into one more build.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from bot.config import Settings

log = logging.getLogger(__name__)
BUILD_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class BuildResult:
    """How a build went: ok or not, a German line about it, and how long it took."""

    ok: bool
    message: str
    seconds: float
    finished: float  # time.time() at the end


class Rebuilder:
    """Runs `build` in a background thread on request; one at a time, requests while busy folded
    into one more run."""

    def __init__(self, build: Callable[[], str]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._pending = False
        self._running = False
        self.last: BuildResult | None = None

    def request(self) -> None:
        """Ask for a build; returns at once."""
        with self._lock:
            self._pending = True
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._loop, name="index-rebuild", daemon=True).start()

    @property
    def busy(self) -> bool:
        """Whether a build runs or waits."""
        with self._lock:
            return self._running or self._pending

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._running = False
                    return
                self._pending = False
            started = time.monotonic()
            try:
                message, ok = self._build(), True
            except Exception as exc:  # the chat must go on; the view shows the sentence
                log.exception("Index-Aktualisierung fehlgeschlagen")
                message, ok = str(exc) or type(exc).__name__, False
            self.last = BuildResult(ok, message, round(time.monotonic() - started, 2), time.time())

    def state(self) -> dict[str, object]:
        """For the view: whether a build is under way, and how the last one went."""
        return {"laeuft": self.busy, "letzter": asdict(self.last) if self.last else None}


def index_command(settings: Settings) -> Callable[[], str]:
    """`python -m bot index --json` on these settings, as a function for the Rebuilder."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(
        BOT_CORPUS_DIR=str(settings.corpus_dir),
        BOT_INDEX_DIR=str(settings.index_dir),
        BOT_DATA_DIR=str(settings.data_dir),
    )

    def build() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "index", "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            raise RuntimeError(lines[-1] if lines else f"Der Index-Lauf endete mit Code {done.returncode}.")
        try:
            summary = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return "Index aktualisiert."
        return (
            f"Index aktualisiert: {summary.get('added', 0)} neu, {summary.get('updated', 0)} geändert, "
            f"{summary.get('deleted', 0)} entfernt ({summary.get('seconds', 0)} s)."
        )

    return build
