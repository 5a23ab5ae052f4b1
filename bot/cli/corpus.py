"""`index`, `check` and `import`: the corpus and its index."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import emit, fail, run_settings
from bot.errors import BotError


def index(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Index von Grund auf neu bauen.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Zusammenfassung als eine JSON-Zeile.")] = False,
) -> None:
    """Baut den Index aus den freigegebenen Dokumenten unter corpus/ (unveränderte werden übersprungen).

    Examples:

      python -m bot index

      python -m bot index --rebuild --json
    """
    from tqdm import tqdm

    from bot.pipeline.index import build_index

    settings = run_settings()
    bar: tqdm[Any] | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="Texte einbetten", unit="Text", disable=as_json, file=sys.stderr)
        bar.update(done - bar.n)

    try:
        report = build_index(settings, rebuild=rebuild, progress=progress)
    except BotError as exc:
        fail(str(exc))
    finally:
        if bar is not None:
            bar.close()
    for problem in report.problems:
        typer.echo(f"Übersprungen: {problem}", err=True)
    summary = {
        "added": report.added,
        "updated": report.updated,
        "deleted": report.deleted,
        "unchanged": report.unchanged,
        "passages": report.passages,
        "problems": len(report.problems),
        "seconds": round(report.seconds, 3),
        "vectors": report.vectors,
        "embedded": report.embedded,
        "reused": report.reused,
        "texts_per_s": round(report.texts_per_s, 1),
    }
    if as_json:
        emit(summary)
    elif report.skipped_build:
        typer.echo(
            f"Index ist aktuell: {report.unchanged} Dokumente, {report.passages} Abschnitte (nichts zu tun)."
        )
    else:
        typer.echo(
            f"Index gebaut in {report.seconds:.1f} s: {report.added} neu, {report.updated} geändert, "
            f"{report.deleted} entfernt, {report.unchanged} unverändert; {report.passages} Abschnitte. "
            f"{report.embedded} Texte eingebettet ({report.texts_per_s:.1f} je Sekunde), "
            f"{report.reused} schon im Index."
        )


def check(
    quality: Annotated[
        bool, typer.Option("--quality", help="Selbsttest: finden die Beispielfragen ihren Abschnitt?")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Selbsttest als eine JSON-Zeile.")] = False,
    minimum: Annotated[int, typer.Option("--mindestens", help="Weniger Beispielfragen melden.")] = 10,
) -> None:
    """Prüft die Dokumente unter corpus/ und meldet jedes Problem als `datei.md:zeile: Meldung`.

    Geprüft werden Kopfdaten (Pflichtfelder, unbekannte Felder, Status, Daten), doppelte Titel,
    leere Abschnitte und personenbezogene Daten im Text. Exit-Code 1 bei Fehlern.
    Mit --quality: jede Beispielfrage ohne die Fragen ihres Abschnitts stellen und melden,
    wie viele ihren Abschnitt zuerst finden und welche Abschnitte sich verwechseln.

    Examples:

      python -m bot check

      python -m bot check --quality

      python -m bot check --quality --json
    """
    from bot.pipeline.corpus import check_corpus

    if quality or as_json:
        from bot.cli.curation import quality_check

        quality_check(minimum, as_json)
        return
    settings = run_settings()
    try:
        errors, warnings, count = check_corpus(settings.corpus_dir)
    except BotError as exc:
        fail(str(exc))
    for message in errors:
        typer.echo(message)
    for message in warnings:
        typer.echo(f"{message} (Hinweis)")
    typer.echo(f"{count} Dokumente geprüft: {len(errors)} Fehler, {len(warnings)} Hinweise.", err=True)
    if errors:
        raise typer.Exit(1)


def import_files(
    files: Annotated[list[Path], typer.Argument(help="PDF-, DOCX-, HTML- oder TXT-Dateien.")],
    as_json: Annotated[bool, typer.Option("--json", help="Eine JSON-Zeile pro Datei.")] = False,
) -> None:
    """Wandelt Dateien in Markdown-Entwürfe unter corpus/ um (status: entwurf, Kopfdaten vorausgefüllt).

    Ein Entwurf wird erst nach Prüfung und „status: freigegeben“ verwendet. Vorhandene Dateien
    werden nie überschrieben.

    Examples:

      python -m bot import richtlinie.pdf merkblatt.docx

      python -m bot import seite.html --json
    """
    from tqdm import tqdm

    from bot.curation.importer import import_file

    settings = run_settings()
    failures = 0
    for path in tqdm(
        files, desc="Importieren", unit="Datei", disable=as_json or len(files) < 2, file=sys.stderr
    ):
        try:
            result = import_file(path, settings.corpus_dir)
        except (BotError, OSError) as exc:
            failures += 1
            message = (
                str(exc) if isinstance(exc, BotError) else f"{path.name}: nicht lesbar ({exc.strerror})."
            )
            if as_json:
                emit({"file": str(path), "error": message})
            else:
                typer.echo(message, err=True)
            continue
        if as_json:
            emit(
                {
                    "file": str(path),
                    "draft": str(result.target),
                    "title": result.title,
                    "headings": result.headings,
                    "characters": result.characters,
                }
            )
        else:
            typer.echo(
                f"{path.name} → {result.target} "
                f"({result.characters} Zeichen, {result.headings} Überschriften)"
            )
    typer.echo(
        f"{len(files) - failures} Entwürfe angelegt, {failures} Fehler. Bitte prüfen, dann freigeben.",
        err=True,
    )
    if failures:
        raise typer.Exit(1)
