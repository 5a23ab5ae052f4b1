"""Chat history in Chainlit's SQLAlchemy data layer: schema, redaction before storing, retention.

SQLite under BOT_DATA_DIR by default, PostgreSQL (asyncpg) through BOT_DATABASE_URL. Chainlit
writes with its own SQL; this module owns the tables it writes to, makes sure nothing personal
reaches them, and records feedback with the answer's provenance.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.element import Element
from chainlit.step import StepDict
from chainlit.types import Feedback
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import throttle
from bot.chat.database import UNREACHABLE, create_tables, open_engine, prepare
from bot.chat.feedback import FeedbackLog
from bot.config import Settings
from bot.errors import BotError
from bot.jsonl import within_days
from bot.pipeline.audit import AuditLog, PickLog
from bot.pipeline.privacy import redact

log = logging.getLogger(__name__)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TAGS = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")

# The columns Chainlit 2.12's SQLAlchemyDataLayer writes (its documented schema, plus the step
# fields it passes on: command, modes, icon). Ids are text: Chainlit passes them as strings.
SCHEMA = sa.MetaData()
USERS = sa.Table(
    "users",
    SCHEMA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("identifier", sa.Text, nullable=False, unique=True),
    sa.Column("metadata", _JSON, nullable=False),
    sa.Column("createdAt", sa.Text),
)
THREADS = sa.Table(
    "threads",
    SCHEMA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("createdAt", sa.Text, index=True),
    sa.Column("name", sa.Text),
    sa.Column("userId", sa.Text, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True),
    sa.Column("userIdentifier", sa.Text),
    sa.Column("tags", _TAGS),
    sa.Column("metadata", _JSON),
)
STEPS = sa.Table(
    "steps",
    SCHEMA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column(
        "threadId", sa.Text, sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("parentId", sa.Text),
    sa.Column("streaming", sa.Boolean, nullable=False),
    sa.Column("waitForAnswer", sa.Boolean),
    sa.Column("isError", sa.Boolean),
    sa.Column("metadata", _JSON),
    sa.Column("tags", _TAGS),
    sa.Column("input", sa.Text),
    sa.Column("output", sa.Text),
    sa.Column("createdAt", sa.Text),
    sa.Column("command", sa.Text),
    sa.Column("modes", _JSON),
    sa.Column("start", sa.Text),
    sa.Column("end", sa.Text),
    sa.Column("generation", _JSON),
    sa.Column("showInput", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("icon", sa.Text),
    sa.Column("indent", sa.Integer),
    sa.Column("defaultOpen", sa.Boolean),
    sa.Column("autoCollapse", sa.Boolean),
)
ELEMENTS = sa.Table(
    "elements",
    SCHEMA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("threadId", sa.Text, sa.ForeignKey("threads.id", ondelete="CASCADE")),
    sa.Column("type", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("chainlitKey", sa.Text),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("display", sa.Text),
    sa.Column("objectKey", sa.Text),
    sa.Column("size", sa.Text),
    sa.Column("page", sa.Integer),
    sa.Column("language", sa.Text),
    sa.Column("forId", sa.Text),
    sa.Column("mime", sa.Text),
    sa.Column("props", _JSON),
    sa.Column("autoPlay", sa.Boolean),
    sa.Column("playerConfig", _JSON),
)
FEEDBACKS = sa.Table(
    "feedbacks",
    SCHEMA,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("forId", sa.Text, nullable=False, index=True),
    sa.Column("threadId", sa.Text, sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    sa.Column("value", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text),
)


async def ensure_schema(settings: Settings) -> None:
    """Create the tables that are missing (idempotent; several workers may start at once)."""
    engine = open_engine(settings)
    try:
        await create_tables(engine, SCHEMA)
    except (OSError, SQLAlchemyError) as exc:
        raise BotError(UNREACHABLE.format(type(exc).__name__)) from exc
    finally:
        await engine.dispose()


def _loads(raw: object) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str) else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class RedactingDataLayer(SQLAlchemyDataLayer):
    """Chainlit's SQLAlchemy layer, but what people type is redacted before it is written.

    Step inputs and outputs (the question appears in several), thread names (Chainlit names a
    thread after its first question) and feedback comments pass through privacy.redact.
    Answers are quotes from released documents and keep their wording. Feedback is also
    written to feedback.jsonl with the provenance the answer carried in its metadata, for
    `python -m bot report`.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(conninfo=prepare(settings), user_thread_limit=200)
        # Chainlit's own engine (never connected) has neither WAL nor a pool sized for load.
        self.engine = open_engine(settings)
        self.async_session = async_sessionmaker(bind=self.engine, expire_on_commit=False, class_=AsyncSession)
        self.feedback_log = FeedbackLog(settings.data_dir)

    async def create_element(self, element: Element) -> None:
        """Source passages are not stored twice: the answer names each source with title, section
        and stand, and the corpus keeps the text (Chainlit would need a file store for them)."""

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Thread names are the first question: redacted. So are the questions in the metadata:
        Chainlit stores the user session there when a session ends, and its "history" holds
        the conversation's questions as typed (bot/app.py keeps them for follow-ups)."""
        if isinstance(metadata, dict) and isinstance(metadata.get("history"), list):
            typed = metadata["history"]
            metadata = {**metadata, "history": [redact(q) if isinstance(q, str) else q for q in typed]}
        await super().update_thread(
            thread_id, name=redact(name) if name else name, user_id=user_id, metadata=metadata, tags=tags
        )

    async def create_step(self, step_dict: StepDict) -> None:
        """Inputs (the question, also in Chainlit's "run" steps) and every output but the answer's
        are stored redacted; answers are quotes from released documents and keep their wording."""
        redacted: StepDict = {**step_dict, "input": redact(step_dict.get("input") or "")}
        if redacted.get("type") != "assistant_message":
            redacted["output"] = redact(redacted.get("output") or "")
        await super().create_step(redacted)

    async def upsert_feedback(self, feedback: Feedback) -> str:
        """Store the rating (comment redacted) and log it with the rated answer's provenance."""
        if feedback.comment:
            feedback.comment = redact(feedback.comment)
        feedback_id = await super().upsert_feedback(feedback)
        provenance = await self._provenance(feedback.forId)
        self.feedback_log.record(
            value=feedback.value, comment=feedback.comment, message_id=feedback.forId, provenance=provenance
        )
        return feedback_id

    async def _provenance(self, step_id: str) -> dict[str, Any]:
        """The provenance of the rated answer. Chainlit rates the run that produced the answer
        (with the steps hidden), so the answer may be the run's latest assistant message."""
        rows = await self.execute_sql(
            'SELECT "metadata" FROM steps WHERE "id" = :id OR ("parentId" = :id AND "type" = '
            "'assistant_message') ORDER BY \"createdAt\" DESC",
            {"id": step_id},
        )
        for row in rows if isinstance(rows, list) else []:
            provenance = _loads(row.get("metadata")).get("provenance")
            if isinstance(provenance, dict) and provenance:
                return provenance
        return {}


