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

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import SQLAlchemyError

from storage import archive, repository
from storage.clock import now_utc
from storage.records import ArticleRecord, KnownArticle, SourceState, SourceUpdate
from tasks.common import progress
from tasks.common.faults import crashpoint
from tasks.common.interval import parse_interval
from tasks.common.text import clean
from tasks.config import Settings, SourceSpec
from tasks.fetching import (
    FetchError,
    FetchPolicy,
    FetchResult,
    HostGate,
    RetryLater,
    RobotsCache,
    feed_links,
    fetch,
    looks_like_html,
    new_session,
)
from tasks.ingest.canonical import canonical_url
from tasks.ingest.feeds import FeedEntry, ParsedFeed, ParseError, parse
from tasks.ingest.schedule import FetchOutcome, next_update
from tasks.ingest.workers import ExtractionTimeout, analyze, page_pool

log = logging.getLogger(__name__)

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class IngestOptions:
    """Everything an ingest task needs besides the sources; built once per run from settings."""

    policy: FetchPolicy
    workers: int
    host_concurrency: int
    host_min_gap: float
    obey_robots: bool
    default_interval: str
    pause_after: int
    extract_processes: int = 0
    extract_timeout: float = 30.0

    @classmethod
    def from_settings(cls, s: Settings) -> IngestOptions:
        return cls(
            FetchPolicy.from_settings(s),
            s.fetch_workers,
            s.host_concurrency,
            s.host_min_gap,
            s.obey_robots,
            s.default_interval,
            s.pause_after_failures,
            s.extract_processes,
            s.extract_timeout,
        )


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

    @property
    def ok(self) -> bool:
        return self.error is None


# One gate and one robots cache per process: every batch of a run shares the per-host limits.
_gates: dict[tuple[int, float], HostGate] = {}
_robots: dict[str, RobotsCache] = {}


def _gate(options: IngestOptions) -> HostGate:
    key = (options.host_concurrency, options.host_min_gap)
    return _gates.setdefault(key, HostGate(*key))


def _robots_for(options: IngestOptions) -> RobotsCache:
    return _robots.setdefault(options.policy.user_agent, RobotsCache(options.policy.user_agent))


