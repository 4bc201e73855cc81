"""Watched topics against new articles, through the query language of tasks.query (terms,
phrases, AND/OR/NOT, NEAR/n, @groups, ATLEAST, SENTENCE/PARAGRAPH, fields, per-language
queries). The whole watchlist compiles once per run into one index; each match keeps the
clauses that fired, the matched spans, the words they found, the sentences that show why, and
per group that fired (an indicator) the text it matched."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from storage.records import StoredArticle
from tasks.common.language import primary_tag
from tasks.common.text import normalize, sentence_spans
from tasks.config import TopicSpec
from tasks.matching.scoring import CompiledScore, compile_score
from tasks.query import Doc, Explanation, Query, WatchlistIndex, parse_query, terms_query

MAX_SENTENCE = 400
MAX_SENTENCES = 3
DEFAULT = "*"  # the key of a topic's language-independent query


def topic_queries(topic: TopicSpec) -> dict[str, str]:
    """A topic's query strings by language ("*": every language). `terms:` is shorthand for an
    OR of its terms; `exclude:` becomes a NOT on every query."""
    base = topic.query or (terms_query(topic.terms) if topic.terms else None)
    queries = ({DEFAULT: base} if base else {}) | dict(topic.queries)
    if topic.exclude:
        veto = terms_query(topic.exclude)
        queries = {lang: f"({q}) NOT ({veto})" for lang, q in queries.items()}
    return queries


@dataclass(frozen=True)
class CompiledTopic:
    name: str
    queries: dict[str, Query]  # by language; DEFAULT for all
    score: CompiledScore | None = None  # its `score:` key: adds what the queries miss


def _parsed(topic: TopicSpec) -> dict[str, Query]:
    """The topic's queries parsed with its groups, each for its language (DEFAULT: every one)."""
    groups = topic.term_groups()
    return {lang: parse_query(q, groups, None if lang == DEFAULT else lang) for lang, q in topic_queries(topic).items()}


def compile_topic(topic: TopicSpec) -> CompiledTopic:
    return CompiledTopic(topic.name, _parsed(topic), compile_score(topic))


@dataclass(frozen=True)
class TopicHit:
    topic: str
    terms: list[str]  # the clauses that fired, as written in the query
    words: list[str]  # what they found in the article
    hit_sentence: str
    hit_field: str  # "title" or "text"
    spans: list[list[object]] = field(default_factory=list)  # [field, start, end, clause]
    sentences: list[str] = field(default_factory=list)  # the best hit sentences, best first
    indicators: dict[str, list[str]] = field(default_factory=dict)  # group that fired -> the text it matched


def _trim(sentence: str, start: int, end: int) -> str:
    """A long 'sentence' (a paragraph without stops) cut to a window around the hit."""
    if len(sentence) <= MAX_SENTENCE:
        return sentence
    half = (MAX_SENTENCE - (end - start)) // 2
    lo, hi = max(0, start - half), min(len(sentence), end + half)
    return ("…" if lo else "") + sentence[lo:hi].strip() + ("…" if hi < len(sentence) else "")


