"""Sign-in under attack, measured on a running chat: wrong passwords in a row, and a flood of them.

`guess` tries wrong passwords for one account from one address, one after the other, as a
person guessing would, then signs in with the right password from another address (the owner)
and from the guessing address. `flood` sends wrong sign-ins from many loopback addresses at
once (127.0.0.2, 127.0.0.3, …: Linux routes all of 127/8 to this machine), each for a name of
its own, so that every try reaches a password check unless the chat refuses it first.
`python -m bot loadtest --login-flood 50` runs the flood beside signed-in sessions and shows
what it does to their answers.

Examples:
    BOT_LOADTEST_PASSWORD=… python -m bot loginload guess --user anna.schmidt --tries 40
    python -m bot loginload flood --parallel 50 --duration 30
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import secrets
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import aiohttp

from bot.ops.client import PASSWORD_ENV, SIGN_IN_TIMEOUT, Credentials, command_parser, credentials_from_env
from bot.ops.measure import ms_cell, percentile, rounded

ATTACKER = "127.0.0.2"
OWNER = "127.0.0.200"


@dataclass(frozen=True)
class Try:
    """One sign-in: the HTTP status, how long it took and what the chat said."""

    status: int
    ms: float
    detail: str


@dataclass(frozen=True)
class GuessResult:
    """Wrong passwords in a row for one account, and what the right one got afterwards."""

    tries: int
    seconds: float
    statuses: dict[int, int]
    first_refused: int | None
    refusal: str | None
    owner_status: int
    owner_detail: str
    same_address_status: int
    same_address_detail: str


@dataclass(frozen=True)
class FloodResult:
    """Parallel wrong sign-ins: how many, how they were answered, how long each took."""

    parallel: int
    seconds: float
    attempts: int
    statuses: dict[int, int]
    p50_ms: float | None
    p95_ms: float | None
    errors: int

    @property
    def attempts_per_s(self) -> float:
        """Sign-in attempts answered per second."""
        return self.attempts / self.seconds if self.seconds else 0.0


def from_address(source: str | None) -> aiohttp.ClientSession:
    """An HTTP client whose connections leave from this local address (None: the default)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0) if source else None, limit=0)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


async def try_sign_in(
    http: aiohttp.ClientSession, url: str, user: str, password: str, headers: dict[str, str] | None = None
) -> Try:
    """POST the login form as Chainlit's page does; the status and the chat's `detail`."""
    start = time.perf_counter()
    form = {"username": user, "password": password}
    login = f"{url.rstrip('/')}/login"
    async with http.post(login, data=form, headers=headers, timeout=SIGN_IN_TIMEOUT) as response:
        body = await response.text()
    ms = (time.perf_counter() - start) * 1000
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        detail = body[:200]
    return Try(response.status, ms, str(detail))


async def guess_async(
    url: str, account: Credentials, tries: int, attacker: str = ATTACKER, owner: str = OWNER
) -> GuessResult:
    """`tries` wrong passwords from attacker, then the right one from owner, then from attacker."""
    results: list[Try] = []
    start = time.monotonic()
    async with from_address(attacker) as http:
        for n in range(tries):
            results.append(await try_sign_in(http, url, account.user, f"falsch-{n}-{secrets.token_hex(4)}"))
        seconds = time.monotonic() - start
        async with from_address(owner) as owner_http:
            by_owner = await try_sign_in(owner_http, url, account.user, account.password)
        same = await try_sign_in(http, url, account.user, account.password)
    refused = next((i for i, r in enumerate(results, 1) if r.status != 401), None)
    return GuessResult(
        tries=tries,
        seconds=round(seconds, 2),
        statuses=dict(sorted(Counter(r.status for r in results).items())),
        first_refused=refused,
        refusal=results[refused - 1].detail if refused else None,
        owner_status=by_owner.status,
        owner_detail=by_owner.detail,
        same_address_status=same.status,
        same_address_detail=same.detail,
    )


def flood_addresses(count: int, first: str = ATTACKER) -> list[str]:
    """`count` consecutive loopback addresses from first on."""
    start = ipaddress.ip_address(first)
    addresses = [str(start + i) for i in range(count)]
    if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise ValueError(f"{count} Adressen ab {first} liegen nicht alle auf diesem Rechner (127.0.0.0/8).")
    return addresses


