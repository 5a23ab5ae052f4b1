"""Load test of the real chat: many sessions ask over Chainlit's socket.io connection at once.

Each session does what Chainlit's web client does: it asks for the sticky-session cookie, opens
socket.io at `/ws/socket.io` (long-polling first, then the websocket upgrade, unless told
otherwise), sends `client_message` and waits for the assistant's `new_message` that carries the
AI disclosure. With --user, the run first signs in through Chainlit's login (password from
BOT_LOADTEST_PASSWORD) and every session carries that login, as a signed-in browser does.

Examples:
    python -m bot loadtest --url http://127.0.0.1:8000 --sessions 50 --duration 60
    python -m bot loadtest --sessions 50 --duration 60 --think 5      # 5 s reading between questions
    BOT_LOADTEST_PASSWORD=… python -m bot loadtest --user pflege1     # a chat with sign-in
    python -m bot loadtest --url http://127.0.0.1:8000 --transport websocket --json last.json
    python -m bot loadtest --sessions 10 --think 2 --flooders 1  # one session sends 20 questions/s
    BOT_LOADTEST_PASSWORD=… python -m bot loadtest --user pflege1 --think 2 --login-flood 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from bot.chat.ratelimit import SLOW_DOWN_MARK
from bot.ops.client import (
    BROWSER_TRANSPORTS,
    DISCLOSURE_MARK,
    ERROR_MARK,
    PASSWORD_ENV,
    ChatError,
    ChatSession,
    command_parser,
    connected_session,
    credentials_from_env,
    login_cookie,
)
from bot.ops.measure import ms_cell, percentile, rounded

if TYPE_CHECKING:
    from bot.ops.loginload import FloodResult

MAX_ERROR_SAMPLES = 5

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
                    session = await connected_session(url, plan.transports, http, plan.cookie)
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
        session = await connected_session(url, plan.transports, http, plan.cookie)
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


def summarise(sessions: int, duration_s: float, tally: _Tally) -> LoadResult:
    """The result of a run from its tally."""
    latencies = tally.latencies_ms
    return LoadResult(
        sessions=sessions,
        duration_s=round(duration_s, 2),
        answers=len(latencies),
        errors=tally.errors,
        p50_ms=rounded(percentile(latencies, 50)),
        p95_ms=rounded(percentile(latencies, 95)),
        max_ms=rounded(max(latencies, default=None)),
        error_samples=tuple(tally.error_samples),
        flood_sent=tally.flood["sent"],
        flood_answers=tally.flood["answers"],
        flood_notes=tally.flood["notes"],
        flood_errors=tally.flood["errors"],
    )


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


def table(result: LoadResult) -> str:
    """The figures as a small Markdown table, as docs/benchmarks.md shows them."""
    rows = [
        ("Sitzungen", str(result.sessions)),
        ("Dauer (s)", f"{result.duration_s:.1f}"),
        ("Antworten", str(result.answers)),
        ("Antworten/s", f"{result.answers_per_s:.1f}"),
        ("Fehler", str(result.errors)),
        ("p50 (ms)", ms_cell(result.p50_ms)),
        ("p95 (ms)", ms_cell(result.p95_ms)),
        ("max (ms)", ms_cell(result.max_ms)),
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


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        "loadtest", "Lasttest des laufenden Chats über Chainlits socket.io-Verbindung.", __doc__
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
        help="so viele falsche Anmeldungen gleichzeitig, von 127.0.0.2 an (python -m bot loginload)",
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
) -> tuple[LoadResult, FloodResult | None]:
    """The load run and, beside it for the same time, a flood of wrong sign-ins (if asked for)."""
    if not login_flood:
        return await run_load_async(url, plan), None
    from bot.ops.loginload import flood_async

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
        from bot.ops.loginload import flood_table

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
