"""The chat database as tests reach it: run a coroutine, run SQL on the tables."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from bot.chat import throttle
from bot.config import Settings


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run one coroutine to its end (tests are synchronous)."""
    return asyncio.run(coro)


async def sql(settings: Settings, *statements: str, params: dict | None = None) -> list[tuple]:
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
