"""A simulated outlet that publishes only sitemaps (issue #17): a sitemap index of --archives
monthly archive sitemaps holding --urls URLs in all, plus a Google News sitemap of the last two
days. A `kind: sitemap` source on its index is polled as a run polls it (read_listing, through
the real fetcher, robots.txt included): requests and time of the first poll, of quiet polls
(nothing new), and of a poll after --new stories were published (each must be found).

Run from the repository root:  .venv/bin/python bench/sitemap.py
Prints a table and one JSON line, writes bench/results/sitemap.json, exits 1 if a target is missed.
Targets: a quiet poll makes at most 5 requests and takes under 2 s; every new story is found.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reference import print_verdicts, summary_head, with_reference, write_results  # noqa: E402
from tasks.config import SourceSpec  # noqa: E402
from tasks.fetching import FetchPolicy, PoliteFetcher  # noqa: E402
from tasks.ingest.canonical import canonical_url  # noqa: E402
from tasks.ingest.sourcekinds import Listing, read_listing  # noqa: E402
from tests.newsweb import NewsWeb  # noqa: E402
from tests.sitemapweb import news_sitemap, sitemap_index, urlset  # noqa: E402

QUIET_REQUESTS = 5
QUIET_SECONDS = 2.0


def build_outlet(web: NewsWeb, archives: int, urls: int, news: int, now: datetime) -> list[str]:
    """The outlet's archive sitemaps on `web`, the last being this month's; its `news` stories of
    the last two days (url, title, published), for publish() to list."""
    per_archive = urls // archives
    names = []
    stories = [(web.url(f"/news/story-{k}"), f"Story {k}", now - timedelta(minutes=30 * k)) for k in range(news)]
    for i in range(archives):
        month = (now.replace(day=1) - timedelta(days=31 * (archives - 1 - i))).replace(day=1)
        name = f"/sitemap-{month:%Y-%m}.xml"
        pages = [(web.url(f"/{month:%Y/%m}/story-{j}"), month) for j in range(per_archive)]
        web.add(name, urlset(pages), "application/xml")
        names.append(web.url(name))
    return stories  # type: ignore[return-value]


def publish(web: NewsWeb, with_news: bool, names: list[str], stories: list[tuple[str, str, datetime]]) -> None:
    """The stories of the last days: in the news sitemap, or appended to this month's archive."""
    if with_news:
        web.add("/news-sitemap.xml", news_sitemap(stories), "application/xml")
        web.add("/sitemap_index.xml", sitemap_index([*names, web.url("/news-sitemap.xml")]), "application/xml")
    else:
        month_path = "/" + names[-1].split("/", 3)[3]
        month_pages = [(web.url(f"/this-month/story-{j}"), datetime.now(UTC) - timedelta(days=20)) for j in range(900)]
        web.add(month_path, urlset([*month_pages, *((u, when) for u, _, when in stories)]), "application/xml")
        web.add("/sitemap_index.xml", sitemap_index(names), "application/xml")


def poll(web: NewsWeb, fetcher: PoliteFetcher, spec: SourceSpec, body_hash: str | None) -> tuple[Listing, int, float]:
    """One poll: (listing, requests, seconds). Polls are an interval apart in a run: the host's
    gap after the previous poll has passed before this one starts (not counted)."""
    time.sleep(fetcher.gate.min_gap)
    before = len(web.hits)
    started = time.monotonic()
    listing = read_listing(spec, fetcher, (None, None, body_hash))
    return listing, len(web.hits) - before, time.monotonic() - started


