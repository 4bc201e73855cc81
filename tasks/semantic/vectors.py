"""An article's vector as the page workers compute it and the database stores it: int8, one
byte per dimension (64 bytes for the shipped model), with the name of the model that made it,
so a vector is only ever compared with references embedded by the same model.

int8 keeps a cosine within 0.02 of float32's (tests/semantic), in a quarter of its bytes;
bench/relevance.py scores the int8 vectors, as the pipeline stores them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tasks.semantic.embedders import Embedder, Vectors, load_embedder, unit

SCALE = 127.0
MAX_CHARS = 6000  # more than the 512 tokens a model reads; the tokenizer need not see the rest


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


@lru_cache(maxsize=2)
def cached_embedder(path: Path | None) -> Embedder:
    """The model of this process, loaded on first use (a page worker loads it once, not per article)."""
    return load_embedder(path)


def embed_article(title: str, text: str, embedder: Embedder) -> ArticleVector:
    return ArticleVector(embedder.name, pack(embedder.embed([article_input(title, text)])[0]))
