"""An article's page fetched and its text extracted, the one way newswatch does it: robots.txt
asked first, the page fetched under the run's limits, the text extracted (and its language and
signature computed) by the article workers within the extraction time budget; when any of that
fails, the text is the feed's summary and a note says why. A run's ingest and
`newswatch topics test --url` both come through here."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.fetching import FetchError, PoliteFetcher
from tasks.ingest.options import IngestOptions
from tasks.ingest.workers import ArticleText, ExtractionTimeout, analyze, article_workers

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class FetchedArticle:
    url: str  # the page's URL after redirects; the URL asked for when the page was not fetched
    content: ArticleText  # from the page, else from the feed's summary (see `note`)
    fetched: bool  # the page's bytes came back (whether or not they held an article)
    note: str | None  # why the text is not the page's: robots.txt, the fetch failed, no article text, ...


def fetch_article(
    url: str,
    fetcher: PoliteFetcher,
    options: IngestOptions,
    *,
    title: str = "",
    summary: str = "",
    language_hint: str | None = None,
    metadata: bool = True,
    skip_page: str | None = None,
) -> FetchedArticle:
    """The article at `url`, with the feed's `title` and `summary` to fall back on. robots.txt
    (when obeyed) is asked before the page is fetched; extraction runs in the article workers,
    at most options.extract_timeout seconds. `language_hint`: the language the source or feed
    declares (the page's own declaration comes first, the text's script before both).
    `metadata`: also read the page's title, author and date (about 40% of the extraction
    time). `skip_page`: why the page is not to be fetched at all; the text is then the summary."""
    html, note, fetched_url = None, skip_page, url
    if skip_page is None:
        if not fetcher.robots_allow(url):
            unreadable = fetcher.robots.unreadable(url)
            note = (
                "robots.txt could not be read: no page until it can" if unreadable else "robots.txt disallows the page"
            )
        else:
            try:
                response = fetcher.get(url, PAGE_ACCEPT)
                fetched_url, html = response.url, response.body
            except FetchError as exc:
                note = f"page not fetched: {exc}"
    workers = article_workers(options.extract_processes, options.embed_model)
    try:
        content = workers.analyze(
            html, fetched_url, title, summary, language_hint, metadata, options.extract_timeout, options.embed_model
        )
    except ExtractionTimeout as exc:
        content, note = analyze(None, fetched_url, title, summary, language_hint), f"page not extracted: {exc}"
    if html is not None and content.page is None and note is None:
        note = "page had no extractable article text"
    return FetchedArticle(fetched_url, content, html is not None, note)
