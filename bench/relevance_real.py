"""The human-trafficking topic on real news that is (almost all) not about trafficking: how many
alerts it would send, and why each (issue #15). The relevance set's articles are short and half
of them wanted; a real feed's are long and nearly none are. A score fitted on the set must not
fire on the many weak indicators a long article carries.

    .venv/bin/python bench/relevance_real.py

Reads ../shared/corpora (skips cleanly when absent): the article bodies of scrapinghub-aeb and
mozilla-readability (long articles, bench/dedup.py's reader) and the items of rss-parser's real
feeds (titles and summaries). Each text's language is detected as a run does. Methods: the old
topic (bench/relevance/old_topic.yaml), the shipped topic's query alone, the shipped topic (query
+ score, the score reading the lead: tasks.matching.scoring.LEAD_CHARS), and the shipped topic
with its score reading the whole text (the rule before the lead). Prints the alerts per method,
every alert of the shipped topic with its explanation (a reader judges: a story about a sex
trafficker is wanted), and one JSON line; writes bench/results/relevance_real.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dedup import CORPORA, read_originals  # noqa: E402
from bench.reference import write_results  # noqa: E402
from bench.relevance import OLD, SHIPPED, TOPIC, topic_spec  # noqa: E402
from tasks.common.language import detect  # noqa: E402
from tasks.matching import CompiledTopic, compile_topic, match  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "relevance_real.json"
FEEDS = CORPORA / "rss-parser" / "test" / "output"
WHOLE_TEXT = 10**9


def paragraphs(html: bytes) -> str:
    """An article's text as a run stores it: one paragraph a line (PARAGRAPH() scopes need them)."""
    import lxml.html

    blocks = lxml.html.fromstring(html).iter("p", "h1", "h2", "h3", "h4", "li", "blockquote", "pre")
    return "\n".join(" ".join(b.text_content().split()) for b in blocks if b.text_content().strip())


def real_articles(corpora: Path) -> list[tuple[str, str, str]]:
    """(id, title, text) of every real article: long bodies, then feed items."""
    texts, _ = read_originals(corpora, paragraphs)  # scrapinghub's bodies keep their line breaks
    articles = [(f"body-{i}", "", t) for i, t in enumerate(texts)]
    feeds = corpora / FEEDS.relative_to(CORPORA)
    for path in sorted(feeds.glob("*.json")) if feeds.is_dir() else []:
        feed = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        for i, item in enumerate(feed.get("feed", feed).get("items", [])):
            text = item.get("contentSnippet") or item.get("content") or ""
            if isinstance(text, str) and text.strip():
                articles.append((f"{path.stem}#{i}", str(item.get("title") or ""), text))
    return articles


def methods() -> dict[str, CompiledTopic]:
    shipped = topic_spec(SHIPPED, TOPIC)
    compiled = compile_topic(shipped)
    assert compiled.score is not None
    return {
        "old": compile_topic(topic_spec(OLD, None)),
        "query alone": compile_topic(shipped.model_copy(update={"score": None})),
        "shipped": compiled,
        "score read whole": replace(compiled, score=replace(compiled.score, lead_chars=WHOLE_TEXT)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA, help="the shared corpora folder")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    articles = real_articles(args.corpora)
    if not articles:
        print(f"skipping bench/relevance_real.py: corpora not found under {args.corpora}")
        return 0
    topics = methods()
    alerts: dict[str, list[dict[str, Any]]] = {name: [] for name in topics}
    for key, title, text in articles:
        language = detect(f"{title}\n{text}")
        for name, topic in topics.items():
            if (hit := match(title, text, topic, language=language)) is not None:
                alerts[name].append({"id": key, "lang": language, "title": title[:80], "clauses": hit.terms[:7],
                                     "sentence": hit.hit_sentence[:160]})  # fmt: skip
    long_bodies = sum(key.startswith("body-") for key, _, _ in articles)
    print(f"{len(articles)} real articles ({long_bodies} long bodies, {len(articles) - long_bodies} feed items)")
    print(f"{'method':<20} {'alerts':>6} {'in bodies':>9} {'per 1,000':>9}")
    for name, found in alerts.items():
        bodies = sum(a["id"].startswith("body-") for a in found)
        print(f"{name:<20} {len(found):>6} {bodies:>9} {1000 * len(found) / len(articles):>9.1f}")
    print("\nthe shipped topic's alerts (judge each):")
    for a in alerts["shipped"]:
        print(f"  {a['id']} [{a['lang']}] {a['title'] or a['sentence'][:80]}\n      {'; '.join(a['clauses'])}")
    line = {
        "articles": len(articles),
        "long_bodies": long_bodies,
        "alerts": {name: len(found) for name, found in alerts.items()},
    }
    write_results(
        line, args.out, line | {"shipped_alerts": alerts["shipped"], "whole_alerts": alerts["score read whole"]}
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
