"""`python -m bot …`: the one command line. The only package that knows about Typer.

Commands are plain functions in the modules beside this one; `build_app` registers them, so
importing a module registers nothing. Library errors reach the user as one German sentence."""

from __future__ import annotations

import sys

import typer

from bot.errors import BotError


def build_app() -> typer.Typer:
    """The command line with every command registered."""
    from bot.cli import answers, corpus, curation, docs, operations, people, quality

    app = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        rich_markup_mode=None,
        help="ASB Richtlinien-Assistent: beantwortet Fragen aus den freigegebenen Richtlinien.",
    )
    app.command()(corpus.index)
    app.command()(answers.ask)
    app.command()(corpus.check)
    app.command(name="import")(corpus.import_files)
    app.command()(curation.fragen)
    app.command(name="eval")(quality.evaluate)
    app.command()(quality.tune)
    app.command()(quality.lernschleife)
    app.command()(quality.report)
    app.command()(quality.bench)
    users = typer.Typer(
        no_args_is_help=True, rich_markup_mode=None, help="Passwort-Konten in BOT_USERS_FILE verwalten."
    )
    users.command("add")(people.user_add)
    users.command("remove")(people.user_remove)
    users.command("list")(people.user_list)
    app.add_typer(users, name="user")
    app.command()(people.retention)
    app.command()(people.forget)
    app.command()(docs.docs)
    for launcher in (operations.workers, operations.loadtest, operations.loginload):
        app.command(context_settings=operations.PASS_THROUGH, add_help_option=False)(launcher)
    return app


def main() -> None:
    """Run the CLI; library errors never reach the user as tracebacks."""
    try:
        build_app()()
    except BotError as exc:
        typer.echo(str(exc), err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("Abgebrochen.", err=True)
        sys.exit(130)
