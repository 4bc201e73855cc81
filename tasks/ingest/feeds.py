"""Feeds (RSS 0.9x/1.0/2.0, Atom, RDF through feedparser; JSON Feed by hand, as feedparser
does not read it) become our own typed entries here, and nowhere else.

Bodies are hostile until proven otherwise (shared NOTES): tasks.ingest.feedbytes decodes and
neutralizes them before feedparser sees a byte. Large bodies are parsed in a child process
killed at the time budget, because pure-Python parsing in a thread cannot be interrupted.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import logging
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import lxml.html

from tasks.common.text import clean
from tasks.ingest.feedbytes import MalformedBody, Sanitized, sanitize

log = logging.getLogger(__name__)

# Stored values (after parsing), in characters.
MAX_TITLE = 1000
MAX_AUTHOR = 500
MAX_SUMMARY = 20000
MAX_FIELD = 4000  # guid, feed title
MAX_URL = 4096

# Bodies up to this size are parsed in-process. feedparser has other quadratic paths the
# pre-caps cannot reach (measured at 120 KB: one tag with 12,000 attributes 1.0 s, an unclosed
# "<!--" run in HTML content 1.0-1.2 s; 3-4 s at 240 KB), so in-process parsing stays around 1 s
# at worst, a normal 100 KB feed 30-50 ms. Larger bodies go to a child process with a hard
# deadline (about 80 ms of start-up), where the budget is enforced by killing it.
INLINE_MAX = 128 * 1024
_INLINE_MIN_BUDGET = 2.0  # a caller asking for less than this gets the child process at any size


class ParseError(Exception):
    """The body is not a feed we can read; str() says why."""


class ParseCrash(ParseError):
    """The parser itself failed (a bug or an unforeseen input); str() names the exception type."""


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
    warning: str | None = None  # a feed that parsed with complaints (feedparser's "bozo", truncation, ...)
    encoding: str | None = None  # Python codec the body was decoded with ("utf-8", "cp1252", "utf-8+cp1252", ...)
    dropped: int = 0  # incomplete entries dropped from a truncated document
    # Entries left out for want of a link newswatch may fetch: (the link as written, cut to 200
    # characters; why). Counted in the source's outcome and its log line, never dropped unsaid.
    left_out: tuple[tuple[str, str], ...] = ()


class _LeftOut(Exception):
    """An entry that cannot be kept: `args` are (its link as written, cut short; why)."""


def plain(html_or_text: str | None, limit: int = MAX_FIELD) -> str:
    """Text of an HTML fragment, cleaned."""
    if not html_or_text:
        return ""
    if "<" in html_or_text or "&" in html_or_text:
        with contextlib.suppress(ValueError, lxml.etree.ParserError):
            html_or_text = lxml.html.fromstring(f"<div>{html_or_text}</div>").text_content()
    return clean(html_or_text, limit)


# --- conversion --------------------------------------------------------------------------------


def _date(struct: Any) -> datetime | None:
    if not struct:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _iso_date(value: Any) -> datetime | None:
    """An ISO 8601 date in UTC, or None: unreadable, or one that its UTC offset carries past
    year 9999 or before year 1 (OverflowError in astimezone: it failed the whole feed once)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _link(base_url: str, link: Any) -> str:
    """The entry's absolute http(s) URL: we fetch these, so no javascript:, file:, data:
    (_LeftOut otherwise)."""
    if not isinstance(link, str) or not link.strip():
        raise _LeftOut("", "no link")
    if len(link) > MAX_URL:
        raise _LeftOut(clean(link, 200), f"a link of {len(link)} characters (at most {MAX_URL})")
    url = clean(urljoin(base_url, link.strip()))
    if urlsplit(url).scheme not in ("http", "https"):
        raise _LeftOut(clean(link, 200), "not an http(s) link")
    return url


