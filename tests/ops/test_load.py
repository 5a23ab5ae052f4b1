"""Load on the real chat: concurrent sessions over Chainlit's socket.io, one worker and two behind nginx.

The figures of the full run (50 sessions, 60 s) come from `python -m bot loadtest`; these tests
keep to a few seconds and assert what must hold at any load: every question answered, with the
AI disclosure, and with two workers, both serving while every session stays on its own worker;
a session that floods gets notes while the others get their answers; sign-ins are limited by
nginx and throttled alike by both workers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from bot.chat.accounts import add_account
from bot.ops.client import SESSION_COOKIE, ChatError, Credentials, ask_once, login_cookie
from bot.ops.loadtest import QUESTIONS, LoadPlan, run_load
from bot.ops.loginload import from_address, try_sign_in
from bot.ops.workers import find_nginx, render_nginx_conf, serve
from tests.support import bot_env, free_port, free_ports

pytestmark = pytest.mark.slow
UPSTREAM = re.compile(r"upstream=(\S+) session=(\S+)")
# These sessions ask again the moment an answer arrives (capacity, not a person's pace): the
# per-session limit on questions (BOT_QUESTIONS_PER_MINUTE) is off for them.
BACK_TO_BACK = {"BOT_QUESTIONS_PER_MINUTE": "0"}


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
    env = bot_env(real_settings, data_dir=tmp_path / "data") | BACK_TO_BACK
    with serve(1, free_port(), folder=tmp_path / "run", proxy=False, env=env) as chat:
        result = run_load(chat.url, LoadPlan(sessions=10, duration_s=10))

    # A reply without "KI-Assistent", the chat's error message or none within 30 s is an error.
    assert result.errors == 0, result.error_samples
    assert result.answers >= 10 * len(QUESTIONS) / 2  # every session asked again and again
    assert result.p95_ms is not None and result.p95_ms < 5_000


def test_a_session_that_floods_gets_notes_and_the_others_their_answers(real_settings, tmp_path) -> None:
    env = bot_env(real_settings, data_dir=tmp_path / "data") | {
        "BOT_QUESTION_BURST": "3",
        "BOT_QUESTIONS_PER_MINUTE": "12",
    }
    with serve(1, free_port(), folder=tmp_path / "run", proxy=False, env=env) as chat:
        # Four people reading between questions, one script sending 20 questions a second.
        plan = LoadPlan(sessions=4, duration_s=8, think_s=2.5, flooders=1, flood_interval_s=0.05)
        result = run_load(chat.url, plan)

    assert result.errors == 0, result.error_samples  # every person's question answered
    assert result.answers >= 4
    assert result.flood_sent >= 100
    # The script got its burst and one more every 5 s answered, then notes (with the AI
    # disclosure), at most one every 2 s: not one reply per question it sent.
    assert 3 <= result.flood_answers <= 3 + 8 / 5 + 1
    assert 2 <= result.flood_notes <= 8 / 2 + 2
    assert result.flood_errors == 0


def test_two_workers_behind_nginx_share_the_sessions_and_keep_each_on_one(real_settings, tmp_path) -> None:
    if find_nginx() is None:
        pytest.skip("Debian's nginx is not installed (apt-get install -y nginx)")
    data = [tmp_path / "data-1", tmp_path / "data-2"]
    env = bot_env(real_settings, data_dir=data[0]) | BACK_TO_BACK
    with serve(
        2,
        free_ports(3),
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

        result = run_load(cluster.url, LoadPlan(sessions=12, duration_s=6))
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


def _signed_in_env(real_settings, tmp_path: Path, account: Credentials, database: str) -> dict:
    """Workers with password sign-in (one staff account) and the given chat database."""
    users = tmp_path / "konten.toml"
    add_account(users, account.user, account.password, "mitarbeitende")
    return bot_env(real_settings, data_dir=tmp_path / "data") | {
        "BOT_USERS_FILE": str(users),
        "CHAINLIT_AUTH_SECRET": "s" * 48,
        "BOT_DATABASE_URL": database,
    }


def _fresh_database(server_url: str, name: str) -> str:
    """A new, empty database on the test cluster (its other tests clear theirs); its SQLAlchemy URL."""
    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _stored_answers(url: str) -> int:
    """How many answers of the assistant the chat database holds."""
    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return await conn.fetchval("SELECT count(*) FROM steps WHERE type = 'assistant_message'")
        finally:
            await conn.close()

    return asyncio.run(count())


def _get_json(url: str, cookie: str, payload: dict | None = None) -> dict:
    """GET (or, with payload, POST) a Chainlit API route with the login cookie."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Cookie": cookie, "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_two_signed_in_workers_share_one_postgresql_history(
    real_settings, postgres_url: str, tmp_path: Path
) -> None:
    if find_nginx() is None:
        pytest.skip("Debian's nginx is not installed (apt-get install -y nginx)")
    database = _fresh_database(postgres_url, "cluster")
    account = Credentials("pflege.nord", "schichtdienst-2026!")
    env = _signed_in_env(real_settings, tmp_path, account, database) | BACK_TO_BACK
    with serve(2, free_ports(3), folder=tmp_path / "run", env=env, credentials=account) as cluster:
        # Without signing in, no chat: the socket is refused by whichever worker it reaches.
        with pytest.raises(ChatError):
            ask_once(cluster.url, "Muss ich KI-Texte kennzeichnen?", timeout=10)
        with pytest.raises(ChatError, match="abgelehnt"):
            login_cookie(cluster.url, Credentials(account.user, "falsches-passwort-123"))

        cookie = login_cookie(cluster.url, account)  # signed by one worker, accepted by both
        result = run_load(cluster.url, LoadPlan(sessions=8, duration_s=6, cookie=cookie))
        per_worker = _socket_sessions_per_worker(cluster.access_log)

        # Both workers list the same conversations of this person, from the one database ...
        pages = [
            _get_json(f"{w.url}/project/threads", cookie, {"pagination": {"first": 100}, "filter": {}})
            for w in cluster.workers
        ]
        listed = [sorted(t["id"] for t in page["data"]) for page in pages]
        # ... and a conversation held on one worker opens, answer included, on the other.
        opened = [_get_json(f"{w.url}/project/thread/{listed[0][0]}", cookie) for w in cluster.workers]
        deadline = time.monotonic() + 15  # the last writes may still be on their way
        while (stored := _stored_answers(database)) < result.answers + 2 and time.monotonic() < deadline:
            time.sleep(0.5)

    assert result.errors == 0, result.error_samples
    assert set(per_worker) == {w.url.removeprefix("http://") for w in cluster.workers}, per_worker
    assert listed[0] == listed[1] and len(listed[0]) >= 8
    assert opened[0]["id"] == opened[1]["id"] == listed[0][0]
    for thread in opened:
        answers = [s["output"] for s in thread["steps"] if s["type"] == "assistant_message"]
        assert answers and all("KI-Assistent (ASB Richtlinien-Assistent)" in a for a in answers)
    # Every answer a session received was stored (plus one readiness probe per worker): none lost.
    assert stored >= result.answers + 2, (stored, result.answers)


