"""The Embedder implementations: the shipped model loads with the network unreachable, an
operator's ONNX or model2vec directory loads and pools as its format says (tiny models made
here), and a directory that is no model says so in one line."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("tokenizers", reason="the [semantic] extra is not installed (pip install -e '.[semantic]')")

from tasks.semantic import (  # noqa: E402
    EmbedderUnavailable,
    OnnxEmbedder,
    StaticEmbedder,
    article_input,
    embed_article,
    load_embedder,
    pack,
    unpack,
)

WORDS = ["[PAD]", "[UNK]", "cat", "dog", "ship", "port", "sea"]
DIM = 4


def _tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()  # type: ignore[assignment]
    tokenizer.save(str(path / "tokenizer.json"))


def _table() -> np.ndarray[Any, Any]:
    return np.random.default_rng(7).normal(size=(len(WORDS), DIM)).astype(np.float32)


def _expected(words: list[str], table: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    v = table[[WORDS.index(w) for w in words]].mean(axis=0)
    return v / np.linalg.norm(v)


def _onnx_model(path: Path, table: np.ndarray[Any, Any]) -> None:
    """A 'transformer' whose hidden state is each token's row of `table` times 1 (Gather, Mul),
    taking input_ids and attention_mask as a sentence-transformers export does."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["rows"]),
            helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["maskf", "axis"], ["mask3"]),
            helper.make_node("Mul", ["rows", "one"], ["scaled"]),
            helper.make_node("Add", ["scaled", "zero"], ["last_hidden_state"]),
            helper.make_node("Identity", ["mask3"], ["unused_mask"]),
        ],
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [
            helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", DIM]),
            helper.make_tensor_value_info("unused_mask", TensorProto.FLOAT, ["batch", "seq", 1]),
        ],
        [
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "axis"),
            numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
            numpy_helper.from_array(np.zeros(DIM, dtype=np.float32), "zero"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path / "model.onnx"))


def test_onnx_directory_mean_pools_with_the_attention_mask(tmp_path: Path) -> None:
    pytest.importorskip("onnx", reason="building the test model needs onnx (the [test] extra)")
    table = _table()
    table[0] = 100.0  # the padding token's vector: pooling without the mask would be dominated by it
    _tokenizer(tmp_path)
    _onnx_model(tmp_path, table)
    embedder = load_embedder(tmp_path)
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.dimensions == DIM
    vectors = embedder.embed(["cat dog ship port", "cat dog"])  # the second is padded to four tokens
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[0], _expected(["cat", "dog", "ship", "port"], table), atol=1e-5)
    np.testing.assert_allclose(vectors[1], _expected(["cat", "dog"], table), atol=1e-5)


def test_model2vec_directory(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    table = _table()
    _tokenizer(tmp_path)
    save_file({"embeddings": table}, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"normalize": True}), encoding="utf-8")
    embedder = load_embedder(tmp_path)
    assert isinstance(embedder, StaticEmbedder)
    assert (embedder.name, embedder.dimensions) == (f"static:{tmp_path.name}", DIM)
    np.testing.assert_allclose(embedder.embed(["sea port"])[0], _expected(["sea", "port"], table), atol=1e-6)
    assert not embedder.embed([""]).any()  # no token: a zero vector, similar to nothing


def test_a_directory_that_is_no_model_says_so(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailable, match=r"no model\.onnx .* or model\.safetensors"):
        load_embedder(tmp_path)
    with pytest.raises(EmbedderUnavailable, match="not a directory"):
        load_embedder(tmp_path / "missing")
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    _tokenizer(tmp_path)
    with pytest.raises(EmbedderUnavailable, match="not a usable ONNX model"):
        load_embedder(tmp_path)


def test_the_shipped_model_loads_with_the_network_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("static_model", reason="the shipped model's wheel (tokenlearn-static-model) is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    embedder = load_embedder()
    assert (embedder.name, embedder.dimensions) == ("tokenlearn-static-64", 64)
    on, near, off = embedder.embed(
        [
            "Workers were trafficked to fishing boats and forced to work without pay.",
            "Men lured with fake job offers were held on fishing vessels and made to work unpaid.",
            "The central bank left interest rates unchanged on Tuesday.",
        ]
    )
    assert float(on @ near) > float(on @ off) + 0.1
    np.testing.assert_allclose(np.linalg.norm([on, near, off], axis=1), 1.0, atol=1e-5)


def test_stored_vectors_are_int8_and_keep_the_cosine() -> None:
    vectors = np.random.default_rng(3).normal(size=(50, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    packed = [pack(v) for v in vectors]
    assert {len(p) for p in packed} == {64}
    back = np.stack([unpack(p) for p in packed])
    assert np.abs(back @ back.T - vectors @ vectors.T).max() < 0.02


def test_an_article_is_embedded_with_its_title_and_text(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    table = _table()
    _tokenizer(tmp_path)
    save_file({"embeddings": table}, str(tmp_path / "model.safetensors"))
    vector = embed_article("ship", "sea port", load_embedder(tmp_path))
    assert article_input("ship", "sea port") == "ship\nsea port"
    np.testing.assert_allclose(unpack(vector.data), _expected(["ship", "sea", "port"], table), atol=0.02)
