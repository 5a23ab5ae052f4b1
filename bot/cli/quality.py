"""`eval`, `tune`, `report`, `bench`: how well and how fast the assistant answers, and what it could not."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import emit, fail, run_settings
from bot.config import Settings
from bot.errors import BotError

if TYPE_CHECKING:
    from bot.ops.evaluate import Outcome

GOLD_HELP = (
    "Gold-Dateien (JSON Lines); DATEI@ORDNER misst Fragen zu Dokumenten, die dem Korpus aus ORDNER "
    "hinzugefügt werden. Standard: tests/gold/dev.jsonl."
)


def _scored(specs: list[str] | None, settings: Settings) -> list[Outcome]:
    """Outcomes of every gold set, each against its corpus; errors as one sentence."""
    import tempfile

    from bot.ops.evaluate import GoldSet, run_sets
    from bot.pipeline.assistant import Assistant

    sets = [GoldSet.parse(s) for s in specs or ["tests/gold/dev.jsonl"]]
    try:
        with tempfile.TemporaryDirectory(prefix="bot-eval-") as workdir:
            # Asked as staff ask, but never written to the audit log.
            quiet = settings.model_copy(update={"audit": False})
            return run_sets(Assistant.load(quiet), sets, Path(workdir))
    except OSError as exc:
        fail(f"Gold-Datei oder Ordner nicht lesbar: {exc.filename}")
    except BotError as exc:
        fail(str(exc))


def evaluate(
    gold: Annotated[list[str] | None, typer.Argument(help=GOLD_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ergebnis als eine JSON-Zeile.")] = False,
    misses: Annotated[bool, typer.Option("--misses", help="Fehlgriffe einzeln auflisten.")] = False,
) -> None:
    """Misst die Trefferqualität auf Gold-Fragen: hit@1, hit@3, MRR@5, beantwortet, abgelehnt.

    Examples:

      python -m bot eval

      python -m bot eval tests/gold/dev.jsonl tests/gold/holdout.jsonl --json

      python -m bot eval tests/gold/synthetic-tune.jsonl@tests/synthetic/tune
    """
    from bot.ops.evaluate import format_table, summarise

    outcomes = _scored(gold, run_settings())
    summary = summarise(outcomes)
    if as_json:
        emit(summary)
    else:
        typer.echo(format_table(summary))
    if misses:
        for o in outcomes:
            wrong = (o.gold.expected and not o.right_at_once) or (not o.gold.expected and o.answered)
            if wrong:
                typer.echo(
                    f"{o.gold.id} [{o.gold.kind}] rank={o.rank} {o.kind.value} conf={o.confidence:.2f} "
                    f"right={o.right:.2f} offered_right={o.offered_right} top={o.top_passage} "
                    f":: {o.gold.question}",
                    err=True,
                )


def tune(
    gold: Annotated[list[str], typer.Argument(help=GOLD_HELP)],
    write: Annotated[
        bool, typer.Option("--schreiben", help="Die Entscheidungsdatei (BOT_DECISION_FILE) ersetzen.")
    ] = False,
) -> None:
    """Passt die Entscheidung (antworten, zurückfragen, ablehnen) an Gold-Fragen an (nur Tuning-Sets!).

    Examples:

      python -m bot tune tests/gold/dev.jsonl tests/gold/holdout.jsonl tests/gold/extra.jsonl \\
        tests/gold/synthetic-tune.jsonl@tests/synthetic/tune --schreiben
    """
    from bot.ops.tuning import fit_calibration, format_calibration
    from bot.pipeline.calibration import PACKAGED

    settings = run_settings()
    calibration = fit_calibration(_scored(gold, settings), gold)
    typer.echo(format_calibration(calibration))
    if write:
        target = settings.decision_file or PACKAGED
        calibration.write(target)
        typer.echo(
            f"Geschrieben: {target}. Bitte `python -m bot eval` auf allen Gold-Sets ausführen.", err=True
        )


def lernschleife(
    gold: Annotated[list[str], typer.Argument(help=GOLD_HELP)],
) -> None:
    """Misst die Lernschleife: Auswahl nach Rückfragen → Vorschläge → übernommen → neu bewertet (Tuning-Sets).

    Die eine Hälfte der Fragen wählt bei Rückfragen die richtige Stelle; die unmarkierten Vorschläge
    daraus werden übernommen, und die andere Hälfte wird vorher und nachher bewertet. Alles auf
    einer Kopie des Korpus.

    Examples:

      python -m bot lernschleife tests/gold/synthetic-tune.jsonl@tests/synthetic/tune
    """
    from bot.ops.evaluate import GoldSet
    from bot.ops.pickloop import format_loop, run_loop
    from bot.pipeline.assistant import Assistant

    settings = run_settings().model_copy(update={"audit": False})
    try:
        base = Assistant.load(settings)
        for spec in gold:
            typer.echo(format_loop(spec, run_loop(base, GoldSet.parse(spec))))
    except OSError as exc:
        fail(f"Gold-Datei oder Ordner nicht lesbar: {exc.filename}")
    except BotError as exc:
        fail(str(exc))


def report(
    since: Annotated[str | None, typer.Option(help="Ab Datum (JJJJ-MM-TT).")] = None,
    until: Annotated[str | None, typer.Option(help="Bis Datum (JJJJ-MM-TT).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Bericht als eine JSON-Zeile.")] = False,
) -> None:
    """Wissenslücken: abgelehnte Fragen, negative Rückmeldungen, (nie) zitierte Dokumente, Fehlanmeldungen.

    Examples:

      python -m bot report

      python -m bot report --since 2026-11-01 --json
    """
    import datetime as dt

    from bot.chat.report import format_report, gap_report

    settings = run_settings()
    try:
        start = dt.date.fromisoformat(since) if since else None
        end = dt.date.fromisoformat(until) if until else None
    except ValueError:
        fail("Bitte Datumsangaben als JJJJ-MM-TT schreiben, z. B. 2026-11-01.", 2)
    try:
        result = gap_report(settings, start, end)
    except BotError as exc:
        fail(str(exc))
    if as_json:
        emit(result.to_json())
    else:
        typer.echo(format_report(result))


def bench(
    sizes: Annotated[
        str, typer.Option(help="Größen generierter Korpora, kommagetrennt (0 = keine).")
    ] = "1000",
    repeats: Annotated[int, typer.Option(help="Wiederholungen je Testfrage.")] = 20,
    output: Annotated[Path, typer.Option(help="JSON-Datei für die Ergebnisse.")] = Path("bench-results.json"),
    plot: Annotated[Path | None, typer.Option(help="SVG-Diagramm der Antwortzeiten.")] = None,
    gold: Annotated[
        str | None,
        typer.Option(
            help="Gold-Set DATEI@ORDNER: seine Dokumente (und den Korpus) in jedes generierte Korpus "
            "mischen und seine Fragen dort messen."
        ),
    ] = None,
    chroma_url: Annotated[
        str | None,
        typer.Option("--chroma-url", help="Vektoren im Chroma-Server (chroma run) statt eingebettet."),
    ] = None,
    real: Annotated[bool, typer.Option("--real/--no-real", help="Auch den echten Korpus messen.")] = True,
    workdir: Annotated[
        Path | None, typer.Option(help="Arbeitsordner behalten (neu anzulegen) statt eines temporären.")
    ] = None,
) -> None:
    """Misst Antwortzeiten, Start, Indexdurchsatz, Neu-Indexierung und Speicher; schreibt Tabelle und JSON.

    Examples:

      python -m bot bench --sizes 0

      python -m bot bench --sizes 1500,10000 --output docs/bench.json --plot docs/bench.svg

      python -m bot bench --sizes 10000 --no-real --gold tests/gold/synthetic-tune.jsonl@tests/synthetic/tune

      python -m bot bench --sizes 1500 --chroma-url http://127.0.0.1:8001
    """
    from bot.ops.bench import benchmark, latency_svg, machine
    from bot.ops.evaluate import GoldSet

    settings = run_settings()
    size_list = [int(s) for s in sizes.split(",") if s.strip() and int(s) > 0]
    gold_set = GoldSet.parse(gold) if gold else None
    try:
        results = benchmark(
            settings.corpus_dir,
            size_list,
            repeats,
            gold=gold_set,
            chroma_url=chroma_url,
            real=real,
            workdir=workdir,
        )
    except BotError as exc:
        fail(str(exc))
    rows = [dataclasses.asdict(r) for r in results]
    if not rows:
        fail("Nichts zu messen: --no-real und keine Größe.")
    columns = list(rows[0])
    typer.echo("  ".join(f"{c:>16}" for c in columns))
    for row in rows:
        typer.echo("  ".join(f"{row[c]!s:>16}" for c in columns))
    output.write_text(
        json.dumps({"machine": machine(), "results": rows}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    typer.echo(f"Ergebnisse in {output}", err=True)
    if plot is not None:
        info = machine()
        title = f"Antwortzeiten, {info['cpu_count']} Kerne, {str(info['date'])[:10]}"
        plot.write_text(latency_svg(rows, title), encoding="utf-8")
        typer.echo(f"Diagramm in {plot}", err=True)
