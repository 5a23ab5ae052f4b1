"""LangChain at the edge: the retriever as a `BaseRetriever`, for anyone who wants to plug the
assistant's ranking into a chain of their own. The assistant itself calls `Retriever` directly."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.pipeline.decide import AnswerKind, decide
from bot.pipeline.retrieve import Retriever


class PolicyRetriever(BaseRetriever):
    """The ranked passages for a question as LangChain documents, best first; each carries its
    ids, title, section, Stand, score, and whether the assistant would answer from them.

    Example: `PolicyRetriever(retriever=assistant.retriever,
    history=("Muss ich KI-Texte kennzeichnen?",)).invoke("Und beim Datenschutz?")`"""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    retriever: Retriever
    history: tuple[str, ...] = ()  # earlier questions of the conversation, for follow-ups

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        retrieval = self.retriever.search(query, self.history)
        answerable = decide(retrieval, self.retriever.calibration).kind is AnswerKind.ANSWER
        return [
            LCDocument(
                id=h.passage.id,
                page_content=h.passage.text,
                metadata={
                    "passage_id": h.passage.id,
                    "title": h.passage.title,
                    "section": h.passage.section,
                    "stand": h.passage.stand,
                    "score": h.score,
                    "answerable": answerable,
                },
            )
            for h in retrieval.hits
        ]
