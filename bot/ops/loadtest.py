"""Load test of the real chat: many sessions ask over Chainlit's socket.io connection at once.

Each session does what Chainlit's web client does: it asks for the sticky-session cookie, opens
socket.io at `/ws/socket.io` (long-polling first, then the websocket upgrade, unless told
otherwise), sends `client_message` and waits for the assistant's `new_message` that carries the
AI disclosure. With --user, the run first signs in through Chainlit's login (password from
BOT_LOADTEST_PASSWORD) and every session carries that login, as a signed-in browser does.

Examples:
    python -m bot.loadtest --url http://127.0.0.1:8000 --sessions 50 --duration 60
    python -m bot.loadtest --sessions 50 --duration 60 --think 5      # 5 s reading between questions
    BOT_LOADTEST_PASSWORD=… python -m bot.loadtest --user pflege1     # a chat with sign-in
    python -m bot.loadtest --url http://127.0.0.1:8000 --transport websocket --json last.json
    python -m bot.loadtest --sessions 10 --think 2 --flooders 1  # one session sends 20 questions/s
    BOT_LOADTEST_PASSWORD=… python -m bot.loadtest --user pflege1 --think 2 --login-flood 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import socketio

from bot.ratelimit import SLOW_DOWN_MARK

QUESTIONS = (
    "Darf ich Klientendaten in ChatGPT kopieren?",
    "Muss ich KI-Texte kennzeichnen?",
    "Wer entscheidet am Ende, die KI oder ich?",
    "Wie wird das Wetter morgen?",
    "Welche KI-Tools darf ich bei der Arbeit nutzen?",
    "Und beim Datenschutz?",
    "Wen kann ich bei Fragen zu KI ansprechen?",
    "Muss die KI alle Menschen fair behandeln?",
)
SOCKET_PATH = "/ws/socket.io"
SESSION_COOKIE = "X-Chainlit-Session-id"
# Chainlit's login cookie (CHAINLIT_AUTH_COOKIE_NAME's default): the JWT of the signed-in user.
AUTH_COOKIE = "access_token"
PASSWORD_ENV = "BOT_LOADTEST_PASSWORD"
# Every reply of the assistant names itself (answers, refusals, errors): see bot/config.py.
DISCLOSURE_MARK = "KI-Assistent"
# Only the error disclosure says "Meldung des KI-Assistenten": the chat answered with an error.
ERROR_MARK = "Meldung des KI-Assistenten"
ANSWER_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 30.0
SIGN_IN_TIMEOUT = aiohttp.ClientTimeout(total=30.0)
MAX_ERROR_SAMPLES = 5
# socket.io-client's default in the browser: long-polling first, then the websocket upgrade.
BROWSER_TRANSPORTS = ("polling", "websocket")


class ChatError(Exception):
    """A session could not connect, or a question got no proper answer in time."""


class ErrorReply(ChatError):
    """The chat replied with its error message instead of an answer."""


class SignInRefused(ChatError):
    """The chat refused the name or password: trying again will not help."""


@dataclass(frozen=True)
class Credentials:
    """A password account of the chat (see `python -m bot user add`)."""

    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class LoadPlan:
    """What a run does: how many sessions, how long, which questions, how sessions connect.

    think_s is the mean pause after each answer (a person reading it), drawn uniformly from
    0.5-1.5 x think_s, and the first question waits up to think_s, so sessions do not ask in
    lock-step as real people do not; cookie carries a login. flooders more sessions send a
    question every flood_interval_s without waiting for answers (a script, not a person); their
    replies are counted, not timed.
    """

    sessions: int
    duration_s: float
    questions: tuple[str, ...] = QUESTIONS
    transports: tuple[str, ...] = BROWSER_TRANSPORTS
    think_s: float = 0.0
    cookie: str = ""
    flooders: int = 0
    flood_interval_s: float = 0.05


@dataclass(frozen=True)
class LoadResult:
    """What N sessions got from the chat in a given time: answers, errors and answer latencies."""

    sessions: int
    duration_s: float
    answers: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    error_samples: tuple[str, ...] = ()
    # The flooding sessions: questions sent, and their replies by kind.
    flood_sent: int = 0
    flood_answers: int = 0
    flood_notes: int = 0
    flood_errors: int = 0

    @property
    def answers_per_s(self) -> float:
        """Throughput over the whole run."""
        return self.answers / self.duration_s if self.duration_s else 0.0


@dataclass
class _Tally:
    """Counts shared by all sessions of one run (one event loop, so no locking)."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    flood: Counter[str] = field(default_factory=Counter)

    def error(self, message: str) -> None:
        """Count an error and keep the first few messages for the report."""
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(message)