def _each(
    raws: list[Any], convert: Callable[[Any], FeedEntry], notes: list[str], left_out: list[tuple[str, str]]
) -> list[FeedEntry]:
    """`convert` applied to each raw entry alone: an entry without a link to fetch goes to
    `left_out`; one it cannot convert (a bug, or an input nobody foresaw) is left out with a
    note. Neither takes the feed's other entries with it."""
    entries, failed = [], []
    for raw in raws:
        try:
            entries.append(convert(raw))
        except _LeftOut as exc:
            left_out.append(exc.args)
        except Exception as exc:  # one entry's failure is that entry's alone
            failed.append(f"{type(exc).__name__}: {clean(str(exc), 100)}")
    if failed:
        notes.append(f"{len(failed)} unreadable entries left out (first: {failed[0]})")
    return entries


def _text(value: Any) -> str:
    """A JSON value that should be text: strings as they are, numbers spelled out, anything else empty."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _json_feed(text: str, base_url: str, notes: list[str], left_out: list[tuple[str, str]]) -> ParsedFeed:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ParseError(f"invalid JSON: {clean(str(exc), 200)}") from None
    except RecursionError:
        raise ParseError("invalid JSON: nested too deeply") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in _text(doc.get("version")):
        raise ParseError("JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if items is not None and not isinstance(items, list):
        raise ParseError(f"JSON Feed 'items' is a {type(items).__name__}, not an array")
    version = re.search(r"/version/(\d+(?:\.\d+)?)/?$", _text(doc.get("version")))
    return ParsedFeed(
        "json" + (version.group(1) if version else ""),
        plain(_text(doc.get("title")), MAX_FIELD),
        clean(_text(doc.get("language")), 35) or None,
        _each(items or [], lambda item: _json_entry(item, base_url), notes, left_out),
    )


def _json_entry(item: Any, base_url: str) -> FeedEntry:
    if not isinstance(item, dict):
        raise _LeftOut("", "not a JSON object")
    url = _link(base_url, item.get("url") or item.get("external_url"))
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item.get("author")]  # JSON Feed 1.0
    names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
    summary = next((_text(item.get(k)) for k in ("summary", "content_text", "content_html") if _text(item.get(k))), "")
    return FeedEntry(
        guid=clean(_text(item.get("id")), MAX_FIELD) or None,
        url=url,
        title=plain(_text(item.get("title")), MAX_TITLE),
        summary=plain(summary, MAX_SUMMARY),
        author=clean(", ".join(n for n in names if n), MAX_AUTHOR) or None,
        published=_iso_date(item.get("date_published")) or _iso_date(item.get("date_modified")),
    )


def _xml_feed(doc: Sanitized, url: str, notes: list[str], left_out: list[tuple[str, str]]) -> tuple[ParsedFeed, int]:
    """(feed, entries dropped as incomplete) from a sanitized XML document."""
    # A bytes argument always: feedparser opens a str as a local path or URL (shared NOTES).
    result = feedparser.parse(
        doc.xml, response_headers={"content-location": url, "content-type": "application/xml; charset=utf-8"}
    )
    if not result.get("version"):
        if doc.looks_like_html:
            raise ParseError("HTML page, not a feed")
        reason = result.get("bozo_exception")
        raise ParseError(f"not a feed: {plain(str(reason), 200) if reason else 'unrecognized format'}")
    raw_entries, dropped = result.entries, doc.dropped
    if doc.open_entry_at_end and raw_entries:
        raw_entries, dropped = raw_entries[:-1], 1
        notes.append("truncated feed; dropped 1 incomplete entry")
    entries = _each(raw_entries, lambda e: _xml_entry(e, url), notes, left_out)
    if result.get("bozo"):
        notes.insert(0, clean(str(result.get("bozo_exception", "")), 300) or "malformed feed")
    feed = result.get("feed", {})
    language = clean(feed.get("language"), 35) or None
    return ParsedFeed(result.version, plain(feed.get("title"), MAX_FIELD), language, entries), dropped


def _xml_entry(e: Any, base_url: str) -> FeedEntry:
    link = e.get("link") or (e.get("id") if str(e.get("id", "")).startswith("http") else None)
    entry_url = _link(base_url, link)
    return FeedEntry(
        guid=clean(e.get("id"), MAX_FIELD) or None,
        url=entry_url,
        title=plain(e.get("title"), MAX_TITLE),
        summary=plain(e.get("summary") or e.get("description"), MAX_SUMMARY),
        author=plain(e.get("author"), MAX_AUTHOR) or None,
        published=_date(e.get("published_parsed")) or _date(e.get("updated_parsed")),
    )


def _parse_here(body: bytes, url: str, content_type: str) -> ParsedFeed:
    """The whole parse, in this process; any failure comes out as a ParseError."""
    try:
        doc = sanitize(body, content_type)
        notes = list(doc.warnings)
        left_out: list[tuple[str, str]] = []
        if doc.is_json:
            feed, dropped = _json_feed(doc.text, url, notes, left_out), 0
        else:
            feed, dropped = _xml_feed(doc, url, notes, left_out)
    except MalformedBody as exc:
        raise ParseError(str(exc)) from None
    except ParseError:
        raise
    except Exception as exc:  # last resort: a crash named as one (the bench counts these apart)
        raise ParseCrash(f"parser failed: {type(exc).__name__}: {clean(str(exc), 200)}") from exc
    warning = clean("; ".join(notes), 500) or None
    return ParsedFeed(
        feed.kind[:20], feed.title, feed.language, feed.entries, warning, doc.encoding, dropped, tuple(left_out)
    )


# --- time budget: a child process for large bodies ------------------------------------------------

_PROJECT = str(Path(__file__).resolve().parents[2])
_CHILD = "from tasks.ingest.feeds import _child_main; _child_main()"


def _child_main() -> None:
    """Child process: a pickled (body, url, content_type) on stdin, a pickled outcome on stdout."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed while parsing goes to stderr, not into the pickle
    body, url, content_type = pickle.load(sys.stdin.buffer)
    outcome: tuple[str, Any]
    try:
        outcome = ("ok", _parse_here(body, url, content_type))
    except ParseError as exc:
        outcome = ("crash" if isinstance(exc, ParseCrash) else "error", str(exc))
    pickle.dump(outcome, out)
    out.flush()


