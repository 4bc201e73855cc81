"""A `kind: sitemap` source: a news sitemap or a sitemap index, read by ultimate-sitemap-parser
(usp: indexes, gzip, the news: extension, a `.gz` that is plain XML) through a web client of
ours, so every sitemap request goes through newswatch's fetcher: the address guard, the
deadline and byte cap, per-host politeness and robots.txt.

Only the sitemaps that carry news are polled. A site's full tree can be 100,000 URLs in 100+
archive sitemaps (one per month or year); the pruned walk is the index plus its news sitemap
(or, without one, the newest dated sitemap), about 3 requests. A walk is bounded however hostile
the site: MAX_REQUESTS sitemaps per poll, MAX_DEPTH levels of index, no sitemap fetched twice
(loops and self-references end there), a gzip body inflated up to the policy's byte cap only.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from usp.fetch_parse import SitemapFetcher
from usp.objects.page import SitemapPage
from usp.objects.sitemap import AbstractSitemap, IndexXMLSitemap, InvalidSitemap
from usp.web_client.abstract_client import (
    AbstractWebClient,
    AbstractWebClientResponse,
    AbstractWebClientSuccessResponse,
    WebClientErrorResponse,
)

from tasks.common.text import clean
from tasks.fetching import FetchError, FetchResult, PoliteFetcher
from tasks.ingest.feeds import MAX_TITLE, FeedEntry, ParseError, plain

# usp logs each failed request, each ".gz" that is plain XML and each sitemap it could read
# only in part; the poll's own warning or error names what failed, once.
logging.getLogger("usp").setLevel(logging.CRITICAL)

SITEMAP_ACCEPT = "application/xml, text/xml;q=0.9, application/x-gzip;q=0.8, */*;q=0.5"
MAX_REQUESTS = 8  # sitemaps fetched per poll: an index, its news sitemap, a few kept by `recurse`
MAX_DEPTH = 2  # an index of indexes at most: deeper is an archive or a trap
MAX_CHILDREN = 4  # sub-sitemaps kept per index
# URLs read from one sitemap. usp holds each page as an object (about 2.5 KB and 37 us each,
# measured: a 100,000-URL sitemap took 3.7 s and 276 MB); a news sitemap lists at most 1,000.
MAX_URLS = 5000
DEFAULT_WINDOW = timedelta(days=2)  # a Google News sitemap lists the last two days

_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_NEWS = re.compile(r"news", re.I)
# A year, then optionally a month and a day, in a sitemap's URL: sitemap-2024-05.xml,
# /sitemap/2024/05/, posts-202405.xml. (19|20)xx only, so "sitemap-1.xml" is not dated.
_DATED = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:[-_/.]?(0[1-9]|1[0-2])(?:[-_/.]?(0[1-9]|[12]\d|3[01]))?)?(?!\d)")


@dataclass(frozen=True)
class SitemapRead:
    entries: list[FeedEntry]  # newest first, within the window, at most the cap
    language: str | None  # the news sitemap's publication language, when it gives one
    body_hash: str  # of every sitemap body read: unchanged means nothing to parse
    requests: int
    warning: str | None = None
    index: bool = False  # the root was a sitemap index (its validators say nothing of its children)


@dataclass
class _Walk:
    """One poll's sitemap requests: what was fetched, what failed, what was left out."""

    fetcher: PoliteFetcher
    root: FetchResult
    rules: tuple[re.Pattern[str], ...]
    fetched: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was capped
    skipped: int = 0  # sub-sitemaps not polled (archives, over the cap, seen before)


class _Response(AbstractWebClientSuccessResponse):
    def __init__(self, result: FetchResult, body: bytes) -> None:
        self._result, self._body = result, body

    def status_code(self) -> int:
        return self._result.status

    def status_message(self) -> str:
        return "OK"

    def header(self, case_insensitive_name: str) -> str | None:
        if case_insensitive_name.lower() == "content-type":  # the body is inflated already
            return "application/xml"
        wanted = case_insensitive_name.lower()
        return next((v for k, v in self._result.headers.items() if k.lower() == wanted), None)

    def raw_data(self) -> bytes:
        return self._body

    def url(self) -> str:
        return self._result.url