class ChatSession:
    """One person's chat tab: a socket.io connection opened the way Chainlit's web client opens it."""

    def __init__(self, url: str, transports: Sequence[str] = BROWSER_TRANSPORTS, cookie: str = "") -> None:
        self.url = url.rstrip("/")
        self.id = str(uuid.uuid4())
        self.transports = list(transports)
        self.cookie = "; ".join(filter(None, [f"{SESSION_COOKIE}={self.id}", cookie]))
        self.thread_id: str | None = None
        self._client = socketio.AsyncClient(reconnection=False)
        self._replies: asyncio.Queue[str] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._client.on("new_message", self._on_new_message)
        self._client.on("task_end", self._on_task_end)

    async def _on_new_message(self, message: dict) -> None:
        if message.get("type") == "assistant_message":
            self.thread_id = message.get("threadId") or self.thread_id
            await self._replies.put(message.get("output") or "")

    async def _on_task_end(self, *_: object) -> None:
        self._idle.set()

    async def connect(self, http: aiohttp.ClientSession, timeout: float = CONNECT_TIMEOUT_S) -> None:
        """Take the sticky cookie, open the socket and wait until the chat has started."""
        # The browser asks for this cookie first; a proxy can route a session's requests by it.
        async with http.post(f"{self.url}/set-session-cookie", json={"session_id": self.id}) as response:
            response.raise_for_status()
        auth = {
            "clientType": "webapp",
            "sessionId": self.id,
            "threadId": "",
            "userEnv": "{}",
            "chatProfile": "",
        }
        self._idle.clear()
        await self._client.connect(
            self.url,
            headers={"Cookie": self.cookie},
            auth=auth,
            transports=self.transports,
            socketio_path=SOCKET_PATH,
            wait_timeout=timeout,
        )
        await self._client.emit("connection_successful")
        # The server answers connection_successful with task_end; only then is the session set up.
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def send(self, question: str) -> None:
        """Send a question as the page does, without waiting for the reply."""
        message = {
            "threadId": "",
            "id": str(uuid.uuid4()),
            "name": "User",
            "type": "user_message",
            "output": question,
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "metadata": {"location": f"{self.url}/"},
        }
        await self._client.emit("client_message", {"message": message, "fileReferences": []})

    def replies(self) -> list[str]:
        """The replies that arrived and were not taken yet."""
        taken = []
        while not self._replies.empty():
            taken.append(self._replies.get_nowait())
        return taken

    async def ask(self, question: str, timeout: float = ANSWER_TIMEOUT_S) -> tuple[str, float]:
        """Send a question; return the reply and the milliseconds until it arrived."""
        self.replies()  # nothing left over from before this question counts
        self._idle.clear()
        start = time.perf_counter()
        await self.send(question)
        try:
            reply = await asyncio.wait_for(self._replies.get(), timeout)
            latency_ms = (time.perf_counter() - start) * 1000
            # The turn is over at task_end (elements, side view); the next question waits for it.
            await asyncio.wait_for(self._idle.wait(), max(0.0, timeout - latency_ms / 1000))
        except TimeoutError:
            raise ChatError(f"keine Antwort binnen {timeout:.0f} s auf {question!r}") from None
        if DISCLOSURE_MARK not in reply:
            raise ChatError(f"Antwort ohne KI-Hinweis auf {question!r}: {reply[:200]}")
        if ERROR_MARK in reply:
            raise ErrorReply(f"Fehlermeldung statt Antwort auf {question!r}: {reply[:200]}")
        return reply, latency_ms

    @property
    def connected(self) -> bool:
        """Whether the socket is still open."""
        return self._client.connected

    async def close(self) -> None:
        """Close the connection (the server keeps the session for its session_timeout)."""
        await self._client.disconnect()