def _parse_in_child(body: bytes, url: str, content_type: str, budget: float) -> ParsedFeed:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_PROJECT, os.environ.get("PYTHONPATH")) if p)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=pickle.dumps((body, url, content_type)),
            capture_output=True,
            timeout=budget,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child
        raise ParseError(f"parse took longer than the {budget:g} s budget ({len(body)} bytes)") from None
    except OSError as exc:  # no child process possible here: parse in-process, without a deadline
        log.warning("parsing in-process, without a time budget: cannot start a child (%s)", exc)
        return _parse_here(body, url, content_type)
    if done.returncode != 0 or not done.stdout:
        stderr = clean(done.stderr.decode("utf-8", "replace")[-300:], 300)
        raise ParseCrash(f"parser process died (exit {done.returncode}): {stderr}")
    status, value = pickle.loads(done.stdout)  # our own child's output
    if status == "ok":
        return value  # type: ignore[no-any-return]
    raise (ParseCrash if status == "crash" else ParseError)(value)


def parse_feed(body: bytes, url: str, content_type: str = "", timeout: float | None = None) -> ParsedFeed:
    """Parse a feed from its bytes (never a str: feedparser would open it as a path or URL),
    within `timeout` seconds (default: settings.parse_timeout). Raises ParseError."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"parse_feed() takes the body's bytes, not {type(body).__name__}")
    body = bytes(body)
    if timeout is None:
        from tasks.config import load_settings  # not at import: the child process never needs it

        timeout = load_settings().parse_timeout
    if len(body) <= INLINE_MAX and timeout >= _INLINE_MIN_BUDGET:
        return _parse_here(body, url, content_type)
    return _parse_in_child(body, url, content_type, max(timeout, 0.01))
