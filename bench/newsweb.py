"""A simulated news web on 127.0.0.1 for the benchmarks: N sites, each on its own port (so each
is its own host to the politeness limits), each with an RSS feed of its latest M articles and
the article pages behind them.

    .venv/bin/python bench/newsweb.py --sites 1000 --entries 20 --latency 0.05

Realistic sizes: feeds of 30-100 KB (full descriptions), pages of 50-150 KB with the boilerplate
of a news site (mega-menu, inline scripts and styles, related-story cards, comments, footer;
about 500-1,000 elements, like the median page of scrapinghub-aeb). Every request waits
`latency` seconds first. Feeds answer conditional requests (ETag and Last-Modified) except on
a share of sites that send no validators (then an unchanged body is the only clue), and a
share of hosts fail (HTTP 500, a feed that is not XML, 404). Content is generated from a seed:
the same seed gives the same web. A known share of articles carry a human-trafficking sentence
and must match the benchmark watchlist (`WATCHLIST`); decoys speak of drug and wildlife
trafficking and road traffic, and must not.

Control (JSON, on --control-port): GET /health, GET /counts (requests by kind), GET /state (sites,
counters and the URLs that must match), GET /pages (the article pages the healthy feeds list now),
POST /publish?k=50 (k new articles on k sites; answers their URLs, whether each must match,
and the publication time), POST /reset-counters, POST /latency?s=0 (set the latency of every
answer; answers the previous one: bench/pipeline.py's floor fetches one page after another).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web

WATCHLIST = """\
topics:
  - name: trafficking
    query: '"human trafficking" OR "trafficking victims" OR "forced labour"'
"""


def _listed(text: str) -> list[str]:
    return [w.strip() for w in text.replace("\n", "").split(",") if w.strip()]


PLACES = _listed(
    """
Phnom Penh,Siem Reap,Battambang,Sihanoukville,Kampot,Bangkok,Chiang Mai,Hanoi,Ho Chi Minh City,Vientiane,
Yangon,Manila,Jakarta,Kuala Lumpur,Singapore,Poipet,Koh Kong,Kratie,Takeo,Pursat,Da Nang,Hue,Pattaya,Penang,
"""
)
NOUNS = _listed(
    """
council,ministry,court,school,hospital,market,farmer,teacher,company,bank,province,port,festival,election,
budget,bridge,road,harvest,factory,union,police,river,museum,airline,startup,exporter,committee,festival,
governor,mayor,investor,tourist,student,worker,villager,fisherman,monk,driver,reporter,court,embassy,agency,
council,parliament,senator,minister,hospital,clinic,drought,flood,storm,price,tax,loan,contract,
"""
)
VERBS = _listed(
    """
approved,rejected,announced,delayed,opened,closed,reviewed,expanded,criticised,welcomed,questioned,funded,
launched,cancelled,inspected,postponed,praised,restored,rebuilt,negotiated,signed,doubled,halved,promised,
"""
)
ADJS = _listed(
    """
