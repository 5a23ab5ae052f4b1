"""Sign-in decisions, password accounts, roles, feedback reasons, history redaction and retention."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path

import bcrypt
import pytest

from bot import accounts
from bot.config import Settings
from bot.errors import BotError
from bot.feedback import FeedbackLog, reasons_in
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


def _run(coro):
    return asyncio.run(coro)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request, tmp_path: Path) -> Settings:
    """Settings whose chat history lives in SQLite under data_dir, or in a real PostgreSQL."""
    if request.param == "sqlite":
        return Settings(data_dir=tmp_path / "data")
    url = request.getfixturevalue("postgres_url")
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    _run(
        _sql(settings, *(f"DELETE FROM {t}" for t in ("feedbacks", "elements", "steps", "threads", "users")))
    )
    return settings


async def _sql(settings: Settings, *statements: str, params: dict | None = None) -> list[tuple]:
    """Run statements on the chat database (creating the tables first); the last one's rows."""
    import sqlalchemy as sa

    from bot.history import SCHEMA, open_engine

    engine = open_engine(settings)
    rows: list[tuple] = []
    try:
        async with engine.begin() as conn:
            await conn.run_sync(SCHEMA.create_all, checkfirst=True)
            for statement in statements:
                result = await conn.execute(sa.text(statement), params or {})
                rows = [tuple(r) for r in result] if result.returns_rows else []
    finally:
        await engine.dispose()
    return rows


def _everything_stored(settings: Settings) -> bytes:
    """Every byte under data_dir (SQLite's journals included) and every row of the chat tables."""
    files = b"".join(p.read_bytes() for p in sorted(settings.data_dir.rglob("*")) if p.is_file())
    tables = ("users", "threads", "steps", "elements", "feedbacks")
    rows = [_run(_sql(settings, f"SELECT * FROM {t}")) for t in tables]
    return files + repr(rows).encode("utf-8")


def test_history_stores_questions_redacted_and_feedback_with_provenance(db_settings: Settings) -> None:
    from chainlit.types import Feedback

    from bot.history import RedactingDataLayer, ensure_schema

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
    from bot.audit import AuditLog
    from bot.history import apply_retention, forget_user

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
    _run(_sql(settings, *inserts))
    AuditLog(settings.data_dir).append({"time": "2026-01-01T10:00:00+00:00"})
    AuditLog(settings.data_dir).append({"time": "2026-11-24T10:00:00+00:00"})

    pruned = _run(apply_retention(settings, 90, dt.datetime(2026, 11, 25, tzinfo=dt.UTC)))
    assert (pruned.threads, pruned.audit_lines, pruned.feedback_lines) == (1, 1, 0)

    def ids(sql: str) -> set[str]:
        return {r[0] for r in _run(_sql(settings, sql))}

    assert ids("SELECT id FROM threads") == {"neu", "bo"}
    assert ids('SELECT "threadId" FROM steps') == {"neu", "bo"}
    assert ids('SELECT "threadId" FROM feedbacks') == {"neu", "bo"}

    assert _run(forget_user(settings, "anna")) == 1
    assert ids("SELECT id FROM threads") == {"bo"}
    assert ids("SELECT identifier FROM users") == set()


def test_the_referat_views_show_documents_and_escape_what_users_typed(real_settings, tmp_path: Path) -> None:
    from bot.referat import corpus_status_markdown, gap_report
    from bot.report import format_report_markdown

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
    assert json.dumps(gap_report(settings).to_json())  # serialisable for --json