def _hit(topic: str, title: str, text: str, why: Explanation) -> TopicHit:
    words: dict[str, str] = {}
    for span in why.spans:
        found = (title if span.field == "title" else text)[span.start : span.end]
        words.setdefault(found.casefold(), found)
    in_text = [(sp.start, sp.end) for sp in why.spans if sp.field == "text"]
    title_key = normalize(title)
    ranked: list[tuple[int, int, str]] = []  # (-hits, position, sentence trimmed around its first hit)
    for start, end in sentence_spans(text):
        inside = sorted((a, b) for a, b in in_text if a >= start and b <= end)
        sentence = text[start:end]
        if inside and normalize(sentence) != title_key:  # the text often repeats the headline
            first = inside[0]
            ranked.append((-len(inside), start, _trim(sentence, first[0] - start, first[1] - start)))
    if not ranked and in_text:
        # A phrase broken across a sentence break lies in no single sentence: quote around it.
        start, end = min(in_text)
        lo = max(0, start - MAX_SENTENCE // 2)
        ranked.append((-1, start, _trim(" ".join(text[lo : end + MAX_SENTENCE // 2].split()), 0, 0)))
    best = [s for _, _, s in sorted(ranked)[:MAX_SENTENCES]]
    spans = [[sp.field, sp.start, sp.end, sp.clause] for sp in why.spans]
    indicators = {i.group: list(i.quotes) for i in why.indicators}
    if not best:
        return TopicHit(topic, list(why.clauses), list(words.values()), title, "title", spans, [title], indicators)
    return TopicHit(topic, list(why.clauses), list(words.values()), best[0], "text", spans, best, indicators)


def article_doc(title: str, text: str, source: str = "", tags: Sequence[str] = (), language: str | None = None) -> Doc:
    # The engine's span offsets index the strings as given: give it NFC text, as stored.
    nfc = unicodedata.normalize
    return Doc(title=nfc("NFC", title), text=nfc("NFC", text), source=source, tags=tuple(tags), lang=language)


def _languages(language: str | None) -> tuple[str, ...]:
    """The query keys an article is checked against: its language's, then the default."""
    primary = primary_tag(language) or ""
    return (primary, DEFAULT) if primary else (DEFAULT,)


def match(
    title: str, text: str, topic: CompiledTopic, source: str = "", tags: Sequence[str] = (), language: str | None = None
) -> TopicHit | None:
    """Does this article match the topic, and why (one topic; runs use a CompiledWatchlist)."""
    doc = article_doc(title, text, source, tags, language)
    for key in _languages(language):
        query = topic.queries.get(key)
        why = query.explain(doc) if query else None
        if why is not None:
            return _hit(topic.name, doc.title, doc.text, why)
    why = topic.score.explain(doc) if topic.score else None
    return _hit(topic.name, doc.title, doc.text, why) if why else None


@dataclass
class CompiledWatchlist:
    index: WatchlistIndex[tuple[str, str]]  # keys: (topic, language)
    scores: dict[str, CompiledScore] = field(default_factory=dict)  # the topics with `score:`


def compile_watchlist(topics: Sequence[TopicSpec]) -> CompiledWatchlist:
    queries = {(t.name, lang): q for t in topics for lang, q in _parsed(t).items()}
    scores = {t.name: score for t in topics if (score := compile_score(t)) is not None}
    return CompiledWatchlist(WatchlistIndex(queries), scores)


def match_article(article: StoredArticle, compiled: CompiledWatchlist) -> list[TopicHit]:
    """Every topic the article matches: one pass of the index over its text."""
    doc = article_doc(article.title, article.text, article.source_name, article.source_tags, article.language)
    found = compiled.index.match(doc)
    keys = _languages(article.language)
    hits = []
    for topic in dict.fromkeys(name for name, _ in found):
        why = next((found[(topic, k)] for k in keys if (topic, k) in found), None)
        if why is not None:  # a query for another language than the article's does not count
            hits.append(_hit(topic, doc.title, doc.text, why))
    matched = {hit.topic for hit in hits}
    for topic, score in compiled.scores.items():
        if topic not in matched and (why := score.explain(doc)) is not None:
            hits.append(_hit(topic, doc.title, doc.text, why))
    return hits


@dataclass
class ArticleHit:
    """A stored article a query matched, as backtest and search show it."""

    id: int
    title: str
    url: str
    source: str
    published: str  # ISO date (or datetime) of publication, else of fetching
    sentence: str
    clauses: list[str]
    words: list[str]
    indicators: dict[str, list[str]] = field(default_factory=dict)  # as TopicHit's

    @classmethod
    def of(cls, article: StoredArticle, hit: TopicHit) -> ArticleHit:
        when = article.published_at or article.fetched_at
        return cls(
            article.id,
            article.title,
            article.url,
            article.source_name,
            when.isoformat() if when else "",
            hit.hit_sentence,
            hit.terms,
            hit.words,
            hit.indicators,
        )
