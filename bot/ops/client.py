"""A client of the running chat, as Chainlit's web page is one: sessions over socket.io, the
sign-in, one question at a time. Shared by the load tests and the worker launcher's readiness probe."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import socketio

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

    async def _on_new_message(self, message: dict[str, Any]) -> None:
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
        return bool(self._client.connected)

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


async def connected_session(
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
        session = await connected_session(url, BROWSER_TRANSPORTS, http, cookie)
        try:
            reply, _ = await session.ask(question, timeout)
        finally:
            await session.close()
    return reply


def ask_once(url: str, question: str, timeout: float = ANSWER_TIMEOUT_S, cookie: str = "") -> str:
    """Synchronous ask_once_async, for scripts and tests."""
    return asyncio.run(ask_once_async(url, question, timeout, cookie))


def command_parser(command: str, description: str, doc: str | None) -> argparse.ArgumentParser:
    """A command-line parser for `python -m bot <command>`, its examples taken from the module doc."""
    return argparse.ArgumentParser(
        prog=f"python -m bot {command}",
        description=description,
        epilog=doc.split("Examples:")[1] if doc and "Examples:" in doc else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
