"""`ask`: questions answered from the command line, one or a stream of JSON lines."""

from __future__ import annotations

import dataclasses
import io
import json
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

import typer

from bot.cli.common import emit, run_settings
from bot.config import Settings
from bot.errors import BotError
from bot.pipeline.answer import NONE_OF_THEM, Answer
from bot.pipeline.assistant import NOTHING_CHOSEN, Assistant, error_answer
from bot.pipeline.decide import AnswerKind
from bot.pipeline.render import plain

NOT_JSON = 'Diese Zeile ist kein gültiges JSON. Erwartet: {"id": …, "question": …}.'


@dataclass(frozen=True)
class Request:
    """One question to answer: from the argument, or one line of standard input."""

    id: object
    question: object
    history: list[object] = field(default_factory=list)
    choice: str | None = None  # a passage id picked from a question asked back, or "nichts"
    problem: str | None = None  # why the line cannot be answered


def _requests(question: str, choice: str | None) -> Iterator[Request]:
    """One request per question; '-' reads one request a line from stdin."""
    if question != "-":
        yield Request(None, question, choice=choice)
        return
    # Undecodable bytes must not end the run: they become U+FFFD and the line is answered.
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline=None)
    for number, line in enumerate(stdin, 1):
        line = line.rstrip("\n")
        if not line.lstrip().startswith("{"):
            yield Request(number, line)
            continue
        try:
            data = json.loads(line)
        except ValueError:
            yield Request(number, line, problem=NOT_JSON)
            continue
        if not isinstance(data, dict):
            yield Request(number, line, problem="Erwartet wird ein JSON-Objekt mit „question“.")
            continue
        history = data.get("history") or []
        picked = data.get("choice")
        yield Request(
            data.get("id", number),
            data.get("question"),
            history if isinstance(history, list) else [],
            picked if isinstance(picked, str) else None,
            None if picked is None or isinstance(picked, str) else "„choice“ muss die ID einer Stelle sein.",
        )


def ask(
    question: Annotated[str, typer.Argument(help="Die Frage; '-' liest eine Frage pro Zeile von stdin.")],
    as_json: Annotated[bool, typer.Option("--json", help="Ein JSON-Objekt pro Frage.")] = False,
    choice: Annotated[
        str | None,
        typer.Option(
            "--auswahl",
            help="Nach einer Rückfrage: die ID der gewählten Stelle, oder „nichts“ für „Nichts davon“.",
        ),
    ] = None,
) -> None:
    """Beantwortet eine Frage mit Zitaten aus den freigegebenen Texten.

    Ist unsicher, welche Regel gemeint ist, fragt der Assistent zurück und nennt die Stellen zur
    Auswahl; mit --auswahl ID (oder im Terminal mit ihrer Nummer) antwortet er aus der gewählten.

    Examples:

      python -m bot ask "Darf ich Klientendaten in ChatGPT kopieren?"

      python -m bot ask --json "Muss ich KI-Texte kennzeichnen?"

      python -m bot ask --auswahl "grundsaetze-ki#transparenz-1" "Muss ich das angeben?"

      echo '{"id": 1, "question": "Und beim Datenschutz?", "history": ["KI-Texte kennzeichnen?"]}' \\
        | python -m bot ask --json -
    """
    settings = run_settings()
    try:
        assistant: Assistant | None = Assistant.load(settings)
        load_error = None
    except BotError as exc:
        assistant, load_error = None, str(exc)
    failures = 0
    for request in _requests(question, choice):
        answer = _answer(assistant, request, load_error, settings)
        failures += answer.error is not None
        if as_json:
            emit(answer.to_json(request.id))
            continue
        typer.echo(plain(answer), err=answer.error is not None)
        if answer.kind is AnswerKind.CHOICE and question != "-":
            picked = _pick_in_terminal(answer)
            if picked is not None:
                again = _answer(assistant, dataclasses.replace(request, choice=picked), load_error, settings)
                typer.echo("\n" + plain(again))
            else:
                typer.echo("\n" + how_to_pick(answer))
        if question == "-":
            typer.echo("")
    if failures and question != "-":
        raise typer.Exit(1)


def _answer(
    assistant: Assistant | None, request: Request, load_error: str | None, settings: Settings
) -> Answer:
    """The answer to one request, or its error as an answer (which discloses the AI too)."""
    try:
        if request.problem:
            raise BotError(request.problem)
        if assistant is None:
            raise BotError(load_error or "")
        return assistant.ask(request.question, request.history, choice=request.choice).answer
    except BotError as exc:
        return error_answer(request.question, str(exc), settings)


def how_to_pick(answer: Answer) -> str:
    """How to answer a question asked back on the command line."""
    asked = shlex.quote(answer.question)
    lines = ["So wählen Sie eine Stelle:"]
    for source in answer.choices:
        lines.append(f"  [{source.n}] python -m bot ask --auswahl {shlex.quote(source.passage.id)} {asked}")
    lines.append(f"  {NONE_OF_THEM}: python -m bot ask --auswahl {NOTHING_CHOSEN} {asked}")
    return "\n".join(lines)


def _pick_in_terminal(answer: Answer) -> str | None:
    """In an interactive terminal: the number typed for a candidate, n for none; else None."""
    if not sys.stdin.isatty():
        return None
    numbers = {str(s.n): s.passage.id for s in answer.choices}
    typed = (
        typer.prompt(
            f"Ihre Wahl ({', '.join(numbers)}; n = {NONE_OF_THEM}; Enter = keine)",
            default="",
            show_default=False,
        )
        .strip()
        .lower()
    )
    if typed in ("n", "nichts"):
        return NOTHING_CHOSEN
    return numbers.get(typed)
