"""What every command shares: the one settings object of the run, failing with one sentence, JSON lines."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Mapping
from typing import NoReturn

import typer

from bot.config import Settings


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command with one sentence on standard error and this exit code."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


@functools.cache
def run_settings() -> Settings:
    """The one settings object of this run, built on first use; an invalid BOT_ variable is one
    German sentence and exit code 2, in every command."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        wrong = ", ".join(f"BOT_{str(e['loc'][0]).upper()}" for e in exc.errors() if e.get("loc"))
        fail(
            f"Ungültige Einstellung {wrong or 'BOT_…'}: bitte den Wert prüfen (siehe README, Einstellungen).",
            2,
        )
        raise  # unreachable: fail exits


def emit(data: Mapping[str, object]) -> None:
    """One JSON line on standard output, flushed (a caller may read line by line)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()
