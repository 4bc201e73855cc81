"""Ingest: sources in, new articles out. It decides which sources a run fetches (due, or forced)
and in which batches; fetches each feed conditionally (following a site's page to the feed it
announces), parses it as the hostile input it is, skips what is stored, fetches and extracts the
new articles' pages (robots.txt, the run's limits, extraction in worker processes, the feed's
summary when that fails), stores them, and records each source's health (backoff, pause,
silence). It also gives operators the same path for one URL: `newswatch sources test|add` and
`newswatch topics test --url`.

- plan.py: the due sources of a run, cut into batches (plan_ingest).
- batch.py: one batch of sources, start to end, and its Prefect task (ingest_batch).
- batchlog.py: a batch's log lines, a bounded number whatever its size (batch_lines).
- options.py: the limits an ingest runs under, from the settings (IngestOptions).
- feedfetch.py: a feed fetched, an HTML page followed to the feed it announces (fetch_feed).
- sourcekinds.py: sitemap and page sources polled into entries as a feed's (read_listing);
  a body of the wrong kind names the kind to use.
- sitemaps.py: a news sitemap or index read by usp through our fetcher, archives pruned.
- listpages.py: a listing page's items found by XPath or CSS selectors (FreshRSS's names).
- feeds.py: feed bytes to typed entries (parse_feed), large bodies in a child process.
- feedbytes.py: a feed body made safe for the parser: prolog and entities, field caps, truncation.
- charsets.py: a feed body decoded as a browser would.
- articles.py: an article's page fetched and extracted, or the feed's summary (fetch_article).
- workers.py: the article worker processes (extraction, language, signature).
- extraction.py: an article page's main text and metadata (trafilatura).
- canonical.py: the canonical form of an article URL.
- schedule.py: source health: when a source is due, backoff, pausing, silence.
- onboarding.py: trying a URL or a source of any kind (probe, probe_named), finding which kind
  a site needs (discover), adding sources to sources.yaml (add_source, append_sources).
- sitescan.py: a site's news sitemaps (robots.txt, well-known paths), a page's guessed selectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.ingest.articles import FetchedArticle, fetch_article
    from tasks.ingest.batch import SourceOutcome, ingest_batch, ingest_sources
    from tasks.ingest.extraction import extract
    from tasks.ingest.onboarding import Discovery, ProbeReport, add_source, append_sources, discover, probe, probe_named
    from tasks.ingest.options import IngestOptions
    from tasks.ingest.plan import IngestBatch, IngestPlan, due_sources, plan_ingest, split_into_batches
    from tasks.ingest.schedule import source_is_due, status
    from tasks.ingest.sitescan import starter_entry

__all__ = [
    "add_source",
    "append_sources",
    "discover",
    "Discovery",
    "probe_named",
    "starter_entry",
    "due_sources",
    "extract",
    "fetch_article",
    "FetchedArticle",
    "ingest_batch",
    "ingest_sources",
    "IngestBatch",
    "IngestOptions",
    "IngestPlan",
    "plan_ingest",
    "probe",
    "ProbeReport",
    "source_is_due",
    "SourceOutcome",
    "split_into_batches",
    "status",
]
__getattr__ = lazy_exports(__name__, __file__)
