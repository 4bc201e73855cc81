"""A small news web on 127.0.0.1 for tests: feeds and article pages that we write, served by a
real HTTP server. Routes can be changed while it runs (a new article, a broken feed)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape


@dataclass
class Route:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] | None = None  # e.g. ETag, Last-Modified, Retry-After


class NewsWeb:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        self.requests: list[tuple[str, dict[str, str]]] = []  # (path, request headers)
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                web.hits.append(self.path)
                route = web.routes.get(self.path) or web.routes.get(self.path.split("?")[0])
                if route is None:
                    route = Route(404, "text/plain", b"not found")
                web.requests.append((self.path, dict(self.headers)))
                headers = route.headers or {}
                etag, modified = headers.get("ETag"), headers.get("Last-Modified")
                if (etag and self.headers.get("If-None-Match") == etag) or (
                    modified and self.headers.get("If-Modified-Since") == modified
                ):
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> NewsWeb:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> str:
        self.routes[path] = Route(status, content_type, body.encode() if isinstance(body, str) else body, headers)
        return self.url(path)


FILLER_WORDS = [
    "river",
    "market",
    "village",
    "court",
    "school",
    "harvest",
    "border",
    "provincial",
    "minister",
    "council",
    "budget",
    "road",
    "bridge",
    "factory",
    "garment",
    "rice",
    "fishing",
    "temple",
    "festival",
    "election",
    "party",
    "union",
    "wage",
    "hospital",
    "clinic",
    "teacher",
    "student",
    "farmer",
    "land",
    "dispute",
    "forest",
    "rubber",
    "cassava",
    "mango",
    "pepper",
    "tourism",
    "airport",
    "port",
    "railway",
    "bus",
    "flood",
    "drought",
    "storm",
    "power",
    "grid",
    "solar",
    "loan",
    "bank",
    "debt",
    "price",
    "inflation",
    "export",
    "import",
    "tax",
    "customs",
    "investor",
    "company",
    "contract",
    "tender",
    "audit",
]  # noqa: SIM905


def distinct_paragraphs(seed: int, paragraphs: int = 2, words: int = 120) -> list[str]:
    """Seeded filler that makes an article its own story: templated test articles are otherwise
    near-duplicates of each other, which newswatch's story stage rightly merges."""
    rng = random.Random(seed * 7919)
    return [" ".join(rng.choice(FILLER_WORDS) for _ in range(words)) + "." for _ in range(paragraphs)]


def article_page(
    title: str,
    paragraphs: list[str],
    site: str,
    author: str = "Staff Reporter",
    published: str = "2026-11-27T08:15:00+07:00",
    lang: str = "en",
) -> str:
    """A realistic article page: navigation, related links, share widgets, footer."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)} | {escape(site)}</title>
<meta name="author" content="{escape(author)}">
<meta property="article:published_time" content="{published}">
<meta property="og:site_name" content="{escape(site)}"></head>
<body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/national">National</a></li>
<li><a href="/business">Business</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/subscribe">Subscribe</a></li></ul></nav>
<div class="ticker">Breaking: Markets close higher | Weather: heavy rain expected in the capital</div></header>
<main><article>
<h1>{escape(title)}</h1>
<div class="byline">By {escape(author)} · <time datetime="{published}">{published[:10]}</time></div>
{body}
</article>
<aside class="related"><h3>Related stories</h3><ul>
<li><a href="/national/rice-exports">Rice exports rise for third month</a></li>
<li><a href="/business/garment-orders">Garment orders slow ahead of holiday season</a></li>
<li><a href="/sport/football-cup">National team reaches regional cup semi-final</a></li></ul></aside>
<div class="share">Share on Facebook · Share on X · Share on Telegram · Copy link</div></main>
<footer><p>© 2026 {escape(site)}. All rights reserved.</p><p><a href="/about">About us</a>
· <a href="/contact">Contact</a>
· <a href="/privacy">Privacy policy</a> · <a href="/advertise">Advertise with us</a></p>
<p>Sign up for our newsletter to get the day's top stories in your inbox every morning.</p></footer>
</body></html>"""


def rss(title: str, link: str, items: list[dict[str, str]]) -> str:
    parts = []
    for it in items:
        guid = f'<guid isPermaLink="false">{escape(it["guid"])}</guid>' if it.get("guid") else ""
        parts.append(
            f"<item><title>{escape(it['title'])}</title><link>{escape(it['link'])}</link>{guid}"
            f"<pubDate>{it.get('pubDate', 'Fri, 27 Nov 2026 01:15:00 GMT')}</pubDate>"
            f"<description>{escape(it.get('summary', ''))}</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>{escape(link)}</link><language>en</language>{''.join(parts)}</channel></rss>"
    )


def rfc822(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC), usegmt=True)


TRAFFICKING_TITLE = "Officials accused of colluding with human traffickers in Sihanoukville"
TRAFFICKING_PARAGRAPHS = [
    "Three provincial officials in Preah Sihanouk have been accused of colluding with human traffickers "
    "who lured workers from across the region into online scam compounds, rights groups said on Thursday.",
    "According to a report by a coalition of local NGOs, the officials accepted payments to warn compound "
    "operators ahead of police raids and to return escaped workers to their captors.",
    "Victims described being held in guarded buildings, their passports confiscated, and forced to work "
    "up to sixteen hours a day defrauding strangers online under threat of beatings.",
    "The Ministry of Interior said it would investigate the allegations and that anyone found to have "
    "protected criminal networks would face prosecution.",
]
UNRELATED = [
    (
        "Rice exports rise for a third straight month",
        [
            "Cambodia's milled rice exports rose for the third month in a row in October, the Cambodia Rice "
            "Federation said, driven by strong demand from China and the European Union.",
            "Exporters shipped more than 60,000 tonnes during the month, an increase of twelve percent compared "
            "with the same period last year, according to figures released on Monday.",
        ],
    ),
    (
        "Heavy traffic expected as Water Festival returns to the capital",
        [
            "City authorities expect heavy traffic along the riverside as hundreds of thousands of visitors "
            "arrive in Phnom Penh for the three-day Water Festival boat races.",
            "Police will close several roads near the Royal Palace and urged residents to use public buses, "
            "which will run extended hours during the celebrations.",
        ],
    ),
]


def build_site(web: NewsWeb, prefix: str = "/mekong", site: str = "Mekong Daily") -> dict[str, str]:
    """One outlet with a feed: the trafficking story, two unrelated ones, and the trafficking
    story again under a tracking-parameter URL with a different GUID. Returns the URLs."""
    story = web.add(
        f"{prefix}/national/officials-traffickers", article_page(TRAFFICKING_TITLE, TRAFFICKING_PARAGRAPHS, site)
    )
    items = [
        {
            "title": TRAFFICKING_TITLE,
            "link": story,
            "guid": f"{prefix}-1001",
            "summary": "Three officials are accused of colluding with traffickers.",
        }
    ]
    for i, (title, paragraphs) in enumerate(UNRELATED):
        link = web.add(f"{prefix}/news/{i}", article_page(title, paragraphs, site))
        items.append({"title": title, "link": link, "guid": f"{prefix}-{2000 + i}", "summary": paragraphs[0]})
    items.append(
        {
            "title": TRAFFICKING_TITLE,
            "link": story + "?utm_source=rss&utm_medium=feed&fbclid=XYZ",
            "guid": f"{prefix}-1001-syndicated",
            "summary": "Three officials are accused.",
        }
    )
    feed = web.add(f"{prefix}/feed.xml", rss(site, web.url(prefix), items), "application/rss+xml")
    return {"feed": feed, "story": story}
