"""An article's vector as the page workers compute it and the database stores it: int8, one
byte per dimension (64 bytes for the shipped model), with the name of the model that made it,
so a vector is only ever compared with references embedded by the same model.

int8 keeps a cosine within 0.02 of float32's (tests/semantic), in a quarter of its bytes;
bench/relevance.py scores the int8 vectors, as the pipeline stores them."""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tasks.semantic.embedders import SHIPPED_PACKAGE, Embedder, EmbedderUnavailable, Vectors, load_embedder, unit

log = logging.getLogger(__name__)
SHIPPED = "shipped"
# The model the page workers' fork server loads (tasks/semantic/preload.py); set by
# tasks.ingest.workers for its fork server, never by operators.
PRELOAD_ENV = "NEWSWATCH_WORKERS_PRELOAD_MODEL"
PRELOAD_MODULE = "tasks.semantic.preload"

SCALE = 127.0
# The 512 tokens a model reads are ~2,800 characters of English news (measured with the shipped
# tokenizer: 540 tokens in 3,000); tokenizing a 6,800-character article whole cost 2x the time.
MAX_CHARS = 3000


@dataclass(frozen=True)
class ArticleVector:
    model: str  # the Embedder's name
    data: bytes  # int8, one per dimension (pack)


def article_input(title: str, text: str) -> str:
    """What is embedded of an article: its title and text (the model reads the first 512
    tokens; whole text beat title + lead for every model but wordllama, bench/semantic.md)."""
    return f"{title}\n{text[:MAX_CHARS]}"


def pack(vector: Vectors) -> bytes:
    """A unit vector as int8 bytes."""
    return np.clip(np.rint(np.asarray(vector, dtype=np.float32) * SCALE), -127, 127).astype(np.int8).tobytes()


def unpack(data: bytes) -> Vectors:
    """pack's bytes as a unit float32 vector."""
    return unit(np.frombuffer(data, dtype=np.int8).astype(np.float32)[None, :])[0]


def model_choice(setting: str) -> str | None:
    """NEWSWATCH_EMBED_MODEL as the page workers take it: None (no vectors: `off`, or `auto`
    without the [semantic] extra), SHIPPED (`auto` with the extra), or a model directory."""
    value = setting.strip()
    if value.lower() == "off":
        return None
    if value.lower() in ("", "auto"):
        try:
            found = all(importlib.util.find_spec(m) is not None for m in (SHIPPED_PACKAGE, "tokenizers"))
        except (ImportError, ValueError):
            found = False
        return SHIPPED if found else None
    return value


@lru_cache(maxsize=2)
def cached_embedder(choice: str) -> Embedder:
    """The model of this process, loaded on first use (a page worker loads it once, not per article)."""
    return load_embedder(None if choice == SHIPPED else Path(choice))


def embed_article(title: str, text: str, embedder: Embedder) -> ArticleVector:
    return ArticleVector(embedder.name, pack(embedder.embed([article_input(title, text)])[0]))


@lru_cache(maxsize=4)
def _unavailable(choice: str, why: str) -> None:
    log.error("no article vectors: %s", why)  # once per process and model


def worker_vector(title: str, text: str, choice: str | None) -> ArticleVector | None:
    """The article's vector in a page worker, or None (no model chosen, or it cannot load: said
    once in the log; an article is stored with or without its vector)."""
    if choice is None:
        return None
    try:
        return embed_article(title, text, cached_embedder(choice))
    except EmbedderUnavailable as exc:
        _unavailable(choice, str(exc))
        return None
