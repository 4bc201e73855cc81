"""What an operator needs before trusting a URL: fetch and parse it without storing anything
(`newswatch sources test`), and add a site's feed to sources.yaml (`newswatch sources add`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.config import ConfigError, SourceSpec, load_sources
from tasks.fetching import FetchError, FetchResult, feed_links, looks_like_html
from tasks.ingest.feedfetch import NO_FEED_ANNOUNCED, fetch_feed
from tasks.ingest.feeds import ParseError, parse_feed
from tasks.ingest.options import IngestOptions


@dataclass
class ProbeReport:
    url: str
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    bytes: int = 0
    kind: str | None = None  # "feed" or "html"
    feed_type: str | None = None  # rss20, atom10, json11, ...
    title: str | None = None
    encoding: str | None = None
    entries: int = 0
    sample: list[dict[str, str]] = field(default_factory=list)
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
        feed = parse_feed(response.body, response.url, response.content_type)
        report.kind, report.feed_type, report.title = "feed", feed.kind, feed.title
        report.encoding, report.entries = feed.encoding, len(feed.entries)
        report.warning = report.warning or feed.warning
        report.sample = [
            {"title": e.title, "url": e.url, "published": e.published.isoformat() if e.published else ""}
            for e in feed.entries[:5]
        ]
    except (FetchError, ParseError) as exc:
        report.error = str(exc)
    return report


def _indent_of_items(text: str) -> str:
    match = re.search(r"^sources:\s*\n(?:\s*#.*\n|\s*\n)*([ \t]*)- ", text, flags=re.M)
    return match.group(1) if match else "  "


def add_source(path: Path, url: str, name: str, tags: list[str], interval: str | None = None) -> SourceSpec:
    """Append a source to sources.yaml, keeping the file's comments and layout; the file is
    written only if the result is valid (unique name, new URL)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "sources:\n"
    current = load_sources(path).sources if path.exists() else ()
    if any(s.url == url for s in current):
        raise ConfigError(f"{path}: a source with URL {url} is already listed")
    item: dict[str, object] = {"name": name, "url": url}
    if tags:
        item["tags"] = tags
    if interval:
        item["interval"] = interval
    block = yaml.safe_dump([item], allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)
    indent = _indent_of_items(text)
    block = "".join(indent + line if line.strip() else line for line in block.splitlines(keepends=True))
    new_text = text + ("" if text.endswith("\n") else "\n") + block
    candidate = path.with_name(f".{path.name}.new")
    candidate.write_text(new_text, encoding="utf-8")
    try:
        added = load_sources(candidate).sources[-1]
    except ConfigError as exc:
        candidate.unlink()
        raise ConfigError(str(exc).replace(str(candidate), str(path))) from None
    candidate.replace(path)
    return added
