"""The learning loop, measured: a simulated member of staff asks half of a tuning set and, when
asked back, picks the passage that answers (or "Nichts davon"); the picks become proposals
(bot/curation/picks.py), the unflagged ones are accepted as a reviewer following the flags would,
the index is rebuilt, and the other half (same sections, other questions) is scored before and
after. Everything happens on a copy of the corpus in a temporary folder."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bot.ops.evaluate import GoldQuestion, GoldSet, passage_answers, read_gold, run, summarise
from bot.pipeline.assistant import NOTHING_CHOSEN, Assistant
from bot.pipeline.audit import PickLog
from bot.pipeline.decide import AnswerKind
from bot.pipeline.index import build_index, open_index


@dataclass(frozen=True)
class LoopResult:
    """What one round of the loop did and what it changed."""

    asked: int  # questions of the picking half
    asked_back: int
    picked: int  # ... a passage picked (the rest: "Nichts davon")
    accepted: int  # example questions taken into `fragen` (unflagged proposals)
    flagged: int  # proposals left out by their flags
    before: dict[str, float | int]  # the scored half, before
    after: dict[str, float | int]  # ... after the accepted picks are indexed


def halves(questions: list[GoldQuestion]) -> tuple[list[GoldQuestion], list[GoldQuestion]]:
    """Every other answerable question picks, the rest is scored (out-of-scope ones too)."""
    answerable = [q for q in questions if q.expected]
    picking = answerable[0::2]
    chosen = {q.id for q in picking}
    return picking, [q for q in questions if q.id not in chosen]


def simulate_picks(assistant: Assistant, questions: list[GoldQuestion]) -> tuple[int, int]:
    """Ask each question; when asked back, pick the first candidate that answers it, else
    "Nichts davon". Returns (asked back, picked)."""
    asked_back = picked = 0
    for gold in questions:
        answer = assistant.ask(gold.question, gold.history, channel="simulation").answer
        if answer.kind is not AnswerKind.CHOICE:
            continue
        asked_back += 1
        right = next(
            (s.passage.id for s in answer.choices if passage_answers(gold, s.passage, assistant.index)), None
        )
        picked += right is not None
        assistant.ask(gold.question, gold.history, channel="simulation", choice=right or NOTHING_CHOSEN)
    return asked_back, picked


def run_loop(base: Assistant, spec: GoldSet) -> LoopResult:
    """One round of the loop on a copy of the corpus (plus spec's added documents)."""
    from bot.curation.picks import propose_from_picks
    from bot.curation.review import accept

    picking, scored = halves(read_gold(spec.path))
    with tempfile.TemporaryDirectory(prefix="bot-schleife-") as work:
        root = Path(work)
        shutil.copytree(base.settings.corpus_dir, root / "corpus")
        for document in sorted(spec.docs.glob("*.md")) if spec.docs else []:
            shutil.copy(document, root / "corpus" / document.name)
        settings = base.settings.model_copy(
            update={
                "corpus_dir": root / "corpus",
                "index_dir": root / "index",
                "data_dir": root / "data",
                "chroma_url": None,
                "llm": None,
            }
        )
        embeddings = base.index.embeddings
        build_index(settings, embeddings=embeddings)
        assistant = Assistant(settings, open_index(settings, embeddings), picks=PickLog(settings.data_dir))
        before = summarise(run(assistant, scored))["gesamt"]
        asked_back, picked = simulate_picks(assistant, picking)
        accepted = flagged = 0
        for proposal in propose_from_picks(settings, embeddings=embeddings):
            result = accept(proposal)
            accepted += sum(len(qs) for qs in result.added.values())
            flagged += result.left_flagged
        build_index(settings, embeddings=embeddings)
        after = summarise(run(Assistant(settings, open_index(settings, embeddings)), scored))["gesamt"]
    return LoopResult(len(picking), asked_back, picked, accepted, flagged, before, after)


def format_loop(name: str, result: LoopResult) -> str:
    """The round as a small table."""
    keys = ["hit@1", "hit@3", "right_at_once", "wrong_at_once", "asked_back", "resolved", "refused"]
    head = (
        f"{name}: {result.asked} Fragen gestellt, {result.asked_back} zurückgefragt, "
        f"{result.picked} gewählt; {result.accepted} Beispielfragen übernommen, "
        f"{result.flagged} markiert und nicht übernommen."
    )
    rows = [f"{'':8}" + "".join(f"{k:>15}" for k in keys)]
    for label, figures in (("vorher", result.before), ("nachher", result.after)):
        rows.append(f"{label:8}" + "".join(f"{figures.get(k, float('nan')):>15.3f}" for k in keys))
    return "\n".join([head, *rows])
