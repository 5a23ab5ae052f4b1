"""Sentence embeddings from a model folder on disk, behind LangChain's Embeddings interface."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from langchain_core.embeddings import Embeddings

from bot.config import Settings
from bot.errors import IndexMismatchError


def load_embeddings(settings: Settings) -> LocalEmbeddings:
    """The embedding model the settings name, quantised or not, as the index records it."""
    return LocalEmbeddings(settings.resolved_model_path(), settings.embed_batch_size, settings.quantize)


class LocalEmbeddings(Embeddings):
    """A sentence-transformers model loaded once from disk, never from a hub."""

    def __init__(self, model_path: Path, batch_size: int = 32, quantize: bool = True) -> None:
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
        self.quantized = quantize
        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        if quantize:
            self._quantize()

    def _quantize(self) -> None:
        """Int8 weights for the transformer's linear layers (dynamic quantisation on the CPU)."""
        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch points to torchao; the eager API still works
            torch.ao.quantization.quantize_dynamic(
                self._model[0].auto_model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )

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
