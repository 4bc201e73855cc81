"""Sources in, new articles out: fetch each due feed (conditionally), parse it, skip what is
stored, fetch and extract the new articles' pages (politely), store them, and record the
source's health. Storage says which rows are new."""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import SQLAlchemyError

from storage import archive, repository
from storage.clock import now_utc
from storage.db import is_data_error, one_line, storage_errors
from storage.records import ArticleRecord, KnownArticle, SourceState, SourceUpdate
from tasks.common import progress
from tasks.common.faults import crashpoint
from tasks.common.interval import parse_interval
from tasks.common.language import primary_tag
from tasks.common.runlog import run_logger
from tasks.common.text import clean
from tasks.config import SourceSpec
from tasks.fetching import FetchError, FetchResult, PoliteFetcher, RetryLater
from tasks.ingest.articles import FetchedArticle, fetch_article
from tasks.ingest.batchlog import batch_lines
from tasks.ingest.canonical import anchored_key, canonical_url, entry_keys
from tasks.ingest.feedfetch import fetch_feed
from tasks.ingest.feeds import FeedEntry, ParsedFeed, ParseError
from tasks.ingest.options import IngestOptions
from tasks.ingest.schedule import FetchOutcome, next_update
from tasks.ingest.sourcekinds import parse_feed_source, read_listing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RejectedEntry:
    """A feed entry left out alone, and why: it has no link newswatch may fetch (javascript:,
    data:, over 4,096 characters), the database refused its values, or handling it failed. The
    source's other entries are stored all the same."""

    url: str
    reason: str


