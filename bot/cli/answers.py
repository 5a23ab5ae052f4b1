"""`ask`: questions answered from the command line, one or a stream of JSON lines."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import Annotated

import typer

from bot.cli.common import emit, run_settings
from bot.errors import BotError
from bot.pipeline.render import plain


def _requests(question: str) -> Iterator[tuple[object, object, list[object], str | None]]:
    """(id, question, history, error) per request; '-' reads one request a line from stdin."""
    if question != "-":
        yield None, question, [], None
        return
    # Undecodable bytes must not end the run: they become U+FFFD and the line is answered.
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline=None)
    for number, line in enumerate(stdin, 1):
        line = line.rstrip("\n")
        if not line.lstrip().startswith("{"):
            yield number, line, [], None
            continue
        try:
            data = json.loads(line)
        except ValueError:
            yield number, line, [], 'Diese Zeile ist kein gültiges JSON. Erwartet: {"id": …, "question": …}.'
            continue
        if not isinstance(data, dict):
            yield number, line, [], "Erwartet wird ein JSON-Objekt mit „question“."
            continue
        history = data.get("history") or []
        yield data.get("id", number), data.get("question"), history if isinstance(history, list) else [], None


def ask(
    question: Annotated[str, typer.Argument(help="Die Frage; '-' liest eine Frage pro Zeile von stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Ein JSON-Objekt pro Frage.")] = False,
) -> None:
    """Beantwortet eine Frage mit Zitaten aus den freigegebenen Texten.

    Examples:

      python -m bot ask "Darf ich Klientendaten in ChatGPT kopieren?"

      python -m bot ask --json "Muss ich KI-Texte kennzeichnen?"

      echo '{"id": 1, "question": "Und beim Datenschutz?", "history": ["KI-Texte kennzeichnen?"]}' \\
        | python -m bot ask --json -
    """
    from bot.pipeline.assistant import Assistant, error_answer

    settings = run_settings()
    try:
        assistant: Assistant | None = Assistant.load(settings)
        load_error = None
    except BotError as exc:
        assistant, load_error = None, str(exc)
    failures = 0
    for request_id, text, history, problem in _requests(question):
        try:
            if problem:
                raise BotError(problem)
            if assistant is None:
                raise BotError(load_error or "")
            answer = assistant.ask(text, history).answer
        except BotError as exc:
            failures += 1
            answer = error_answer(text, str(exc), settings)
        if as_json:
            emit(answer.to_json(request_id))
        else:
            stream_err = answer.error is not None
            typer.echo(plain(answer), err=stream_err)
            if question == "-":
                typer.echo("")
    if failures and question != "-":
        raise typer.Exit(1)