def inflate(body: bytes, limit: int, url: str) -> bytes:
    """A gzip body inflated, at most `limit` bytes (a bomb stops there); a body that is not
    gzip (a `.gz` served as plain XML, or inflated by the transport already) as it is."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise FetchError(f"broken gzip sitemap ({url}): {exc}") from None
    if len(out) > limit:
        raise FetchError(f"gzip sitemap larger than {limit} bytes once inflated ({url})")
    if out.startswith(b"\x1f\x8b"):  # usp would inflate the inner one, up to 100 MB
        raise FetchError(f"gzip inside gzip: not a sitemap ({url})")
    return out


_URL_END = re.compile(rb"</(?:[A-Za-z0-9_]+:)?url\s*>")
_URLSET_END = re.compile(rb"</(?:[A-Za-z0-9_]+:)?urlset\s*>")


def cap_urls(body: bytes, limit: int = MAX_URLS) -> tuple[bytes, bool]:
    """The sitemap cut after its `limit`-th URL (and closed again), and whether it was cut."""
    end = None
    for count, match in enumerate(_URL_END.finditer(body), 1):
        if count > limit:
            break
        end = match.end()
    else:
        return body, False
    closing = list(_URLSET_END.finditer(body, len(body) - 200 if len(body) > 200 else 0))
    return body[:end] + (closing[-1].group(0) if closing else b"</urlset>"), True


_INDEX = re.compile(rb"<(?:[A-Za-z0-9_]+:)?sitemapindex[\s>]")
_LOC = re.compile(rb"<(?:[A-Za-z0-9_]+:)?loc>\s*([^<]{1,4096}?)\s*</(?:[A-Za-z0-9_]+:)?loc>")


def trim_index(body: bytes, rules: tuple[re.Pattern[str], ...]) -> tuple[bytes, int]:
    """A sitemap index cut down to the sub-sitemaps choose_sitemaps keeps, before usp reads it
    (usp checks each new entry against a list: an index of 50,000 took 24 s), and how many
    were left out. Any other body as it is."""
    if not _INDEX.search(body[:4096]):
        return body, 0
    locs = list(dict.fromkeys(html.unescape(m.group(1).decode("utf-8", "replace")) for m in _LOC.finditer(body)))
    kept = choose_sitemaps(locs, rules)
    entries = "".join(f"<sitemap><loc>{escape(url)}</loc></sitemap>" for url in kept)
    trimmed = f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{_SITEMAP_NS}">{entries}</sitemapindex>'
    return trimmed.encode(), len(locs) - len(kept)


class _Client(AbstractWebClient):
    """usp's web client, through our fetcher. Errors are never "retryable" to usp (it would
    retry five times, a second apart): our fetcher has its own deadlines and Retry-After."""

    def __init__(self, walk: _Walk) -> None:
        self.walk = walk

    def set_max_response_data_length(self, max_response_data_length: int | None) -> None:
        pass  # the fetch policy's byte cap applies, and inflate()'s

    def get(self, url: str) -> AbstractWebClientResponse:
        walk = self.walk
        if url == walk.root.url and not walk.fetched:
            result = walk.root  # fetched by read_sitemap, conditionally
        elif len(walk.fetched) >= MAX_REQUESTS:
            walk.skipped += 1
            return WebClientErrorResponse(f"more than {MAX_REQUESTS} sitemaps in one poll", retryable=False)
        else:
            try:
                if not walk.fetcher.robots_allow(url):
                    raise FetchError(f"robots.txt disallows the sitemap ({url})")
                result = walk.fetcher.get(url, SITEMAP_ACCEPT)
            except FetchError as exc:
                walk.fetched.append(url)
                walk.errors.append(str(exc))
                return WebClientErrorResponse(str(exc), retryable=False)
        walk.fetched.append(url)
        try:
            body = inflate(result.body, walk.fetcher.policy.max_bytes, result.url)
        except FetchError as exc:
            walk.errors.append(str(exc))
            return WebClientErrorResponse(str(exc), retryable=False)
        walk.bodies.append(body)
        body, left_out = trim_index(body, walk.rules)
        walk.skipped += left_out
        body, cut = cap_urls(body)
        if cut:
            walk.notes.append(f"{result.url} lists more than {MAX_URLS} URLs: read the first {MAX_URLS}")
        return _Response(result, body)


def _path(url: str) -> str:
    """The URL without its host: cambojanews.com's sitemaps are not all news sitemaps."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _date_key(url: str) -> tuple[int, int, int] | None:
    path = _path(url)
    match = _DATED.search(path.rsplit("/", 1)[-1]) or _DATED.search(path)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)


