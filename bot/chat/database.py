"""The chat database's engine: SQLite under BOT_DATA_DIR by default, PostgreSQL through BOT_DATABASE_URL.

Chat history (bot/chat/history.py) and the sign-in throttle (bot/chat/throttle.py) share it, so all
workers see the same state. No Chainlit here: the command line reads it without the chat.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.config import Settings

UNREACHABLE = "Die Chat-Datenbank ist nicht erreichbar ({}); bitte BOT_DATABASE_URL prüfen."


def _engine(url: str, pooled: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        # A connection per use instead of a pool of 5 + 10: under 50 sessions the pool ran dry
        # and Chainlit dropped the writes after 30 s (it logs and goes on). WAL lets readers go
        # on while one writes; writers wait up to 30 s for each other instead of failing.
        # pooled: for our own short transactions that come often (a new aiosqlite connection
        # starts a thread and sets the pragmas: ~9 ms of CPU for each sign-in try of a flood).
        pool = {"pool_size": 2, "max_overflow": 8, "pool_timeout": 30} if pooled else {"poolclass": NullPool}
        engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)
        sa.event.listen(engine.sync_engine, "connect", _sqlite_wal)
        return engine
    # PostgreSQL: enough connections for a worker's concurrent sessions (server default: 100).
    return create_async_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def _sqlite_wal(connection: DBAPIConnection, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def prepare(settings: Settings) -> str:
    """The database URL, with the SQLite folder created."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return url


def open_engine(settings: Settings, pooled: bool = False) -> AsyncEngine:
    """An engine on the chat database (the SQLite folder is created); dispose of it after use.
    pooled keeps a few SQLite connections open (PostgreSQL always pools)."""
    return _engine(prepare(settings), pooled)


def exists(settings: Settings) -> bool:
    """False only for an SQLite file not created yet (a report need not create it to find nothing)."""
    url = settings.resolved_database_url()
    if not url.startswith("sqlite"):
        return True
    return Path(sa.engine.make_url(url).database or "").is_file()


async def create_tables(engine: AsyncEngine, schema: sa.MetaData) -> None:
    """Create the schema's missing tables. Several workers may start at once: when another one
    created the same table in between, the creation is tried again (three times in all)."""
    for attempt in range(3):
        try:
            async with engine.begin() as conn:
                await conn.run_sync(schema.create_all, checkfirst=True)
            return
        except SQLAlchemyError:
            if attempt == 2:
                raise
