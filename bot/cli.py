"""`python -m bot …`: index, ask, check, eval. The only module that knows about Typer."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from bot.config import Settings
from bot.errors import BotError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="ASB Richtlinien-Assistent: beantwortet Fragen aus den freigegebenen Richtlinien.",
)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    """The one settings object of this run; an invalid BOT_ variable is one German sentence."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        wrong = ", ".join(f"BOT_{str(e['loc'][0]).upper()}" for e in exc.errors() if e.get("loc"))
        _fail(
            f"Ungültige Einstellung {wrong or 'BOT_…'}: bitte den Wert prüfen (siehe README, Einstellungen).",
            2,
        )
        raise  # unreachable: _fail exits


def _emit(data: dict) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@app.command()
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

    from bot.index import build_index

    settings = _settings()
    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=total, desc="Abschnitte einbetten", unit="Text", disable=as_json, file=sys.stderr
            )
        bar.update(done - bar.n)

    try:
        report = build_index(settings, rebuild=rebuild, progress=progress)
    except BotError as exc:
        _fail(str(exc))
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
    }
    if as_json:
        _emit(summary)
    elif report.skipped_build:
        typer.echo(
            f"Index ist aktuell: {report.unchanged} Dokumente, {report.passages} Abschnitte (nichts zu tun)."
        )
    else:
        typer.echo(
            f"Index gebaut in {report.seconds:.1f} s: {report.added} neu, {report.updated} geändert, "
            f"{report.deleted} entfernt, {report.unchanged} unverändert; {report.passages} Abschnitte."
        )


def _requests(question: str) -> Iterator[tuple[object, object, list, str | None]]:
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


def _format_text(answer) -> str:
    parts = [answer.privacy_warning, ""] if answer.privacy_warning else []
    parts.append(answer.text)
    if answer.notes:
        parts += ["", *answer.notes]
    for heading, sources in answer.source_lists():
        parts += ["", f"{heading}:"]
        parts += [f"[{s.n}] {s.listed}" for s in sources]
    parts += ["", answer.disclosure]
    return "\n".join(parts)


@app.command()
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
    from bot.assistant import Assistant, error_answer

    settings = _settings()
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
            answer = assistant.ask(text, history)
        except BotError as exc:
            failures += 1
            answer = error_answer(text, str(exc), settings)
        if as_json:
            _emit(answer.to_json(request_id))
        else:
            stream_err = answer.error is not None
            typer.echo(_format_text(answer), err=stream_err)
            if question == "-":
                typer.echo("")
    if failures and question != "-":
        raise typer.Exit(1)


@app.command()
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
    from bot.corpus import check_corpus

    settings = _settings()
    if quality or as_json:
        from bot.selfcheck import format_selfcheck, run_selfcheck

        try:
            result = run_selfcheck(settings, min_questions=minimum)
        except BotError as exc:
            _fail(str(exc))
        if as_json:
            _emit(result.to_json())
        else:
            typer.echo(format_selfcheck(result))
        return
    try:
        errors, warnings, count = check_corpus(settings.corpus_dir)
    except BotError as exc:
        _fail(str(exc))
    for message in errors:
        typer.echo(message)
    for message in warnings:
        typer.echo(f"{message} (Hinweis)")
    typer.echo(f"{count} Dokumente geprüft: {len(errors)} Fehler, {len(warnings)} Hinweise.", err=True)
    if errors:
        raise typer.Exit(1)