def choose_sitemaps(urls: Sequence[str], rules: tuple[re.Pattern[str], ...] = ()) -> list[str]:
    """The sub-sitemaps of an index worth polling, at most MAX_CHILDREN: those a `recurse` rule
    names; else the news sitemaps; else the undated ones and those of the newest date (the
    current month's archive, where new stories go). Year and month archives are left out."""
    if rules:
        kept = [u for u in urls if any(r.search(u) for r in rules)]
    elif news := [u for u in urls if _NEWS.search(_path(u))]:
        kept = news
    else:
        dates = {u: _date_key(u) for u in urls}
        newest = max((d for d in dates.values() if d), default=None)
        kept = _last_of_each_series([u for u in urls if dates[u] is None or dates[u] == newest])
    return kept[:MAX_CHILDREN]


def _last_of_each_series(urls: list[str]) -> list[str]:
    """Of numbered siblings (post-sitemap.xml ... post-sitemap40.xml, wp-sitemap-posts-post-1..9),
    the highest-numbered: WordPress core and Yoast fill them oldest first, so new posts are in
    the last. Others as they are, in the index's order."""
    best: dict[str, tuple[int, str]] = {}
    for url in urls:
        path = _path(url)
        numbers = re.findall(r"\d+", path)
        number = int(numbers[-1]) if numbers else 0
        series = re.sub(r"\d+(?=\D*$)", "", path)  # the name without its last number
        if series not in best or number > best[series][0]:
            best[series] = (number, url)
    chosen = {url for _, url in best.values()}
    return [u for u in urls if u in chosen]


def _walk(
    root: FetchResult, fetcher: PoliteFetcher, rules: tuple[re.Pattern[str], ...]
) -> tuple[_Walk, AbstractSitemap]:
    walk = _Walk(fetcher, root, rules)

    def keep(urls: list[str], level: int, parents: set[str]) -> list[str]:
        fresh = [u for u in dict.fromkeys(urls) if u not in parents and u not in walk.fetched]
        kept = choose_sitemaps(fresh, rules) if level < MAX_DEPTH else []
        walk.skipped += len(urls) - len(kept)
        return kept

    tree = SitemapFetcher(root.url, 0, _Client(walk), recurse_list_callback=keep).sitemap()
    return walk, tree


def _entry(page: SitemapPage) -> tuple[FeedEntry, str | None]:
    story = page.news_story
    published = (story.publish_date if story else None) or page.last_modified
    if published is not None:
        published = published.astimezone(UTC) if published.tzinfo else published.replace(tzinfo=UTC)
    title = plain(story.title, MAX_TITLE) if story and story.title else ""
    language = clean(story.publication_language, 35) or None if story and story.publication_language else None
    return FeedEntry(guid=None, url=page.url, title=title, summary="", author=None, published=published), language


def read_sitemap(
    root: FetchResult,
    fetcher: PoliteFetcher,
    rules: tuple[str, ...] = (),
    window: timedelta = DEFAULT_WINDOW,
    limit: int = 500,
    now: datetime | None = None,
) -> SitemapRead:
    """The entries of the sitemap whose response is `root` (and of the sub-sitemaps kept by
    choose_sitemaps): those dated within `window` of `now` or undated, newest first, at most
    `limit`. Raises ParseError when nothing in the walk is a sitemap."""
    compiled = tuple(re.compile(r) for r in rules)
    walk, tree = _walk(root, fetcher, compiled)
    cutoff = (now or datetime.now(UTC)) - window
    entries: list[FeedEntry] = []
    languages: dict[str, int] = {}
    if isinstance(tree, InvalidSitemap):
        reason = walk.errors[0] if walk.errors else clean(tree.reason or "unreadable", 300)
        raise ParseError(f"not a sitemap: {reason}")
    for page in tree.all_pages():
        entry, language = _entry(page)
        if entry.published is None or entry.published >= cutoff:
            entries.append(entry)
            if language:
                languages[language] = languages.get(language, 0) + 1
    entries.sort(key=lambda e: e.published or datetime.min.replace(tzinfo=UTC), reverse=True)
    notes = list(walk.notes)
    if len(entries) > limit:
        notes.append(f"{len(entries)} entries in the window: read the newest {limit}")
    if walk.errors:
        notes.append(f"{len(walk.errors)} sitemaps failed: {walk.errors[0]}")
    digest = hashlib.sha256(b"\0".join(walk.bodies)).hexdigest()
    language = max(languages, key=languages.__getitem__) if languages else None
    index = isinstance(tree, IndexXMLSitemap)
    return SitemapRead(entries[:limit], language, digest, len(walk.fetched), "; ".join(notes) or None, index)
