"""Archive search candidates from the full-text index (migrations 0005 and 0012): SQLite FTS5
with trigrams (no positions), PostgreSQL's GIN text-search index. The index narrows the archive
to the articles that contain one of a query's literals; the query itself is then evaluated in
Python on those (tasks/matching/search.py), so search speaks the watchlist's query language exactly. The caller
says which literals are in a script written without spaces (tasks.common.scripts): PostgreSQL
cannot look those up, and storage does not know the query language's scripts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, text, true
from sqlalchemy.exc import DBAPIError

from storage.db import get_engine
from storage.models import ARTICLES, MATCHES

TRIGRAM = 3  # FTS5's trigram tokenizer cannot look up anything shorter


@dataclass(frozen=True)
class SearchLiteral:
    """A string to look up in the index: a query literal (case-folded words joined by spaces; a
    wildcard's prefix). unspaced: it holds a script written without spaces (Khmer, Thai, Han,
    ...), where PostgreSQL's text search reads a whole run of letters as one token."""

    text: str
    unspaced: bool = False


class NoIndex(Exception):
    """The index cannot serve these literals (too short, or missing): scan instead."""


def _trigrams(word: str) -> list[str]:
    return [word[i : i + TRIGRAM] for i in range(len(word) - TRIGRAM + 1)]


def _words(literal: SearchLiteral) -> list[str]:
    # A phrase's words may be joined by hyphens or line breaks in the text: require each word
    # (of three characters or more) rather than the phrase as one string.
    words = [w for w in literal.text.split() if len(w) >= TRIGRAM]
    if not words:
        raise NoIndex(f"nothing of 3 characters or more to look up in {literal.text!r}")
    return words


def _sqlite_match(literals: Sequence[SearchLiteral]) -> str:
    # The index keeps no positions (migration 0012): a word is the AND of its trigrams, anywhere
    # in the article, a superset that _sqlite_contains narrows.
    parts = []
    for literal in literals:
        trigrams = [t for w in _words(literal) for t in _trigrams(w)]
        parts.append("(" + " AND ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(trigrams)) + ")")
    return " OR ".join(parts)


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _sqlite_contains(literals: Sequence[SearchLiteral]) -> Any:
    """The articles whose title or text holds every word of a literal, for words of ASCII
    characters (LIKE folds only their case; other words stay the index's superset): on 311 long
    real pages the trigrams of "labour" were in 68, the word in 2."""
    either = []
    for literal in literals:
        words = [w for w in _words(literal) if w.isascii()]
        held = [
            or_(ARTICLES.c.title.like(_like(w), escape="\\"), ARTICLES.c.text.like(_like(w), escape="\\"))
            for w in words
        ]
        either.append(and_(true(), *held))
    return or_(*either)


def _postgres_query(literals: Sequence[SearchLiteral]) -> str:
    # Each literal's words as prefixes, all required; literals OR'ed. A superset of the true
    # matches (prefix, any order), which the query evaluation then narrows.
    parts = []
    for literal in literals:
        lit = literal.text
        if literal.unspaced:  # a whole run of Khmer or Thai is one token to PostgreSQL
            raise NoIndex(f"{lit!r} is in a script written without spaces")
        words = ["".join(ch for ch in w if ch.isalnum()) for w in lit.split()]
        words = [w for w in words if w]
        if not words:
            raise NoIndex(f"no word to look up in {lit!r}")
        parts.append("(" + " & ".join(f"{w}:*" for w in words) + ")")
    return " | ".join(parts)


def candidate_ids(
    db_url: str, literals: Sequence[SearchLiteral], since: datetime | None, topic: str | None, limit: int
) -> list[int]:
    """Ids of articles (newest first) that contain one of `literals`, through the index."""
    engine = get_engine(db_url)
    when = func.coalesce(ARTICLES.c.published_at, ARTICLES.c.fetched_at)
    if engine.dialect.name == "sqlite":
        hits = text("SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q").bindparams(q=_sqlite_match(literals))
        query = select(ARTICLES.c.id).where(ARTICLES.c.id.in_(hits), _sqlite_contains(literals))
    else:
        vector = func.to_tsvector(
            "simple", func.coalesce(ARTICLES.c.title, "") + " " + func.coalesce(ARTICLES.c.text, "")
        )
        query = select(ARTICLES.c.id).where(vector.op("@@")(func.to_tsquery("simple", _postgres_query(literals))))
    if since is not None:
        query = query.where(when >= since)
    if topic is not None:
        query = query.where(ARTICLES.c.id.in_(select(MATCHES.c.article_id).where(MATCHES.c.topic == topic)))
    try:
        with engine.connect() as conn:
            return list(conn.execute(query.order_by(when.desc()).limit(limit)).scalars())
    except DBAPIError as exc:  # e.g. a database adopted without the index
        raise NoIndex(str(getattr(exc, "orig", exc)).splitlines()[0]) from None


def explain_plan(db_url: str, literals: Sequence[SearchLiteral]) -> str:
    """The database's plan for the index lookup (tests check the index is used, not a scan)."""
    engine = get_engine(db_url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(
                text("EXPLAIN QUERY PLAN SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q"),
                {"q": _sqlite_match(literals)},
            ).all()
            return "\n".join(str(r[-1]) for r in rows)
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny test table would be scanned anyway
        rows = conn.execute(
            text(
                "EXPLAIN SELECT id FROM articles WHERE to_tsvector('simple', coalesce(title, '') || ' ' || "
                "coalesce(text, '')) @@ to_tsquery('simple', :q)"
            ),
            {"q": _postgres_query(literals)},
        ).all()
        return "\n".join(str(r[0]) for r in rows)
