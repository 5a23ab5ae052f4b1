"""The password gate: trusted proxies, the check queue, and failing closed without the database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import bcrypt
import pytest

from bot.chat import accounts
from bot.chat.signin import UNAVAILABLE, Attempt, CheckQueue, PasswordGate, trust_forwarded_from
from bot.config import Settings
from tests.support.database import run as _run


def test_trusted_proxies_are_addresses_and_reach_uvicorn() -> None:
    env: dict[str, str] = {}
    trust_forwarded_from(Settings(trusted_proxies="10.0.0.5, 192.168.0.0/24"), env)
    assert env == {"FORWARDED_ALLOW_IPS": "10.0.0.5,192.168.0.0/24"}
    trust_forwarded_from(Settings(trusted_proxies=""), env)
    assert env == {"FORWARDED_ALLOW_IPS": ""}  # nobody's X-Forwarded-For is believed
    with pytest.raises(ValueError, match="BOT_TRUSTED_PROXIES"):
        Settings(trusted_proxies="*")


def test_known_addresses_are_checked_first_and_a_flood_is_told_to_come_back() -> None:
    async def scenario() -> list[str]:
        queue = CheckQueue(size=1, max_wait_s=0.5, check_s=0.25)  # two may wait
        checked: list[str] = []
        busy = asyncio.Event()

        async def holds_the_slot() -> None:
            async with queue.slot(known=False):
                await busy.wait()

        async def check(name: str, known: bool) -> None:
            async with queue.slot(known):
                checked.append(name)

        first = asyncio.create_task(holds_the_slot())
        await asyncio.sleep(0)
        gone = asyncio.create_task(check("weg", False))
        waiting = [asyncio.create_task(check("neu-0", False))]
        await asyncio.sleep(0)
        gone.cancel()  # a client that gives up frees its place in the queue
        await asyncio.sleep(0)
        waiting.append(asyncio.create_task(check("neu-1", False)))
        await asyncio.sleep(0)
        with pytest.raises(CheckQueue.Full):  # two new addresses wait already
            async with queue.slot(known=False):
                pass
        desk = asyncio.create_task(check("bekannt", True))
        await asyncio.sleep(0)
        busy.set()
        await asyncio.gather(first, *waiting, desk)
        async with queue.slot(known=False):  # the slot came back
            checked.append("danach")
        return checked

    assert _run(scenario()) == ["bekannt", "neu-0", "neu-1", "danach"]


def test_sign_in_fails_closed_when_the_chat_database_is_away(tmp_path: Path, monkeypatch) -> None:
    users = tmp_path / "konten.toml"
    accounts.add_account(users, "anna", "das-richtige-passwort", "mitarbeitende")
    away = Settings(users_file=users, database_url="postgresql+asyncpg://bot@127.0.0.1:9/nichts")
    monkeypatch.setattr(bcrypt, "checkpw", lambda *_: pytest.fail("no check without the throttle"))

    async def scenario() -> Attempt:
        gate = PasswordGate(away)
        attempt = Attempt("10.0.0.1")
        try:
            assert await gate.sign_in("anna", "das-richtige-passwort", attempt) is None
        finally:
            await gate.close()
        return attempt

    attempt = _run(scenario())
    assert (attempt.status, attempt.refusal) == (503, UNAVAILABLE)
