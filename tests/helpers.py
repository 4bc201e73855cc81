"""What tests in several folders build the same way: config files, runs of the flows and of the
`newswatch` command, records as the stages hand them to storage, processes started together.
Fixtures are in conftest.py; the local news web and receivers in newsweb.py and receivers.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import func, select

from storage.db import get_engine
from storage.records import ArticleRecord, SourceHealthRow, SourceState
from tests.conftest import TEST_ENV
from tests.newsweb import NewsWeb, article_page, distinct_paragraphs, rss
from tests.receivers import JsonReceiver

ROOT = Path(__file__).resolve().parents[1]  # the repository

# --- config files ----------------------------------------------------------------------------

TRAFFICKING_TOPIC = (
    "  - name: human-trafficking\n"
    '    terms: ["human trafficking", "human traffickers", "traffick*", "forced labour", "debt bondage"]\n'
    "    exclude: []\n"
)


def write_config(
    folder: Path, sources: Iterable[tuple[str, str]], topics: str = TRAFFICKING_TOPIC, head: str = ""
) -> tuple[str, str]:
    """sources.yaml with these (name, url) sources, tagged `test`, and watchlist.yaml with `head`
    (digest, targets) and these topics, in `folder`; their paths."""
    src = folder / "sources.yaml"
    src.write_text("sources:\n" + "".join(f"  - name: {n}\n    url: {u}\n    tags: [test]\n" for n, u in sources))
    wl = folder / "watchlist.yaml"
    wl.write_text(head + "topics:\n" + topics)
    return str(src), str(wl)


class Watched(NamedTuple):
    """A site and the config files that watch it (the `mekong` fixture)."""

    site: dict[str, str]  # its addresses: tests.newsweb.build_site's feed, story, ...
    src: str  # sources.yaml
    wl: str  # watchlist.yaml


TaggedTargets = Callable[[dict[str, JsonReceiver]], None]  # the tagged_targets fixture


# Two stories of one outlet, Border News, that different topics can tell apart by their phrase.
BORDER_STORIES = [
    ("Police free forty workers held in debt bondage at a brick kiln", "debt bondage"),
    ("Scam compound raid: survivors describe forced labour and beatings", "forced labour"),
]


def border_news(web: NewsWeb, stories: list[tuple[str, str]]) -> str:
    """Border News on `web` with these (title, phrase) stories; its feed's URL."""
    items = []
    for i, (title, phrase) in enumerate(stories):
        paragraphs = [
            f"{title}. Officials said the case involved {phrase} and would be prosecuted in the provincial "
            "court, while rights groups called for better protection of victims across the region.",
            "The workers were returned to their home provinces after interviews with the authorities.",
            *distinct_paragraphs(i, 1, 150),  # different stories: not near-duplicates (tasks/stories/assign.py)
        ]
        link = web.add(f"/s/{i}", article_page(title, paragraphs, "Border News"))
        items.append({"title": title, "link": link, "guid": f"g{i}", "summary": paragraphs[0]})
    return web.add("/feed.xml", rss("Border News", web.url("/"), items), "application/rss+xml")


# --- runs ------------------------------------------------------------------------------------


def run_monitor(src: str, wl: str, **kw: Any):  # type: ignore[no-untyped-def]
    """The monitor flow, in this process, on these files; its summary."""
    from flows.monitor import monitor

    return monitor(sources_file=src, watchlist_file=wl, **kw)


def run_digest(wl: str, **kw: Any):  # type: ignore[no-untyped-def]
    """The digest flow, in this process, on this watchlist; its report."""
    from flows.digest import digest

    return digest(watchlist_file=wl, **kw)


def cli(args: list[str], env_extra: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`newswatch ARGS` in a process of its own, without this shell's Prefect and newswatch
    settings but those of TEST_ENV and `env_extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWATCH_", "PREFECT_"))}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", **TEST_ENV)
    env.update(env_extra)
    command = [sys.executable, "-m", "deploy.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


@contextmanager
def processes(commands: list[list[str]], **popen: Any) -> Iterator[list[subprocess.Popen[str]]]:
    """Start every command at once from the repository root, stdout and stderr as text pipes;
    kill those still running on the way out."""
    started = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
        for command in commands
    ]
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


def wait_ready(started: list[subprocess.Popen[str]]) -> None:
    """Each process says "ready" (its first line) before the test gives them the signal to go."""
    for process in started:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"


# --- records and rows ------------------------------------------------------------------------


def count_rows(db_url: str, model: type) -> int:
    with get_engine(db_url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def stored_article(source_id: int, url: str, title: str, text: str, **fields: Any) -> ArticleRecord:
    """An article as ingest hands it to storage, at `url` (its canonical URL too), its text from
    the page; no GUID, author, date, language, summary or content hash unless given."""
    values: dict[str, Any] = dict(
        source_id=source_id,
        canonical_url=url,
        url=url,
        guid=None,
        title=title,
        author=None,
        published_at=None,
        language=None,
        summary=None,
        text=text,
        content_hash=None,
        text_origin="page",
    )
    return ArticleRecord(**(values | fields))


def numbered_article(source_id: int, n: int, **fields: Any) -> ArticleRecord:
    """Article n of a news site: its URL (fetched with a tracking parameter), GUID, title, text
    and content hash derived from n; published 2026-11-27 in English; fields as given."""
    article = stored_article(source_id, f"https://news.example/a/{n}", f"Title {n}", f"text {n} " * 40)
    values: dict[str, Any] = dict(
        url=f"https://news.example/a/{n}?x=1",
        guid=f"g{n}",
        published_at=datetime(2026, 11, 27, 1, 15, tzinfo=UTC),
        language="en",
        summary="s",
        content_hash=f"{n:064d}",
    )
    return replace(article, **(values | fields))


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # the clock of the source state and health rows below

NEW_SOURCE = SourceState(
    id=1,
    name="S",
    etag=None,
    last_modified=None,
    body_hash=None,
    next_attempt_at=None,
    consecutive_failures=0,
    paused_at=None,
    pause_notified_at=None,
    last_error=None,
)
HEALTHY_SOURCE = SourceHealthRow(
    name="S",
    url="https://s.example/rss",
    last_fetched_at=NOW,
    last_success_at=NOW,
    last_error=None,
    consecutive_failures=0,
    next_attempt_at=NOW,
    paused_at=None,
    last_new_at=NOW,
    recent_published=[],
)


def source_state(**fields: Any) -> SourceState:
    """A source's state from earlier runs: one never fetched, but for `fields`."""
    return replace(NEW_SOURCE, **fields)


def health_row(**fields: Any) -> SourceHealthRow:
    """A source's health as the run report reads it: fetched with new articles at NOW, but for `fields`."""
    return replace(HEALTHY_SOURCE, **fields)
