"""A `kind: page` source: an HTML section or listing page turned into entries by its selectors,
as FreshRSS's "HTML + XPath" sources do (XPath 1.0, or CSS through cssselect). Only links
inside an item count: the page's navigation and "most read" boxes are not stories."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from tasks.common.text import clean
from tasks.config import PageSelectors, compile_selector
from tasks.ingest.canonical import canonical_url
from tasks.ingest.feeds import MAX_TITLE, MAX_URL, FeedEntry, ParseError, plain

MAX_ITEMS = 500  # items read from one page: a selector matching 10,000 links is capped here


@dataclass(frozen=True)
class PageRead:
    entries: list[FeedEntry]  # page order, one per link
    matched: int  # items the selector matched (more than the entries when capped)
    title: str
    language: str | None
    warning: str | None = None


def _first(result: Any) -> Any:
    if isinstance(result, list):
        return result[0] if result else None
    return result


def _text(value: Any) -> str:
    """An XPath result as text: an element's text content, a string as it is."""
    if value is None:
        return ""
    if isinstance(value, etree._Element):  # noqa: SLF001 - lxml's element type
        return str(value.text_content()) if hasattr(value, "text_content") else "".join(value.itertext())
    return str(value)


def _within(item: Any, selector: etree.XPath | None) -> Any:
    """The first thing `selector` finds in the item (None for an item that is a string, or a
    selector that fails on it)."""
    if selector is None or not isinstance(item, etree._Element):  # noqa: SLF001
        return None
    try:
        return _first(selector(item))
    except etree.XPathEvalError:
        return None


def _link(item: Any, selector: etree.XPath | None) -> tuple[str, str]:
    """The item's link and the text of the element it came from."""
    if not isinstance(item, etree._Element):  # noqa: SLF001 - an XPath that selected a string: the link
        return str(item), ""
    if selector is not None:
        found = _within(item, selector)
        if isinstance(found, etree._Element):  # noqa: SLF001
            return found.get("href") or _text(found), _text(found)
        return _text(found), ""
    # The item's first link with text: a teaser's image link comes before its headline's.
    anchors = [item] if item.tag == "a" else item.xpath(".//a[@href]")
    anchor = next((a for a in anchors if _text(a).strip()), _first(anchors))
    return (anchor.get("href") or "", _text(anchor)) if anchor is not None else ("", "")


def _time(found: Any) -> datetime | None:
    """An item's date: a <time> element's datetime attribute, else the text found, in ISO 8601."""
    if isinstance(found, etree._Element) and found.get("datetime"):  # noqa: SLF001
        return _date(found.get("datetime") or "")
    return _date(_text(found))


def _date(text: str) -> datetime | None:
    text = text.strip()
    if not text or len(text) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_page(body: bytes, url: str, selectors: PageSelectors) -> PageRead:
    """The entries of a listing page: one per item the `item` selector matches (at most
    MAX_ITEMS), its link resolved against the page (http and https only, each canonical URL
    once), with its title and date when the selectors find them. Raises ParseError when the
    page cannot be read."""
    try:
        tree = lxml.html.document_fromstring(body, base_url=url)
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"unreadable HTML page: {clean(str(exc), 200)}") from None
    base = _first(tree.xpath("//base/@href"))
    base = urljoin(url, str(base)) if base else url
    css = selectors.css

    def compiled(text: str | None) -> etree.XPath | None:
        return compile_selector(text, css) if text else None

    item_sel, uri_sel = compile_selector(selectors.item, css), compiled(selectors.item_uri)
    title_sel, time_sel = compiled(selectors.item_title), compiled(selectors.item_timestamp)
    try:
        items = item_sel(tree)
    except etree.XPathEvalError as exc:
        raise ParseError(f"item selector {selectors.item!r} failed: {exc}") from None
    if not isinstance(items, list):  # count(...), a boolean: no items to read
        raise ParseError(f"item selector {selectors.item!r} selects no elements (it gives {items!r})")
    entries, seen = [], set()
    for item in items[:MAX_ITEMS]:
        href, anchor_text = _link(item, uri_sel)
        href = href.strip()
        if not href or len(href) > MAX_URL:
            continue
        link = clean(urljoin(base, href))
        if not re.match(r"https?://", link, re.I) or canonical_url(link) in seen:
            continue  # javascript:, data:, mailto:, ...; or a story listed twice (a teaser and a headline)
        seen.add(canonical_url(link))
        title = _text(_within(item, title_sel)) if title_sel is not None else anchor_text
        published = _time(_within(item, time_sel))
        entries.append(FeedEntry(None, link, plain(title, MAX_TITLE), "", None, published))
    warning = (
        f"the item selector matched {len(items)} items: read the first {MAX_ITEMS}" if len(items) > MAX_ITEMS else None
    )
    language = clean(tree.get("lang") or "", 35) or None
    page_title = plain(_text(_first(tree.xpath("//title"))), 1000)
    return PageRead(entries, len(items), page_title, language, warning)
