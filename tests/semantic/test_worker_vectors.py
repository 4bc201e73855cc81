"""Article vectors in the page workers: computed with the text, by a model each worker loads once
(not per article); a model that cannot load costs the vector, never the article."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tokenizers", reason="the [semantic] extra is not installed (pip install -e '.[semantic]')")

from tasks.ingest.workers import ArticleWorkerPool, analyze  # noqa: E402
from tasks.semantic import embed_article, load_embedder, model_choice, unpack  # noqa: E402
from tests.ingest.test_workers import PAGE, kill_workers  # noqa: E402

WORDS = ["[UNK]", "flood", "river", "road", "closes"]


def _model(folder: Path) -> Path:
    """A model2vec directory: five words, three dimensions."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.normalizers import Lowercase
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tokenizer.normalizer = Lowercase()  # type: ignore[assignment]
    tokenizer.pre_tokenizer = Whitespace()  # type: ignore[assignment]
    tokenizer.save(str(folder / "tokenizer.json"))
    table = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.float32)
    save_file({"embeddings": table}, str(folder / "model.safetensors"))
    return folder


def models_loaded() -> int:
    """In a worker: how many times this process loaded a model (cached_embedder's misses)."""
    from tasks.semantic import cached_embedder

    return int(cached_embedder.cache_info().misses)


def test_workers_embed_each_article_with_a_model_loaded_once(tmp_path: Path) -> None:
    model = str(_model(tmp_path))
    pool = ArticleWorkerPool(1)
    try:
        # The worker may come from a fork server that preloaded another model in an earlier test.
        before = pool.run(models_loaded, timeout=30)
        texts = [pool.analyze(PAGE, f"http://x.test/{i}", "Flood closes the river road", "", None, False, 30, model)
                 for i in range(3)]  # fmt: skip
        assert pool.run(models_loaded, timeout=30) == before + 1
    finally:
        kill_workers(pool)
    vectors = [t.vector for t in texts]
    assert all(v is not None and v.model == f"static:{tmp_path.name}" and len(v.data) == 3 for v in vectors)
    inline = embed_article("Flood closes the river road", texts[0].text, load_embedder(tmp_path))
    assert vectors[0] == inline  # the worker's vector is the model's, of the title and the extracted text
    assert np.linalg.norm(unpack(inline.data)) == pytest.approx(1.0, abs=1e-3)


def test_no_model_no_vector_and_the_article_stays(tmp_path: Path) -> None:
    plain = analyze(PAGE, "http://x.test/a", "Flood", "", None, False)
    assert plain.vector is None and plain.text  # no model chosen
    broken = analyze(PAGE, "http://x.test/a", "Flood", "", None, False, str(tmp_path / "missing"))
    assert broken.vector is None and broken.text == plain.text  # the model cannot load: logged, no vector
    assert model_choice("off") is None and model_choice(" /models/e5 ") == "/models/e5"
    assert model_choice("auto") == ("shipped" if _installed("static_model") else None)


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def models_cached() -> int:
    """In a worker, before it embeds anything: the models already in its cache."""
    from tasks.semantic import cached_embedder

    return int(cached_embedder.cache_info().currsize)


def test_the_fork_server_loads_the_model_once_for_every_worker(tmp_path: Path) -> None:
    """A fresh process (the fork server is one per process): the workers of a pool made with a
    model find it loaded before they embed anything, forked from the fork server that loaded it."""
    import subprocess
    import sys
    import textwrap

    from tests.helpers import ROOT

    script = textwrap.dedent(
        f"""
        from tasks.ingest.workers import ArticleWorkerPool
        from tests.semantic.test_worker_vectors import models_cached
        pool = ArticleWorkerPool(2, {str(_model(tmp_path))!r})
        print(sorted(pool.run(models_cached, timeout=60) for _ in range(4)))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[1, 1, 1, 1]"