def scenario(args: argparse.Namespace, with_news: bool) -> tuple[list[dict[str, object]], list[str]]:
    """One outlet polled: first, quiet polls, then a poll after args.new stories; (rows, missed)."""
    now = datetime.now(UTC)
    label = "news sitemap" if with_news else "archives only"
    rows: list[dict[str, object]] = []
    with NewsWeb() as web:
        stories = build_outlet(web, args.archives, args.urls, args.news, now)
        names = [web.url(p) for p in web.routes if p.startswith("/sitemap-")]
        publish(web, with_news, names, stories)  # type: ignore[arg-type]
        policy = FetchPolicy(user_agent="newswatch-bench/1.0", allow_private=(web.base.removeprefix("http://"),))
        spec = SourceSpec(name="Outlet", url=web.url("/sitemap_index.xml"), kind="sitemap")
        with PoliteFetcher(policy, 2, args.min_gap, True) as fetcher:
            first, requests, seconds = poll(web, fetcher, spec, None)
            known = {canonical_url(e.url) for e in first.feed.entries} if first.feed else set()
            rows.append(
                {"outlet": label, "poll": "first", "requests": requests, "seconds": seconds, "entries": len(known)}
            )
            for _ in range(args.quiet_polls):
                listing, requests, seconds = poll(web, fetcher, spec, first.body_hash)
                entries = len(listing.feed.entries) if listing.feed else 0
                rows.append(
                    {"outlet": label, "poll": "quiet", "requests": requests, "seconds": seconds, "entries": entries}
                )
            new = [(web.url(f"/news/new-{k}"), f"New story {k}", now + timedelta(minutes=k)) for k in range(args.new)]
            publish(web, with_news, names, [*new, *stories])  # type: ignore[list-item]
            after, requests, seconds = poll(web, fetcher, spec, first.body_hash)
            found = {canonical_url(e.url) for e in after.feed.entries} - known if after.feed else set()
            rows.append(
                {
                    "outlet": label,
                    "poll": "new stories",
                    "requests": requests,
                    "seconds": seconds,
                    "entries": len(found),
                }
            )
    return rows, [u for u, _, _ in new if canonical_url(u) not in found]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archives", type=int, default=100, help="monthly archive sitemaps in the index")
    parser.add_argument("--urls", type=int, default=100_000, help="URLs in the archives, in all")
    parser.add_argument("--news", type=int, default=60, help="stories of the last two days")
    parser.add_argument("--new", type=int, default=25, help="stories published before the last poll")
    parser.add_argument("--quiet-polls", type=int, default=5)
    parser.add_argument("--min-gap", type=float, default=1.0, help="seconds between requests to a host (the default)")
    args = parser.parse_args()

    rows, missed = [], []
    for with_news in (True, False):
        scenario_rows, scenario_missed = scenario(args, with_news)
        rows += scenario_rows
        missed += scenario_missed
    quiet_rows = [r for r in rows if r["poll"] == "quiet"]
    quiet_requests = max(int(r["requests"]) for r in quiet_rows)  # type: ignore[call-overload]
    quiet_seconds = [float(r["seconds"]) for r in quiet_rows]  # type: ignore[arg-type]
    targets = {
        f"quiet poll at most {QUIET_REQUESTS} requests": quiet_requests <= QUIET_REQUESTS,
        f"quiet poll under {QUIET_SECONDS:g} s": max(quiet_seconds) < QUIET_SECONDS,
        "every new story found": not missed,
    }
    print(f"outlet: an index of {args.archives} monthly sitemaps, {args.urls} URLs; {args.new} new stories;")
    print(f"requests to the outlet {args.min_gap:g} s apart (NEWSWATCH_HOST_MIN_GAP)")
    print(f"{'outlet':<14} {'poll':<12} {'requests':>8} {'seconds':>8} {'entries':>8}")
    for r in rows:
        print(f"{r['outlet']:<14} {r['poll']:<12} {r['requests']:>8} {float(r['seconds']):>8.3f} {r['entries']:>8}")  # type: ignore[arg-type]
    print_verdicts(targets)
    summary = {
        **summary_head("sitemap"),
        "archives": args.archives,
        "urls": args.urls,
        "min_gap_s": args.min_gap,
        "quiet_requests_max": quiet_requests,
        "quiet_seconds_median": round(statistics.median(quiet_seconds), 3),
        "new_published": 2 * args.new,
        "new_missed": len(missed),
        "targets": targets,
    }
    summary = with_reference(summary, ("quiet_seconds_median",))
    write_results(summary, ROOT / "bench" / "results" / "sitemap.json", {**summary, "rows": rows})
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
