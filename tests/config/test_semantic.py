"""A topic's `semantic:` key: thresholds per language, references, one-line errors, and the
clear message when the [semantic] extra is missing (everything else still loads)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tasks.config import ConfigError, load_watchlist
from tests.helpers import ROOT

SEMANTIC_TOPIC = """\
  - name: trafficking
    terms: [human trafficking]
    semantic:
      description: People recruited by deception and held in forced labour.
      examples:
        - Fishermen promised factory jobs were sold to boats and never paid.
        - article:12
        - https://news.example/ship-slaves
      threshold: {EN: 0.84, km: 0.92, default: 0.8}
"""


def _watchlist(tmp_path: Path, topics: str) -> Path:
    path = tmp_path / "watchlist.yaml"
    path.write_text("topics:\n" + topics, encoding="utf-8")
    return path


def test_semantic_key_loads_with_thresholds_per_language(tmp_path: Path) -> None:
    pytest.importorskip("static_model", reason="the [semantic] extra is not installed")
    spec = load_watchlist(_watchlist(tmp_path, SEMANTIC_TOPIC)).topics[0].semantic
    assert spec is not None
    assert (spec.threshold_for("en-GB"), spec.threshold_for("km"), spec.threshold_for("vi")) == (0.84, 0.92, 0.8)
    assert spec.stored_references() == ([12], ["https://news.example/ship-slaves"])
    assert [label for label, _ in spec.texts()] == ["description", "example 1"]


@pytest.mark.parametrize(
    ("semantic", "message"),
    [
        ("threshold: 0.8", "needs a description or examples"),
        ("description: x\n      threshold: 1.5", "threshold: a cosine between 0"),
        ("description: x\n      threshold: {english: 0.8}", "'english' is not a language code"),
        ("description: x", "threshold"),
    ],
)
def test_bad_semantic_key_is_one_line(tmp_path: Path, semantic: str, message: str) -> None:
    pytest.importorskip("static_model", reason="the [semantic] extra is not installed")
    topic = f"  - name: t\n    terms: [a]\n    semantic:\n      {semantic}\n"
    with pytest.raises(ConfigError, match=message) as err:
        load_watchlist(_watchlist(tmp_path, topic))
    assert "\n" not in str(err.value) and "watchlist.yaml" in str(err.value)


def test_missing_extra_is_named_and_the_rest_loads(tmp_path: Path) -> None:
    """The extra's library blocked as if not installed: the semantic topic fails with how to
    install it; a watchlist without the key loads as before."""
    with_key = _watchlist(tmp_path, SEMANTIC_TOPIC)
    without = tmp_path / "plain.yaml"
    without.write_text("topics:\n  - name: t\n    terms: [human trafficking]\n", encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["tokenizers"] = None
        from tasks.config import ConfigError, load_watchlist
        print(load_watchlist({str(without)!r}).topics[0].name)
        try:
            load_watchlist({str(with_key)!r})
        except ConfigError as exc:
            print(exc)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    name, error = run.stdout.strip().splitlines()
    assert name == "t"
    assert "semantic" in error and "pip install 'newswatch[semantic]'" in error and "NEWSWATCH_EMBED_MODEL" in error


def test_readme_example_is_valid(tmp_path: Path) -> None:
    pytest.importorskip("static_model", reason="the [semantic] extra is not installed")
    from tests.test_readme import example

    (tmp_path / "w.yaml").write_text(example("semantic"), encoding="utf-8")
    (topic,) = load_watchlist(tmp_path / "w.yaml").topics
    assert topic.semantic is not None and topic.semantic.threshold_for("th") == 0.9
    assert topic.semantic.stored_references() == ([1234], ["https://news.example/ship-slaves"])
