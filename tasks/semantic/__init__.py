"""Meaning, not only words: a local embedding model that lets a topic add the articles close in
meaning to its description or example stories (issue #16). Optional: the [semantic] extra
(`pip install 'newswatch[semantic]'`) or an operator's model directory (NEWSWATCH_EMBED_MODEL);
without either, nothing here is imported and everything else works.

- embedders.py: the Embedder interface (texts to unit float32 vectors), the shipped model
  (tokenlearn-static-model, read from its wheel: why, with figures, in its docstring), and the
  loaders of an operator's ONNX or model2vec directory.
- vectors.py: what is embedded of an article, its int8 vector as stored, which model the page
  workers use (NEWSWATCH_EMBED_MODEL: auto, off or a directory), loaded once per worker.
- preload.py: imported by the page workers' fork server: the model loaded there once, its
  pages shared by every worker forked from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.semantic.embedders import (
        INSTALL_HINT,
        Embedder,
        EmbedderUnavailable,
        OnnxEmbedder,
        StaticEmbedder,
        load_embedder,
        shipped_model_dir,
        unit,
    )
    from tasks.semantic.vectors import (
        PRELOAD_ENV,
        PRELOAD_MODULE,
        SHIPPED,
        ArticleVector,
        article_input,
        cached_embedder,
        embed_article,
        model_choice,
        pack,
        unpack,
        worker_vector,
    )

__all__ = [
    "article_input",
    "cached_embedder",
    "embed_article",
    "load_embedder",
    "model_choice",
    "pack",
    "shipped_model_dir",
    "unit",
    "unpack",
    "worker_vector",
    "ArticleVector",
    "Embedder",
    "EmbedderUnavailable",
    "INSTALL_HINT",
    "OnnxEmbedder",
    "PRELOAD_ENV",
    "PRELOAD_MODULE",
    "SHIPPED",
    "StaticEmbedder",
]
__getattr__ = lazy_exports(__name__, __file__)