async def sign_in(http: aiohttp.ClientSession, url: str, credentials: Credentials) -> str:
    """Sign in as Chainlit's login page does; the Cookie header part that carries the login."""
    form = {"username": credentials.user, "password": credentials.password}
    try:
        async with http.post(f"{url.rstrip('/')}/login", data=form, timeout=SIGN_IN_TIMEOUT) as response:
            if response.status in (401, 403):
                raise SignInRefused(f"Anmeldung als {credentials.user!r} abgelehnt (HTTP {response.status})")
            if response.status != 200:
                raise ChatError(f"Anmeldung als {credentials.user!r} fehlgeschlagen (HTTP {response.status})")
            login = response.cookies.get(AUTH_COOKIE)
    except (OSError, TimeoutError, aiohttp.ClientError) as exc:
        raise ChatError(f"Anmeldung fehlgeschlagen: {exc!r}") from exc
    if login is None:
        raise ChatError(f"Die Anmeldung setzte kein {AUTH_COOKIE}-Cookie.")
    return f"{AUTH_COOKIE}={login.value}"


async def _connected(
    url: str, transports: Sequence[str], http: aiohttp.ClientSession, cookie: str = ""
) -> ChatSession:
    """A fresh, connected session; a failed attempt is closed and raised as ChatError."""
    session = ChatSession(url, transports, cookie)
    try:
        await session.connect(http)
    except (OSError, TimeoutError, aiohttp.ClientError, socketio.exceptions.SocketIOError) as exc:
        await session.close()
        raise ChatError(f"Verbindung fehlgeschlagen: {exc!r}") from exc
    return session


async def _one_session(
    number: int, url: str, plan: LoadPlan, deadline: float, tally: _Tally, http: aiohttp.ClientSession
) -> None:
    """Ask question after question until the deadline; reconnect after a broken connection."""
    turn = number  # sessions start at different questions, so the mix is even at any moment
    pauses = random.Random(number)  # reproducible per session
    session: ChatSession | None = None
    try:
        if plan.think_s:
            await asyncio.sleep(pauses.uniform(0.0, plan.think_s))
        while time.monotonic() < deadline:
            try:
                if session is None:
                    session = await _connected(url, plan.transports, http, plan.cookie)
                _, latency_ms = await session.ask(plan.questions[turn % len(plan.questions)])
                tally.latencies_ms.append(latency_ms)
                if plan.think_s:
                    pause = pauses.uniform(0.5 * plan.think_s, 1.5 * plan.think_s)
                    await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            except ChatError as exc:
                tally.error(f"Sitzung {number}: {exc}")
                if session is not None and not session.connected:
                    session = None
                await asyncio.sleep(1.0)  # a person, too, waits a moment before trying again
            turn += 1
    finally:
        if session is not None:
            await session.close()


async def _flood_session(
    number: int, url: str, plan: LoadPlan, deadline: float, tally: _Tally, http: aiohttp.ClientSession
) -> None:
    """Send a question every flood_interval_s until the deadline, never waiting; count the replies."""
    try:
        session = await _connected(url, plan.transports, http, plan.cookie)
    except ChatError as exc:
        tally.error(f"Flut-Sitzung {number}: {exc}")
        return
    try:
        turn = number
        while time.monotonic() < deadline and session.connected:
            await session.send(plan.questions[turn % len(plan.questions)])
            tally.flood["sent"] += 1
            turn += 1
            await asyncio.sleep(plan.flood_interval_s)
        await asyncio.sleep(2.0)  # the last replies on their way
        for reply in session.replies():
            if SLOW_DOWN_MARK in reply and DISCLOSURE_MARK in reply:  # the note discloses the AI too
                tally.flood["notes"] += 1
            elif DISCLOSURE_MARK in reply and ERROR_MARK not in reply:
                tally.flood["answers"] += 1
            else:
                tally.flood["errors"] += 1
    finally:
        await session.close()


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0–100), interpolated; None without values."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(p) - 1] if p < 100 else max(values)


