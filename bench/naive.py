"""Baseline (a) of bench/pipeline.py: what a user would write without newswatch. One source
after another: requests + feedparser for the feed, then each entry's page with requests and
the same extractor (trafilatura), a keyword check, and a JSON file of seen URLs.

    .venv/bin/python bench/naive.py SOURCES.yaml SEEN.json [--limit N]

Prints one JSON line: sources, pages, matches, wall seconds.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import feedparser
import requests
import trafilatura
import yaml

PHRASES = re.compile(r"human trafficking|trafficking victims|forced labour", re.IGNORECASE)


def main() -> None:
    sources_file, seen_file = Path(sys.argv[1]), Path(sys.argv[2])
    limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else None
    sources = yaml.safe_load(sources_file.read_text())["sources"][:limit]
    seen: set[str] = set(json.loads(seen_file.read_text())) if seen_file.exists() else set()
    started = time.perf_counter()
    pages = matches = failed = 0
    for source in sources:
        try:
            feed = feedparser.parse(requests.get(source["url"], timeout=30).content)
            for entry in feed.entries:
                link = entry.get("link")
                if not link or link in seen:
                    continue
                html = requests.get(link, timeout=30).text
                pages += 1
                text = trafilatura.extract(html, url=link) or entry.get("summary", "")
                seen.add(link)
                if PHRASES.search(f"{entry.get('title', '')}\n{text}"):
                    matches += 1
        except requests.RequestException:
            failed += 1
    seen_file.write_text(json.dumps(sorted(seen)))
    wall = time.perf_counter() - started
    print(json.dumps({"sources": len(sources), "pages": pages, "matches": matches, "failed": failed, "wall_s": wall}))


if __name__ == "__main__":
    main()
