"""Sources in, new articles out: fetch each feed, parse it, skip what is stored, fetch and
extract the new articles' pages, store them. Storage says which rows are new."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import SQLAlchemyError

from storage import repository
from storage.repository import ArticleRecord
from tasks.canonical import canonical_url
from tasks.config import SourceSpec
from tasks.extract import extract
from tasks.fetch import FetchError, FetchPolicy, fetch, new_session
from tasks.parse import FeedEntry, ParsedFeed, ParseError, parse
from tasks.text import clean, content_hash

log = logging.getLogger(__name__)

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8"
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass
class SourceOutcome:
    name: str
    error: str | None = None
    warning: str | None = None
    entries: int = 0  # entries in the feed
    known: int = 0  # already stored by an earlier run
    new: int = 0  # stored now
    duplicates: int = 0  # new to this feed but the same article as one stored (URL, GUID or text)
    from_page: int = 0
    from_feed: int = 0
    new_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def _record(
    entry: FeedEntry,
    canonical: str,
    source: SourceSpec,
    source_id: int,
    feed: ParsedFeed,
    policy: FetchPolicy,
    session: requests.Session,
) -> ArticleRecord:
    page = None
    note = None
    url = entry.url
    if source.fetch_pages:
        try:
            response = fetch(entry.url, policy, session, accept=PAGE_ACCEPT)
            url = response.url
            page = extract(response.body, response.url)
            if page is None:
                note = "page had no extractable article text"
        except FetchError as exc:
            note = f"page not fetched: {exc}"
    else:
        note = "source configured with fetch_pages: false"
    text = page.text if page else clean(entry.summary)
    return ArticleRecord(
        source_id=source_id,
        canonical_url=canonical_url(url) if url != entry.url else canonical,
        url=url,
        guid=entry.guid,
        title=entry.title or (page.title if page and page.title else "") or url,
        author=entry.author or (page.author if page else None),
        published_at=entry.published or (page.published if page else None),
        language=(page.language if page else None) or source.language or _lang(feed.language),
        summary=entry.summary or None,
        text=text,
        content_hash=content_hash(text),
        text_origin="page" if page else "feed",
        text_note=note,
    )


def _lang(value: str | None) -> str | None:
    return value.strip().replace("_", "-").split("-")[0].lower()[:20] if value and value.strip() else None


def ingest_source(db_url: str, source: SourceSpec, source_id: int, policy: FetchPolicy) -> SourceOutcome:
    """One source, start to end. Any failure of the source is caught and reported in the
    outcome; only a database failure (not the source's fault) is raised."""
    outcome = SourceOutcome(source.name)
    session = new_session(policy)
    try:
        response = fetch(source.url, policy, session, accept=FEED_ACCEPT)
        feed = parse(response.body, response.url, response.content_type)
        outcome.warning = feed.warning
        outcome.entries = len(feed.entries)
        fresh: dict[str, FeedEntry] = {}
        for entry in feed.entries:
            fresh.setdefault(canonical_url(entry.url), entry)  # a feed listing one URL twice
        outcome.duplicates += len(feed.entries) - len(fresh)
        known = repository.known_entries(db_url, source_id, list(fresh), [e.guid for e in fresh.values() if e.guid])
        records = []
        for canonical, entry in fresh.items():
            if canonical in known or (entry.guid and entry.guid in known):
                outcome.known += 1
                continue
            records.append(_record(entry, canonical, source, source_id, feed, policy, session))
        stored = repository.insert_articles(db_url, records)
        outcome.new_ids = stored.new_ids
        outcome.new = len(stored.new_ids)
        outcome.duplicates += stored.conflicts
        origins = [r.text_origin for r, new_id in zip(records, stored.ids, strict=True) if new_id is not None]
        outcome.from_page = origins.count("page")
        outcome.from_feed = origins.count("feed")
    except (FetchError, ParseError) as exc:
        outcome.error = str(exc)
    except SQLAlchemyError:
        raise
    except Exception as exc:  # a bug or a pathological feed must not end the run for the others
        log.exception("source %s failed unexpectedly", source.name)
        outcome.error = f"unexpected {type(exc).__name__}: {clean(str(exc), 300)}"
    finally:
        session.close()
    repository.record_source_result(db_url, source_id, outcome.error)
    return outcome


def ingest(
    db_url: str, sources: list[SourceSpec], source_ids: dict[str, int], policy: FetchPolicy, workers: int
) -> list[SourceOutcome]:
    """Several sources at once (I/O bound: threads), results in the order given."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(sources)))) as pool:
        return list(pool.map(lambda s: ingest_source(db_url, s, source_ids[s.name], policy), sources))


@task(name="ingest-sources", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE, task_run_name="ingest-{label}")
def ingest_batch(
    db_url: str, sources: list[SourceSpec], source_ids: dict[str, int], policy: FetchPolicy, workers: int, label: str
) -> list[SourceOutcome]:
    logger = get_run_logger()
    outcomes = ingest(db_url, sources, source_ids, policy, workers)
    for o in outcomes:
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
            logger.warning("%s: failed: %s", o.name, o.error)
    return outcomes
