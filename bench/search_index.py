"""What SQLite's search index costs a stored article, by FTS5 tokenizer and detail (issue #18
part 4: the cold run's CPU against the floor).

    .venv/bin/python bench/search_index.py [--sites 20] [--batches 8]

The articles are the simulated news web's (bench/newsweb.py: --sites x 20 pages, each extracted
by the page workers' own `analyze`); each variant stores them into a fresh SQLite database of
the real schema (storage.migrate), 20 a transaction as a run does, --batches times over (each
time under other URLs and texts). Variants: `shipped` (migration 0012: trigrams, no positions),
`trigram with positions` (migration 0005, before 0012), word indexes (unicode61), and `none` (no
search index: its insert trigger dropped). Prints CPU milliseconds per article (one core; the
median of 3 rounds, variants interleaved) and the database's bytes per article, and one JSON
line; writes bench/results/search_index.json.

Why it matters: the shipped trigram index holds every three-character substring, which lets
`newswatch search` look up Khmer and Thai (written without spaces) through the index; a word
index (unicode61) cannot, and PostgreSQL's cannot either (tasks/matching/search.py scans then).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text as sql  # noqa: E402

from bench import newsweb  # noqa: E402
from bench.reference import machine_reference, reference_line, write_results  # noqa: E402
from storage import repository  # noqa: E402
from storage.db import dispose_all, get_engine  # noqa: E402
from storage.migrate import ensure_schema  # noqa: E402
from storage.records import ArticleRecord  # noqa: E402
from tasks.ingest.workers import ArticleText, analyze  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "search_index.json"
BATCH = 20  # a feed's new entries, stored in one transaction
ROUNDS = 3
VARIANTS = {
    "shipped": None,
    "trigram with positions": "tokenize='trigram'",  # migration 0005, before 0012
    "unicode61": "tokenize='unicode61'",
    "unicode61 detail=none": "tokenize='unicode61', detail='none'",
    "none": "",
}


def pages(sites: int) -> list[tuple[str, str, ArticleText]]:
    """(url, title, analyzed text) of every page of the simulated web's first `sites` sites."""
    web = newsweb.build(newsweb.parse_args(["--sites", str(sites), "--entries", "20"]))
    found = []
    for site in web.sites:
        for number in range(20):
            article = web.article(site.index, number)
            url = web.base(site) + article.path
            found.append((url, article.title, analyze(web.page(site, article), url, article.title, "", "en", False)))
    return found


def records(source_id: int, analyzed: list[tuple[str, str, ArticleText]]) -> list[ArticleRecord]:
    """The pages as one source's new articles (URL and text made this source's own)."""
    out = []
    for url, title, page in analyzed:
        body = f"{page.text} {source_id}"
        out.append(ArticleRecord(
            source_id=source_id, canonical_url=f"{url}?s={source_id}", url=url, guid=None, title=title, author=None,
            published_at=None, language=page.language, summary=None, text=body,
            content_hash=hashlib.sha256(body.encode()).hexdigest(), text_origin="page", text_note=None,
            signature=page.signature, vector=None, vector_model=None, declared_language=None,
        ))  # fmt: skip
    return out


def database(folder: str, name: str, options: str | None) -> str:
    """A fresh database of the real schema, its search index as the variant has it."""
    url = f"sqlite:///{folder}/{name.replace(' ', '_').replace('=', '-')}.db"
    ensure_schema(url)
    with get_engine(url).begin() as conn:
        if options == "":
            conn.execute(sql("DROP TRIGGER articles_fts_insert"))
        elif options is not None:
            conn.execute(sql("DROP TABLE articles_fts"))
            conn.execute(sql("CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', "
                             f"content_rowid='id', {options})"))  # fmt: skip
    return url


def store_ms(url: str, analyzed: list[tuple[str, str, ArticleText]], batches: int, first_source: int) -> float:
    """CPU milliseconds per article to store `batches` sources' worth of the pages."""
    sources = repository.upsert_sources(url, [(f"s{first_source + i}", f"http://x/{first_source + i}", [])
                                              for i in range(batches)])  # fmt: skip
    prepared = [records(source_id, analyzed) for source_id in sources.values()]
    started = time.process_time()
    for rows in prepared:
        for i in range(0, len(rows), BATCH):
            repository.insert_articles(url, rows[i : i + BATCH])
    return 1000 * (time.process_time() - started) / sum(map(len, prepared))


def database_bytes(url: str) -> int:
    """The database file's size, its write-ahead log checkpointed into it."""
    with get_engine(url).connect() as conn:
        conn.execute(sql("PRAGMA wal_checkpoint(TRUNCATE)"))
    return os.path.getsize(url.removeprefix("sqlite:///"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=20, help="sites of the simulated web (20 pages each)")
    parser.add_argument("--batches", type=int, default=8, help="times the pages are stored, as other sources")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    reference = machine_reference()
    analyzed = pages(args.sites)
    chars = statistics.mean(len(p.text) for _, _, p in analyzed)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        urls = {name: database(folder, name, options) for name, options in VARIANTS.items()}
        for round_ in range(ROUNDS):
            for name, url in urls.items():
                times[name].append(store_ms(url, analyzed, args.batches, round_ * args.batches))
        stored = len(analyzed) * args.batches * ROUNDS
        size = {name: round(database_bytes(url) / stored) for name, url in urls.items()}
        dispose_all()
    median = {name: round(statistics.median(t), 3) for name, t in times.items()}
    print(reference_line(reference))
    print(f"{len(analyzed)} pages x {args.batches} sources, {chars:.0f} characters of text each; median of {ROUNDS}")
    print(f"{'search index':<24} {'CPU ms/article':>15} {'index share':>12} {'bytes/article':>14}")
    for name, ms in median.items():
        print(f"{name:<24} {ms:>15.3f} {ms - median['none']:>12.3f} {size[name]:>14,}")
    result: dict[str, Any] = {"bench": "search_index", "articles": len(analyzed) * args.batches}
    result |= {"text_chars": round(chars), "cpu_ms_per_article": median, "bytes_per_article": size}
    result["reference"] = reference
    write_results(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
