"""The Referat's knowledge-gap report: what went unanswered, what was disliked, what is cited.

Gathered from the audit, the feedback, the index and the chat database (`gap_report`), built by
pure functions (`build_report`), shown as text (CLI `report`) or Markdown (the Referat's chat view)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.chat import throttle
from bot.chat.feedback import FeedbackLog
from bot.chat.signin_rules import SignInSummary
from bot.config import Settings
from bot.errors import BotError
from bot.jsonl import Record
from bot.pipeline.audit import AuditLog, PickLog
from bot.pipeline.german import stopwords, words
from bot.pipeline.index import read_manifest
from bot.pipeline.markdown import cell

# The role guesses had in refusals before questions were asked back (audit lines of that time).
OLD_GUESS_ROLE = "hint"
SIMILAR = 60.0  # rapidfuzz token_set_ratio above which two refused questions form one group
UNREADABLE = "nicht abrufbar: die Chat-Datenbank antwortet nicht"
log = logging.getLogger(__name__)


@dataclass
class QuestionGroup:
    """Refused questions that ask much the same thing."""

    example: str
    questions: list[str] = field(default_factory=list)
    # Passages offered as a guess for the group's questions, with how often: where the Referat
    # can add the wording as an example question (`fragen:`) if the guess was right.
    guesses: Counter[str] = field(default_factory=Counter)

    @property
    def count(self) -> int:
        """How many questions the group holds."""
        return len(self.questions)

    def line(self) -> str:
        """The group as the report lists it."""
        guessed = ", ".join(f"{pid} ({n}×)" for pid, n in self.guesses.most_common())
        return f"{self.count}× „{self.example}“" + (f" – vermutete Stelle: {guessed}" if guessed else "")


@dataclass(frozen=True)
class GapReport:
    """Figures over a time range, from the audit (and feedback, where recorded)."""

    since: str | None
    until: str | None
    answers: int  # questions asked (every kind of reply but errors)
    refused: int  # refused, or asked back and answered with "Nichts davon"
    refused_groups: list[QuestionGroup]
    negative_feedback: list[Record]
    cited: list[tuple[str, int]]
    never_cited: list[str]
    # Failed password sign-ins (bot/chat/throttle.py); None if the chat database could not be read.
    signins: SignInSummary | None = None
    asked_back: int = 0  # questions asked back which rule was meant
    # Staff's picks after a question asked back, per section (document#heading): their own
    # words for the rule, which `python -m bot fragen --aus-auswahl` proposes as example questions.
    picks: list[tuple[str, list[str]]] = field(default_factory=list)

    def gap_questions(self) -> list[str]:
        """The stored (redacted) questions that were declined or disliked: what may become an
        example question (`fragen --aus-luecke`)."""
        declined = [q for g in self.refused_groups for q in g.questions]
        return declined + [str(f.get("question", "")) for f in self.negative_feedback if f.get("question")]

    def to_json(self) -> dict[str, object]:
        """The report as one JSON object."""
        return {
            "since": self.since,
            "until": self.until,
            "answers": self.answers,
            "asked_back": self.asked_back,
            "refused": self.refused,
            "picks": [{"section": where, "questions": questions} for where, questions in self.picks],
            "refused_groups": [
                {
                    "example": g.example,
                    "count": g.count,
                    "questions": g.questions,
                    "guesses": [{"passage": pid, "count": n} for pid, n in g.guesses.most_common()],
                }
                for g in self.refused_groups
            ],
            "negative_feedback": self.negative_feedback,
            "cited": [{"document": d, "count": n} for d, n in self.cited],
            "never_cited": self.never_cited,
            "signins": self.signins.to_json() if self.signins else None,
        }


def _key(question: str) -> str:
    return " ".join(w for w in words(question) if w not in stopwords())


def group_questions(questions: list[str], guesses: list[str | None] | None = None) -> list[QuestionGroup]:
    """Greedy grouping by word overlap; largest groups first. guesses[i] is the passage offered
    as a guess for questions[i], if any."""
    groups: list[tuple[str, QuestionGroup]] = []
    for q, guess in zip(questions, guesses or [None] * len(questions), strict=True):
        key = _key(q)
        group = next((g for gkey, g in groups if fuzz.token_set_ratio(key, gkey) >= SIMILAR), None)
        if group is None:
            group = QuestionGroup(example=q)
            groups.append((key, group))
        group.questions.append(q)
        if guess:
            group.guesses[guess] += 1
    return sorted((g for _, g in groups), key=lambda g: -g.count)


def _guess(line: Record) -> str | None:
    """The passage a declined answer offered as a guess (audit lines before roles have none)."""
    return next((p["id"] for p in line.get("passages", []) if p.get("role") == OLD_GUESS_ROLE), None)


def kind_of(line: Record) -> str:
    """What an audit line records: its kind, or for lines written before kinds, from `abstained`."""
    kind = line.get("kind")
    if isinstance(kind, str):
        return kind
    return "error" if line.get("error") else "refusal" if line.get("abstained") else "answer"


def _in_range(line: Record, since: dt.date | None, until: dt.date | None) -> bool:
    day = dt.date.fromisoformat(str(line.get("time", ""))[:10])
    return (since is None or day >= since) and (until is None or day <= until)


def build_report(
    audit: list[Record],
    feedback: list[Record],
    documents: list[str],
    since: dt.date | None = None,
    until: dt.date | None = None,
    signins: SignInSummary | None = None,
    picks: list[Record] | None = None,
) -> GapReport:
    """Combine audit lines (and feedback, the picks after questions asked back, and the sign-in
    failures) into the report for a time range."""
    lines = [ln for ln in audit if kind_of(ln) != "error" and _in_range(ln, since, until)]
    chosen = [p for p in picks or [] if _in_range(p, since, until)]
    # "Nichts davon": none of the rules offered was meant, a gap as much as a refusal.
    declined = [ln for ln in lines if kind_of(ln) == "refusal"] + [p for p in chosen if not p.get("picked")]
    by_section: dict[str, list[str]] = {}
    for p in chosen:
        if p.get("picked"):
            by_section.setdefault(f"{p.get('doc_id')}#{p.get('section')}", []).append(
                str(p.get("question", ""))
            )
    cited: Counter[str] = Counter()
    for ln in lines:
        if kind_of(ln) == "answer":
            for doc in {p["id"].split("#", 1)[0] for p in ln.get("passages", [])}:
                cited[doc] += 1
    negative = [f for f in feedback if f.get("value", 1) <= 0 and _in_range(f, since, until)]
    return GapReport(
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        answers=len(lines),
        refused=len(declined),
        refused_groups=group_questions([ln["question"] for ln in declined], [_guess(ln) for ln in declined]),
        negative_feedback=negative,
        cited=cited.most_common(),
        never_cited=sorted(d for d in documents if d not in cited),
        signins=signins,
        asked_back=sum(kind_of(ln) == "choice" for ln in lines),
        picks=sorted(by_section.items(), key=lambda item: -len(item[1])),
    )


@dataclass(frozen=True)
class Section:
    """One part of the report: a title and its lines (plain text, user text unescaped)."""

    title: str
    items: list[str]


def _span(report: GapReport) -> str:
    return f"{report.since or 'Anfang'} bis {report.until or 'heute'}"


def _summary(report: GapReport) -> str:
    return (
        f"{report.answers} Fragen, davon {report.asked_back} zurückgefragt und "
        f"{report.refused} nicht beantwortet."
    )


def sections(report: GapReport) -> list[Section]:
    """The report's parts, in order; the text and Markdown renderings both come from these."""

    def feedback_line(f: Record) -> str:
        comment = f": {f['comment']}" if f.get("comment") else ""
        return f"„{f.get('question', '')}“ – {f.get('reason') or 'ohne Grund'}{comment}"

    return [
        Section(
            "Nicht beantwortete Fragen (gruppiert)",
            [g.line() for g in report.refused_groups],
        ),
        Section(
            "Auswahl nach Rückfragen (Vorschläge für Beispielfragen)",
            [f"{len(qs)}× {where}: " + ", ".join(f"„{q}“" for q in qs[:5]) for where, qs in report.picks],
        ),
        Section("Negative Rückmeldungen", [feedback_line(f) for f in report.negative_feedback]),
        Section("Meistzitierte Dokumente", [f"{n}× {d}" for d, n in report.cited]),
        Section("Nie zitierte Dokumente", list(report.never_cited)),
        Section("Anmeldungen (Passwort)", [report.signins.line() if report.signins else UNREADABLE]),
    ]


