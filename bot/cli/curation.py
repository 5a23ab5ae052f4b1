"""`fragen` and `check --quality`: the Referat's loop for example questions, from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import emit, fail, run_settings
from bot.config import Settings

# Drafts come from a language model: every output of `fragen` that shows them says so.
DRAFT_DISCLOSURE = (
    "Hinweis: Diese Vorschläge hat ein KI-Sprachmodell entworfen; sie gelten erst, wenn eine Person "
    "sie geprüft und übernommen hat."
)


def quality_check(minimum: int, as_json: bool) -> None:
    """The self-check (`check --quality`): each section's example questions asked without that
    section's own questions; how many find it first, which sections confuse each other."""
    from bot.curation.selfcheck import run_selfcheck
    from bot.curation.selfcheck_view import format_selfcheck

    try:
        result = run_selfcheck(run_settings(), min_questions=minimum)
    except OSError as exc:
        where = exc.filename
        fail(f"Der Selbsttest konnte {where} nicht lesen oder schreiben; es wurde nichts geändert.")
    if as_json:
        emit(result.to_json())
    else:
        typer.echo(format_selfcheck(result))


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
    aus_auswahl: Annotated[
        bool, typer.Option("--aus-auswahl", help="Auswahl nach Rückfragen als Vorschläge (je Dokument).")
    ] = False,
    seit: Annotated[
        str | None, typer.Option("--seit", help="Mit --aus-auswahl: ab Datum (JJJJ-MM-TT).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ergebnis als eine JSON-Zeile.")] = False,
) -> None:
    """Beispielfragen: vorschlagen lassen (BOT_LLM), geprüfte übernehmen, aus Wissenslücken ergänzen.

    Der Vorschlag landet in DOKUMENT.fragen-vorschlag.yaml neben dem Dokument und wird nicht
    durchsucht, bis ihn eine Person mit --annehmen übernimmt. Der Richtlinientext bleibt unverändert.

    Examples:

      BOT_LLM=openai:gpt-4o-mini python -m bot fragen corpus/neue-richtlinie.md

      python -m bot fragen --annehmen corpus/neue-richtlinie.fragen-vorschlag.yaml

      python -m bot fragen --aus-luecke "ki-texte markieren?" --abschnitt "grundsaetze-ki#Transparenz"

      python -m bot fragen --aus-auswahl --seit 2026-11-01
    """
    settings = run_settings()
    chosen = sum(x is not None for x in (document, annehmen, aus_luecke)) + aus_auswahl
    if chosen != 1 or (aus_luecke is None) != (abschnitt is None):
        fail(
            "Bitte genau eines angeben: ein Dokument, --annehmen VORSCHLAG, --aus-luecke mit "
            "--abschnitt oder --aus-auswahl.",
            2,
        )
    try:
        if document is not None:
            _propose(settings, document, as_json)
            return
        if aus_auswahl:
            _from_picks(settings, seit, as_json)
            return
        if annehmen is not None:
            added, summary = _accept(annehmen)
        else:
            added, summary = _from_gap(settings, aus_luecke or "", abschnitt or "")
    except OSError as exc:
        fail(f"Die Datei {exc.filename} ist nicht les- oder schreibbar; es wurde nichts geändert.")
    summary["added"] = added
    if as_json:
        emit(summary)
        return
    count = sum(len(v) for v in added.values())
    typer.echo(
        f"{count} Beispielfragen übernommen"
        + (f", {summary['left_flagged']} markierte nicht" if summary.get("left_flagged") else "")
        + ". Bitte `python -m bot index` ausführen."
    )


def _propose(settings: Settings, document: Path, as_json: bool) -> None:
    """Drafts for every section of a document, flagged, written as a proposal beside it."""
    from bot.curation import drafting

    if not document.is_file():
        fail(f"Das Dokument {document} gibt es nicht.", 2)
    proposal = drafting.draft(settings, document, drafting.model_asker(settings))
    path = drafting.write_proposal(proposal, document.stem)
    total, flagged = proposal.counts()
    if as_json:
        emit({"proposal": str(path), "questions": total, "flagged": flagged, "disclosure": DRAFT_DISCLOSURE})
    else:
        typer.echo(
            f"{total} Fragen vorgeschlagen, {flagged} markiert, in {path}. "
            f"Bitte prüfen, dann: python -m bot fragen --annehmen {path}\n{DRAFT_DISCLOSURE}"
        )


def _from_picks(settings: Settings, since: str | None, as_json: bool) -> None:
    """Staff's picks after questions asked back, as proposal files to review."""
    import datetime as dt

    from bot.curation.picks import propose_from_picks
    from bot.errors import BotError

    try:
        day = dt.date.fromisoformat(since) if since else None
    except ValueError:
        fail(f"„{since}“ ist kein Datum; bitte JJJJ-MM-TT angeben.", 2)
    try:
        written = propose_from_picks(settings, since=day)
    except BotError as exc:
        fail(str(exc))
    if as_json:
        emit({"proposals": [str(p) for p in written]})
    elif not written:
        typer.echo("Keine Auswahl nach Rückfragen, die als Beispielfrage taugt.")
    else:
        typer.echo("Vorschläge aus der Auswahl von Mitarbeitenden (bitte prüfen, dann --annehmen):")
        typer.echo("\n".join(f"  {path}" for path in written))


def _accept(proposal: Path) -> tuple[dict[str, list[str]], dict[str, object]]:
    """A reviewed proposal's unflagged (or kept) questions into the document's `fragen`."""
    from bot.curation import review

    accepted = review.accept(proposal)
    return accepted.added, {"document": str(accepted.document), "left_flagged": accepted.left_flagged}


def _from_gap(
    settings: Settings, question: str, section: str
) -> tuple[dict[str, list[str]], dict[str, object]]:
    """A declined or downvoted question of the gap report as an example question of a section."""
    from bot.chat.report import gap_report
    from bot.curation import review

    asked = gap_report(settings).gap_questions()
    return review.add_gap_question(settings, question, section, asked), {"section": section}
