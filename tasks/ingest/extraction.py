"""Main text and metadata of an article page, by trafilatura (the measured leader, see NOTES).
Any failure gives None: the caller falls back to the feed's summary and says so."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml.etree import ParserError

from tasks.common.language import primary_tag
from tasks.common.text import clean

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 100


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None
    author: str | None
    published: datetime | None
    language: str | None


def _language(tree) -> str | None:  # type: ignore[no-untyped-def]
    for value in (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        *tree.xpath("//meta[@http-equiv='content-language' or @http-equiv='Content-Language']/@content"),
        *tree.xpath("//meta[@property='og:locale']/@content"),
    ):
        if value and value.strip():
            return primary_tag(value)
    return None


SHORT_LINE_WORDS = 3  # a menu entry: "Ouvidoria SUS", "Esqueci a Senha"
MENU_SHORT_LINES = 0.5  # share of the text's lines that are that short
MENU_LINK_SHARE = 0.4  # share of the text's characters in lines that are the page's link texts


def looks_like_navigation(text: str, tree) -> bool:  # type: ignore[no-untyped-def]
    """Is this extracted text a site's menu rather than an article? On scrapinghub-aeb's 181
    pages, fast mode stored one site's menu (853 lines, 97% of them three words or fewer, 63% of
    its characters in lines that are the text of one of the page's links; F1 0.13 against 0.90
    without fast mode); every other page had at most 46% short lines and 18% link text. The
    link check (0.3 ms a page) runs only on texts made mostly of short lines."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if not lines or sum(len(line.split()) <= SHORT_LINE_WORDS for line in lines) <= MENU_SHORT_LINES * len(lines):
        return False
    links = {" ".join(a.text_content().split()) for a in tree.iter("a")}
    linked = sum(len(line) for line in lines if line in links)
    return linked >= MENU_LINK_SHARE * sum(map(len, lines))


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def extract(html: bytes, url: str, metadata: bool = True) -> Extracted | None:
    """The article in `html`, or None when no article text could be found. Without `metadata`
    only the text and the page's declared language are read (the title, date and author cost
    about 40% of the time). trafilatura's `fast` mode skips its fallback extractors: 30% faster
    and no lower F1 on scrapinghub-aeb (bench/extract_quality.py)."""
    # Imported here: the page workers' fork server preloads it (tasks/ingest/workers.py), and the main
    # process, which never extracts, does not pay for it at every start.
    import trafilatura
    from trafilatura.settings import Document

    try:
        tree = trafilatura.load_html(html)
        if tree is None:
            return None
        language = _language(tree)
        doc = trafilatura.bare_extraction(tree, url=url, fast=True, with_metadata=metadata, include_comments=False)
        # Cleaned once, for the navigation check and the result (0.18 ms a page, twice before).
        text = clean(doc.text) if isinstance(doc, Document) else ""
        if isinstance(doc, Document) and looks_like_navigation(text, tree):
            # fast mode skips the fallback extractors that would have found the article
            log.info("fast extraction of %s gave the site's navigation; extracting again without fast mode", url)
            doc = trafilatura.bare_extraction(tree, url=url, fast=False, with_metadata=metadata, include_comments=False)
            text = clean(doc.text) if isinstance(doc, Document) else ""
    except (ValueError, TypeError, ParserError, RecursionError) as exc:
        log.info("extraction failed for %s: %s", url, exc)
        return None
    if not isinstance(doc, Document):
        return None
    if len(text) < MIN_TEXT_CHARS:
        return None
    return Extracted(
        text=text,
        title=(clean(doc.title, 1000) or None) if metadata else None,
        author=(clean(doc.author, 500) or None) if metadata else None,
        published=_date(doc.date) if metadata else None,
        language=language or (doc.language or None),
    )
