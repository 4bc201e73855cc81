"""The floor of bench/pipeline.py (issue #18 part 4): the two things no implementation of
newswatch can skip for an article page, and nothing else. One requests.Session fetches each
page, one after another, and trafilatura's plain `extract()` extracts it: no robots.txt, no
politeness, no feed, no storage, no worker processes. bench/pipeline.py runs it as a child on
the same simulated web and the same pages as the cold run, measures its CPU from outside as it
measures the cold run, and divides the cold run's CPU per article by this one's CPU per page.

    .venv/bin/python bench/floor.py URLS_FILE      # one URL a line; prints one JSON line

The JSON line also gives the CPU of the loop alone (without the interpreter's start and the
imports), so a reader can see what the whole-process figure adds at a small page count.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import requests
import trafilatura


def main() -> None:
    urls = Path(sys.argv[1]).read_text().split()
    started = time.process_time()
    wall = time.perf_counter()
    fetched = extracted = failed = chars = 0
    with requests.Session() as session:
        for url in urls:
            try:
                response = session.get(url, timeout=30)
                response.raise_for_status()
            except requests.RequestException:
                failed += 1
                continue
            fetched += 1
            text = trafilatura.extract(response.text)
            if text:
                extracted += 1
                chars += len(text)
    loop_cpu = time.process_time() - started
    print(
        json.dumps(
            {
                "pages": len(urls),
                "fetched": fetched,
                "extracted": extracted,
                "failed": failed,
                "text_chars": chars,
                "loop_cpu_s": loop_cpu,
                "loop_wall_s": time.perf_counter() - wall,
            }
        )
    )


if __name__ == "__main__":
    main()