@dataclass(frozen=True)
class Pruned:
    """What a retention run removed."""

    threads: int
    audit_lines: int
    feedback_lines: int
    signin_failures: int = 0
    pick_lines: int = 0


async def _delete_threads(settings: Settings, where: sa.ColumnElement[bool], user: str | None = None) -> int:
    """Delete the matching conversations with everything in them (and the account, if named)."""
    engine = open_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(SCHEMA.create_all, checkfirst=True)
            ids = sa.select(THREADS.c.id).where(where)
            # Children first: SQLite enforces ON DELETE CASCADE only with a pragma.
            await conn.execute(sa.delete(FEEDBACKS).where(FEEDBACKS.c.threadId.in_(ids)))
            await conn.execute(sa.delete(ELEMENTS).where(ELEMENTS.c.threadId.in_(ids)))
            await conn.execute(sa.delete(STEPS).where(STEPS.c.threadId.in_(ids)))
            result = await conn.execute(sa.delete(THREADS).where(where))
            if user is not None:
                await conn.execute(sa.delete(USERS).where(USERS.c.identifier == user))
            return result.rowcount or 0
    except (OSError, SQLAlchemyError) as exc:
        raise BotError(UNREACHABLE.format(type(exc).__name__)) from exc
    finally:
        await engine.dispose()


async def apply_retention(settings: Settings, days: int, today: dt.datetime | None = None) -> Pruned:
    """Delete conversations, audit, feedback and pick lines and sign-in failures older than `days` days."""
    now = today or dt.datetime.now(dt.UTC)
    # Chainlit writes createdAt as naive ISO time plus "Z"; ISO strings compare in time order.
    cutoff = (now - dt.timedelta(days=days)).replace(tzinfo=None).isoformat()
    threads = await _delete_threads(settings, THREADS.c.createdAt < cutoff)
    keep = within_days(days, now)
    return Pruned(
        threads=threads,
        audit_lines=AuditLog(settings.data_dir).prune(keep),
        feedback_lines=FeedbackLog(settings.data_dir).prune(keep),
        signin_failures=await throttle.prune(settings, days, now.timestamp()),
        pick_lines=PickLog(settings.data_dir).prune(keep),
    )


async def forget_user(settings: Settings, identifier: str) -> int:
    """Delete every conversation of one account, its record, its picks and its sign-in failures
    and counts (a person's data); the conversations deleted."""
    await throttle.forget(settings, identifier)
    PickLog(settings.data_dir).forget(identifier)
    return await _delete_threads(settings, THREADS.c.userIdentifier == identifier, user=identifier)
