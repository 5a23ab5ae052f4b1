"""`user`, `retention`, `forget`: accounts and what the chat keeps of people."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail, run_settings
from bot.config import Settings
from bot.errors import BotError


def _users_file(settings: Settings) -> Path:
    if settings.users_file is None:
        fail("Bitte BOT_USERS_FILE setzen, z. B. BOT_USERS_FILE=data/konten.toml.", 2)
    return settings.users_file


def _read_password() -> str:
    """From the terminal without echo, or the first line of standard input (scripts, CI)."""
    import getpass

    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass("Passwort: ")
        if getpass.getpass("Passwort wiederholen: ") != first:
            fail("Die Passwörter stimmen nicht überein.", 2)
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def user_add(
    name: Annotated[str, typer.Argument(help="Kontoname, z. B. anna.schmidt")],
    rolle: Annotated[str, typer.Option(help="mitarbeitende oder referat")] = "mitarbeitende",
) -> None:
    """Legt ein Konto an oder setzt sein Passwort neu (Passwort von der Tastatur oder stdin).

    Examples:

      BOT_USERS_FILE=data/konten.toml python -m bot user add anna.schmidt --rolle referat
    """
    from bot.chat.accounts import REFERAT, STAFF, add_account

    if rolle not in (STAFF, REFERAT):
        fail(f"Unbekannte Rolle „{rolle}“: bitte {STAFF} oder {REFERAT}.", 2)
    path = _users_file(run_settings())
    try:
        replaced = add_account(path, name, _read_password(), rolle)  # type: ignore[arg-type]
    except BotError as exc:
        fail(str(exc), 2)
    typer.echo(f"Konto {name.strip().lower()} ({rolle}) {'geändert' if replaced else 'angelegt'} in {path}.")


def user_remove(name: Annotated[str, typer.Argument(help="Kontoname")]) -> None:
    """Löscht ein Konto (seine Gespräche löscht `python -m bot forget`)."""
    from bot.chat.accounts import remove_account

    path = _users_file(run_settings())
    try:
        removed = remove_account(path, name)
    except BotError as exc:
        fail(str(exc))
    if not removed:
        fail(f"Ein Konto {name} gibt es nicht.")
    typer.echo(f"Konto {name} gelöscht.")


def user_list() -> None:
    """Zeigt die Konten mit ihren Rollen (ohne Passwörter)."""
    from bot.chat.accounts import read_accounts

    try:
        accounts = read_accounts(_users_file(run_settings()))
    except BotError as exc:
        fail(str(exc))
    for name, account in sorted(accounts.items()):
        typer.echo(f"{name}\t{account.rolle}")


def retention(
    days: Annotated[int | None, typer.Option(help="Tage (Standard: BOT_RETENTION_DAYS).")] = None,
) -> None:
    """Löscht Gespräche, Rückmeldungen, Audit-Zeilen und Anmelde-Fehlversuche, die älter sind als die Frist.

    Examples:

      python -m bot retention

      python -m bot retention --days 30
    """
    import asyncio

    from bot.chat.history import apply_retention

    settings = run_settings()
    keep = days if days is not None else settings.retention_days
    if keep < 1:
        fail("Bitte mindestens 1 Tag angeben.", 2)
    try:
        pruned = asyncio.run(apply_retention(settings, keep))
    except BotError as exc:
        fail(str(exc))
    typer.echo(
        f"Älter als {keep} Tage gelöscht: {pruned.threads} Gespräche, "
        f"{pruned.feedback_lines} Rückmeldungen, {pruned.audit_lines} Audit-Zeilen, "
        f"{pruned.pick_lines} Auswahl-Zeilen, {pruned.signin_failures} Anmelde-Fehlversuche."
    )


def forget(name: Annotated[str, typer.Argument(help="Kontoname (Kennung), dessen Gespräche gehen")]) -> None:
    """Löscht alle gespeicherten Gespräche einer Person, ihren Eintrag, ihre Auswahl und Anmelde-Fehlversuche.

    Examples:

      python -m bot forget anna.schmidt
    """
    import asyncio

    from bot.chat.accounts import normalise_name
    from bot.chat.history import forget_user

    try:
        deleted = asyncio.run(forget_user(run_settings(), normalise_name(name)))
    except BotError as exc:
        fail(str(exc))
    typer.echo(f"{deleted} Gespräche von {normalise_name(name)} gelöscht.")
