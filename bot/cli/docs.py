"""`docs`: the parts of README.md and docs/architecture.md that list what code defines (settings,
commands, modules) are generated from the code, so they cannot drift; `--check` fails when they did.

A generated block stands between `<!-- generiert: NAME -->` and `<!-- /generiert -->`."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.config import Settings

PACKAGE = Path(__file__).resolve().parent.parent
REPO = PACKAGE.parent
BLOCK = re.compile(r"(<!-- generiert: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /generiert -->)", re.DOTALL)
# Which generated blocks each document holds.
DOCUMENTS = {
    "README.md": ("einstellungen", "befehle"),
    "docs/architecture.md": ("module",),
}


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined or field.default is None:
        return "–"
    value = field.default
    if isinstance(value, list):
        value = ",".join(map(str, value))
    text = str(value)
    if len(text) > 40:  # the disclosures: too long for a table cell, the description says what they are
        return "(Text, siehe `bot/config.py`)"
    return f"`{text}`" if text else "(leer)"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_table() -> str:
    """Every setting with its environment variable, default and description."""
    rows = ["| Variable | Standard | Bedeutung |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `BOT_{name.upper()}` | {_cell(_default(field))} | {_cell(field.description or '')} |")
    return "\n".join(rows)


def commands_table() -> str:
    """Every command of `python -m bot` with the first line of its help."""
    from typer.main import get_command

    from bot.cli import build_app

    group = get_command(build_app())
    rows = ["| Befehl | Zweck |", "|---|---|"]
    context = typer.Context(group)
    for name in group.list_commands(context):  # type: ignore[attr-defined]
        command = group.get_command(context, name)  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        for full, sub in (
            [(f"{name} {s}", c) for s, c in subcommands.items()] if subcommands else [(name, command)]
        ):
            summary = (sub.help or "").strip().splitlines()[0] if sub.help else ""
            rows.append(f"| `python -m bot {full}` | {_cell(summary)} |")
    return "\n".join(rows)


def modules_table() -> str:
    """Every module of the package with the first line of its docstring, layer by layer."""
    rows = ["| Modul | Aufgabe |", "|---|---|"]
    for path in sorted(PACKAGE.rglob("*.py"), key=lambda p: (len(p.relative_to(PACKAGE).parts), str(p))):
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        summary = docstring.split("\n\n")[0]
        rows.append(f"| `{path.relative_to(REPO)}` | {_cell(summary)} |")
    return "\n".join(rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "einstellungen": settings_table,
    "befehle": commands_table,
    "module": modules_table,
}


def refreshed(text: str) -> str:
    """The document with every generated block made anew."""

    def block(match: re.Match[str]) -> str:
        return f"{match.group(1)}{GENERATORS[match.group('name')]()}\n{match.group(4)}"

    return BLOCK.sub(block, text)


def stale_documents(root: Path = REPO) -> list[str]:
    """The documents whose generated blocks differ from the code (or are missing)."""
    stale = []
    for name, blocks in DOCUMENTS.items():
        text = (root / name).read_text(encoding="utf-8")
        present = {m.group("name") for m in BLOCK.finditer(text)}
        if present != set(blocks) or refreshed(text) != text:
            stale.append(name)
    return stale


def docs(
    check: Annotated[
        bool, typer.Option("--check", help="Nur prüfen; Exit 1, wenn etwas veraltet ist.")
    ] = False,
) -> None:
    """Erzeugt die Listen in README.md und docs/architecture.md (Einstellungen, Befehle, Module) aus dem Code.

    Examples:

      python -m bot docs

      python -m bot docs --check
    """
    stale = stale_documents()
    if check:
        if stale:
            typer.echo(
                f"Veraltet: {', '.join(stale)}. Bitte `python -m bot docs` ausführen und übernehmen.",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo("Die erzeugten Listen sind aktuell.")
        return
    for name in stale:
        path = REPO / name
        path.write_text(refreshed(path.read_text(encoding="utf-8")), encoding="utf-8")
        typer.echo(f"Erneuert: {name}")