# The one step from a gap to an example question (bot/cli/curation.py), shown under the report.
TO_EXAMPLE = (
    "Eine Frage als Beispielfrage des passenden Abschnitts übernehmen: "
    'python -m bot fragen --aus-luecke "FRAGE" --abschnitt "DOKUMENT#Überschrift"'
)
# ... and from staff's picks to proposals, reviewed as drafted ones.
PICKS_TO_PROPOSALS = (
    "Die Auswahl als Vorschläge für Beispielfragen (zum Prüfen, dann fragen --annehmen): "
    "python -m bot fragen --aus-auswahl"
)


def _to_example(report: GapReport) -> list[str]:
    steps = [TO_EXAMPLE] if report.refused_groups or report.negative_feedback else []
    return steps + ([PICKS_TO_PROPOSALS] if report.picks else [])


def format_report(report: GapReport) -> str:
    """The report as German text, for the terminal."""
    out = [f"Wissenslücken-Bericht ({_span(report)}): {_summary(report)}"]
    for section in sections(report):
        out += ["", f"{section.title}:", *(f"  {item}" for item in section.items or ["keine"])]
    for line in _to_example(report):
        out += ["", line]
    return "\n".join(out)


def format_report_markdown(report: GapReport) -> str:
    """The report as Markdown for the chat window; what users typed is shown literally."""
    out = [f"### Wissenslücken ({_span(report)})", _summary(report)]
    for section in sections(report):
        out += ["", f"**{section.title}**", *(f"- {cell(item)}" for item in section.items or ["keine"])]
    for line in _to_example(report):
        says, command = line.split(": ", 1)
        out += ["", f"_{cell(says)}:_ `{command}`"]
    return "\n".join(out)


def gap_report(settings: Settings, since: dt.date | None = None, until: dt.date | None = None) -> GapReport:
    """The report over a time range, from the audit, the feedback, the current index and the
    chat database's sign-in failures. Not for a running event loop (the chat calls it in a thread)."""
    manifest = read_manifest(settings.index_dir)
    try:
        signins = asyncio.run(throttle.summary(settings, since, until))
    except BotError as exc:
        log.warning("Anmeldungen nicht im Bericht: %s", exc)
        signins = None
    return build_report(
        AuditLog(settings.data_dir).read(),
        FeedbackLog(settings.data_dir).read(),
        sorted(manifest.documents if manifest else {}),
        since,
        until,
        signins,
        PickLog(settings.data_dir).read(),
    )
