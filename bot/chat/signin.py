"""Password sign-in that withstands guessing: throttled, logged, and checked a few at a time.

bot/app.py hands Chainlit's password callback to `PasswordGate.sign_in`. Chainlit gives that
callback only the name and the password, so `SignInRequests` (ASGI middleware on the login
route) records the client's address for it and turns its refusals into one German sentence
instead of Chainlit's bare 401. Behind a proxy the address is the forwarded one, believed only
from BOT_TRUSTED_PROXIES (uvicorn applies them: `trust_forwarded_from`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import json
import logging
import math
import os
import threading
import time
from collections.abc import AsyncIterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.chat import accounts
from bot.chat.signin_rules import Keys, Limits, account_label
from bot.chat.throttle import ThrottleStore
from bot.config import Settings
from bot.errors import BotError

log = logging.getLogger("bot.chat.signin")
UNAVAILABLE = "Die Anmeldung ist gerade nicht möglich – bitte in einer Minute erneut versuchen."
BUSY = "Die Anmeldung ist gerade stark ausgelastet – bitte in einer Minute erneut versuchen."
MISSING = "Bitte Kontoname und Passwort angeben."
TOO_LONG = "Kontoname und Passwort sind zu lang."
# Enough for any name and password the form takes (bcrypt reads 72 bytes) and more.
MAX_BODY = 16 * 1024
# Password checks run at this niceness: bcrypt takes the cores answers leave idle, not theirs.
CHECK_NICENESS = 10
# How long a try from an address the account has not signed in from may wait for its check.
MAX_QUEUE_S = 5.0
# After checking such a try its slot stays taken this many times the check's duration: a flood
# from new addresses gets at most half of one core, however many slots there are waiting.
UNKNOWN_PAUSE = 1.0
# A refused try is answered after this pause: it costs nothing while waiting, and a script that
# tries again at once makes one try a second per connection instead of a hundred.
REFUSAL_DELAY_S = 1.0
UNKNOWN_ADDRESS = "unbekannt"


def too_many(wait_s: float) -> str:
    """The one German sentence a held-back sign-in gets."""
    minutes = max(1, math.ceil(wait_s / 60))
    unit = "Minute" if minutes == 1 else "Minuten"
    return f"Zu viele Fehlversuche – bitte in {minutes} {unit} erneut versuchen."


def trust_forwarded_from(settings: Settings, env: MutableMapping[str, str]) -> None:
    """Tell uvicorn (FORWARDED_ALLOW_IPS) whose X-Forwarded-For to believe: BOT_TRUSTED_PROXIES only.

    uvicorn reads it when `chainlit run` builds the server, after loading bot/app.py; without
    this it would believe 127.0.0.1 whatever the settings say.
    """
    env["FORWARDED_ALLOW_IPS"] = ",".join(settings.trusted_proxies)


@dataclass
class Attempt:
    """One sign-in request: where it came from and, if the gate refused it, what to answer."""

    address: str
    refusal: str | None = None
    status: int = 429
    retry_after_s: int = 0

    def refuse(self, sentence: str, status: int, wait_s: float) -> None:
        """Answer this request with the sentence instead of Chainlit's 401."""
        self.refusal, self.status, self.retry_after_s = sentence, status, max(1, math.ceil(wait_s))


_ATTEMPT: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar("bot_signin_attempt", default=None)


def current_attempt() -> Attempt:
    """The sign-in request being served (set by SignInRequests), or one from an unknown address."""
    return _ATTEMPT.get() or Attempt(UNKNOWN_ADDRESS)


class CheckQueue:
    """Password checks `size` at a time. Tries from known addresses (the account signed in from
    there before) wait ahead of the others, and no more others wait than the checks done in
    max_wait_s (measured as they go): a flood from new addresses neither keeps staff at their
    usual desks from signing in nor makes a new address wait for minutes.

    Example:
        queue = CheckQueue(size=2, max_wait_s=5.0)
        async with queue.slot(known=False):  # CheckQueue.Full if 5 s of checks wait already
            ...
    """

    class Full(Exception):
        """Too many tries from unknown addresses wait already."""

    def __init__(self, size: int, max_wait_s: float = 5.0, check_s: float = 0.25) -> None:
        self.size = size
        self.free = size
        self.max_wait_s = max_wait_s
        self.check_s = check_s  # a moving average of how long a slot is held
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def limit(self) -> int:
        """How many tries from unknown addresses may wait now."""
        return max(1, int(self.size * self.max_wait_s / self.check_s))

    def full(self) -> bool:
        """Whether a try from an unknown address would be turned away now."""
        return not self.free and sum(1 for rank, _, f in self._waiting if rank and not f.done()) >= self.limit

    @contextlib.asynccontextmanager
    async def slot(self, known: bool) -> AsyncIterator[None]:
        """Hold one check slot for the block; wait for it, known addresses first."""
        if self.free:  # then nobody waits: a release hands its slot to a waiting try first
            self.free -= 1
        else:
            unknown = sum(1 for rank, _, f in self._waiting if rank and not f.done())
            if not known and unknown >= self.limit:
                raise CheckQueue.Full
            turn = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (0 if known else 1, next(self._order), turn))
            try:
                await turn
            except asyncio.CancelledError:  # the client went away while waiting
                if turn.done() and not turn.cancelled():
                    self._release()  # the slot was handed over already: pass it on
                raise
        start = time.monotonic()
        try:
            yield
        finally:
            self.check_s = 0.8 * self.check_s + 0.2 * (time.monotonic() - start)
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(None)
                return
        self.free += 1


