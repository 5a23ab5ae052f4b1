"""The sign-in throttle in the chat database, shared by all workers (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import bcrypt
import pytest

from bot.chat import accounts, throttle
from bot.chat.signin import Attempt, PasswordGate
from bot.chat.signin_rules import Keys, Limits
from bot.chat.throttle import ThrottleStore
from bot.config import Settings
from tests.support.database import run as _run


def test_guessing_from_one_address_leaves_the_owner_alone_and_many_addresses_spare_her_desk(
    db_settings: Settings,
) -> None:
    limits = Limits(tries=3, address_tries=50, account_tries=8, wait_s=60)

    async def scenario() -> None:
        store = ThrottleStore(db_settings)
        try:
            t = 1_000_000.0
            await store.succeeded(Keys.of("anna", "10.0.0.1"), t)  # her desk
            guesses = [await store.attempt(Keys.of("anna", "10.9.9.9"), t + i, limits) for i in range(3)]
            assert [g.wait_s for g in guesses] == [0, 0, 60]
            assert not (await store.attempt(Keys.of(" Anna", "10.9.9.9"), t + 4, limits)).allowed
            assert (await store.attempt(Keys.of("anna", "10.0.0.2"), t + 5, limits)).allowed  # elsewhere
            # Guessing from many addresses reaches the account-wide limit: new addresses wait ...
            for i in range(8):
                await store.attempt(Keys.of("anna", f"10.8.0.{i}"), t + 10 + i, limits)
            assert not (await store.attempt(Keys.of("anna", "10.7.7.7"), t + 30, limits)).allowed
            # ... her desk does not, and her success lifts the account-wide wait, not the guesser's.
            desk = await store.attempt(Keys.of("anna", "10.0.0.1"), t + 31, limits)
            assert desk.allowed and desk.known
            await store.succeeded(Keys.of("anna", "10.0.0.1"), t + 32)
            assert (await store.attempt(Keys.of("anna", "10.7.7.7"), t + 33, limits)).allowed
            assert not (await store.attempt(Keys.of("anna", "10.9.9.9"), t + 34, limits)).allowed
            # One address trying many names is held back too.
            spray = [await store.attempt(Keys.of(f"name-{i}", "10.6.6.6"), t + 40, limits) for i in range(51)]
            assert [d.allowed for d in spray] == [True] * 50 + [False]
        finally:
            await store.close()

    _run(scenario())


def test_parallel_tries_on_two_workers_cannot_slip_past_the_limit(db_settings: Settings) -> None:
    limits = Limits(tries=4, wait_s=60)

    async def scenario() -> list:
        workers = [ThrottleStore(db_settings), ThrottleStore(db_settings)]  # two engines, as two processes
        keys = Keys.of("anna", "10.9.9.9")
        try:
            return await asyncio.gather(
                *(workers[i % 2].attempt(keys, 1_000_000.0 + i / 100, limits) for i in range(24))
            )
        finally:
            for worker in workers:
                await worker.close()

    decisions = _run(scenario())
    assert sum(d.allowed for d in decisions) == 4
    assert all(d.wait_s == pytest.approx(60, abs=1) for d in decisions if not d.allowed)


def test_a_guessed_password_is_logged_without_it_and_held_back_without_a_check(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "konten.toml"
    accounts.add_account(users, "anna.schmidt", "das-richtige-passwort", "mitarbeitende")
    settings = Settings(users_file=users, data_dir=tmp_path / "data", signin_tries=3)
    checks: list[bytes] = []
    real = bcrypt.checkpw
    monkeypatch.setattr(
        bcrypt, "checkpw", lambda secret, digest: checks.append(secret) or real(secret, digest)
    )
    caplog.set_level("WARNING", logger="bot.chat.signin")

    async def scenario():
        gate = PasswordGate(settings)
        try:
            tries = [Attempt("10.9.9.9") for _ in range(5)]
            got = [await gate.sign_in("anna.schmidt", f"geraten-{n}", a) for n, a in enumerate(tries)]
            right_here = Attempt("10.9.9.9")
            here = await gate.sign_in("anna.schmidt", "das-richtige-passwort", right_here)
            elsewhere = await gate.sign_in("Anna.Schmidt", "das-richtige-passwort", Attempt("10.0.0.1"))
            unknown = await gate.sign_in("niemand-hier", "geraten-x", Attempt("10.5.5.5"))
            return tries, got, right_here, here, elsewhere, unknown
        finally:
            await gate.close()

    tries, got, right_here, here, elsewhere, unknown = _run(scenario())
    assert got == [None] * 5 and here is None and unknown is None
    assert [a.refusal for a in tries] == [
        None,
        None,
        *["Zu viele Fehlversuche – bitte in 1 Minute erneut versuchen."] * 3,
    ]
    assert [a.status for a in tries[2:]] == [429] * 3 and tries[2].retry_after_s == 60
    assert right_here.status == 429  # the right password from the guessing address waits too
    assert elsewhere == accounts.Identity("anna.schmidt", "mitarbeitende", "password")
    # Held-back tries cost no password check: 3 guesses, the owner elsewhere, the unknown name.
    assert checks == [b"geraten-0", b"geraten-1", b"geraten-2", b"das-richtige-passwort", b"geraten-x"]

    logged = [r.getMessage() for r in caplog.records if r.name == "bot.chat.signin"]
    guessed = "Anmeldung fehlgeschlagen: Konto anna.schmidt, Adresse 10.9.9.9"
    assert logged[:3] == [guessed, guessed, f"{guessed}, nächster Versuch erst in 60 s"]
    assert logged[3].startswith("Anmeldung fehlgeschlagen: Konto unbekannt #") and "10.5.5.5" in logged[3]
    summary = _run(throttle.summary(settings))
    assert (summary.failures, summary.waits, summary.accounts, summary.addresses) == (4, 1, 2, 2)
    stored = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file())
    for secret in (b"geraten", b"das-richtige-passwort", b"niemand-hier"):
        assert secret not in stored and all(secret.decode() not in m for m in logged)