async def flood_async(
    url: str, parallel: int, duration_s: float, first: str = ATTACKER, user: str | None = None
) -> FloodResult:
    """`parallel` loops, each from its own address, send wrong sign-ins until duration_s is over.

    Each try names an account of its own (or user, if given) with a random password.
    """
    if parallel < 1 or duration_s <= 0:
        raise ValueError("parallel ≥ 1 und duration_s > 0 sind nötig")
    addresses = flood_addresses(parallel, first)
    deadline = time.monotonic() + duration_s
    tries: list[Try] = []
    errors = 0

    async def loop(number: int, address: str) -> None:
        nonlocal errors
        async with from_address(address) as http:
            n = 0
            while time.monotonic() < deadline:
                name = user or f"flut-{number}-{n}"
                try:
                    tries.append(await try_sign_in(http, url, name, secrets.token_urlsafe(12)))
                except (OSError, TimeoutError, aiohttp.ClientError):
                    errors += 1
                    await asyncio.sleep(0.5)
                n += 1

    start = time.monotonic()
    await asyncio.gather(*(loop(i, a) for i, a in enumerate(addresses)))
    latencies = [t.ms for t in tries]
    return FloodResult(
        parallel=parallel,
        seconds=round(time.monotonic() - start, 2),
        attempts=len(tries),
        statuses=dict(sorted(Counter(t.status for t in tries).items())),
        p50_ms=rounded(percentile(latencies, 50)),
        p95_ms=rounded(percentile(latencies, 95)),
        errors=errors,
    )


def _statuses(statuses: dict[int, int]) -> str:
    return ", ".join(f"{code}: {n}" for code, n in statuses.items()) or "–"


def _answer(status: int, detail: str) -> str:
    return f"{status} {detail}".strip()


def guess_table(result: GuessResult) -> str:
    """The guessing run as a small Markdown table."""
    rows = [
        ("Falsche Passwörter", str(result.tries)),
        ("Dauer (s)", f"{result.seconds:.1f}"),
        ("Antworten", _statuses(result.statuses)),
        ("Erste Abweisung bei Versuch", str(result.first_refused or "keine")),
        ("Abweisung", result.refusal or "–"),
        ("Richtiges Passwort, andere Adresse", _answer(result.owner_status, result.owner_detail)),
        ("Richtiges Passwort, Rate-Adresse", _answer(result.same_address_status, result.same_address_detail)),
    ]
    return "\n".join(["| Kennzahl | Wert |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def flood_table(result: FloodResult) -> str:
    """The flood as a small Markdown table."""
    rows = [
        ("Parallele Anmeldungen", str(result.parallel)),
        ("Dauer (s)", f"{result.seconds:.1f}"),
        ("Versuche", str(result.attempts)),
        ("Versuche/s", f"{result.attempts_per_s:.1f}"),
        ("Antworten", _statuses(result.statuses)),
        ("Anmeldung p50 (ms)", ms_cell(result.p50_ms)),
        ("Anmeldung p95 (ms)", ms_cell(result.p95_ms)),
        ("Verbindungsfehler", str(result.errors)),
    ]
    return "\n".join(["| Kennzahl | Wert |", "|---|---:|", *(f"| {k} | {v} |" for k, v in rows)])


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("loginload", "Falsche Anmeldungen gegen den laufenden Chat messen.", __doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="Adresse des Chats")
    parser.add_argument("--json", action="store_true", help="Ergebnis als eine JSON-Zeile")
    commands = parser.add_subparsers(dest="command", required=True)
    guess = commands.add_parser("guess", help="falsche Passwörter nacheinander für ein Konto")
    guess.add_argument("--user", required=True, help=f"Konto (richtiges Passwort aus {PASSWORD_ENV})")
    guess.add_argument("--tries", type=int, default=40, help="Anzahl falscher Passwörter")
    guess.add_argument("--attacker", default=ATTACKER, help="Absenderadresse der Versuche (127.x.x.x)")
    guess.add_argument("--owner", default=OWNER, help="Absenderadresse der Inhaberin (127.x.x.x)")
    flood = commands.add_parser("flood", help="viele falsche Anmeldungen gleichzeitig")
    flood.add_argument("--parallel", type=int, default=50, help="gleichzeitige Anmeldungen")
    flood.add_argument("--duration", type=float, default=30.0, help="Dauer in Sekunden")
    flood.add_argument("--first", default=ATTACKER, help="erste Absenderadresse (127.x.x.x)")
    flood.add_argument("--user", help="alle Versuche für dieses Konto (sonst je Versuch ein neuer Name)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run one measurement, print its table (or JSON)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "guess":
            credentials = credentials_from_env(args.user)
            assert credentials is not None
            guessed = asyncio.run(guess_async(args.url, credentials, args.tries, args.attacker, args.owner))
            result: GuessResult | FloodResult = guessed
            text = guess_table(guessed)
        else:
            result = asyncio.run(flood_async(args.url, args.parallel, args.duration, args.first, args.user))
            text = flood_table(result)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (OSError, aiohttp.ClientError) as exc:
        print(f"Der Chat ist nicht erreichbar: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(result), ensure_ascii=False) if args.json else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