@app.command(name="import")
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

    from bot.importer import import_file

    settings = _settings()
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
                _emit({"file": str(path), "error": message})
            else:
                typer.echo(message, err=True)
            continue
        if as_json:
            _emit(
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


@app.command()
def fragen(
    document: Annotated[
        Path | None, typer.Argument(help="Dokument, für das Fragen vorgeschlagen werden.")
    ] = None,
    annehmen: Annotated[
        Path | None, typer.Option("--annehmen", help="Geprüften Vorschlag in „fragen“ übernehmen.")
    ] = None,
    aus_luecke: Annotated[
        str | None, typer.Option("--aus-luecke", help="Abgelehnte oder negativ bewertete Frage.")
    ] = None,
    abschnitt: Annotated[str | None, typer.Option("--abschnitt", help="DOKUMENT#Überschrift")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ergebnis als eine JSON-Zeile.")] = False,
) -> None:
    """Beispielfragen: vorschlagen lassen (BOT_LLM), geprüfte übernehmen, aus Wissenslücken ergänzen.

    Der Vorschlag landet in DOKUMENT.fragen-vorschlag.yaml neben dem Dokument und wird nicht
    durchsucht, bis ihn eine Person mit --annehmen übernimmt. Der Richtlinientext bleibt unverändert.

    Examples:

      BOT_LLM=openai:gpt-4o-mini python -m bot fragen corpus/neue-richtlinie.md

      python -m bot fragen --annehmen corpus/neue-richtlinie.fragen-vorschlag.yaml

      python -m bot fragen --aus-luecke "ki-texte markieren?" --abschnitt "grundsaetze-ki#Transparenz"
    """
    from bot import drafting, review

    settings = _settings()
    chosen = sum(x is not None for x in (document, annehmen, aus_luecke))
    if chosen != 1 or (aus_luecke is None) != (abschnitt is None):
        _fail(
            "Bitte genau eines angeben: ein Dokument, --annehmen VORSCHLAG "
            "oder --aus-luecke mit --abschnitt.",
            2,
        )
    try:
        if annehmen is not None:
            accepted = review.accept(annehmen)
            added = accepted.added
            summary = {"document": str(accepted.document), "left_flagged": accepted.left_flagged}
        elif aus_luecke is not None:
            from bot.referat import gap_report

            asked = review.gap_questions(gap_report(settings))
            added = review.add_gap_question(settings, aus_luecke, abschnitt or "", asked)
            summary = {"section": abschnitt}
        else:
            assert document is not None
            if not document.is_file():
                _fail(f"Das Dokument {document} gibt es nicht.", 2)
            proposal = drafting.draft(settings, document, drafting.model_asker(settings))
            path = drafting.write_proposal(proposal, document.stem)
            total, flagged = proposal.counts()
            summary = {"proposal": str(path), "questions": total, "flagged": flagged}
            if as_json:
                _emit(summary)
            else:
                typer.echo(
                    f"{total} Fragen vorgeschlagen, {flagged} markiert, in {path}. "
                    f"Bitte prüfen, dann: python -m bot fragen --annehmen {path}"
                )
            return
    except BotError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"Die Datei {exc.filename} ist nicht les- oder schreibbar; es wurde nichts geändert.")
    summary["added"] = added
    if as_json:
        _emit(summary)
        return
    count = sum(len(v) for v in added.values())
    typer.echo(
        f"{count} Beispielfragen übernommen"
        + (f", {summary['left_flagged']} markierte nicht" if summary.get("left_flagged") else "")
        + ". Bitte `python -m bot index` ausführen."
    )


GOLD_HELP = (
    "Gold-Dateien (JSON Lines); DATEI@ORDNER misst Fragen zu Dokumenten, die dem Korpus aus ORDNER "
    "hinzugefügt werden. Standard: tests/gold/dev.jsonl."
)


def _scored(specs: list[str] | None, settings: Settings) -> list:
    """Outcomes of every gold set, each against its corpus; errors as one sentence."""
    import tempfile

    from bot.assistant import Assistant
    from bot.evaluate import GoldSet, run_sets

    sets = [GoldSet.parse(s) for s in specs or ["tests/gold/dev.jsonl"]]
    try:
        with tempfile.TemporaryDirectory(prefix="bot-eval-") as workdir:
            return run_sets(Assistant.load(settings), sets, Path(workdir))
    except OSError as exc:
        _fail(f"Gold-Datei oder Ordner nicht lesbar: {exc.filename}")
    except BotError as exc:
        _fail(str(exc))
    return []


@app.command(name="eval")
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
    from bot.evaluate import format_table, summarise

    outcomes = _scored(gold, _settings())
    summary = summarise(outcomes)
    if as_json:
        _emit(summary)
    else:
        typer.echo(format_table(summary))
    if misses:
        for o in outcomes:
            wrong = (o.gold.expected and (o.rank != 1 or o.abstained)) or (
                not o.gold.expected and not o.abstained
            )
            if wrong:
                typer.echo(
                    f"{o.gold.id} [{o.gold.kind}] rank={o.rank} abstained={o.abstained} "
                    f"conf={o.confidence:.2f} top={o.top_passage} hint={o.hinted} :: {o.gold.question}",
                    err=True,
                )


@app.command()
def tune(
    gold: Annotated[list[str], typer.Argument(help=GOLD_HELP)],
    refused_goal: Annotated[
        float, typer.Option("--refused", help="Anteil der Fragen außerhalb, die abgelehnt werden sollen.")
    ] = 0.87,
) -> None:
    """Passt das Ablehnungsmodell an Gold-Fragen an und gibt Gewichte und Schwelle aus (nur Tuning-Sets!).

    Examples:

      python -m bot tune tests/gold/dev.jsonl tests/gold/synthetic-tune.jsonl@tests/synthetic/tune
    """
    from bot.tuning import fit_abstention, format_fit

    typer.echo(format_fit(fit_abstention(_scored(gold, _settings()), refused_goal=refused_goal)))


@app.command()
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

    from bot.referat import gap_report
    from bot.report import format_report

    settings = _settings()
    try:
        start = dt.date.fromisoformat(since) if since else None
        end = dt.date.fromisoformat(until) if until else None
    except ValueError:
        _fail("Bitte Datumsangaben als JJJJ-MM-TT schreiben, z. B. 2026-11-01.", 2)
    try:
        result = gap_report(settings, start, end)
    except BotError as exc:
        _fail(str(exc))
    if as_json:
        _emit(result.to_json())
    else:
        typer.echo(format_report(result))


@app.command()
def bench(
    sizes: Annotated[
        str, typer.Option(help="Größen generierter Korpora, kommagetrennt (0 = keine).")
    ] = "1000",
    repeats: Annotated[int, typer.Option(help="Wiederholungen je Testfrage.")] = 20,
    output: Annotated[Path, typer.Option(help="JSON-Datei für die Ergebnisse.")] = Path("bench-results.json"),
    plot: Annotated[Path | None, typer.Option(help="SVG-Diagramm der Antwortzeiten.")] = None,
) -> None:
    """Misst Antwortzeiten, Start, Indexdurchsatz, Neu-Indexierung und Speicher; schreibt Tabelle und JSON.

    Examples:

      python -m bot bench --sizes 0

      python -m bot bench --sizes 1000,10000 --output docs/bench.json --plot docs/bench.svg
    """
    from bot.bench import benchmark, latency_svg, machine

    settings = _settings()
    size_list = [int(s) for s in sizes.split(",") if s.strip() and int(s) > 0]
    results = benchmark(settings.corpus_dir, size_list, repeats)
    rows = [dataclasses.asdict(r) for r in results]
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
        title = f"Antwortzeiten, {info['cpu_count']} Kerne, {info['date'][:10]}"
        plot.write_text(latency_svg(rows, title), encoding="utf-8")
        typer.echo(f"Diagramm in {plot}", err=True)


user_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Passwort-Konten in BOT_USERS_FILE verwalten."
)
app.add_typer(user_app, name="user")