def summarise(sessions: int, duration_s: float, tally: _Tally) -> LoadResult:
    """The result of a run from its tally."""
    latencies = tally.latencies_ms
    return LoadResult(
        sessions=sessions,
        duration_s=round(duration_s, 2),
        answers=len(latencies),
        errors=tally.errors,
        p50_ms=_rounded(percentile(latencies, 50)),
        p95_ms=_rounded(percentile(latencies, 95)),
        max_ms=_rounded(max(latencies, default=None)),
        error_samples=tuple(tally.error_samples),
        flood_sent=tally.flood["sent"],
        flood_answers=tally.flood["answers"],
        flood_notes=tally.flood["notes"],
        flood_errors=tally.flood["errors"],
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def run_load_async(url: str, plan: LoadPlan) -> LoadResult:
    """The plan's sessions ask in turn until its duration is over; see run_load."""
    if plan.sessions < 1 or plan.duration_s <= 0 or not plan.questions or plan.think_s < 0:
        raise ValueError("sessions ≥ 1, duration_s > 0, think_s ≥ 0 and at least one question are needed")
    if plan.flooders < 0 or plan.flood_interval_s <= 0:
        raise ValueError("flooders ≥ 0 and flood_interval_s > 0 are needed")
    tally = _Tally()
    start = time.monotonic()
    deadline = start + plan.duration_s
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        runs = [_one_session(n, url, plan, deadline, tally, http) for n in range(plan.sessions)]
        runs += [_flood_session(n, url, plan, deadline, tally, http) for n in range(plan.flooders)]
        await asyncio.gather(*runs)
    return summarise(plan.sessions, time.monotonic() - start, tally)


def run_load(url: str, plan: LoadPlan) -> LoadResult:
    """Run the load test against a running chat at url and return its figures.

    Every session connects as a browser does, then sends a question, waits for the answer
    (ANSWER_TIMEOUT_S without one counts as an error), records the latency, pauses think_s and
    sends the next, until the duration is over. A reply without the AI disclosure, or the chat's
    error message, counts as an error too.
    """
    return asyncio.run(run_load_async(url, plan))


def credentials_from_env(user: str | None) -> Credentials | None:
    """The account of --user with its password from BOT_LOADTEST_PASSWORD; None without --user."""
    if not user:
        return None
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        raise ValueError(f"Für --user bitte das Passwort in {PASSWORD_ENV} setzen.")
    return Credentials(user, password)


def login_cookie(url: str, credentials: Credentials) -> str:
    """Synchronous sign_in: the Cookie header part of a login, for LoadPlan.cookie and ask_once."""

    async def _sign_in() -> str:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            return await sign_in(http, url, credentials)

    return asyncio.run(_sign_in())


async def ask_once_async(url: str, question: str, timeout: float = ANSWER_TIMEOUT_S, cookie: str = "") -> str:
    """One question in a fresh session; the reply text (ChatError if there is none)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        session = await _connected(url, BROWSER_TRANSPORTS, http, cookie)
        try:
            reply, _ = await session.ask(question, timeout)
        finally:
            await session.close()
    return reply


def ask_once(url: str, question: str, timeout: float = ANSWER_TIMEOUT_S, cookie: str = "") -> str:
    """Synchronous ask_once_async, for scripts and tests."""
    return asyncio.run(ask_once_async(url, question, timeout, cookie))


def table(result: LoadResult) -> str:
    """The figures as a small Markdown table, as docs/benchmarks.md shows them."""
    ms = lambda value: "–" if value is None else f"{value:.0f}"  # noqa: E731
    rows = [
        ("Sitzungen", str(result.sessions)),
        ("Dauer (s)", f"{result.duration_s:.1f}"),
        ("Antworten", str(result.answers)),
        ("Antworten/s", f"{result.answers_per_s:.1f}"),
        ("Fehler", str(result.errors)),
        ("p50 (ms)", ms(result.p50_ms)),
        ("p95 (ms)", ms(result.p95_ms)),
        ("max (ms)", ms(result.max_ms)),
    ]
    if result.flood_sent:
        rows += [
            ("Flut: gesendete Fragen", str(result.flood_sent)),
            ("Flut: beantwortet", str(result.flood_answers)),
            ("Flut: Hinweis „langsamer“", str(result.flood_notes)),
            ("Flut: Fehler", str(result.flood_errors)),
        ]
    lines = ["| Kennzahl | Wert |", "|---|---:|", *(f"| {k} | {v} |" for k, v in rows)]
    lines += [f"- {sample}" for sample in result.error_samples]
    return "\n".join(lines)


def script_parser(module: str, description: str, doc: str | None) -> argparse.ArgumentParser:
    """A command-line parser for `python -m <module>`, its examples taken from the module doc."""
    return argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=description,
        epilog=doc.split("Examples:")[1] if doc and "Examples:" in doc else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _parser() -> argparse.ArgumentParser:
    parser = script_parser(
        "bot.loadtest", "Lasttest des laufenden Chats über Chainlits socket.io-Verbindung.", __doc__
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Adresse des Chats")
    parser.add_argument("--sessions", type=int, default=50, help="gleichzeitige Sitzungen")
    parser.add_argument("--duration", type=float, default=60.0, help="Dauer in Sekunden")
    parser.add_argument(
        "--transport",
        choices=["browser", "websocket"],
        default="browser",
        help="browser: erst Long-Polling, dann WebSocket (wie der Browser); websocket: nur WebSocket",
    )
    parser.add_argument("--think", type=float, default=0.0, help="Lesepause nach jeder Antwort in Sekunden")
    parser.add_argument("--user", help=f"mit diesem Konto anmelden (Passwort aus {PASSWORD_ENV})")
    parser.add_argument("--question", action="append", help="eigene Frage (mehrfach möglich)")
    parser.add_argument(
        "--flooders",
        type=int,
        default=0,
        help="zusätzliche Sitzungen, die fragen, ohne auf Antworten zu warten",
    )
    parser.add_argument(
        "--flood-every", type=float, default=0.05, help="Abstand der Fragen einer flutenden Sitzung (s)"
    )
    parser.add_argument(
        "--login-flood",
        type=int,
        default=0,
        help="so viele falsche Anmeldungen gleichzeitig, von 127.0.0.2 an (python -m bot.loginload)",
    )
    parser.add_argument(
        "--login-flood-user",
        help="die falschen Anmeldungen alle für dieses Konto (sonst je Versuch ein Name)",
    )
    parser.add_argument(
        "--login-flood-from", default="127.0.0.2", help="erste Absenderadresse der falschen Anmeldungen"
    )
    parser.add_argument("--json", type=Path, help="Ergebnis zusätzlich als JSON in diese Datei")
    return parser


async def _measure(
    url: str, plan: LoadPlan, login_flood: int, flood_user: str | None = None, first: str = "127.0.0.2"
):
    """The load run and, beside it for the same time, a flood of wrong sign-ins (if asked for)."""
    if not login_flood:
        return await run_load_async(url, plan), None
    from bot.loginload import flood_async

    load, flood = await asyncio.gather(
        run_load_async(url, plan), flood_async(url, login_flood, plan.duration_s, first, flood_user)
    )
    return load, flood


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run, print the table, optionally write JSON; exit code 1 on any error."""
    args = _parser().parse_args(argv)
    transports = BROWSER_TRANSPORTS if args.transport == "browser" else ("websocket",)
    questions = tuple(args.question or QUESTIONS)
    cookie = ""
    try:
        credentials = credentials_from_env(args.user)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if credentials:
        try:
            cookie = login_cookie(args.url, credentials)
        except ChatError as exc:
            print(exc, file=sys.stderr)
            return 1
    try:
        plan = LoadPlan(
            args.sessions,
            args.duration,
            questions,
            transports,
            args.think,
            cookie,
            flooders=args.flooders,
            flood_interval_s=args.flood_every,
        )
        flood_plan = (args.login_flood, args.login_flood_user, args.login_flood_from)
        result, flood = asyncio.run(_measure(args.url, plan, *flood_plan))
    except ValueError as exc:
        print(f"Ungültige Angaben: {exc}", file=sys.stderr)
        return 2
    print(table(result))
    if flood is not None:
        from bot.loginload import flood_table

        print()
        print(flood_table(flood))
    if args.json:
        record = {
            "url": args.url,
            "transport": args.transport,
            "think_s": args.think,
            "signed_in": bool(cookie),
            "questions": list(questions),
            **asdict(result),
            "login_flood": asdict(flood) if flood is not None else None,
        }
        args.json.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
