"""`workers`, `loadtest`, `loginload`: run the chat on several processes and measure it under load.

Their options are the launchers' own (argparse in bot.ops), passed through unchanged, so
`python -m bot loadtest --help` shows them."""

from __future__ import annotations

import typer

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def workers(ctx: typer.Context) -> None:
    """Mehrere Chainlit-Worker hinter nginx auf 127.0.0.1 starten (Optionen: --help)."""
    from bot.cli.common import run_settings
    from bot.ops.workers import main

    run_settings()  # the workers inherit the BOT_ variables: an invalid one stops here, in one sentence
    raise typer.Exit(main(ctx.args))


def loadtest(ctx: typer.Context) -> None:
    """Lasttest des laufenden Chats über Chainlits socket.io-Verbindung (Optionen: --help)."""
    from bot.ops.loadtest import main

    raise typer.Exit(main(ctx.args))


def loginload(ctx: typer.Context) -> None:
    """Falsche Anmeldungen gegen den laufenden Chat messen (Optionen: --help)."""
    from bot.ops.loginload import main

    raise typer.Exit(main(ctx.args))