def _users_file(settings: Settings) -> Path:
    if settings.users_file is None:
        _fail("Bitte BOT_USERS_FILE setzen, z. B. BOT_USERS_FILE=data/konten.toml.", 2)
    return settings.users_file


def _read_password() -> str:
    """From the terminal without echo, or the first line of standard input (scripts, CI)."""
    import getpass

    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass("Passwort: ")
        if getpass.getpass("Passwort wiederholen: ") != first:
            _fail("Die Passwörter stimmen nicht überein.", 2)
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Kontoname, z. B. anna.schmidt")],
    rolle: Annotated[str, typer.Option(help="mitarbeitende oder referat")] = "mitarbeitende",
) -> None:
    """Legt ein Konto an oder setzt sein Passwort neu (Passwort von der Tastatur oder stdin).

    Examples:

      BOT_USERS_FILE=data/konten.toml python -m bot user add anna.schmidt --rolle referat
    """
    from bot.accounts import REFERAT, STAFF, add_account

    if rolle not in (STAFF, REFERAT):
        _fail(f"Unbekannte Rolle „{rolle}“: bitte {STAFF} oder {REFERAT}.", 2)
    path = _users_file(_settings())
    try:
        replaced = add_account(path, name, _read_password(), rolle)  # type: ignore[arg-type]
    except BotError as exc:
        _fail(str(exc), 2)
    typer.echo(f"Konto {name.strip().lower()} ({rolle}) {'geändert' if replaced else 'angelegt'} in {path}.")


