"""Sign-in decisions, password accounts, roles, the sign-in throttle, the pace of questions,
feedback reasons, history redaction and retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path

import bcrypt
import pytest

from bot.chat import accounts, throttle
from bot.chat.feedback import FeedbackLog, reasons_in
from bot.chat.ratelimit import Pace, slow_down_note
from bot.chat.signin import UNAVAILABLE, Attempt, CheckQueue, PasswordGate, trust_forwarded_from
from bot.chat.signin_rules import Keys, Limits, address_group, decide
from bot.chat.throttle import ThrottleStore
from bot.config import Settings
from bot.errors import BotError
from bot.jsonl import JsonLines, older_than

SECRET = "s" * 40
PERSONAL = ["Müller", "0211 9876543", "anna.schmidt@example.org", "DE89370400440532013000"]


def test_password_accounts_check_hashes_and_keep_roles(tmp_path: Path) -> None:
    users = tmp_path / "konten.toml"
    assert accounts.add_account(users, " Anna.Schmidt ", "ein-langes-passwort", "referat") is False
    assert "ein-langes-passwort" not in users.read_text()  # only the bcrypt hash is stored
    assert users.stat().st_mode & 0o077 == 0
    who = accounts.check_password(users, "anna.schmidt", "ein-langes-passwort")
    assert who == accounts.Identity("anna.schmidt", "referat", "password")
    assert accounts.check_password(users, "anna.schmidt", "falsches-passwort") is None
    assert accounts.check_password(users, "niemand", "ein-langes-passwort") is None
    assert accounts.check_password(users, "anna.schmidt", "x" * 200) is None
    assert accounts.add_account(users, "anna.schmidt", "ein-neues-passwort!", "mitarbeitende") is True
    assert accounts.check_password(users, "ANNA.SCHMIDT", "ein-neues-passwort!").role == "mitarbeitende"
    assert accounts.remove_account(users, "anna.schmidt") and not accounts.remove_account(
        users, "anna.schmidt"
    )


def test_an_unknown_or_overlong_name_costs_the_same_bcrypt_check_as_a_wrong_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "konten.toml"
    accounts.add_account(users, "anna", "ein-langes-passwort", "mitarbeitende")
    checked: list[bytes] = []
    real = bcrypt.checkpw
    monkeypatch.setattr(
        bcrypt, "checkpw", lambda secret, digest: checked.append(digest[:7]) or real(secret, digest)
    )
    tries = [("anna", "falsches-passwort"), ("niemand", "falsches-passwort"), ("anna", "ä" * 40)]
    tries += [("n" * 5000, "falsches-passwort"), ("anna", "ein-langes-passwort" + "x" * 100)]
    for name, password in tries:
        assert accounts.verify(users, name, password).identity is None
    # Every try, whatever it got wrong, pays one check at the accounts' cost (12 rounds).
    assert checked == [b"$2b$12$"] * len(tries)
    assert [accounts.verify(users, n, "falsch").known for n in ("ANNA ", "niemand", "n" * 5000)] == [
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("name", "password", "says"),
    [
        ("anna", "kurz", "mindestens 12"),
        ("anna", "ä" * 40, "72 Bytes"),
        ("an na", "ein-langes-passwort", "ohne"),
    ],
)
def test_weak_accounts_are_refused_politely(tmp_path: Path, name: str, password: str, says: str) -> None:
    with pytest.raises(BotError, match=says):
        accounts.add_account(tmp_path / "konten.toml", name, password, "mitarbeitende")
    assert not (tmp_path / "konten.toml").exists()


def test_a_broken_users_file_is_one_clear_error(tmp_path: Path) -> None:
    users = tmp_path / "konten.toml"
    users.write_text('[konten.anna]\npasswort_hash = "x"\nrolle = "chef"\n', encoding="utf-8")
    with pytest.raises(BotError, match=r"Kontendatei .* nicht lesbar"):
        accounts.read_accounts(users)
    with pytest.raises(BotError, match="fehlt"):
        accounts.read_accounts(tmp_path / "gibt-es-nicht.toml")


def test_open_only_on_localhost(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert accounts.sign_in(settings, "127.0.0.1", {}).open
    assert accounts.sign_in(settings, "localhost", {}).open
    assert accounts.sign_in(settings, "::1", {}).open
    for host in ("0.0.0.0", "10.1.2.3", "chat.asb-nrw.de"):
        with pytest.raises(BotError, match="nur auf localhost"):
            accounts.sign_in(settings, host, {})


def test_sign_in_needs_a_strong_secret_and_a_single_tenant(tmp_path: Path) -> None:
    users = tmp_path / "konten.toml"
    accounts.add_account(users, "anna", "ein-langes-passwort", "mitarbeitende")
    with_users = Settings(users_file=users)
    with pytest.raises(BotError, match="CHAINLIT_AUTH_SECRET"):
        accounts.sign_in(with_users, "0.0.0.0", {"CHAINLIT_AUTH_SECRET": "kurz"})
    assert accounts.sign_in(with_users, "0.0.0.0", {"CHAINLIT_AUTH_SECRET": SECRET}).methods == ("password",)

    entra = {
        "OAUTH_AZURE_AD_CLIENT_ID": "id",
        "OAUTH_AZURE_AD_CLIENT_SECRET": "geheim",
        "CHAINLIT_AUTH_SECRET": SECRET,
    }
    with pytest.raises(BotError, match="Mandanten"):
        accounts.sign_in(Settings(), "0.0.0.0", entra)
    single = {**entra, "OAUTH_AZURE_AD_ENABLE_SINGLE_TENANT": "true", "OAUTH_AZURE_AD_TENANT_ID": "asb"}
    assert accounts.sign_in(Settings(), "0.0.0.0", single).methods == ("entra-id",)
    header = Settings(auth_header="X-Forwarded-User")
    assert accounts.sign_in(header, "0.0.0.0", {"CHAINLIT_AUTH_SECRET": SECRET}).methods == ("header",)


def test_roles_from_proxy_headers_and_entra_id() -> None:
    settings = Settings(
        auth_header="X-Forwarded-User", auth_role_header="X-Forwarded-Groups", referat_users="chef@asb-nrw.de"
    )
    staff = accounts.from_headers(
        {"X-Forwarded-User": "Anna@ASB-nrw.de", "X-Forwarded-Groups": "pflege"}, settings
    )
    assert staff == accounts.Identity("anna@asb-nrw.de", "mitarbeitende", "header")
    by_group = accounts.from_headers(
        {"X-Forwarded-User": "bo", "X-Forwarded-Groups": "pflege, Referat"}, settings
    )
    assert by_group.role == "referat"
    assert accounts.from_headers({"X-Forwarded-User": "  "}, settings) is None
    assert accounts.from_headers({}, settings) is None
    assert accounts.from_entra("azure-ad", {"mail": "Chef@asb-nrw.de"}, "x", settings).role == "referat"
    assert accounts.from_entra("azure-ad", {}, "upn@asb-nrw.de", settings).identifier == "upn@asb-nrw.de"
    assert accounts.from_entra("github", {"mail": "chef@asb-nrw.de"}, "x", settings) is None


@pytest.mark.parametrize(
    ("comment", "reasons"),
    [
        ("Falsche Quelle!", ["falsche Quelle"]),
        ("das ist veraltet und unvollständig", ["veraltet", "unvollständig"]),
        ("Verstehe ich nicht, zu kompliziert", ["unverständlich"]),
        ("Der Inhalt fehlt", ["unvollständig"]),  # "Inhalt" is not "alt"
        ("nicht mehr aktuell", ["veraltet"]),
        ("super", []),
        (None, []),
    ],
)
def test_feedback_reasons_are_read_from_the_comment(comment: str | None, reasons: list[str]) -> None:
    assert reasons_in(comment) == reasons


def test_retention_keeps_recent_and_undated_lines(tmp_path: Path) -> None:
    log = JsonLines(tmp_path / "x.jsonl")
    today = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    for stamp in ("2026-01-01T10:00:00+00:00", "2026-11-20T10:00:00+00:00", "kaputt"):
        log.append({"time": stamp})
    (tmp_path / "x.jsonl").open("a").write("{halbe Zeile\n")
    assert log.prune(older_than(90, today)) == 1
    assert [r["time"] for r in log.read()] == ["2026-11-20T10:00:00+00:00", "kaputt"]
    assert log.prune(older_than(90, today)) == 0


def test_failures_in_a_row_make_the_next_try_wait_longer_each_time_until_a_quiet_day() -> None:
    limits = Limits(tries=3, wait_s=60, max_wait_s=300, forget_s=3600)
    counts: dict = {}
    now = 0.0
    for expected in [0, 0, 60, 120, 240, 300, 300]:
        decision = decide(counts, now, limits)
        assert decision.allowed and decision.wait_s == expected
        if expected:
            early = decide(decision.counts, now + expected - 1, limits)
            assert not early.allowed and early.wait_s == pytest.approx(1.0)
        counts, now = decision.counts, now + expected + 1
    assert decide(counts, now + 3601, limits).wait_s == 0  # an hour without tries: it starts over


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),  # one line's addresses count as one
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("unbekannt", "unbekannt"),
    ],
)
def test_an_ipv6_client_counts_as_its_whole_64(address: str, group: str) -> None:
    assert address_group(address) == group


def test_trusted_proxies_are_addresses_and_reach_uvicorn() -> None:
    env: dict[str, str] = {}
    trust_forwarded_from(Settings(trusted_proxies="10.0.0.5, 192.168.0.0/24"), env)
    assert env == {"FORWARDED_ALLOW_IPS": "10.0.0.5,192.168.0.0/24"}
    trust_forwarded_from(Settings(trusted_proxies=""), env)
    assert env == {"FORWARDED_ALLOW_IPS": ""}  # nobody's X-Forwarded-For is believed
    with pytest.raises(ValueError, match="BOT_TRUSTED_PROXIES"):
        Settings(trusted_proxies="*")


def test_one_session_may_ask_a_few_at_once_then_only_as_fast_as_a_person_types() -> None:
    clock = [0.0]
    pace = Pace(per_minute=30, burst=3, clock=lambda: clock[0])
    assert [pace.admit().allowed for _ in range(3)] == [True, True, True]
    fourth = pace.admit()
    assert not fourth.allowed and fourth.wait_s == pytest.approx(2.0) and fourth.note
    assert pace.admit() == type(fourth)(False, pytest.approx(2.0), False)  # a flood: one note per 2 s
    clock[0] = 2.0
    assert pace.admit().allowed
    assert pace.admit().note
    assert slow_down_note(1.2).endswith("in 2 Sekunden noch einmal.") and "1 Sekunde " in slow_down_note(0.2)
    unlimited = Pace(per_minute=0, burst=1)
    assert all(unlimited.admit().allowed for _ in range(1000))


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


def _run(coro):
    return asyncio.run(coro)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_settings(request, tmp_path: Path) -> Settings:
    """Settings whose chat history lives in SQLite under data_dir, or in a real PostgreSQL."""
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    url = request.getfixturevalue("postgres_url")
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    tables = ("feedbacks", "elements", "steps", "threads", "users", "signin_counts", "signin_failures")
    _run(_sql(settings, *(f"DELETE FROM {t}" for t in tables)))
    return settings


async def _sql(settings: Settings, *statements: str, params: dict | None = None) -> list[tuple]:
    """Run statements on the chat database (creating the tables first); the last one's rows."""
    import sqlalchemy as sa

    from bot.chat.history import SCHEMA, open_engine

    engine = open_engine(settings)
    rows: list[tuple] = []
    try:
        async with engine.begin() as conn:
            await conn.run_sync(SCHEMA.create_all, checkfirst=True)
            await conn.run_sync(throttle.SCHEMA.create_all, checkfirst=True)
            for statement in statements:
                result = await conn.execute(sa.text(statement), params or {})
                rows = [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()
    return rows


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


def _everything_stored(settings: Settings) -> bytes:
    """Every byte under data_dir (SQLite's journals included) and every row of the chat tables."""
    files = b"".join(p.read_bytes() for p in sorted(settings.data_dir.rglob("*")) if p.is_file())
    tables = ("users", "threads", "steps", "elements", "feedbacks")
    rows = [_run(_sql(settings, f"SELECT * FROM {t}")) for t in tables]
    return files + repr(rows).encode("utf-8")


def test_history_stores_questions_redacted_and_feedback_with_provenance(db_settings: Settings) -> None:
    from chainlit.types import Feedback

    from bot.chat.history import RedactingDataLayer, ensure_schema

    settings = db_settings

    async def scenario() -> None:
        from chainlit.context import init_http_context

        init_http_context()  # Chainlit's layer writes at once only outside a websocket session
        await ensure_schema(settings)
        await ensure_schema(settings)  # idempotent: a second worker starting finds the tables
        layer = RedactingDataLayer(settings)
        thread, question, run, answer = (str(uuid.uuid4()) for _ in range(4))
        typed = f"Darf ich Frau {PERSONAL[0]} ({PERSONAL[1]}, {PERSONAL[2]}, IBAN {PERSONAL[3]}) anschreiben?"
        await layer.update_thread(thread, name=typed)
        # When a session ends Chainlit stores the user session, with the typed questions, here.
        await layer.update_thread(thread, metadata={"history": [typed], "client_type": "webapp"})
        base = {"threadId": thread, "streaming": False, "createdAt": "2026-11-25T10:00:00Z", "metadata": {}}
        await layer.create_step(
            {**base, "id": question, "name": "anna", "type": "user_message", "output": typed}
        )
        await layer.create_step({**base, "id": run, "name": "on_message", "type": "run", "input": typed})
        provenance = {
            "question": "Darf ich [Name] anschreiben?",
            "passages": [{"id": "grundsaetze-ki#x-1", "stand": "2026-11-25"}],
        }
        await layer.create_step(
            {
                **base,
                "id": answer,
                "parentId": run,
                "name": "Assistent",
                "type": "assistant_message",
                "output": "Zitat [1]",
                "metadata": {"provenance": provenance},
            }
        )
        # Chainlit rates the run; its answer carries the provenance.
        await layer.upsert_feedback(
            Feedback(forId=run, value=0, threadId=thread, comment=f"veraltet, frag Frau {PERSONAL[0]}")
        )
        await layer.engine.dispose()

    _run(scenario())
    stored = _everything_stored(settings)
    for secret in PERSONAL:
        assert secret.encode() not in stored, secret
    [(output,)] = _run(_sql(settings, "SELECT output FROM steps WHERE type = 'user_message'"))
    assert output.startswith("Darf ich Frau [Name]") or output.startswith("Darf ich [Name]")
    assert _run(_sql(settings, "SELECT value FROM feedbacks")) == [(0,)]
    [line] = FeedbackLog(settings.data_dir).read()
    assert line["value"] == 0 and line["reason"] == "veraltet"
    assert line["passages"] == [{"id": "grundsaetze-ki#x-1", "stand": "2026-11-25"}]
    assert line["question"] == "Darf ich [Name] anschreiben?"


def test_retention_and_forgetting_delete_whole_conversations(db_settings: Settings) -> None:
    from bot.chat.history import apply_retention, forget_user
    from bot.pipeline.audit import AuditLog

    settings = db_settings
    inserts = ["INSERT INTO users VALUES ('u1', 'anna', '{}', '2026-01-01')"]
    for tid, created, user in (
        ("alt", "2026-01-01T10:00:00Z", "anna"),
        ("neu", "2026-11-24T10:00:00Z", "anna"),
        ("bo", "2026-11-24T10:00:00Z", "bo"),
    ):
        inserts += [
            f"""INSERT INTO threads (id, "createdAt", "userIdentifier")
                VALUES ('{tid}', '{created}', '{user}')""",
            f"""INSERT INTO steps (id, name, type, "threadId", streaming)
                VALUES ('s-{tid}', 'x', 'user_message', '{tid}', false)""",
            f"""INSERT INTO feedbacks VALUES ('f-{tid}', 's-{tid}', '{tid}', 1, null)""",
        ]
    for at, account in (("2026-01-01T10:00:00+00:00", "anna"), ("2026-11-24T10:00:00+00:00", "anna")):
        inserts.append(
            f"INSERT INTO signin_failures (at, account, address, wait_s) VALUES ('{at}', '{account}', 'x', 0)"
        )
    inserts.append(
        "INSERT INTO signin_failures (at, account, address, wait_s) VALUES ('2026-11-24', 'bo', 'x', 0)"
    )
    _run(_sql(settings, *inserts))
    today = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    _run(throttle_rows(settings, today.timestamp()))
    AuditLog(settings.data_dir).append({"time": "2026-01-01T10:00:00+00:00"})
    AuditLog(settings.data_dir).append({"time": "2026-11-24T10:00:00+00:00"})

    pruned = _run(apply_retention(settings, 90, today))
    assert (pruned.threads, pruned.audit_lines, pruned.feedback_lines, pruned.signin_failures) == (1, 1, 0, 1)

    def ids(sql: str) -> set[str]:
        return {r[0] for r in _run(_sql(settings, sql))}

    assert ids("SELECT id FROM threads") == {"neu", "bo"}
    assert ids('SELECT "threadId" FROM steps') == {"neu", "bo"}
    assert ids('SELECT "threadId" FROM feedbacks') == {"neu", "bo"}

    # Counts a day old are gone (they would start over anyway); the desk anna signed in from stays.
    assert ids("SELECT kind FROM signin_counts") == {throttle.KNOWN}

    assert _run(forget_user(settings, "anna")) == 1
    assert ids("SELECT id FROM threads") == {"bo"}
    assert ids("SELECT identifier FROM users") == set()
    assert ids("SELECT account FROM signin_failures") == {"bo"}
    assert ids("SELECT kind FROM signin_counts") == set()


async def throttle_rows(settings: Settings, now: float) -> None:
    """anna signed in from her desk a week ago and was guessed at two days ago."""
    store = ThrottleStore(settings)
    try:
        await store.succeeded(Keys.of("anna", "10.0.0.1"), now - 7 * 86400)
        await store.attempt(Keys.of("anna", "10.9.9.9"), now - 2 * 86400, Limits())
    finally:
        await store.close()


def test_the_referat_views_show_documents_and_escape_what_users_typed(real_settings, tmp_path: Path) -> None:
    from bot.chat.referat import corpus_status_markdown
    from bot.chat.report import format_report_markdown, gap_report

    status = corpus_status_markdown(real_settings)
    assert "| Künstliche Intelligenz beim ASB in NRW" in status or "ki-beim-asb-nrw" in status
    assert status.count("ja, aktuell") == 5

    settings = real_settings.model_copy(update={"data_dir": tmp_path})
    FeedbackLog(tmp_path).append(
        {
            "time": "2026-11-25T10:00:00+00:00",
            "value": 0,
            "question": "[Link](http://böse.example) *fett*",
            "reason": "veraltet",
        }
    )
    text = format_report_markdown(gap_report(settings))
    assert "\\[Link](http" in text and "\\*fett\\*" in text and "veraltet" in text
    assert "keine fehlgeschlagenen Anmeldungen" in text and not (tmp_path / "chat.db").exists()
    assert json.dumps(gap_report(settings).to_json())  # serialisable for --json

    async def two_failures() -> None:
        store = ThrottleStore(settings)
        try:
            await store.failed("anna", "10.9.9.9", 0, 1_000_000.0)
            await store.failed("unbekannt #0123abcd", "10.9.9.9", 60, 1_000_001.0)
        finally:
            await store.close()

    _run(two_failures())
    report = gap_report(settings)
    assert "2 fehlgeschlagene Anmeldungen (2 Konten, 1 Adresse), davon 1× mit Wartezeit" in (
        format_report_markdown(report)
    )
    assert report.to_json()["signins"] == {"failures": 2, "waits": 1, "accounts": 2, "addresses": 1}
