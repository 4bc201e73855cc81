"""Watched topics against new articles. Terms are case-insensitive (full Unicode case
folding), whole-word, with a trailing '*' as a prefix wildcard; each match keeps the terms
that fired, the words they found and the sentence that shows why."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import regex
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from storage import repository
from storage.repository import MatchRecord, StoredArticle, Target
from tasks.config import TopicSpec
from tasks.faults import crashpoint
from tasks.text import normalize, sentences

log = logging.getLogger(__name__)

# A word character, including combining marks: a term never starts or ends inside a word or
# a grapheme cluster (Khmer vowel signs and subscripts are marks).
_WORD = r"[\w\p{M}]"
# Scripts written without spaces between words: a term there cannot require a word boundary.
_UNSPACED = regex.compile(r"[\p{Khmer}\p{Thai}\p{Lao}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}]")
MAX_SENTENCE = 400
MATCH_CHUNK = 200


def _bounded(body: str, term: str) -> str:
    """Whole-word for spaced scripts; for unspaced ones, never inside a grapheme cluster."""
    if _UNSPACED.search(term):
        return rf"(?<!\p{{M}}){body}(?!\p{{M}})"
    return rf"(?<!{_WORD}){body}(?!{_WORD})"


def _term_pattern(term: str) -> str:
    term = unicodedata.normalize("NFC", term)
    words = term.rstrip("*").split()
    body = r"[\s\-]+".join(regex.escape(w) for w in words)
    if term.endswith("*"):
        body += rf"{_WORD}*"
    return _bounded(body, term)


@dataclass(frozen=True)
class CompiledTopic:
    name: str
    terms: tuple[str, ...]
    patterns: tuple[regex.Pattern[str], ...]
    exclude: regex.Pattern[str] | None


def compile_topic(topic: TopicSpec) -> CompiledTopic:
    flags = regex.IGNORECASE | regex.FULLCASE | regex.UNICODE | regex.V1
    patterns = tuple(regex.compile(_term_pattern(t), flags) for t in topic.terms)
    exclude = regex.compile("|".join(_term_pattern(t) for t in topic.exclude), flags) if topic.exclude else None
    return CompiledTopic(topic.name, topic.terms, patterns, exclude)


@dataclass(frozen=True)
class TopicHit:
    topic: str
    terms: list[str]
    words: list[str]
    hit_sentence: str
    hit_field: str  # "title" or "text"


def _trim(sentence: str, start: int, end: int) -> str:
    """A long 'sentence' (a paragraph without stops) cut to a window around the hit."""
    if len(sentence) <= MAX_SENTENCE:
        return sentence
    half = (MAX_SENTENCE - (end - start)) // 2
    lo, hi = max(0, start - half), min(len(sentence), end + half)
    return ("…" if lo else "") + sentence[lo:hi].strip() + ("…" if hi < len(sentence) else "")


def match(title: str, text: str, topic: CompiledTopic) -> TopicHit | None:
    """Does this article match the topic, and why."""
    title, text = unicodedata.normalize("NFC", title), unicodedata.normalize("NFC", text)
    if topic.exclude is not None and (topic.exclude.search(title) or topic.exclude.search(text)):
        return None
    fired: list[str] = []
    words: dict[str, str] = {}
    for term, pattern in zip(topic.terms, topic.patterns, strict=True):
        found = [m.group(0) for m in pattern.finditer(title)] + [m.group(0) for m in pattern.finditer(text)]
        if found:
            fired.append(term)
            for w in found:
                words.setdefault(w.casefold(), w)
    if not fired:
        return None
    # The hit sentence: the one in the body where most terms fire; the title if none does.
    best: tuple[int, str, int, int] | None = None
    title_key = normalize(title)
    for sentence in sentences(text):
        if normalize(sentence) == title_key:
            continue  # extracted text often repeats the headline: the body explains better
        spans = [m.span() for p in topic.patterns for m in p.finditer(sentence)]
        if spans and (best is None or len(spans) > best[0]):
            first = min(spans)
            best = (len(spans), sentence, first[0], first[1])
    if best is None:
        # A phrase broken across a line break lies in no single sentence: quote around it.
        flat = " ".join(text.split())
        spans = [m.span() for p in topic.patterns for m in p.finditer(flat)]
        if spans:
            start, end = min(spans)
            return TopicHit(topic.name, fired, list(words.values()), _trim(flat, start, end), "text")
        return TopicHit(topic.name, fired, list(words.values()), title, "title")
    return TopicHit(topic.name, fired, list(words.values()), _trim(best[1], best[2], best[3]), "text")


def match_article(article: StoredArticle, topics: Sequence[CompiledTopic]) -> list[TopicHit]:
    return [hit for t in topics if (hit := match(article.title, article.text, t)) is not None]


def hit_segments(sentence: str, words: Sequence[str]) -> list[tuple[str, bool]]:
    """The sentence cut into (text, is_a_matched_word) pieces, so each channel can escape the
    text and emphasize the words in its own syntax."""
    if not words:
        return [(sentence, False)] if sentence else []
    alternation = "|".join(_bounded(regex.escape(w), w) for w in sorted(words, key=len, reverse=True))
    pattern = regex.compile(alternation, regex.IGNORECASE | regex.V1)
    pieces: list[tuple[str, bool]] = []
    last = 0
    for m in pattern.finditer(sentence):
        if m.start() > last:
            pieces.append((sentence[last : m.start()], False))
        pieces.append((m.group(0), True))
        last = m.end()
    if last < len(sentence):
        pieces.append((sentence[last:], False))
    return pieces


def emphasize(sentence: str, words: Sequence[str], before: str = "**", after: str = "**") -> str:
    """The sentence with each matched word wrapped (no escaping: see tasks.templates)."""
    return "".join(f"{before}{text}{after}" if hit else text for text, hit in hit_segments(sentence, words))


@dataclass
class MatchReport:
    checked: int = 0
    new_match_ids: list[int] | None = None


def route(topic: TopicSpec, targets: Sequence[Target]) -> list[Target]:
    """The targets a topic's alerts go to: those carrying one of its `notify` tags (all when it
    names none). A topic whose tags no target carries goes to all: nothing is dropped."""
    if not topic.notify:
        return list(targets)
    chosen = [t for t in targets if set(t.tags) & set(topic.notify)]
    if not chosen:
        log.warning("topic %s: no target tagged %s; sending to every target", topic.name, ", ".join(topic.notify))
    return chosen or list(targets)


def match_unmatched(db_url: str, topics: Sequence[TopicSpec], targets: Sequence[Target], dry_run: bool) -> MatchReport:
    """Check every article not yet checked (this run's, and any a crashed run left), write
    matches and their alerts in the same transaction as the articles' checked mark."""
    compiled = [compile_topic(t) for t in topics]
    routes = {t.name: route(t, targets) for t in topics}
    digest_topics = {t.name for t in topics if t.mode != "immediate"}
    report = MatchReport(new_match_ids=[])
    while True:
        batch = repository.unmatched_articles(db_url, MATCH_CHUNK)
        if not batch:
            return report
        records = [
            MatchRecord(hit.topic, a.id, hit.terms, hit.words, hit.hit_sentence, hit.hit_field)
            for a in batch
            for hit in match_article(a, compiled)
        ]
        status = "dry_run" if dry_run else "pending"
        new_ids = repository.save_matches(db_url, [a.id for a in batch], records, routes, status, digest_topics)
        crashpoint("after-match")
        report.checked += len(batch)
        assert report.new_match_ids is not None
        report.new_match_ids.extend(new_ids)


@task(name="match-topics", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def match_task(db_url: str, topics: list[TopicSpec], targets: list[Target], dry_run: bool) -> MatchReport:
    report = match_unmatched(db_url, topics, targets, dry_run)
    get_run_logger().info("checked %d articles: %d new matches", report.checked, len(report.new_match_ids or []))
    return report