new,old,local,national,regional,rural,urban,annual,monthly,private,public,small,large,modern,historic,
controversial,popular,rare,quiet,busy,delayed,expensive,cheap,temporary,permanent,foreign,domestic,
"""
)
MATCHING = (
    "Police said the victims of human trafficking were rescued from a compound in {place}.",
    "Rights groups say trafficking victims were forced to work in online scam centres near {place}.",
    "The report describes forced labour on fishing boats that docked in {place}.",
)
DECOYS = (
    "Customs officers seized drugs in a drug trafficking case at the border near {place}.",
    "Rangers arrested two men for wildlife trafficking in the forests outside {place}.",
    "Heavy traffic slowed the morning commute through {place} after the storm.",
)
EPOCH = datetime(2026, 11, 1, tzinfo=UTC)


def _sentence(rng: random.Random) -> str:
    return (
        f"The {rng.choice(ADJS)} {rng.choice(NOUNS)} in {rng.choice(PLACES)} {rng.choice(VERBS)} the "
        f"{rng.choice(ADJS)} {rng.choice(NOUNS)} on {rng.choice(('Monday', 'Tuesday', 'Friday', 'Sunday'))}, "
        f"{rng.choice(('officials', 'residents', 'analysts', 'witnesses'))} said, adding that "
        f"{rng.randint(2, 900)} {rng.choice(NOUNS)}s {rng.choice(VERBS)} {rng.choice(ADJS)} plans."
    )


@dataclass(frozen=True)
class Article:
    site: int
    number: int
    title: str
    paragraphs: tuple[str, ...]
    matches: bool
    published: datetime

    @property
    def path(self) -> str:
        return f"/news/{self.number:05d}-{self.slug}.html"

    @property
    def slug(self) -> str:
        return "-".join(self.title.lower().split()[:6]).replace(",", "").replace(".", "")


def article(seed: int, site: int, number: int, match_share: float, decoy_share: float) -> Article:
    """The article `number` of `site`: the same arguments give the same article."""
    rng = random.Random(f"{seed}:{site}:{number}")
    kind = rng.random()
    matches = kind < match_share
    decoy = not matches and kind < match_share + decoy_share
    paragraphs = [" ".join(_sentence(rng) for _ in range(rng.randint(3, 6))) for _ in range(rng.randint(6, 14))]
    title = f"{rng.choice(ADJS).title()} {rng.choice(NOUNS)} {rng.choice(VERBS)} in {rng.choice(PLACES)}"
    if matches or decoy:
        line = rng.choice(MATCHING if matches else DECOYS).format(place=rng.choice(PLACES))
        paragraphs.insert(rng.randint(1, len(paragraphs) - 1), line)
    return Article(site, number, title, tuple(paragraphs), matches, EPOCH + timedelta(minutes=7 * number + site))


def _boilerplate(seed: int) -> dict[str, list[str]]:
    """Chunks of a news site's page furniture, built once: menus, cards, scripts, styles."""
    rng = random.Random(seed)
    words = [f"{rng.choice(ADJS)} {rng.choice(NOUNS)}" for _ in range(400)]
    menu = "".join(
        f'<li class="menu-item"><a href="/section/{i}">{w.title()}</a><ul class="sub">'
        + "".join(f'<li><a href="/section/{i}/{j}">{rng.choice(words)}</a></li>' for j in range(6))
        + "</ul></li>"
        for i, w in enumerate(words[:30])
    )
    scripts = [
        "<script>"
        + ";".join(
            f"window.__cfg{j}={{id:{rng.randint(1, 10**9)},name:'{rng.choice(words)}',"
            f"on:{str(rng.random() > 0.5).lower()}}}"
            for j in range(rng.randint(150, 450))
        )
        + "</script>"
        for _ in range(8)
    ]
    styles = ["<style>" + "".join(f".c{j}{{margin:{j % 9}px;color:#{j:06x}}}" for j in range(600)) + "</style>"]
    footer = "".join(f'<a href="/about/{i}">{rng.choice(words)}</a> ' for i in range(120))
    return {"menu": [menu], "scripts": scripts, "styles": styles, "footer": [footer], "words": words}


@dataclass
class Site:
    index: int
    port: int
    published: int  # articles 0 .. published-1 exist; the feed lists the latest `entries`
    validators: bool  # sends ETag/Last-Modified and answers 304
    failure: str | None  # None, "500", "garbage", "404"
    version: int = 0  # bumped when an article is published
    changed_at: datetime = EPOCH