@user_app.command("remove")
def user_remove(name: Annotated[str, typer.Argument(help="Kontoname")]) -> None:
    """Löscht ein Konto (seine Gespräche löscht `python -m bot forget`)."""
    from bot.accounts import remove_account

    path = _users_file(_settings())
    try:
        removed = remove_account(path, name)
    except BotError as exc:
        _fail(str(exc))
    if not removed:
        _fail(f"Ein Konto {name} gibt es nicht.")
    typer.echo(f"Konto {name} gelöscht.")


@user_app.command("list")
def user_list() -> None:
    """Zeigt die Konten mit ihren Rollen (ohne Passwörter)."""
    from bot.accounts import read_accounts

    try:
        accounts = read_accounts(_users_file(_settings()))
    except BotError as exc:
        _fail(str(exc))
    for name, account in sorted(accounts.items()):
        typer.echo(f"{name}\t{account.rolle}")


@app.command()
def retention(
    days: Annotated[int | None, typer.Option(help="Tage (Standard: BOT_RETENTION_DAYS).")] = None,
) -> None:
    """Löscht Gespräche, Rückmeldungen, Audit-Zeilen und Anmelde-Fehlversuche, die älter sind als die Frist.

    Examples:

      python -m bot retention

      python -m bot retention --days 30
    """
    import asyncio

    from bot.history import apply_retention

    settings = _settings()
    keep = days if days is not None else settings.retention_days
    if keep < 1:
        _fail("Bitte mindestens 1 Tag angeben.", 2)
    try:
        pruned = asyncio.run(apply_retention(settings, keep))
    except BotError as exc:
        _fail(str(exc))
    typer.echo(
        f"Älter als {keep} Tage gelöscht: {pruned.threads} Gespräche, "
        f"{pruned.feedback_lines} Rückmeldungen, {pruned.audit_lines} Audit-Zeilen, "
        f"{pruned.signin_failures} Anmelde-Fehlversuche."
    )


@app.command()
def forget(name: Annotated[str, typer.Argument(help="Kontoname (Kennung), dessen Gespräche gehen")]) -> None:
    """Löscht alle gespeicherten Gespräche einer Person, ihren Eintrag und ihre Anmelde-Fehlversuche.

    Examples:

      python -m bot forget anna.schmidt
    """
    import asyncio

    from bot.accounts import normalise_name
    from bot.history import forget_user

    try:
        deleted = asyncio.run(forget_user(_settings(), normalise_name(name)))
    except BotError as exc:
        _fail(str(exc))
    typer.echo(f"{deleted} Gespräche von {normalise_name(name)} gelöscht.")


def main() -> None:
    """Run the CLI; library errors never reach the user as tracebacks."""
    try:
        app()
    except BotError as exc:
        typer.echo(str(exc), err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("Abgebrochen.", err=True)
        sys.exit(130)
