"""A topic's `semantic:` key at match time: its references (description, example texts, stored
example articles) embedded once per run, each article's stored vector compared with them. It
only adds: an article the topic's query matched keeps that match and its explanation; an
article it did not match is added when its closest reference scores at least the topic's
threshold for the article's language, and its alert says so (the clause SEMANTIC_CLAUSE, the
score, the threshold and the closest reference, on the Indicators line)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from storage import repository
from storage.records import StoredArticle
from tasks.common.text import sentence_spans
from tasks.config import TopicSpec
from tasks.matching.topics import TopicHit
from tasks.semantic import Embedder, article_input, unit, unpack

SEMANTIC_CLAUSE = "similar in meaning (no term matched)"
SEMANTIC_GROUP = "similar in meaning"
QUOTE_CHARS = 160


@dataclass(frozen=True)
class SemanticTopic:
    topic: TopicSpec
    labels: list[str]  # per reference: "description", "example 2", "article 12: its title"
    quotes: list[str]  # per reference: its first words
    vectors: np.ndarray  # (references, dimensions), unit rows, by the run's model


@dataclass(frozen=True)
class Closest:
    score: float
    threshold: float
    label: str
    quote: str


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1].rstrip() + "…"


def compile_semantic(topics: Sequence[TopicSpec], embedder: Embedder, db_url: str | None) -> list[SemanticTopic]:
    """The topics with a `semantic:` key, their references embedded (stored example articles
    read from the database; an id or URL not found there is left out)."""
    compiled = []
    for topic in topics:
        if topic.semantic is None:
            continue
        refs = [(label, text) for label, text in topic.semantic.texts()]
        ids, urls = topic.semantic.stored_references()
        if db_url and (ids or urls):
            found = [*ids, *repository.article_ids_by_url(db_url, urls).values()]
            for a in repository.articles_by_id(db_url, sorted(set(found))):
                refs.append((f"article {a.id}: {a.title}", article_input(a.title, a.text)))
        if not refs:
            continue
        vectors = embedder.embed([text for _, text in refs])
        compiled.append(SemanticTopic(topic, [label for label, _ in refs], [_quote(t) for _, t in refs], vectors))
    return compiled


def article_vector(article: StoredArticle, embedder: Embedder) -> np.ndarray:
    """The article's stored vector when the run's model made it, else embedded now (articles
    stored before a model was installed, or by another one)."""
    if article.vector is not None and article.vector_model == embedder.name:
        return unpack(article.vector)
    return unit(embedder.embed([article_input(article.title, article.text)]))[0]


def closest(topic: SemanticTopic, vector: np.ndarray, language: str | None) -> Closest | None:
    """The closest reference when it scores at least the threshold for `language`, else None."""
    assert topic.topic.semantic is not None
    threshold = topic.topic.semantic.threshold_for(language)
    if threshold is None or not len(topic.vectors):
        return None
    scores = topic.vectors @ vector
    best = int(np.argmax(scores))
    score = float(scores[best])
    return Closest(score, threshold, topic.labels[best], topic.quotes[best]) if score >= threshold else None


def semantic_hit(topic: str, title: str, text: str, found: Closest) -> TopicHit:
    """The match the semantic method adds, explained: no term fired, the article is this close
    to this reference; the quote is the article's lead sentence."""
    spans = sentence_spans(text)
    lead = next((text[a:b].strip() for a, b in spans if text[a:b].strip()), "") or title
    why = f"{found.score:.2f} (threshold {found.threshold:.2f}) to {found.label}: {found.quote}"
    return TopicHit(topic, [SEMANTIC_CLAUSE], [], _quote(lead), "text", [], [_quote(lead)], {SEMANTIC_GROUP: [why]})


@dataclass(frozen=True)
class Meaning:
    """One topic's semantic method with the model that embeds its references, for the tools that
    score a topic outside a run (`topics test --labelled`, `backtest`, `topics tune`)."""

    embedder: Embedder
    topic: SemanticTopic

    def vector(self, title: str, text: str, stored: StoredArticle | None = None) -> np.ndarray:
        """The article's vector: the stored one when this model made it, else embedded now."""
        if stored is not None:
            return article_vector(stored, self.embedder)
        return unit(self.embedder.embed([article_input(title, text)]))[0]

    def score(self, vector: np.ndarray) -> float:
        return float((self.topic.vectors @ vector).max())

    def hit(self, title: str, text: str, language: str | None, stored: StoredArticle | None = None) -> TopicHit | None:
        found = closest(self.topic, self.vector(title, text, stored), language)
        return None if found is None else semantic_hit(self.topic.topic.name, title, text, found)


def meaning_of(topic: TopicSpec, embedder: Embedder, db_url: str | None) -> Meaning | None:
    """The topic's semantic method (None: the topic has no `semantic:` key)."""
    compiled = compile_semantic([topic], embedder, db_url)
    return Meaning(embedder, compiled[0]) if compiled else None


def semantic_hits(
    article: StoredArticle, topics: Sequence[SemanticTopic], embedder: Embedder, matched: set[str]
) -> list[TopicHit]:
    """The semantic topics that add this article: those its query did not match (`matched`)."""
    pending = [t for t in topics if t.topic.name not in matched]
    if not pending:
        return []
    vector = article_vector(article, embedder)
    hits = []
    for topic in pending:
        if (found := closest(topic, vector, article.language)) is not None:
            hits.append(semantic_hit(topic.topic.name, article.title, article.text, found))
    return hits
