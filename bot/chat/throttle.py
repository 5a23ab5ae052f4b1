"""The counts of failed password sign-ins and their log, in the chat database (bot/chat/database.py).

Every try is counted before its password is checked, in one transaction: parallel tries cannot
slip past a limit, and every worker sees the same counts. What a try may do is decided by the
pure rules of bot/chat/signin_rules.py; `ThrottleStore` only reads and writes the counts. Count
rows carry hashes, never a typed name (a name field sometimes holds a password); the failure log
names an account only if it exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.chat.accounts import normalise_name
from bot.chat.database import UNREACHABLE, create_tables, exists, open_engine
from bot.chat.signin_rules import (
    ADDRESS,
    COUNTED,
    KNOWN,
    PAIR,
    Count,
    Decision,
    Keys,
    Limits,
    SignInSummary,
    decide,
)
from bot.config import Settings
from bot.errors import BotError

T = TypeVar("T")

PRUNE_EVERY_S = 3600.0
HELD_SETTLED_S = 30.0  # longer than any password check waits and takes

SCHEMA = sa.MetaData()
COUNTS = sa.Table(
    "signin_counts",
    SCHEMA,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("account", sa.Text, nullable=False, index=True),  # hash of the name; "" for an address
    sa.Column("tries", sa.Integer, nullable=False),
    sa.Column("last_try", sa.Float, nullable=False, index=True),
    sa.Column("held_until", sa.Float, nullable=False),
)
# One row per failed password check, for the operator and the report.
FAILURES = sa.Table(
    "signin_failures",
    SCHEMA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False, index=True),  # ISO time, UTC
    sa.Column("account", sa.Text, nullable=False, index=True),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("wait_s", sa.Integer, nullable=False),  # the wait this failure began, 0 if none
)


def _insert(engine: AsyncEngine | AsyncConnection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _unreachable(exc: BaseException) -> BotError:
    return BotError(UNREACHABLE.format(type(exc).__name__))


class ThrottleStore:
    """The counts and the failure log in the chat database; tables are created on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._pruned_at = 0.0
        # Holds of an account from an address, and of an address, seen in the database: while
        # one lasts every try it covers is refused, so no success can lift it early, and this
        # process refuses such tries without asking the database (a flood's tries). Only once the
        # try that began the hold is surely over (HELD_SETTLED_S): that try itself may succeed.
        self._held: dict[str, float] = {}

    async def _ready(self) -> AsyncEngine:
        if self._engine is None:
            engine = open_engine(self.settings, pooled=True)
            try:
                await create_tables(engine, SCHEMA)
            except SQLAlchemyError:
                await engine.dispose()
                raise
            self._engine = engine
        return self._engine

    async def close(self) -> None:
        """Give the connections back."""
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def peek(self, keys: Keys, now: float, limits: Limits) -> Decision:
        """What a try would get, without counting it (no write, no lock)."""
        held = max((self._held.get(keys.key(k), 0.0) for k in (PAIR, ADDRESS)), default=0.0)
        if held > now:
            return Decision(False, held - now, {})
        try:
            engine = await self._ready()
            async with engine.connect() as conn:
                counts = await self._read(conn, keys)
        except (OSError, SQLAlchemyError) as exc:
            raise _unreachable(exc) from exc
        self._remember_holds(keys, counts, now)
        return decide(counts, now, limits)

    async def attempt(self, keys: Keys, now: float, limits: Limits) -> Decision:
        """Count one try, if it may go, in one transaction; BotError if the database is away."""
        decision = await self.peek(keys, now, limits)  # a refusal needs no write, and no lock
        try:
            engine = await self._ready()
            if decision.allowed:
                async with engine.begin() as conn:
                    await self._lock(conn, keys)
                    counts = await self._read(conn, keys, lock=True)
                    decision = decide(counts, now, limits)
                    if decision.allowed:
                        await self._write(conn, keys, decision.counts)
                        counts = decision.counts
                self._remember_holds(keys, counts, now)
            if now - self._pruned_at > PRUNE_EVERY_S:
                self._pruned_at = now
                async with engine.begin() as conn:
                    await _prune_counts(conn, now, limits)
            return decision
        except (OSError, SQLAlchemyError) as exc:
            raise _unreachable(exc) from exc

    def _remember_holds(self, keys: Keys, counts: Mapping[str, Count], now: float) -> None:
        if len(self._held) > 100_000:
            self._held = {k: until for k, until in self._held.items() if until > now}
        for kind in (PAIR, ADDRESS):
            count = counts.get(kind)
            if count and count.held_until > now and now - count.last_try > HELD_SETTLED_S:
                self._held[keys.key(kind)] = count.held_until

    async def succeeded(self, keys: Keys, now: float) -> None:
        """A success resets the counts of this account and address, and makes the address known."""
        for kind in (PAIR, ADDRESS):
            self._held.pop(keys.key(kind), None)
        try:
            engine = await self._ready()
            async with engine.begin() as conn:
                await self._lock(conn, keys)
                await conn.execute(sa.delete(COUNTS).where(COUNTS.c.key.in_([keys.key(k) for k in COUNTED])))
                row = {
                    "key": keys.key(KNOWN),
                    "kind": KNOWN,
                    "account": keys.account,
                    "tries": 0,
                    "last_try": now,
                    "held_until": 0.0,
                }
                upsert = _insert(conn, COUNTS).values(row)
                await conn.execute(
                    upsert.on_conflict_do_update(index_elements=["key"], set_={"last_try": now})
                )
        except (OSError, SQLAlchemyError) as exc:
            raise _unreachable(exc) from exc

    async def failed(self, account: str, address: str, wait_s: float, now: float) -> None:
        """Log one failed password check (never the password)."""
        at = dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds")
        row = {"at": at, "account": account[:300], "address": address[:100], "wait_s": round(wait_s)}
        try:
            engine = await self._ready()
            async with engine.begin() as conn:
                await conn.execute(sa.insert(FAILURES).values(row))
        except (OSError, SQLAlchemyError) as exc:
            raise _unreachable(exc) from exc

    async def _lock(self, conn: AsyncConnection, keys: Keys) -> None:
        """Hold this try's rows until the transaction ends. Inserting is a write, so SQLite takes
        its one write lock here; PostgreSQL locks the rows, always in key order (no deadlocks)."""
        rows = sorted(
            (
                {"key": keys.key(k), "kind": k, "account": keys.owner(k), "tries": 0}
                | {"last_try": 0.0, "held_until": 0.0}
                for k in COUNTED
            ),
            key=lambda r: str(r["key"]),
        )
        await conn.execute(_insert(conn, COUNTS).values(rows).on_conflict_do_nothing(index_elements=["key"]))

    async def _read(self, conn: AsyncConnection, keys: Keys, lock: bool = False) -> Mapping[str, Count]:
        kinds = {keys.key(k): k for k in (*COUNTED, KNOWN)}
        query = sa.select(COUNTS.c.key, COUNTS.c.tries, COUNTS.c.last_try, COUNTS.c.held_until).where(
            COUNTS.c.key.in_(list(kinds))
        )
        if lock and conn.dialect.name == "postgresql":
            query = query.order_by(COUNTS.c.key).with_for_update()
        rows = (await conn.execute(query)).all()
        return {kinds[r.key]: Count(r.tries, r.last_try, r.held_until) for r in rows}

    async def _write(self, conn: AsyncConnection, keys: Keys, counts: Mapping[str, Count]) -> None:
        update = (
            sa.update(COUNTS)
            .where(COUNTS.c.key == sa.bindparam("row_key"))
            .values(
                tries=sa.bindparam("row_tries"),
                last_try=sa.bindparam("row_last"),
                held_until=sa.bindparam("row_held"),
            )
        )
        rows = [
            {"row_key": keys.key(k), "row_tries": c.tries, "row_last": c.last_try, "row_held": c.held_until}
            for k, c in sorted(counts.items(), key=lambda item: keys.key(item[0]))
        ]
        await conn.execute(update, rows)