@dataclass
class Web:
    seed: int
    entries: int
    latency: float
    match_share: float
    decoy_share: float
    new_match_share: float = 0.2  # of articles published while the web runs (the incremental run's alerts)
    initial: int | None = None  # articles each site has when the web starts (default: `entries`)
    sites: list[Site] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    furniture: dict[str, list[str]] = field(default_factory=dict)
    publish_round: int = 0

    def article(self, site: int, number: int) -> Article:
        share = self.match_share if number < self.start_count else self.new_match_share
        return article(self.seed, site, number, share, self.decoy_share)

    @property
    def start_count(self) -> int:
        return self.entries if self.initial is None else self.initial

    def base(self, site: Site) -> str:
        return f"http://127.0.0.1:{site.port}"

    def feed(self, site: Site) -> bytes:
        first = max(0, site.published - self.entries)
        items = []
        for number in range(site.published - 1, first - 1, -1):
            a = self.article(site.index, number)
            description = escape(" ".join(a.paragraphs[:3]))
            items.append(
                f"<item><title>{escape(a.title)}</title><link>{self.base(site)}{a.path}</link>"
                f'<guid isPermaLink="false">site{site.index}-{a.number}</guid>'
                f"<pubDate>{format_datetime(a.published)}</pubDate><description>{description}</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Site {site.index:04d} News</title><link>{self.base(site)}/</link><language>en</language>"
            "<description>The latest from our newsroom</description>" + "".join(items) + "</channel></rss>"
        ).encode()

    def page(self, site: Site, a: Article) -> bytes:
        rng = random.Random(f"page:{self.seed}:{a.site}:{a.number}")
        f = self.furniture
        cards = "".join(
            f'<div class="card"><a href="/news/{rng.randint(0, 99999):05d}.html">'
            f'<img src="/i/{rng.randint(1, 9999)}.jpg" alt=""><h3>{rng.choice(f["words"]).title()}</h3></a>'
            f"<p>{rng.choice(f['words'])}</p></div>"
            for _ in range(rng.randint(15, 40))
        )
        comments = "".join(
            f'<li class="comment"><b>reader{rng.randint(1, 999)}</b><p>{rng.choice(f["words"])}</p></li>'
            for _ in range(rng.randint(0, 8))
        )
        body = "".join(f"<p>{escape(p)}</p>" for p in a.paragraphs)
        scripts = "".join(rng.sample(f["scripts"], rng.randint(1, 3)))
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(a.title)} | Site {a.site:04d}'
            f'</title><meta property="og:title" content="{escape(a.title)}"><meta name="author" content="Staff '
            f'{a.site}"><meta property="article:published_time" content="{a.published.isoformat()}">'
            f'{f["styles"][0]}{scripts}</head><body><header><nav><ul class="menu">{f["menu"][0]}</ul></nav></header>'
            f'<main><article><h1>{escape(a.title)}</h1><p class="byline">By Staff {a.site}</p>'
            f'<time datetime="{a.published.isoformat()}">{a.published:%d %B %Y}</time>{body}</article>'
            f'<aside class="related"><h2>Related</h2>{cards}</aside><section class="comments"><ul>{comments}</ul>'
            f"</section></main><footer>{f['footer'][0]}<p>© Site {a.site:04d}</p></footer></body></html>"
        ).encode()

    def publish(self, k: int) -> list[dict[str, object]]:
        rng = random.Random(f"publish:{self.seed}:{self.publish_round}")
        self.publish_round += 1
        healthy = [s for s in self.sites if s.failure is None]
        when = datetime.now(UTC)
        out = []
        for site in rng.sample(healthy, min(k, len(healthy))):
            site.published += 1
            site.version += 1
            site.changed_at = when
            a = self.article(site.index, site.published - 1)
            out.append({"url": self.base(site) + a.path, "title": a.title, "matches": a.matches})
        return out


