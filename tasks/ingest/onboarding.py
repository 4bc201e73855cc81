"""What an operator needs before trusting a URL: fetch and parse it without storing anything
(`newswatch sources test`), find which kind of source a site needs (a feed, a news sitemap or
a listing page: discover) and add it to sources.yaml (`newswatch sources add`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.config import ConfigError, PageSelectors, SourceKind, SourceSpec, load_sources
from tasks.fetching import FetchError, FetchResult, feed_links, looks_like_html
from tasks.ingest.articles import PAGE_ACCEPT
from tasks.ingest.feedfetch import FEED_ACCEPT, NO_FEED_ANNOUNCED, fetch_feed
from tasks.ingest.feeds import FeedEntry, ParseError
from tasks.ingest.options import IngestOptions
from tasks.ingest.sitescan import find_sitemap, guess_selectors
from tasks.ingest.sourcekinds import parse_feed_source, read_listing, sniff


@dataclass
class ProbeReport:
    url: str
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    bytes: int = 0
    kind: str | None = None  # "feed", "sitemap", "page" (a page source's listing) or "html" (a page, no feed)
    feed_type: str | None = None  # rss20, atom10, json11, ...
    title: str | None = None
    encoding: str | None = None
    entries: int = 0
    sample: list[dict[str, str]] = field(default_factory=list)
    selectors: dict[str, str] | None = None  # a page source's, guessed when none were given
    feeds_found: list[str] = field(default_factory=list)  # on an HTML page
    warning: str | None = None
    error: str | None = None

    def describe(self, response: FetchResult) -> None:
        """What came back from the URL, before anything is parsed."""
        self.final_url, self.status = response.url, response.status
        self.content_type, self.bytes = response.content_type, len(response.body)


def probe(url: str, options: IngestOptions) -> ProbeReport:
    """Fetch and parse `url` as a run would (fetch_feed: an HTML page is followed to the first
    feed it announces, and the report is the feed's), storing nothing."""
    report = ProbeReport(url)

    def html_page(page: FetchResult, feeds: list[str]) -> None:
        report.feeds_found = feeds
        if feeds:  # the report is the feed's, with the page's warning
            report.url, report.warning = feeds[0], f"{url} is an HTML page; its feed is {feeds[0]}"
        else:
            report.describe(page)
            report.kind = "html"

    try:
        with options.fetcher() as fetcher:
            response = fetch_feed(url, fetcher, on_html_page=html_page).response
        report.describe(response)
        if looks_like_html(response.body, response.content_type):  # the announced feed is a page too
            report.kind = "html"
            if not feed_links(response.body, response.url):
                report.error = NO_FEED_ANNOUNCED
            return report
        feed = parse_feed_source(response.body, response.url, response.content_type)
        report.kind, report.feed_type, report.title = "feed", feed.kind, feed.title
        report.encoding, report.entries = feed.encoding, len(feed.entries)
        report.warning = report.warning or feed.warning
        report.sample = _sample(feed.entries)
    except (FetchError, ParseError) as exc:
        report.error = str(exc)
    return report


def _sample(entries: list[FeedEntry]) -> list[dict[str, str]]:
    return [
        {"title": e.title, "url": e.url, "published": e.published.isoformat() if e.published else ""}
        for e in entries[:5]
    ]


def probe_source(spec: SourceSpec, options: IngestOptions) -> ProbeReport:
    """A source of any kind read as a run would (a feed by probe()), storing nothing."""
    if spec.kind == "feed":
        return probe(spec.url, options)
    report = ProbeReport(spec.url, kind=spec.kind)
    try:
        with options.fetcher() as fetcher:
            listing = read_listing(spec, fetcher)
        if listing.feed is not None:
            report.title, report.entries = listing.feed.title or None, len(listing.feed.entries)
            report.warning, report.sample = listing.feed.warning, _sample(listing.feed.entries)
    except (FetchError, ParseError) as exc:
        report.error = str(exc)
    return report


@dataclass(frozen=True)
class Discovery:
    """What a site needs: its kind (None: nothing found), the URL for sources.yaml, the probe
    of that source, and for a page source the selectors guessed from the page."""

    kind: SourceKind | None
    url: str
    report: ProbeReport
    selectors: PageSelectors | None = None


def discover(url: str, options: IngestOptions) -> Discovery:
    """The URL as a feed or a sitemap; the feed its page announces; the site's news sitemap
    (robots.txt, well-known paths); or a page source with guessed selectors, in that order."""
    try:
        with options.fetcher() as fetcher:
            first = fetcher.get(url, FEED_ACCEPT)
    except FetchError as exc:
        return Discovery(None, url, ProbeReport(url, error=str(exc)))
    if sniff(first.body, first.content_type) == "sitemap":
        return Discovery("sitemap", url, probe_source(SourceSpec(name="probe", url=url, kind="sitemap"), options))
    report = probe(url, options)
    if report.kind == "feed" and not report.error:
        return Discovery("feed", report.final_url or url, report)
    with options.fetcher() as fetcher:
        sitemap = find_sitemap(url, fetcher)
        if sitemap is not None:
            spec = SourceSpec(name="probe", url=sitemap.url, kind="sitemap")
            return Discovery("sitemap", sitemap.url, probe_source(spec, options))
    found = discover_page(url, options) if looks_like_html(first.body, first.content_type) else None
    if not isinstance(found, PageSelectors):
        report.error = report.error or "no feed, no news sitemap, and no repeated article links on the page"
        return Discovery(None, url, report)
    selectors = found
    return Discovery("page", url, _probe_page(url, selectors, options), selectors)


def _probe_page(url: str, selectors: PageSelectors, options: IngestOptions) -> ProbeReport:
    report = probe_source(SourceSpec(name="probe", url=url, kind="page", page=selectors), options)
    report.selectors = {k: v for k, v in selectors.model_dump().items() if isinstance(v, str)}
    return report


def probe_named(target: str, kind: SourceKind | None, sources_file: Path, options: IngestOptions) -> ProbeReport:
    """`newswatch sources test TARGET`: a source of sources.yaml by name, or a URL read as
    `kind` (a feed by default; a page with selectors guessed from it)."""
    if "://" not in target:
        spec = next((s for s in load_sources(sources_file).sources if s.name.casefold() == target.casefold()), None)
        if spec is None:
            raise ConfigError(f"{sources_file}: no source named {target!r}")
        return probe_source(spec, options)
    if kind != "page":
        return probe_source(SourceSpec(name="probe", url=target, kind=kind or "feed"), options)
    found = discover_page(target, options)
    if isinstance(found, ProbeReport):
        return found
    return _probe_page(target, found, options)


def discover_page(url: str, options: IngestOptions) -> PageSelectors | ProbeReport:
    """The selectors guessed from the page at `url`, or a report saying why there are none."""
    try:
        with options.fetcher() as fetcher:
            page = fetcher.get(url, PAGE_ACCEPT)
    except FetchError as exc:
        return ProbeReport(url, kind="page", error=str(exc))
    selectors = guess_selectors(page.body, page.url)
    if selectors is None:
        error = "no repeated article links found: write the page's selectors in sources.yaml, test it by name"
        return ProbeReport(url, kind="page", error=error)
    return selectors


def _indent_of_items(text: str) -> str:
    match = re.search(r"^sources:\s*\n(?:\s*#.*\n|\s*\n)*([ \t]*)- ", text, flags=re.M)
    return match.group(1) if match else "  "


def add_source(
    path: Path, url: str, name: str, tags: list[str], interval: str | None = None, kind: SourceKind = "feed"
) -> SourceSpec:
    """Append a source to sources.yaml, keeping the file's comments and layout; the file is
    written only if the result is valid (unique name, new URL)."""
    item: dict[str, object] = {"name": name, "url": url}
    if kind != "feed":
        item["kind"] = kind
    if tags:
        item["tags"] = tags
    if interval:
        item["interval"] = interval
    return append_sources(path, [item])[-1]


def append_sources(path: Path, items: list[dict[str, object]]) -> list[SourceSpec]:
    """Append these sources (sources.yaml entries as mappings) to the file, keeping its comments
    and layout; written only if the result is valid (unique names, URLs not listed yet)."""
    if not items:
        return []
    text = path.read_text(encoding="utf-8") if path.exists() else "sources:\n"
    current = load_sources(path).sources if path.exists() else ()
    for item in items:
        if any(s.url == item["url"] for s in current):
            raise ConfigError(f"{path}: a source with URL {item['url']} is already listed")
    block = yaml.safe_dump(items, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)
    indent = _indent_of_items(text)
    block = "".join(indent + line if line.strip() else line for line in block.splitlines(keepends=True))
    new_text = text + ("" if text.endswith("\n") else "\n") + block
    candidate = path.with_name(f".{path.name}.new")
    candidate.write_text(new_text, encoding="utf-8")
    try:
        added = load_sources(candidate).sources[-len(items) :]
    except ConfigError as exc:
        candidate.unlink()
        raise ConfigError(str(exc).replace(str(candidate), str(path))) from None
    candidate.replace(path)
    return list(added)
