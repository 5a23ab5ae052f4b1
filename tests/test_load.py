"""Load on the real chat: concurrent sessions over Chainlit's socket.io, one worker and two behind nginx.

The figures of the full run (50 sessions, 60 s) come from `python -m bot.loadtest`; these tests
keep to a few seconds and assert what must hold at any load: every question answered, with the
AI disclosure, and with two workers, both serving while every session stays on its own worker.
"""

from __future__ import annotations

import re
import socket
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from bot.loadtest import QUESTIONS, SESSION_COOKIE, ask_once, run_load
from bot.workers import find_nginx, serve
from tests.conftest import bot_env, free_port

pytestmark = pytest.mark.slow
UPSTREAM = re.compile(r"upstream=(\S+) session=(\S+)")


def _free_ports(count: int) -> int:
    """The first of `count` consecutive ports on 127.0.0.1 that are free right now."""
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
    pytest.fail(f"no {count} consecutive free ports on 127.0.0.1")


def _upstream_of(url: str, session_id: str) -> str:
    """The worker nginx sends a page request of this chat session to (its X-Upstream header)."""
    request = urllib.request.Request(url, headers={"Cookie": f"{SESSION_COOKIE}={session_id}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["X-Upstream"]


def _socket_sessions_per_worker(access_log: Path) -> dict[str, set[str]]:
    """Chat sessions per worker, from nginx's log of the socket.io requests."""
    sessions: dict[str, set[str]] = defaultdict(set)
    for line in access_log.read_text().splitlines():
        if "/ws/socket.io/" in line and (match := UPSTREAM.search(line)):
            sessions[match.group(1)].add(match.group(2))
    return sessions


def test_ten_sessions_at_once_get_every_answer_with_the_disclosure(real_settings, tmp_path) -> None:
    env = bot_env(real_settings, data_dir=tmp_path / "data")
    with serve(1, free_port(), folder=tmp_path / "run", proxy=False, env=env) as chat:
        result = run_load(chat.url, sessions=10, duration_s=10, questions=list(QUESTIONS))

    # A reply without "KI-Assistent", the chat's error message or none within 30 s is an error.
    assert result.errors == 0, result.error_samples
    assert result.answers >= 10 * len(QUESTIONS) / 2  # every session asked again and again
    assert result.p95_ms is not None and result.p95_ms < 5_000


def test_two_workers_behind_nginx_share_the_sessions_and_keep_each_on_one(real_settings, tmp_path) -> None:
    if find_nginx() is None:
        pytest.skip("Debian's nginx is not installed (apt-get install -y nginx)")
    data = [tmp_path / "data-1", tmp_path / "data-2"]
    env = bot_env(real_settings, data_dir=data[0])
    with serve(
        2,
        _free_ports(3),
        folder=tmp_path / "run",
        env=env,
        per_worker_env=[{"BOT_DATA_DIR": str(d)} for d in data],
    ) as cluster:
        workers = {w.url.removeprefix("http://") for w in cluster.workers}
        # Page requests: one session always reaches the same worker, and the sessions reach both.
        routes = {
            sid: {_upstream_of(cluster.url, sid) for _ in range(3)}
            for sid in (str(uuid.uuid4()) for _ in range(16))
        }
        assert all(len(seen) == 1 for seen in routes.values()), routes
        assert set().union(*routes.values()) == workers

        reply = ask_once(cluster.url, "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?")
        assert "Wir kennzeichnen Inhalte, die mithilfe von KI erstellt wurden" in reply and "[1]" in reply
        assert "KI-Assistent (ASB Richtlinien-Assistent)" in reply

        result = run_load(cluster.url, sessions=12, duration_s=6, questions=list(QUESTIONS))
        access_log = cluster.access_log

    assert result.errors == 0, result.error_samples
    assert result.answers >= 12
    # socket.io long-polls first: had a session's requests reached two workers, it would have failed.
    per_worker = _socket_sessions_per_worker(access_log)
    assert set(per_worker) == workers, per_worker
    assert not set.intersection(*per_worker.values()), "a session reached both workers"
    # Each worker answered questions itself: its own audit log holds more than its readiness probe.
    answered = [len((d / "audit.jsonl").read_text().splitlines()) for d in data]
    assert all(n > 1 for n in answered), answered
    assert sum(answered) >= result.answers