def _background_priority() -> None:
    """Lower this thread's priority (Linux sets it per thread); elsewhere leave it."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)


class PasswordGate:
    """Password sign-ins through the throttle: held-back tries are refused before any bcrypt work,
    the others are checked `signin_checks` at a time (CheckQueue) in low-priority threads, and
    every failure is logged (time, account, address; never the password).

    Example:
        gate = PasswordGate(Settings(users_file=Path("konten.toml")))
        identity = await gate.sign_in("anna.schmidt", password, Attempt("10.0.0.5"))
    """

    def __init__(self, settings: Settings, store: ThrottleStore | None = None) -> None:
        if settings.users_file is None:
            raise BotError("Passwort-Anmeldung braucht BOT_USERS_FILE.")
        self.settings = settings
        self.users_file: Path = settings.users_file
        self.limits = Limits.of(settings)
        self.store = store or ThrottleStore(settings)
        self.queue = CheckQueue(settings.signin_checks, MAX_QUEUE_S)
        self._checks: ThreadPoolExecutor | None = None

    @property
    def checks(self) -> ThreadPoolExecutor:
        """The password checking threads, started on first use."""
        if self._checks is None:
            self._checks = ThreadPoolExecutor(
                max_workers=self.settings.signin_checks,
                thread_name_prefix="anmeldung",
                initializer=_background_priority,
            )
        return self._checks

    async def sign_in(self, name: str, password: str, attempt: Attempt) -> accounts.Identity | None:
        """The identity for a right password; None otherwise, with attempt.refusal set if the
        client must wait (or the database is away)."""
        keys = Keys.of(name, attempt.address)
        now = time.time()
        try:
            if self.queue.full():
                # A try from a new address would be turned away: neither count it nor write.
                peek = await self.store.peek(keys, now, self.limits)
                if peek.allowed and not peek.known:
                    await self._busy(attempt)
                    return None
            decision = await self.store.attempt(keys, now, self.limits)
        except BotError as exc:
            log.error("Anmeldung nicht geprüft: %s", exc)
            attempt.refuse(UNAVAILABLE, 503, 60)
            return None
        if not decision.allowed:
            log.debug("Anmeldung abgewiesen (Wartezeit): Adresse %s", attempt.address)
            attempt.refuse(too_many(decision.wait_s), 429, decision.wait_s)
            await asyncio.sleep(REFUSAL_DELAY_S)
            return None
        loop = asyncio.get_running_loop()
        users = self.users_file
        try:
            async with self.queue.slot(decision.known):
                started = time.monotonic()
                result = await loop.run_in_executor(self.checks, accounts.verify, users, name, password)
                if not decision.known:  # keep the slot as long again: half a core at most for a flood
                    await asyncio.sleep((time.monotonic() - started) * UNKNOWN_PAUSE)
        except CheckQueue.Full:
            await self._busy(attempt)
            return None
        except BotError as exc:  # the users file is missing or broken
            log.error("%s", exc)
            return None
        try:
            if result.identity is not None:
                await self.store.succeeded(keys, now)
                return result.identity
            label = account_label(name, result.known)
            await self.store.failed(label, attempt.address, decision.wait_s, now)
        except BotError as exc:
            log.error("Anmeldung nicht vermerkt: %s", exc)
            label = account_label(name, result.known)
        wait = f", nächster Versuch erst in {math.ceil(decision.wait_s)} s" if decision.wait_s else ""
        log.warning("Anmeldung fehlgeschlagen: Konto %s, Adresse %s%s", label, attempt.address, wait)
        if decision.wait_s:
            attempt.refuse(too_many(decision.wait_s), 429, decision.wait_s)
        return None

    async def _busy(self, attempt: Attempt) -> None:
        log.debug("Anmeldung abgewiesen (Warteschlange voll): Adresse %s", attempt.address)
        attempt.refuse(BUSY, 503, 60)
        await asyncio.sleep(REFUSAL_DELAY_S)

    async def close(self) -> None:
        """Stop the threads and give the database connections back."""
        if self._checks is not None:
            self._checks.shutdown(wait=False, cancel_futures=True)
            self._checks = None
        await self.store.close()


def _json_response(status: int, detail: str, retry_after_s: int = 0) -> tuple[Message, Message]:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after_s:
        headers.append((b"retry-after", str(retry_after_s).encode()))
    start = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": body, "more_body": False}


class SignInRequests:
    """ASGI middleware for POST …/login: the client's address for the gate, a small body, and
    one German sentence instead of Chainlit's answer when the gate refused or the form was bad."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/login"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        refused = None
        if length is None and b"transfer-encoding" in headers:
            refused = _json_response(411, MISSING)  # a form always has a length
        elif length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            refused = _json_response(413, TOO_LONG)
        if refused is not None:
            for message in refused:
                await send(message)
            return
        client = scope.get("client")
        attempt = Attempt(client[0] if client else UNKNOWN_ADDRESS)
        replaced = False

        async def answer(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start":
                if attempt.refusal and message["status"] == 401:
                    start, body = _json_response(attempt.status, attempt.refusal, attempt.retry_after_s)
                elif message["status"] == 422:  # Chainlit's form lacked a field (FastAPI's check)
                    start, body = _json_response(400, MISSING)
                else:
                    await send(message)
                    return
                replaced = True
                await send(start)
                await send(body)
            elif not replaced:
                await send(message)

        token = _ATTEMPT.set(attempt)
        try:
            await self.app(scope, receive, answer)
        finally:
            _ATTEMPT.reset(token)