async def _prune_counts(conn: AsyncConnection, now: float, limits: Limits) -> int:
    """Delete counts that would start over anyway, and addresses no longer known."""
    stale = sa.and_(
        COUNTS.c.kind != KNOWN, COUNTS.c.last_try < now - limits.forget_s, COUNTS.c.held_until < now
    )
    gone = sa.and_(COUNTS.c.kind == KNOWN, COUNTS.c.last_try < now - limits.known_s)
    result = await conn.execute(sa.delete(COUNTS).where(sa.or_(stale, gone)))
    return int(result.rowcount or 0)


async def _with_tables(
    settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]], *, create: bool = True
) -> T | None:
    """work(connection) in one transaction; without create, None if the tables are not there yet."""
    engine = open_engine(settings)
    try:
        async with engine.begin() as conn:
            if create:
                await conn.run_sync(SCHEMA.create_all, checkfirst=True)
            elif not await conn.run_sync(lambda sync: sa.inspect(sync).has_table(FAILURES.name)):
                return None
            return await work(conn)
    except (OSError, SQLAlchemyError) as exc:
        raise _unreachable(exc) from exc
    finally:
        await engine.dispose()


async def summary(
    settings: Settings, since: dt.date | None = None, until: dt.date | None = None
) -> SignInSummary:
    """Failed password checks from since to until (whole days, inclusive)."""
    if not exists(settings):
        return SignInSummary(0, 0, 0, 0)

    async def count(conn: AsyncConnection) -> SignInSummary:
        where = []
        if since is not None:
            where.append(FAILURES.c.at >= since.isoformat())
        if until is not None:
            where.append(FAILURES.c.at < (until + dt.timedelta(days=1)).isoformat())
        query = sa.select(
            sa.func.count(),
            sa.func.count().filter(FAILURES.c.wait_s > 0),
            sa.func.count(sa.distinct(FAILURES.c.account)),
            sa.func.count(sa.distinct(FAILURES.c.address)),
        ).where(*where)
        failures, waits, accounts, addresses = (await conn.execute(query)).one()
        return SignInSummary(failures, waits, accounts, addresses)

    return await _with_tables(settings, count, create=False) or SignInSummary(0, 0, 0, 0)


async def prune(settings: Settings, days: int, now: float) -> int:
    """Delete failures older than `days` days and counts no longer needed; the failures deleted."""
    cutoff = dt.datetime.fromtimestamp(now - days * 86400.0, dt.UTC).isoformat(timespec="seconds")

    async def delete(conn: AsyncConnection) -> int:
        await _prune_counts(conn, now, Limits.of(settings))
        result = await conn.execute(sa.delete(FAILURES).where(FAILURES.c.at < cutoff))
        return int(result.rowcount or 0)

    return await _with_tables(settings, delete) or 0


async def forget(settings: Settings, name: str) -> int:
    """Delete one account's failures and counts (its person's data); the failures deleted."""
    name = normalise_name(name)

    async def delete(conn: AsyncConnection) -> int:
        await conn.execute(sa.delete(COUNTS).where(COUNTS.c.account == Keys.of(name, "").account))
        result = await conn.execute(sa.delete(FAILURES).where(FAILURES.c.account == name))
        return int(result.rowcount or 0)

    return await _with_tables(settings, delete) or 0
