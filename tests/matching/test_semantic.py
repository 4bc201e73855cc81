"""A topic's `semantic:` key in a run (the shipped model, real pages on a local news web, SQLite
and PostgreSQL): the page workers store each article's vector; the semantic method adds the
story told without the topic's terms and its alert says so, with the score and the closest
example; the keyword match keeps its own explanation; unrelated stories stay out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from storage.db import get_engine
from storage.models import ARTICLES, MATCHES
from tests.helpers import run_monitor, write_config
from tests.newsweb import NewsWeb, article_page, rss
from tests.receivers import JsonReceiver
from tests.semantic.stories import DESCRIPTION, EXAMPLE, STORIES

pytest.importorskip("static_model", reason="the [semantic] extra is not installed (pip install -e '.[semantic]')")
pytestmark = pytest.mark.usefixtures("prefect_harness")

TOPIC = f"""\
  - name: trafficking
    terms: [human trafficking]
    semantic:
      description: {DESCRIPTION}
      examples:
        - {EXAMPLE}
      threshold: 0.63
"""


def _site(web: NewsWeb) -> str:
    items = []
    for key, (title, text) in STORIES.items():
        link = web.add(f"/s/{key}", article_page(title, [text], "Coast News"))
        items.append({"title": title, "link": link, "guid": key, "summary": text[:80]})
    return web.add("/feed.xml", rss("Coast News", web.url("/"), items), "application/rss+xml")


def test_semantic_match_is_added_and_explained(
    flow_db: str, web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, wl = write_config(tmp_path, [("Coast News", _site(web))], TOPIC)
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        summary = run_monitor(src, wl)
    assert summary.alerts_sent == 2

    with get_engine(flow_db).connect() as conn:
        vectors = conn.execute(select(ARTICLES.c.title, ARTICLES.c.vector, ARTICLES.c.vector_model)).all()
        matches = {
            r.title: r
            for r in conn.execute(
                select(ARTICLES.c.title, MATCHES.c.terms, MATCHES.c.indicators).join(
                    MATCHES, MATCHES.c.article_id == ARTICLES.c.id
                )
            )
        }
    assert len(vectors) == 4
    assert {(len(v.vector), v.vector_model) for v in vectors} == {(64, "tokenlearn-static-64")}
    assert np.frombuffer(vectors[0].vector, dtype=np.int8).any()

    keyword, meaning = STORIES["keyword"][0], STORIES["meaning"][0]
    assert set(matches) == {keyword, meaning}
    assert matches[keyword].terms == ['"human trafficking"'] and matches[keyword].indicators == {}
    assert matches[meaning].terms == ["similar in meaning (no term matched)"]
    (why,) = matches[meaning].indicators["similar in meaning"]
    score = float(why.split()[0])
    assert 0.63 <= score < 1 and "(threshold 0.63) to description: People recruited" in why

    (alert,) = [p["message"] for p in hook.posts if meaning in p["title"]]
    assert "similar in meaning (no term matched)" in alert
    assert f"{score:.2f} (threshold 0.63) to description: People recruited with false promises" in alert


def test_stored_articles_as_examples(db_url: str) -> None:
    """Examples may name stored articles, by id or URL: their title and text are the reference;
    one not found is left out."""
    from storage import repository
    from tasks.config import SemanticSpec, TopicSpec
    from tasks.matching import closest, compile_semantic
    from tasks.semantic import embed_article, load_embedder, unpack
    from tests.helpers import stored_article

    source = repository.upsert_sources(db_url, [("Coast News", "https://coast.example/rss", [])])["Coast News"]
    urls = [f"https://coast.example/{k}" for k in ("meaning", "rates")]
    records = [stored_article(source, u, *STORIES[k]) for u, k in zip(urls, ("meaning", "rates"), strict=True)]
    first, second = repository.insert_articles(db_url, records).new_ids
    examples = (f"article:{first}", urls[1], "article:999999", "https://coast.example/none")
    spec = SemanticSpec(examples=examples, threshold={"en": 0.99})
    embedder = load_embedder()
    (compiled,) = compile_semantic([TopicSpec(name="t", terms=("x",), semantic=spec)], embedder, db_url)
    titles = [STORIES["meaning"][0], STORIES["rates"][0]]
    assert compiled.labels == [f"article {first}: {titles[0]}", f"article {second}: {titles[1]}"]
    same = unpack(embed_article(*STORIES["meaning"], embedder).data)
    found = closest(compiled, same, "en")
    assert found is not None and found.label == compiled.labels[0] and found.score > 0.99
    assert closest(compiled, same, "km") is None  # no threshold for Khmer, no default: nothing added
