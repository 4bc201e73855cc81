"""Feeds (RSS 0.9x/1.0/2.0, Atom, RDF through feedparser; JSON Feed by hand, as feedparser
does not read it) become our own typed entries here, and nowhere else."""

from __future__ import annotations

import calendar
import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html

from tasks.text import clean

# feedparser's author-email regex is quadratic (seconds at 32 KB, shared NOTES): cap fields.
MAX_FIELD = 4000
MAX_SUMMARY = 20000


class ParseError(Exception):
    """The body is not a feed we can read; str() says why."""


@dataclass(frozen=True)
class FeedEntry:
    guid: str | None
    url: str
    title: str
    summary: str
    author: str | None
    published: datetime | None  # aware, UTC


@dataclass(frozen=True)
class ParsedFeed:
    kind: str  # "rss20", "atom10", "json1", ...
    title: str
    language: str | None
    entries: list[FeedEntry]
    warning: str | None = None  # a feed that parsed with complaints (feedparser's "bozo")


def plain(html_or_text: str | None, limit: int = MAX_FIELD) -> str:
    """Text of an HTML fragment, cleaned."""
    if not html_or_text:
        return ""
    if "<" in html_or_text or "&" in html_or_text:
        with contextlib.suppress(ValueError, lxml.etree.ParserError):
            html_or_text = lxml.html.fromstring(f"<div>{html_or_text}</div>").text_content()
    return clean(html_or_text, limit)


def _date(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_feed(body: bytes, base_url: str) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise ParseError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    entries = []
    for item in doc.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if not isinstance(link, str) or not link:
            continue
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        author = ", ".join(a.get("name", "") for a in authors if isinstance(a, dict) and a.get("name"))
        summary = item.get("summary") or item.get("content_text") or item.get("content_html") or ""
        entries.append(
            FeedEntry(
                guid=str(item["id"]) if item.get("id") is not None else None,
                url=urljoin(base_url, link),
                title=plain(str(item.get("title") or "")),
                summary=plain(str(summary), MAX_SUMMARY),
                author=clean(author, MAX_FIELD) or None,
                published=_iso_date(item.get("date_published")) or _iso_date(item.get("date_modified")),
            )
        )
    return ParsedFeed(
        "json" + str(doc["version"]).rstrip("/").rsplit("/", 1)[-1],
        plain(str(doc.get("title", ""))),
        doc.get("language") if isinstance(doc.get("language"), str) else None,
        entries,
    )


def _looks_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type.lower() or body.lstrip()[:1] == b"{"


def parse(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Parse a feed from its bytes (never a str: feedparser would open it as a path or URL)."""
    if _looks_json(body, content_type):
        return _json_feed(body, url)
    result = feedparser.parse(
        bytes(body), response_headers={"content-location": url, "content-type": content_type or "application/xml"}
    )
    if not result.get("version"):
        head = body[:2048].lower()
        if b"<html" in head or b"<!doctype html" in head:
            raise ParseError("HTML page, not a feed")
        reason = result.get("bozo_exception")
        raise ParseError(f"not a feed: {plain(str(reason), 200) if reason else 'unrecognized format'}")
    entries = []
    for e in result.entries:
        link = e.get("link") or (e.get("id") if str(e.get("id", "")).startswith("http") else None)
        if not link:
            continue
        entries.append(
            FeedEntry(
                guid=clean(e.get("id"), MAX_FIELD) or None,
                url=urljoin(url, link.strip()),
                title=plain(e.get("title")),
                summary=plain(e.get("summary") or e.get("description"), MAX_SUMMARY),
                author=plain(e.get("author"), 500) or None,
                published=_date(e.get("published_parsed")) or _date(e.get("updated_parsed")),
            )
        )
    warning = None
    if result.get("bozo"):
        warning = plain(str(result.get("bozo_exception", "")), 300) or "malformed feed"
    feed = result.get("feed", {})
    return ParsedFeed(result.version, plain(feed.get("title")), feed.get("language"), entries, warning)
