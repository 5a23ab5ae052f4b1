"""The self-check as the Referat reads it: text for `check --quality`, Markdown for the chat view."""

from __future__ import annotations

from bot.config import Settings
from bot.curation.selfcheck import SelfCheck, run_selfcheck
from bot.pipeline.embeddings import Embedder
from bot.pipeline.markdown import cell


def _share(first: int, n: int) -> str:
    return f"{first}/{n} ({first / n:.0%})" if n else "–"


def format_selfcheck(check: SelfCheck) -> str:
    """The check as German text for the terminal."""
    total = sum(len(r.asked) for r in check.results)
    first = sum(r.first for r in check.results)
    out = [
        "Selbsttest: jede Beispielfrage ohne die Fragen ihres Abschnitts gestellt.",
        f"Insgesamt finden {_share(first, total)} ihren Abschnitt zuerst; "
        f"beantwortet würden {sum(r.answered for r in check.results)}.",
    ]
    for doc, rs in check.documents().items():
        n = sum(len(r.asked) for r in rs)
        out += ["", f"{doc}: {_share(sum(r.first for r in rs), n)} zuerst gefunden"]
        for r in rs:
            note = (
                f"  ← verwechselt mit {', '.join(f'{o} ({c}×)' for o, c in r.confused_with.most_common(3))}"
            )
            too_few = "  (zu wenige Fragen)" if len(r.section.questions) < check.min_questions else ""
            out.append(
                f"  {r.section.key}: {len(r.section.questions)} Fragen, "
                f"zuerst {_share(r.first, len(r.asked))}, "
                f"beantwortet {r.answered}{too_few}" + (note if r.confused_with else "")
            )
        for key in check.unknown.get(doc, []):
            out.append(f"  Überschrift „{key}“ aus fragen: gibt es im Text nicht – ihre Fragen wirken nicht.")
    pairs = check.confusions()
    out += ["", "Abschnitte, die sich verwechseln:"]
    out += [f"  {n}× {a} ↔ {b}" for a, b, n in pairs[:15]] or ["  keine"]
    few = check.too_few()
    out += ["", f"Abschnitte mit weniger als {check.min_questions} Beispielfragen: {len(few)}"]
    out += [f"  {r.section.label} ({len(r.section.questions)})" for r in few]
    return "\n".join(out)


def format_selfcheck_markdown(check: SelfCheck) -> str:
    """The check as Markdown for the Referat's chat view."""
    total = sum(len(r.asked) for r in check.results)
    out = [
        "### Selbsttest der Beispielfragen",
        "Jede Beispielfrage wird ohne die Fragen ihres eigenen Abschnitts gestellt. "
        f"Insgesamt finden **{_share(sum(r.first for r in check.results), total)}** ihren Abschnitt zuerst.",
        "",
        "| Dokument | Abschnitt | Fragen | zuerst gefunden | beantwortet | verwechselt mit |",
        "|---|---|---|---|---|---|",
    ]
    for r in check.results:
        confused = ", ".join(f"{o} ({c}×)" for o, c in r.confused_with.most_common(3)) or "–"
        few = " ⚠" if len(r.section.questions) < check.min_questions else ""
        out.append(
            f"| `{r.section.doc_id}` | {cell(r.section.key)} | {len(r.section.questions)}{few} | "
            f"{_share(r.first, len(r.asked))} | {r.answered} | {cell(confused)} |"
        )
    pairs = check.confusions()
    out += ["", "**Abschnitte, die sich verwechseln**"]
    out += [f"- {n}× {cell(a)} ↔ {cell(b)}" for a, b, n in pairs[:10]] or ["- keine"]
    out += [
        "",
        f"⚠ = weniger als {check.min_questions} Beispielfragen. Vorschläge: `python -m bot fragen DATEI`.",
    ]
    for doc, keys in check.unknown.items():
        out += [f"- `{doc}`: Überschrift {cell(k)} aus `fragen` gibt es im Text nicht." for k in keys]
    return "\n".join(out)


def selfcheck_markdown(settings: Settings, embeddings: Embedder | None = None) -> str:
    """The self-check as the Referat's chat view shows it."""
    return format_selfcheck_markdown(run_selfcheck(settings, embeddings=embeddings))
