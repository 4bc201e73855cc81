"""A topic's `semantic:` key: the articles close in meaning to its description or example
stories are added to its matches (issue #16); it never removes a keyword or indicator match.

    semantic:
      description: People recruited by deception and held in forced labour ...
      examples:
        - Fishermen promised factory jobs were sold to boats and never paid.
        - article:1234                      # a stored article, by id
        - https://example.org/news/ship-slaves  # a stored article, by URL
      threshold: {en: 0.84, km: 0.92, default: 0.85}   # or one number; `newswatch topics tune`

It needs the [semantic] extra (or an operator's model directory, NEWSWATCH_EMBED_MODEL): a
watchlist with the key and neither fails validation with one line saying how to install it.
"""

from __future__ import annotations

import importlib.util
import os
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tasks.config.groups import LANGUAGE_CODE

INSTALL = "pip install 'newswatch[semantic]' (or set NEWSWATCH_EMBED_MODEL to a local model directory)"
DEFAULT_KEY = "default"
ARTICLE_ID = re.compile(r"article:(\d+)")


def missing_extra() -> str | None:
    """Why semantic matching cannot run here, or None: the libraries are importable (found,
    not imported) and so is the shipped model, unless the operator names a model directory."""
    named = os.environ.get("NEWSWATCH_EMBED_MODEL", "").strip().lower() not in ("", "auto", "off")
    needed = ["tokenizers"] + ([] if named else ["safetensors", "static_model"])
    for module in needed:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # blocked (sys.modules[name] = None)
            found = False
        if not found:
            return f"needs the [semantic] extra ({module} is not installed): {INSTALL}"
    return None


class SemanticSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    description: str | None = Field(default=None, description="What the topic is about, in a few sentences.")
    examples: tuple[str, ...] = Field(
        default=(), description="Example stories: their text, or article:ID or the URL of a stored article."
    )
    threshold: float | dict[str, float] = Field(
        description="Lowest cosine that adds an article: one number, or per language (and `default`)."
    )

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float | dict[str, float]) -> float | dict[str, float]:
        values = value.values() if isinstance(value, dict) else [value]
        if any(not 0 < v <= 1 for v in values):
            raise ValueError("a cosine between 0 (exclusive) and 1")
        if isinstance(value, dict):
            value = {k.strip().lower(): v for k, v in value.items()}
            if bad := [k for k in value if k != DEFAULT_KEY and not LANGUAGE_CODE.fullmatch(k)]:
                raise ValueError(f"{bad[0]!r} is not a language code (en, km, ...) or {DEFAULT_KEY!r}")
        return value

    @field_validator("examples")
    @classmethod
    def _examples(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not e.strip() for e in value):
            raise ValueError("an empty example")
        return value

    @model_validator(mode="after")
    def _usable(self) -> SemanticSpec:
        if not (self.description or self.examples):
            raise ValueError("needs a description or examples")
        if why := missing_extra():
            raise ValueError(why)
        return self

    def threshold_for(self, language: str | None) -> float | None:
        """The threshold for an article in `language` (None: the semantic method adds none)."""
        if not isinstance(self.threshold, dict):
            return self.threshold
        return self.threshold.get((language or "").split("-")[0].lower(), self.threshold.get(DEFAULT_KEY))

    def stored_references(self) -> tuple[list[int], list[str]]:
        """The examples that name stored articles: (ids, URLs)."""
        ids = [int(m.group(1)) for e in self.examples if (m := ARTICLE_ID.fullmatch(e))]
        urls = [e for e in self.examples if e.startswith(("http://", "https://")) and " " not in e]
        return ids, urls

    def texts(self) -> list[tuple[str, str]]:
        """(label, text) of each reference written here: the description, then each example text."""
        written = [("description", self.description)] if self.description else []
        stored_ids, stored_urls = self.stored_references()
        stored = {f"article:{i}" for i in stored_ids} | set(stored_urls)
        return written + [(f"example {i + 1}", e) for i, e in enumerate(self.examples) if e not in stored]
