"""Searching the archive with the watchlist's query language (`newswatch search`): the
full-text index finds the articles holding one of the query's required words (storage/search.py),
the query decides on each of them, and each result says why it matched (its clauses, words and
indicators)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage import repository, search
from storage.records import StoredArticle
from tasks.common.scripts import UNSPACED_SCRIPT_CHAR
from tasks.matching.topics import ArticleHit, CompiledTopic, match

CANDIDATES = 2000


@dataclass
class SearchReport:
    query: str
    used_index: bool
    candidates: int = 0
    results: list[ArticleHit] = field(default_factory=list)
    note: str | None = None


def _literals(topic: CompiledTopic) -> list[search.SearchLiteral] | None:
    """The literals at least one of which every match contains (None: the query needs none),
    each marked if it is in a script written without spaces (PostgreSQL cannot look it up)."""
    found: set[str] = set()
    for query in topic.queries.values():
        sets = query.requirement()
        if not sets:
            return None
        found |= max(sets, key=lambda s: min(map(len, s)))
    return [search.SearchLiteral(lit, bool(UNSPACED_SCRIPT_CHAR.search(lit))) for lit in sorted(found)]


def search_archive(
    db_url: str, topic: CompiledTopic, since: datetime, within_topic: str | None = None, limit: int = 20
) -> SearchReport:
    report = SearchReport(query="; ".join(q.text for q in topic.queries.values()), used_index=True)
    literals = _literals(topic)
    articles: list[StoredArticle]
    try:
        if literals is None:
            raise search.NoIndex("the query requires no word (NOT or fields only)")
        ids = search.candidate_ids(db_url, literals, since, within_topic, CANDIDATES)
        articles = repository.articles_by_id(db_url, ids)
    except search.NoIndex as exc:
        report.used_index, report.note = False, f"scanned the archive: {exc}"
        articles = [
            a
            for a in repository.articles_since(db_url, since)
            if within_topic is None or within_topic in repository.article_topics(db_url, a.id)
        ]
    report.candidates = len(articles)
    for article in articles:
        hit = match(article.title, article.text, topic, article.source_name, article.source_tags, article.language)
        if hit is None:
            continue
        report.results.append(ArticleHit.of(article, hit))
    report.results.sort(key=lambda r: r.published, reverse=True)
    report.results = report.results[:limit]
    return report