async def _serve_site(web_: Web, site: Site, request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(web_.latency)
    path = request.path
    if path == "/robots.txt":
        web_.counts["robots"] += 1
        return web.Response(text="User-agent: *\nAllow: /\n")
    if site.failure == "500":
        web_.counts["failed"] += 1
        return web.Response(status=500, text="internal error")
    if path == "/feed.xml":
        if site.failure == "404":
            web_.counts["failed"] += 1
            return web.Response(status=404, text="not found")
        if site.failure == "garbage":
            web_.counts["feeds"] += 1
            return web.Response(body=b"<html><body>maintenance</body></html>" * 50, content_type="text/html")
        etag = f'"v{site.version}-{site.index}"'
        modified = format_datetime(site.changed_at, usegmt=True)
        if site.validators and (
            request.headers.get("If-None-Match") == etag or request.headers.get("If-Modified-Since") == modified
        ):
            web_.counts["not_modified"] += 1
            return web.Response(status=304)
        web_.counts["feeds"] += 1
        headers = {"ETag": etag, "Last-Modified": modified} if site.validators else {}
        return web.Response(body=web_.feed(site), content_type="application/rss+xml", headers=headers)
    if path.startswith("/news/"):
        try:
            number = int(path[6:11])
        except ValueError:
            number = -1
        if 0 <= number < site.published:
            a = web_.article(site.index, number)
            if a.path == path:
                web_.counts["pages"] += 1
                return web.Response(body=web_.page(site, a), content_type="text/html", charset="utf-8")
    web_.counts["not_found"] += 1
    return web.Response(status=404, text="not found")


def build(args: argparse.Namespace) -> Web:
    rng = random.Random(args.seed)
    web_ = Web(args.seed, args.entries, args.latency, args.match_share, args.decoy_share, args.new_match_share)
    web_.initial = args.initial
    web_.furniture = _boilerplate(args.seed)
    for i in range(args.sites):
        roll = rng.random()
        failure = None
        if roll < args.fail_share:
            failure = ("500", "garbage", "404")[i % 3]
        validators = rng.random() >= args.no_validators
        web_.sites.append(Site(i, args.port_base + i, web_.start_count, validators, failure))
    return web_


def listed_pages(web_: Web) -> list[str]:
    """URLs of the article pages listed now in healthy feeds: what a cold run fetches."""
    return [
        web_.base(site) + web_.article(site.index, n).path
        for site in web_.sites
        if site.failure is None
        for n in range(max(0, site.published - web_.entries), site.published)
    ]


def expected_matches(web_: Web) -> list[str]:
    """URLs of the articles listed now in healthy feeds that must match the watchlist."""
    out = []
    for site in web_.sites:
        if site.failure is None:
            for n in range(max(0, site.published - web_.entries), site.published):
                a = web_.article(site.index, n)
                if a.matches:
                    out.append(web_.base(site) + a.path)
    return out


async def main(args: argparse.Namespace) -> None:
    web_ = build(args)
    runners = []
    for site in web_.sites:

        async def handle(request: web.Request, site: Site = site) -> web.StreamResponse:
            return await _serve_site(web_, site, request)

        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", site.port, backlog=512).start()
        runners.append(runner)

    async def state(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "sites": [
                    {"url": web_.base(s) + "/feed.xml", "failure": s.failure, "validators": s.validators}
                    for s in web_.sites
                ],
                "counts": dict(web_.counts),
                "expected_matches": expected_matches(web_),
            }
        )

    async def counts(_: web.Request) -> web.Response:
        return web.json_response(dict(web_.counts))

    async def publish(request: web.Request) -> web.Response:
        published = web_.publish(int(request.query.get("k", "1")))
        return web.json_response({"at": time.time(), "articles": published})

    async def pages(_: web.Request) -> web.Response:
        return web.json_response(listed_pages(web_))

    async def latency(request: web.Request) -> web.Response:
        previous, web_.latency = web_.latency, float(request.query["s"])
        return web.json_response({"previous": previous})

    async def reset(_: web.Request) -> web.Response:
        web_.counts.clear()
        return web.json_response({})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    control = web.Application()
    control.router.add_get("/health", health)
    control.router.add_get("/state", state)
    control.router.add_get("/counts", counts)
    control.router.add_post("/publish", publish)
    control.router.add_post("/reset-counters", reset)
    control.router.add_get("/pages", pages)
    control.router.add_post("/latency", latency)
    crunner = web.AppRunner(control, access_log=None)
    await crunner.setup()
    await web.TCPSite(crunner, "127.0.0.1", args.control_port).start()
    digest = hashlib.sha256(web_.feed(web_.sites[0])).hexdigest()[:12]
    print(json.dumps({"ready": True, "control": f"http://127.0.0.1:{args.control_port}", "feed0": digest}), flush=True)
    await asyncio.Event().wait()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sites", type=int, default=1000)
    p.add_argument("--entries", type=int, default=20, help="articles a feed lists (the latest)")
    p.add_argument("--initial", type=int, help="articles each site has at the start (default: --entries)")
    p.add_argument("--latency", type=float, default=0.05, help="seconds before every answer")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--port-base", type=int, default=21000, help="site i listens on port-base + i")
    p.add_argument("--control-port", type=int, default=20999)
    p.add_argument("--fail-share", type=float, default=0.02, help="share of hosts that fail")
    p.add_argument("--no-validators", type=float, default=0.2, help="share of sites without ETag/Last-Modified")
    p.add_argument("--match-share", type=float, default=0.01, help="share of articles that must match")
    p.add_argument("--new-match-share", type=float, default=0.2, help="share of published articles that match")
    p.add_argument("--decoy-share", type=float, default=0.01, help="share of near-miss articles")
    return p.parse_args(argv)


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