class _Fetcher:
    """fetch() behind the host gate, with the run's session and policy."""

    def __init__(self, options: IngestOptions) -> None:
        self.options = options
        self.gate = _gate(options)
        self.robots = _robots_for(options)
        self.session = new_session(options.policy)

    def get(self, url: str, accept: str, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        wait = self.gate.blocked_for(url)
        if wait:
            raise RetryLater(f"host asked us to wait {wait:.0f} s more ({url})", retry_after=wait)
        with self.gate.slot(url):
            try:
                return fetch(
                    url, self.options.policy, self.session, accept=accept, etag=etag, last_modified=last_modified
                )
            except RetryLater as exc:
                if exc.status == 503 and exc.retry_after is None:  # plain "down": a failure, not a deferral
                    raise FetchError(str(exc), exc.status) from None
                self.gate.block(url, exc.retry_after or 60.0)
                raise

    def robots_allow(self, url: str) -> bool:
        if not self.options.obey_robots:
            return True

        def load(robots_url: str) -> tuple[int, bytes]:
            try:
                response = self.get(robots_url, "text/plain")
                return response.status, response.body
            except FetchError as exc:
                if exc.status is not None:
                    return exc.status, b""
                raise

        return self.robots.allowed(url, load)


def _record(
    entry: FeedEntry, canonical: str, source: SourceSpec, source_id: int, feed: ParsedFeed, fetcher: _Fetcher
) -> ArticleRecord:
    html = None
    note = None
    url = entry.url
    if not source.fetch_pages:
        note = "source configured with fetch_pages: false"
    elif not fetcher.robots_allow(entry.url):
        note = "robots.txt disallows the page"
    else:
        try:
            response = fetcher.get(entry.url, PAGE_ACCEPT)
            url, html = response.url, response.body
        except FetchError as exc:
            note = f"page not fetched: {exc}"
    hint = source.language or _lang(feed.language)
    options = fetcher.options
    try:
        result = page_pool(options.extract_processes).analyze(
            html, url, entry.title, entry.summary, hint, not (entry.title and entry.published), options.extract_timeout
        )
    except ExtractionTimeout as exc:
        result, note = analyze(None, url, entry.title, entry.summary, hint), f"page not extracted: {exc}"
    if html is not None:
        progress.advance(progress.ARTICLES)
        if result.page is None and note is None:
            note = "page had no extractable article text"
    page = result.page
    return ArticleRecord(
        source_id=source_id,
        canonical_url=canonical_url(url) if url != entry.url else canonical,
        url=url,
        guid=entry.guid,
        title=entry.title or (page.title if page and page.title else "") or url,
        author=entry.author or (page.author if page else None),
        published_at=entry.published or (page.published if page else None),
        language=result.language,
        summary=entry.summary or None,
        text=result.text,
        content_hash=result.content_hash,
        signature=result.signature,
        text_origin="page" if page else "feed",
        text_note=note,
    )


def _revised(stored: KnownArticle, entry: FeedEntry, source_id: int) -> bool:
    """Worth fetching the page again: the feed now says something else about an article of this
    source (another outlet's copy under the same URL is not this source's to revise)."""
    return stored.source_id == source_id and bool(entry.summary) and clean(entry.summary) != (stored.summary or "")


def _lang(value: str | None) -> str | None:
    return value.strip().replace("_", "-").split("-")[0].lower()[:20] if value and value.strip() else None


def _fetch_feed(
    source: SourceSpec, state: SourceState, fetcher: _Fetcher, outcome: SourceOutcome
) -> tuple[FetchResult, bool]:
    """The feed's response, and whether it came from following an HTML page to the feed it
    announces (then the validators belong to another URL and are not kept)."""
    response = fetcher.get(source.url, FEED_ACCEPT, state.etag, state.last_modified)
    if response.status == 304 or not looks_like_html(response.body, response.content_type):
        return response, False
    links = feed_links(response.body, response.url)
    if not links:
        raise ParseError('HTML page, not a feed, and it announces no feed (<link rel="alternate">)')
    outcome.warning = f"the URL is an HTML page; used the feed it announces, {links[0]}: put that in sources.yaml"
    return fetcher.get(links[0], FEED_ACCEPT), True


def _store_entries(
    db_url: str, source: SourceSpec, source_id: int, feed: ParsedFeed, fetcher: _Fetcher, outcome: SourceOutcome
) -> None:
    outcome.entries = len(feed.entries)
    fresh: dict[str, FeedEntry] = {}
    for entry in feed.entries:
        fresh.setdefault(canonical_url(entry.url), entry)  # a feed listing one URL twice
    outcome.duplicates += len(feed.entries) - len(fresh)
    known = repository.known_entries(db_url, source_id, list(fresh), [e.guid for e in fresh.values() if e.guid])
    pruned = archive.is_tombstoned(db_url, list(fresh))  # pruned from the archive: never again
    records = []
    if source.fetch_pages:
        progress.expect(progress.ARTICLES, sum(1 for c in fresh if c not in known and c not in pruned))
    for canonical, entry in fresh.items():
        stored_article = known.get(canonical) or (known.get(entry.guid) if entry.guid else None)
        if stored_article is None and canonical in pruned:
            outcome.known += 1
            continue
        if stored_article is None:
            records.append(_record(entry, canonical, source, source_id, feed, fetcher))
            continue
        outcome.known += 1
        if _revised(stored_article, entry, source_id):
            record = _record(entry, canonical, source, source_id, feed, fetcher)
            if record.content_hash != stored_article.content_hash and repository.revise_article(
                db_url, stored_article, record
            ):
                outcome.revised += 1
    pruned_texts = archive.is_tombstoned(db_url, [], [r.content_hash for r in records if r.content_hash])
    outcome.known += sum(1 for r in records if r.content_hash in pruned_texts)
    records = [r for r in records if r.content_hash not in pruned_texts]
    stored = repository.insert_articles(db_url, records)
    crashpoint("after-store")
    outcome.new_ids = stored.new_ids
    outcome.new = len(stored.new_ids)
    outcome.duplicates += stored.conflicts
    origins = [r.text_origin for r, new_id in zip(records, stored.ids, strict=True) if new_id is not None]
    outcome.from_page = origins.count("page")
    outcome.from_feed = origins.count("feed")


def ingest_source(
    db_url: str,
    source: SourceSpec,
    state: SourceState,
    options: IngestOptions,
    now: datetime | None = None,
    health: list[tuple[int, SourceUpdate]] | None = None,
) -> SourceOutcome:
    """One source, start to end. Any failure of the source is caught and reported in the
    outcome and in the source's health; only a database failure (not the source's fault)
    is raised."""
    outcome = SourceOutcome(source.name)
    fetcher = _Fetcher(options)
    validators: dict[str, str | None] = {}
    retry_after = None
    try:
        response, followed = _fetch_feed(source, state, fetcher, outcome)
        validators = (
            {"etag": None, "last_modified": None}
            if followed
            else {"etag": response.etag, "last_modified": response.last_modified}
        )
        body_hash = hashlib.sha256(response.body).hexdigest() if response.status != 304 else state.body_hash
        validators["body_hash"] = body_hash
        if response.status == 304 or body_hash == state.body_hash:
            outcome.not_modified = True
            validators["etag"] = validators["etag"] or state.etag
            validators["last_modified"] = validators["last_modified"] or state.last_modified
        else:
            feed = parse(response.body, response.url, response.content_type)
            outcome.warning = outcome.warning or feed.warning
            _store_entries(db_url, source, state.id, feed, fetcher, outcome)
    except RetryLater as exc:
        outcome.error, outcome.deferred, retry_after = str(exc), True, exc.retry_after or 60.0
    except (FetchError, ParseError) as exc:
        outcome.error = str(exc)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # a bug or a pathological feed must not end the run for the others
        log.exception("source %s failed unexpectedly", source.name)
        outcome.error = f"unexpected {type(exc).__name__}: {clean(str(exc), 300)}"
    finally:
        fetcher.session.close()
    when = now or now_utc()
    interval = parse_interval(source.interval or options.default_interval)
    change = next_update(
        state,
        FetchOutcome(outcome.error, outcome.new, retry_after, **validators),  # type: ignore[arg-type]
        interval,
        when,
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


def ingest(
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
def ingest_batch(
    db_url: str, sources: list[SourceSpec], states: dict[str, SourceState], options: IngestOptions, label: str
) -> list[SourceOutcome]:
    logger = get_run_logger()
    outcomes = ingest(db_url, sources, states, options)
    # One line for the unchanged sources, not one each: at thousands of sources the log lines
    # were a good part of a quiet run's cost (each is shipped to the Prefect server).
    unchanged = [o.name for o in outcomes if o.not_modified]
    if unchanged:
        logger.info(
            "not modified: %d sources (%s)",
            len(unchanged),
            ", ".join(unchanged[:10]) + (" ..." if len(unchanged) > 10 else ""),
        )
    for o in outcomes:
        if o.not_modified:
            continue
        if o.ok:
            logger.info(
                "%s: %d entries, %d new, %d known, %d duplicates%s",
                o.name,
                o.entries,
                o.new,
                o.known,
                o.duplicates,
                f" (warning: {o.warning})" if o.warning else "",
            )
        else:
            logger.warning("%s: %s: %s", o.name, "deferred" if o.deferred else "failed", o.error)
    return outcomes
