"""Sentence embeddings from a model folder on disk, behind LangChain's Embeddings interface."""

from __future__ import annotations

import os
from pathlib import Path

from langchain_core.embeddings import Embeddings

from bot.errors import IndexMismatchError


class LocalEmbeddings(Embeddings):
    """A sentence-transformers model loaded once from disk, never from a hub."""

    def __init__(self, model_path: Path, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        if not model_path.is_dir():
            raise IndexMismatchError(
                f"Das Embedding-Modell fehlt unter {model_path}. Bitte BOT_MODEL_PATH prüfen."
            )
        self.model_path = model_path
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:
        """Length of one embedding vector."""
        return int(self._model.get_embedding_dimension())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Normalised vectors for many texts, embedded in batches."""
        if not texts:
            return []
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        """Normalised vector for one question."""
        return self._model.encode([text], normalize_embeddings=True, show_progress_bar=False)[0].tolist()