NGINX_TOO_MANY = "Zu viele Anmeldeversuche von dieser Adresse – bitte in einer Minute erneut versuchen."


def test_behind_nginx_sign_ins_are_limited_bodies_capped_and_both_workers_throttle_alike(
    real_settings, postgres_url: str, tmp_path: Path
) -> None:
    if find_nginx() is None:
        pytest.skip("Debian's nginx is not installed (apt-get install -y nginx)")
    account = Credentials("pflege.sued", "nachtdienst-2026!")
    env = _signed_in_env(real_settings, tmp_path, account, _fresh_database(postgres_url, "throttle"))
    with serve(2, free_ports(3), folder=tmp_path / "run", env=env, credentials=account) as cluster:
        first, second = (w.url for w in cluster.workers)

        async def sign_ins():
            async with from_address("127.0.0.2") as guesser, from_address("127.0.0.3") as owner:
                on_first = [await try_sign_in(guesser, first, account.user, f"falsch-{n}") for n in range(5)]
                on_second = await try_sign_in(guesser, second, account.user, account.password)
                at_her_desk = await try_sign_in(owner, second, account.user, account.password)
            async with from_address("127.0.0.4") as forger:
                forged = {"X-Forwarded-For": "10.6.6.6"}
                await try_sign_in(forger, cluster.url, "pflege.sued", "gefaelscht-123", forged)
            async with from_address("127.0.0.5") as flood:
                burst = await asyncio.gather(
                    *(try_sign_in(flood, cluster.url, f"flut-{n}", "falsch-falsch") for n in range(30))
                )
                async with flood.get(f"{cluster.url}/login") as page:  # GETs are not limited
                    page_status = page.status
                async with flood.post(f"{cluster.url}/project/threads", data=b"x" * 2_000_000) as big:
                    big_status, big_detail = big.status, (await big.json())["detail"]
            return on_first, on_second, at_her_desk, burst, page_status, big_status, big_detail

        on_first, on_second, at_her_desk, burst, page_status, big_status, big_detail = asyncio.run(sign_ins())
        cookie = login_cookie(cluster.url, account)
        websocket_only = run_load(
            cluster.url,
            LoadPlan(sessions=2, duration_s=4, transports=("websocket",), think_s=1, cookie=cookie),
        )
        logs = "".join(w.log.read_text() for w in cluster.workers)

    # A second worker is no way around the throttle: both count in the one database.
    assert [t.status for t in on_first] == [401, 401, 401, 401, 429]
    assert on_second.status == 429 and on_second.detail.startswith("Zu viele Fehlversuche – bitte in")
    assert at_her_desk.status == 200  # the owner, from another address, signs in at once
    # Behind nginx the workers see the client's address, never a header the client forged.
    assert "Konto pflege.sued, Adresse 127.0.0.4" in logs and "10.6.6.6" not in logs
    assert "falsch-" not in logs and "gefaelscht" not in logs
    # nginx answers a burst of sign-ins from one address itself (20 pass), in the chat's form.
    from_nginx = [t for t in burst if t.status == 429 and t.detail == NGINX_TOO_MANY]
    # The 20 that pass wait for one password check at a time, or are told the sign-in is busy.
    assert len(from_nginx) >= 5 and all(t.status in (401, 429, 503) for t in burst)
    assert page_status == 200
    assert (big_status, big_detail) == (413, "Die Anfrage ist zu groß für den Chat.")
    # WebSockets still pass, signed in (upgrade headers; 1 h timeouts for idle sockets).
    assert websocket_only.errors == 0 and websocket_only.answers >= 2, websocket_only.error_samples
    conf = render_nginx_conf(1, [2], tmp_path)
    for line in (
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_read_timeout 1h;",
        "proxy_send_timeout 1h;",
    ):
        assert conf.count(line) == 1 and conf.index(line) < conf.index("location / {")
