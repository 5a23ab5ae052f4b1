"""Greetings, thanks and "what can you do": recognised robustly and answered with a short fixed
reply, so a conversation opener never gets a policy quote or the refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

TOKEN = re.compile(r"[^\W\d_]+")
WORDS_FILE = Path(__file__).with_name("smalltalk_words.txt")
FILLER = "fuellwoerter"
MAX_WORDS = 8
MIN_FUZZY = 4  # shorter words must be spelt exactly (a typo of "du" is anything)
CUTOFF = 80.0
# A greeting before a real question ("Hallo, darf ich …"): dropped before the search.
GREETING = re.compile(
    r"^\s*(hallo|hallöchen|hi|hey|moin|servus|guten (morgen|tag|abend)|hello|good (morning|afternoon|evening)"
    r"|liebe[rs]? (assistent|bot|team))\b[\s,.!:;-]*",
    re.IGNORECASE,
)

EXAMPLES = (
    "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?",
    "Darf ich Klientendaten in ChatGPT kopieren?",
    "Wer entscheidet am Ende, die KI oder ich?",
)
_WHAT = (
    "Ich bin der ASB Richtlinien-Assistent, ein KI-Assistent. Ich beantworte Fragen zu den "
    "KI-Grundsätzen und Digitalisierungsrichtlinien des ASB NRW – mit wörtlichen Zitaten aus den "
    "freigegebenen Texten und der Quelle dazu. Was dort nicht steht, erfinde ich nicht; dann nenne ich "
    "Ihnen das Referat Digitalisierung."
)
_TRY = "Fragen Sie zum Beispiel:\n" + "\n".join(f"- {e}" for e in EXAMPLES)
REPLIES = {
    "gruss": f"Hallo! {_WHAT}\n\n{_TRY}",
    "hilfe": f"{_WHAT}\n\nStellen Sie Ihre Frage einfach in eigenen Worten, gern auch "
    f"umgangssprachlich. {_TRY}",
    "dank": "Gern geschehen! Wenn Sie noch eine Frage zu den KI-Grundsätzen oder zur Digitalisierung "
    f"beim ASB NRW haben, fragen Sie einfach.\n\n{_TRY}",
    "abschied": "Auf Wiedersehen! Bei weiteren Fragen zu den KI-Grundsätzen bin ich gern wieder da.",
}
PRIORITY = ("hilfe", "dank", "gruss", "abschied")


@dataclass(frozen=True)
class SmallTalk:
    """A message recognised as small talk, and the fixed reply to it."""

    intent: str
    reply: str


@lru_cache(maxsize=1)
def _intents() -> dict[str, frozenset[str]]:
    """The small-talk words by intent, read once from smalltalk_words.txt."""
    intents = {}
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, words = line.partition(":")
            intents[name.strip()] = frozenset(words.split())
    return intents


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[str, ...]:
    return tuple(sorted(set().union(*_intents().values())))


def _word(token: str) -> str | None:
    """The small-talk word a token is, allowing a typo in longer words; None if it is none."""
    vocabulary = _vocabulary()
    if token in vocabulary:
        return token
    if len(token) < MIN_FUZZY:
        return None
    found = process.extractOne(token, vocabulary, scorer=fuzz.ratio, score_cutoff=CUTOFF)
    return found[0] if found and len(found[0]) >= MIN_FUZZY else None


def recognise(message: str) -> SmallTalk | None:
    """Small talk when the message is short and made only of small-talk words; else None."""
    tokens = [t.casefold() for t in TOKEN.findall(message)]
    if not tokens or len(tokens) > MAX_WORDS:
        return None
    found = [_word(t) for t in tokens]
    if any(w is None for w in found):
        return None
    intents = {intent for w in found for intent, words in _intents().items() if w in words} - {FILLER}
    # Filler alone ("was", "du") is no small talk; "was kannst du" needs its verb.
    intent = next((i for i in PRIORITY if i in intents), None)
    return SmallTalk(intent, REPLIES[intent]) if intent else None


def without_greeting(message: str) -> str:
    """The question behind an opening greeting ("Hallo, darf ich …" → "darf ich …")."""
    rest = GREETING.sub("", message, count=1)
    return rest if TOKEN.search(rest) else message
