"""Chat history stores questions redacted; retention and forgetting delete whole conversations."""

from __future__ import annotations

import datetime as dt
import uuid

from bot.chat import throttle
from bot.chat.feedback import FeedbackLog
from bot.chat.signin_rules import Keys, Limits
from bot.chat.throttle import ThrottleStore
from bot.config import Settings
from tests.support.database import run as _run
from tests.support.database import sql as _sql

PERSONAL = ["Müller", "0211 9876543", "anna.schmidt@example.org", "DE89370400440532013000"]


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
