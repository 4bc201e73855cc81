"""Several monitor runs at once are safe (as several Prefect workers running the same deployment).

PostgreSQL: 4 `newswatch run` processes over the same 50 sources, started together on a fresh
database: every published article is stored once, every (topic, story, target) has one alert,
and the receiver gets each alert exactly once. SQLite (WAL, busy timeout): the same with 2
processes and 20 sources, and no run fails with "database is locked".
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.killtest import TITLE_PREFIX, TOPIC, Site, run_env, target_keys, write_config
from storage.db import dispose_all, get_engine
from storage.models import Alert, Article
from tests.helpers import processes
from tests.newsweb import NewsWeb, article_page, distinct_paragraphs
from tests.receivers import JsonReceiver

AL = Alert.__table__  # type: ignore[attr-defined]
AR = Article.__table__  # type: ignore[attr-defined]


class ManySites(Site):
    """Site with any number of outlets (Site's letter names run out after 26), and one article
    per outlet that matches no topic."""

    def __init__(self, web: NewsWeb, sources: int) -> None:
        self.web = web
        self.names = [f"Outlet {i:02d}" for i in range(sources)]
        self.items = {n: [] for n in self.names}
        self.titles = []
        for name in self.names:
            self._write_feed(name)

    def publish_unrelated(self) -> None:
        for i, name in enumerate(self.names):
            title = f"{name} weather note {i}: rain expected over the weekend"
            body = [f"Forecasters said {name} expect rain on Saturday, item {i}.", *distinct_paragraphs(1000 + i)]
            link = self.web.add(f"{self._slug(name)}/weather/{i}", article_page(title, body, name))
            self.items[name].append({"title": title, "link": link, "guid": f"{name}-weather-{i}", "summary": body[0]})
            self._write_feed(name)


def _run_all_at_once(
    runs: int, db: str, tmp_path: Path, sources: int, per_source: int
) -> tuple[ManySites, list[tuple[int, str, str]], Counter[str], str]:
    """Publish, then start `runs` monitor processes together and wait for all of them.
    Returns the site, (returncode, stdout, stderr) per run, receipts by title, the target key."""
    from prefect.settings import PREFECT_API_URL

    with NewsWeb() as web, JsonReceiver() as hook:
        site = ManySites(web, sources)
        site.publish(per_source=per_source)
        site.publish_unrelated()
        src, wl = write_config(tmp_path, site.feeds)
        env = run_env(tmp_path / "prefect", tmp_path / "home", PREFECT_API_URL.value())
        args = ["--sources", src, "--watchlist", wl, "--db", db, "--notify", hook.apprise_url(), "--force", "--json"]
        with processes([[sys.executable, "-m", "deploy.cli", "run", *args]] * runs, env=env) as procs:
            outputs = [p.communicate(timeout=150) for p in procs]
        results = [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]
        got = Counter(str(post.get("title", "")).removeprefix(TITLE_PREFIX) for post in list(hook.posts))
        (key,) = target_keys([hook.apprise_url()])
    return site, results, got, key


def _check(db: str, site: ManySites, results: list[tuple[int, str, str]], got: Counter[str], key: str) -> None:
    for rc, out, err in results:
        assert rc == 0, err[-3000:]
        assert "database is locked" not in out + err, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
    summaries = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in results]
    published = len(site.titles) + len(site.names)  # matching + one unrelated per outlet
    titles = set(site.titles)
    assert [(s["sources_ok"], s["sources_failed"], s["alerts_failed"]) for s in summaries] == [
        (len(site.names), 0, 0)
    ] * len(summaries)
    # Each article stored by one run only, each alert sent by one run only.
    assert sum(s["new_articles"] for s in summaries) == published, summaries
    assert sum(s["alerts_sent"] for s in summaries) == len(titles), summaries
    with get_engine(db).connect() as conn:
        n_articles, n_urls = conn.execute(select(func.count(), func.count(AR.c.canonical_url.distinct()))).one()
        alerts = conn.execute(
            select(AL.c.topic, AR.c.story_id, AL.c.target, AR.c.title, AL.c.status).join(AR, AR.c.id == AL.c.article_id)
        ).all()
    assert (n_articles, n_urls) == (published, published)  # 0 duplicate articles, none lost
    per_story = Counter((topic, story, target) for topic, story, target, _, _ in alerts)
    assert [k for k, n in per_story.items() if n > 1] == []  # 0 duplicate alerts
    assert len(alerts) == len(titles)  # every matching article is its own story: one alert each
    assert {title for *_, title, _ in alerts} == titles
    assert {(topic, target, status) for topic, _, target, _, status in alerts} == {(TOPIC, key, "sent")}
    assert [t for t, n in got.items() if n > 1] == []  # the receiver: 0 duplicates
    assert set(got) == titles  # 0 lost, nothing unexpected
    dispose_all()


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_four_runs_at_once_on_postgresql(db_url: str, tmp_path: Path) -> None:
    site, results, got, key = _run_all_at_once(4, db_url, tmp_path, sources=50, per_source=2)
    _check(db_url, site, results, got, key)


@pytest.mark.usefixtures("prefect_harness")
def test_two_runs_at_once_on_sqlite(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'nw.db'}"
    site, results, got, key = _run_all_at_once(2, db, tmp_path, sources=20, per_source=2)
    _check(db, site, results, got, key)