@dataclass
class SourceOutcome:
    name: str
    error: str | None = None
    warning: str | None = None
    not_modified: bool = False  # 304, or the same bytes as last time: nothing parsed
    entries: int = 0  # entries in the feed
    known: int = 0  # already stored by an earlier run
    new: int = 0  # stored now
    duplicates: int = 0  # new to this feed but the same article as one stored (URL, GUID or text)
    revised: int = 0  # stored articles whose page changed its text: a new revision
    from_page: int = 0
    from_feed: int = 0
    deferred: bool = False  # the server asked us to come back later (429/503)
    paused_now: bool = False  # this failure paused the source: operators are told once
    new_ids: list[int] = field(default_factory=list)
    rejected: list[RejectedEntry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Source:
    """One source being ingested: what every step needs to know about it."""

    db_url: str
    spec: SourceSpec
    state: SourceState
    options: IngestOptions
    fetcher: PoliteFetcher
    outcome: SourceOutcome


def _fetch_entry_record(source: _Source, entry: FeedEntry, canonical: str, feed: ParsedFeed) -> ArticleRecord:
    """The record of a new (or revised) entry: its page fetched and extracted (robots.txt
    permitting) by fetch_article, falling back to the feed's summary; the feed's fields first."""
    spec = source.spec
    article = fetch_article(
        entry.url,
        source.fetcher,
        source.options,
        title=entry.title,
        summary=entry.summary,
        language_hint=spec.language or primary_tag(feed.language),
        metadata=not (entry.title and entry.published),
        skip_page=_skip_page(spec, canonical),
    )
    if article.fetched:
        progress.advance(progress.ARTICLES)
    return _record(entry, canonical, source.state.id, article)


def _skip_page(spec: SourceSpec, canonical: str) -> str | None:
    """Why the entry's page is not fetched, if it is not: a key that keeps its fragment names
    one of several posts on one page, whose text is the page's, not this post's."""
    if not spec.fetch_pages:
        return "source configured with fetch_pages: false"
    return "one of several posts on one page (the links differ by fragment)" if "#" in canonical else None


def _record(entry: FeedEntry, canonical: str, source_id: int, article: FetchedArticle) -> ArticleRecord:
    page, url, result = article.content.page, article.url, article.content
    return ArticleRecord(
        source_id=source_id,
        canonical_url=canonical_url(url) if url != entry.url else canonical,
        url=url,
        guid=entry.guid,
        title=entry.title or (page.title if page and page.title else "") or url,
        author=entry.author or (page.author if page else None),
        published_at=entry.published or (page.published if page else None),
        language=result.language,
        declared_language=result.declared_language,
        summary=entry.summary or None,
        text=result.text,
        content_hash=result.content_hash,
        signature=result.signature,
        vector=result.vector.data if result.vector else None,
        vector_model=result.vector.model if result.vector else None,
        text_origin="page" if page else "feed",
        text_note=article.note,
    )


def _revised(stored: KnownArticle, entry: FeedEntry, source_id: int) -> bool:
    """Worth fetching the page again: the feed now says something else about an article of this
    source (another outlet's copy under the same URL is not this source's to revise)."""
    return stored.source_id == source_id and bool(entry.summary) and clean(entry.summary) != (stored.summary or "")


def _store_entries(source: _Source, feed: ParsedFeed) -> None:
    """Store the feed's new entries (and new revisions of known ones); counts in the outcome."""
    db_url, outcome, source_id = source.db_url, source.outcome, source.state.id
    outcome.entries = len(feed.entries) + len(feed.left_out)
    outcome.rejected += [RejectedEntry(link, reason) for link, reason in feed.left_out]
    fresh: dict[str, FeedEntry] = {}
    for key, entry in zip(entry_keys([e.url for e in feed.entries]), feed.entries, strict=True):
        fresh.setdefault(key, entry)  # a feed listing one URL twice
    outcome.duplicates += len(feed.entries) - len(fresh)
    # A post stored under its fragment (told apart from a sibling) is known when listed alone.
    anchored = {k: a for k, e in fresh.items() if (a := anchored_key(e.url)) and a != k}
    guids = [e.guid for e in fresh.values() if e.guid]
    known = repository.known_entries(db_url, source_id, [*fresh, *anchored.values()], guids)
    pruned = archive.is_tombstoned(db_url, list(fresh))  # pruned from the archive: never again
    records = []
    if source.spec.fetch_pages:
        progress.expect(progress.ARTICLES, sum(1 for c in fresh if c not in known and c not in pruned))
    for canonical, entry in fresh.items():
        stored_article = known.get(canonical) or known.get(anchored.get(canonical, ""))
        stored_article = stored_article or (known.get(entry.guid) if entry.guid else None)
        if stored_article is None and canonical in pruned:
            outcome.known += 1
            continue
        try:
            if stored_article is None:
                records.append(_fetch_entry_record(source, entry, canonical, feed))
                continue
            outcome.known += 1
            if _revised(stored_article, entry, source_id):
                record = _fetch_entry_record(source, entry, canonical, feed)
                if record.content_hash != stored_article.content_hash and repository.revise_article(
                    db_url, stored_article, record
                ):
                    outcome.revised += 1
        except Exception as exc:  # this entry's failure, not the source's: unless the database is down
            if isinstance(exc, SQLAlchemyError) and not is_data_error(exc):
                raise
            log.exception("source %s: entry %s left out", source.spec.name, entry.url[:200])
            outcome.rejected.append(RejectedEntry(entry.url, f"{type(exc).__name__}: {clean(one_line(exc), 300)}"))
    _insert_new(source, records)


def _insert_new(source: _Source, records: list[ArticleRecord]) -> None:
    """Insert the new entries' records, but none whose text was pruned from the archive."""
    db_url, outcome = source.db_url, source.outcome
    pruned_texts = archive.is_tombstoned(db_url, [], [r.content_hash for r in records if r.content_hash])
    outcome.known += sum(1 for r in records if r.content_hash in pruned_texts)
    records = [r for r in records if r.content_hash not in pruned_texts]
    stored = repository.insert_articles(db_url, records)
    crashpoint("after-store")
    outcome.new_ids = stored.new_ids
    outcome.new = len(stored.new_ids)
    outcome.duplicates += stored.conflicts
    outcome.rejected += [RejectedEntry(records[i].url, reason) for i, reason in sorted(stored.rejected.items())]
    origins = [r.text_origin for r, new_id in zip(records, stored.ids, strict=True) if new_id is not None]
    outcome.from_page = origins.count("page")
    outcome.from_feed = origins.count("feed")


def _fetch_and_store(source: _Source) -> dict[str, str | None]:
    """Fetch the source's feed and, unless unchanged, parse it and store its new entries.
    Returns the validators to keep for the next conditional fetch."""
    spec, state, outcome = source.spec, source.state, source.outcome
    if spec.kind != "feed":
        return _store_listing(source)

    def html_page(_page: FetchResult, feeds: list[str]) -> None:
        if feeds:
            outcome.warning = (
                f"the URL is an HTML page; used the feed it announces, {feeds[0]}: put that in sources.yaml"
            )

    fetched = fetch_feed(spec.url, source.fetcher, state.etag, state.last_modified, html_page)
    response = fetched.response
    # Through an HTML page, the validators belong to another URL: not kept.
    etag, last_modified = (None, None) if fetched.followed else (response.etag, response.last_modified)
    body_hash = hashlib.sha256(response.body).hexdigest() if response.status != 304 else state.body_hash
    if response.status == 304 or body_hash == state.body_hash:
        outcome.not_modified = True
        etag, last_modified = etag or state.etag, last_modified or state.last_modified
        return {"etag": etag, "last_modified": last_modified, "body_hash": body_hash}
    feed = parse_feed_source(response.body, response.url, response.content_type, source.options.parse_timeout)
    outcome.warning = outcome.warning or feed.warning
    _store_entries(source, feed)
    return {"etag": etag, "last_modified": last_modified, "body_hash": body_hash}


def _store_listing(source: _Source) -> dict[str, str | None]:
    """A sitemap or page source (sourcekinds.py): its entries stored as a feed's are."""
    state = source.state
    listing = read_listing(source.spec, source.fetcher, (state.etag, state.last_modified, state.body_hash))
    source.outcome.not_modified = listing.feed is None
    if listing.feed is not None:
        source.outcome.warning = listing.feed.warning
        _store_entries(source, listing.feed)
    return {"etag": listing.etag, "last_modified": listing.last_modified, "body_hash": listing.body_hash}


def ingest_source(
    db_url: str,
    spec: SourceSpec,
    state: SourceState,
    options: IngestOptions,
    now: datetime | None = None,
    health: list[tuple[int, SourceUpdate]] | None = None,
) -> SourceOutcome:
    """One source, start to end. Any failure of the source is caught and reported in the
    outcome and in the source's health; only a database failure (not the source's fault)
    is raised."""
    outcome = SourceOutcome(spec.name)
    validators: dict[str, str | None] = {}
    retry_after = None
    with options.fetcher() as fetcher:
        try:
            validators = _fetch_and_store(_Source(db_url, spec, state, options, fetcher, outcome))
        except RetryLater as exc:
            outcome.error, outcome.deferred, retry_after = str(exc), True, exc.retry_after or 60.0
        except (FetchError, ParseError) as exc:
            outcome.error = str(exc)
        except SQLAlchemyError as exc:
            if not is_data_error(exc):  # the database's failure, not the source's
                raise
            outcome.error = f"the database refused the source's data: {clean(one_line(exc), 300)}"
        except Exception as exc:  # a bug or a pathological feed must not end the run for the others
            log.exception("source %s failed unexpectedly", spec.name)
            outcome.error = f"unexpected {type(exc).__name__}: {clean(str(exc), 300)}"
    interval = parse_interval(spec.interval or options.default_interval)
    change = next_update(
        state,
        FetchOutcome(outcome.error, outcome.new, retry_after, **validators),  # type: ignore[arg-type]
        interval,
        now or now_utc(),
        options.pause_after,
    )
    outcome.paused_now = change.paused_at is not None and state.paused_at is None
    if health is None:
        repository.record_source_result(db_url, state.id, change)
    else:
        health.append((state.id, change))  # the caller writes a batch's results at once
    progress.advance(progress.SOURCES)
    return outcome


# One pool of source threads per process, shared by every batch. A batch ends with its slowest
# source (a new article costs a robots.txt and a page, host_min_gap apart); with a pool per
# batch, those tails kept the next batches waiting while most threads were idle.
_source_pools: dict[int, ThreadPoolExecutor] = {}
_source_pools_lock = threading.Lock()


def _source_pool(workers: int) -> ThreadPoolExecutor:
    with _source_pools_lock:
        pool = _source_pools.get(workers)
        if pool is None:
            pool = _source_pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="newswatch-source")
        return pool


def ingest_sources(
    db_url: str, sources: list[SourceSpec], states: dict[str, SourceState], options: IngestOptions
) -> list[SourceOutcome]:
    """Several sources at once (I/O bound: threads), results in the order given."""
    pool = _source_pool(options.workers)
    health: list[tuple[int, SourceUpdate]] = []  # list.append is atomic: the threads share it
    futures = [pool.submit(ingest_source, db_url, s, states[s.name], options, None, health) for s in sources]
    outcomes = [f.result() for f in futures]
    repository.record_source_results(db_url, health)
    return outcomes


@task(name="ingest-sources", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE, task_run_name="ingest-{label}")
@storage_errors("ingest-sources")
def ingest_batch(
    db_url: str, sources: list[SourceSpec], states: dict[str, SourceState], options: IngestOptions, label: str
) -> list[SourceOutcome]:
    logger = run_logger()
    outcomes = ingest_sources(db_url, sources, states, options)
    # A bounded number of lines per batch (tasks/ingest/batchlog.py): one line per source with
    # news was about 3,000 rows of Prefect's database per run at 7,000 sources.
    for level, line in batch_lines(label, outcomes):
        logger.log(level, "%s", line)
    return outcomes
