"""The Chainlit chat: one assistant per process, German messages with their sources as elements.

Only this module knows Chainlit. Start it with `chainlit run bot/app.py`.
"""

from __future__ import annotations

import asyncio
import logging

import chainlit as cl

from bot.answer import Answer
from bot.assistant import Assistant, error_answer
from bot.config import Settings
from bot.errors import BotError

log = logging.getLogger(__name__)
HISTORY_TURNS = 4
UNEXPECTED = (
    "Entschuldigung, bei der Antwort ist ein technischer Fehler aufgetreten. Bitte versuchen Sie es "
    "gleich noch einmal; besteht das Problem weiter, wenden Sie sich an das Referat Digitalisierung."
)
STARTERS = [
    ("Klientendaten in ChatGPT?", "Darf ich Klientendaten in ChatGPT kopieren?"),
    ("KI-Inhalte kennzeichnen", "Muss ich Inhalte kennzeichnen, die mit KI erstellt wurden?"),
    ("Wer entscheidet?", "Wer entscheidet am Ende – die KI oder ich?"),
    ("Ansprechpartner", "Wen kann ich bei Fragen zu KI ansprechen?"),
]


class _Holder:
    """The process's assistant, loaded on first use (never at import), once even under concurrency."""

    def __init__(self) -> None:
        self.assistant: Assistant | None = None
        self._settings: Settings | None = None
        self.lock = asyncio.Lock()

    @property
    def settings(self) -> Settings:
        """The one settings object of this process, read from the environment on first use."""
        if self._settings is None:
            self._settings = Settings()
        return self._settings

    async def get(self) -> Assistant:
        if self.assistant is None:
            async with self.lock:
                if self.assistant is None:
                    # A missing index raises BotError and is retried on the next question.
                    self.assistant = await cl.make_async(Assistant.load)(self.settings)
        return self.assistant


_holder = _Holder()


def _display(text: str) -> str:
    """Passage text for Markdown: keep the line breaks of address blocks."""
    return text.replace("\n", "  \n")


def render(answer: Answer) -> tuple[str, list[cl.Text]]:
    """Message text (warning, answer, notes, sources, disclosure) and one element per cited source."""
    elements = [
        cl.Text(
            name=f"Quelle {s.n}",
            content=(
                f"**{s.passage.title}**  \nAbschnitt: {s.passage.section}  \nStand: {s.passage.stand}"
                f"\n\n{_display(s.passage.text)}"
            ),
            display="side",
        )
        for s in answer.sources
    ]
    parts = []
    if answer.privacy_warning:
        parts.append(f"> ⚠️ {answer.privacy_warning}")
    parts.append(answer.text.replace("\n", "  \n"))
    parts.extend(f"_{note}_" for note in answer.notes)
    if answer.sources:
        listed = "  \n".join(
            f"Quelle {s.n}: {s.passage.title} – {s.passage.section} (Stand {s.passage.stand})"
            for s in answer.sources
        )
        parts.append(f"**Quellen**  \n{listed}")
    parts.append(f"_{answer.disclosure}_")
    return "\n\n".join(parts), elements


@cl.set_starters
async def starters(user: cl.User | None = None, language: str | None = None) -> list[cl.Starter]:
    """Typical staff questions to start with (the same for every user and language)."""
    return [cl.Starter(label=label, message=message) for label, message in STARTERS]


@cl.on_chat_start
async def start() -> None:
    """A new conversation starts without history."""
    cl.user_session.set("history", [])


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Answer one question in the light of this conversation's earlier questions."""
    settings = _holder.settings
    history: list[str] = cl.user_session.get("history") or []
    try:
        assistant = await _holder.get()
        answer = await cl.make_async(assistant.ask)(message.content, history, "ui")
    except BotError as exc:
        answer = error_answer(message.content, str(exc), settings)
    except Exception:
        log.exception("Antwort fehlgeschlagen")
        answer = error_answer(message.content, UNEXPECTED, settings)
    if answer.error is None:
        cl.user_session.set("history", [*history, answer.question][-HISTORY_TURNS:])
    content, elements = render(answer)
    await cl.Message(content=content, elements=elements, author=settings.assistant_name).send()
