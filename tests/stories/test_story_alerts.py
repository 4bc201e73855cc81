"""One story, one alert: the same story from three outlets (other boilerplate, small edits, a
truncated copy) is one story and one alert that names the other outlets; a different story on
the same event stays separate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import get_engine
from storage.models import Article
from tests.helpers import cli, run_monitor, write_config
from tests.newsweb import NewsWeb, article_page, rss
from tests.receivers import JsonReceiver

pytestmark = pytest.mark.usefixtures("prefect_harness")

STORY = [
    "Police in Preah Sihanouk province rescued forty-two workers from a compound where they had been held in "
    "debt bondage and forced to run online scams, the provincial police chief said on Tuesday.",
    "The workers, most of them from Vietnam, Indonesia and the Philippines, told investigators they had been "
    "recruited through social media advertisements promising well-paid jobs in customer service and marketing.",
    "On arrival their passports were taken and they were told they owed their employers thousands of dollars for "
    "travel and lodging, a debt that grew each month and that they could only repay by meeting fraud quotas.",
    "Several said they had been beaten or given electric shocks when they failed to reach their targets, and two "
    "said they had been sold between compounds without being told where they were being taken.",
    "Rights groups have long accused local officials of turning a blind eye to the compounds, which they say hold "
    "tens of thousands of people across the country, and of warning operators ahead of police raids.",
    "The police chief said three Chinese nationals and a Cambodian guard had been arrested and would be charged "
    "with human trafficking, and that the rescued workers would be repatriated with the help of their embassies.",
]
OTHER = [
    "A day after the raid in Preah Sihanouk, families of workers still missing gathered outside the provincial "
    "hall in Phnom Penh to demand information about relatives they have not heard from for months.",
    "Many said their sons and daughters had left for jobs abroad that turned out to be in scam compounds, and that "
    "brokers had asked them for ransom payments in exchange for their release from debt bondage.",
    "A lawyer representing several families said courts rarely heard such cases and that victims were often "
    "treated as immigration offenders rather than as people who had been trafficked into forced labour.",
    "The families handed a petition to a ministry official, who promised to pass it to a national committee "
    "that coordinates the response to trafficking, but gave no timeline for an answer.",
    "Non-governmental organisations said the number of calls to their hotlines had doubled this year, with "
    "many coming from workers trying to escape compounds near the borders with Thailand and Vietnam.",
]
TITLE = "Police free 42 workers held in debt bondage at Sihanoukville scam compound"


def outlet(web: NewsWeb, slug: str, name: str, title: str, paragraphs: list[str]) -> str:
    page = web.add(f"/{slug}/story", article_page(title, paragraphs, name))
    items = [{"title": title, "link": page, "guid": f"{slug}-1", "summary": paragraphs[0]}]
    return web.add(f"/{slug}/feed.xml", rss(name, web.url(f"/{slug}/"), items), "application/rss+xml")


TOPIC = "  - name: trafficking\n    terms: [debt bondage, human trafficking]\n"


def three_outlets(web: NewsWeb) -> dict[str, str]:
    edited = [p.replace("forty-two", "42").replace("on Tuesday", "on Tuesday morning") for p in STORY]
    truncated = STORY[:4]
    return {
        "Mekong Daily": outlet(web, "a", "Mekong Daily", TITLE, STORY),
        "Khmer Wire": outlet(web, "b", "Khmer Wire", "42 workers freed from scam compound", edited),
        "Border Post": outlet(web, "c", "Border Post", "Scam compound raid frees workers", truncated),
    }


def test_one_story_from_three_outlets_is_one_alert(
    web: NewsWeb, tmp_path: Path, home_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = three_outlets(web)
    feeds["Capital News"] = outlet(web, "d", "Capital News", "Families of missing workers demand answers", OTHER)
    src, wl = write_config(tmp_path, feeds.items(), TOPIC)
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        summary = run_monitor(src, wl)
        assert summary.new_articles == 4 and summary.stories_joined == 2
        assert summary.matches == 4  # every copy is matched and recorded...
        assert summary.alerts_sent == 2 and len(hook.posts) == 2  # ...but each story alerts once
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["newswatch-run"])),
            sort=ArtifactSort.CREATED_DESC,  # the newest first: the session's server holds many
            limit=5,
        )
    section = str(max(artifacts, key=lambda a: a.created).data).split("## New matches", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("\n### ")[1:]  # one block per story (tasks/report.py)
    assert len(blocks) == 2  # stories, not raw duplicates: the three copies make one block
    assert all("topic **trafficking**" in block for block in blocks)
    assert any(sum(name in b for name in ("Mekong Daily", "Khmer Wire", "Border Post")) == 3 for b in blocks)
    with get_engine(home_db).connect() as conn:
        stories = dict(conn.execute(select(Article.url, Article.story_id)).all())
    by_slug = {url.split("/")[3]: story for url, story in stories.items()}
    assert by_slug["a"] == by_slug["b"] == by_slug["c"] != by_slug["d"]

    listed = cli(["stories", "--json"], {"NEWSWATCH_HOME": str(tmp_path / "home")}, timeout=60)
    assert listed.returncode == 0, listed.stderr
    rows = sorted(json.loads(listed.stdout), key=lambda r: -r["articles"])
    assert [r["articles"] for r in rows] == [3, 1]
    assert sorted(rows[0]["outlets"]) == ["Border Post", "Khmer Wire", "Mekong Daily"]
    assert rows[0]["topics"] == ["trafficking"] and rows[1]["outlets"] == ["Capital News"]


def test_later_copies_are_named_in_the_digest_and_as_follow_ups(
    web: NewsWeb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = three_outlets(web)
    first = {"Mekong Daily": feeds.pop("Mekong Daily")}
    src, wl = write_config(tmp_path, first.items(), TOPIC + "    followups: new-outlets\n")
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        assert run_monitor(src, wl).alerts_sent == 1
        src, wl = write_config(tmp_path, (first | feeds).items(), TOPIC + "    followups: new-outlets\n")
        later = run_monitor(src, wl)
        assert later.stories_joined == 2 and later.alerts_sent == 2  # one follow-up per new outlet
        follow_ups = [p["message"] for p in hook.posts[1:]]
        assert all("Also reported by: Mekong Daily" in m for m in follow_ups)


def test_an_updated_article_alerts_only_for_a_topic_it_did_not_match_before(
    web: NewsWeb, tmp_path: Path, home_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.models import ArticleRevision

    def publish(paragraphs: list[str], summary: str) -> None:
        page = web.add("/u/story", article_page("Provincial court hears labour case", paragraphs, "Court Watch"))
        items = [{"title": "Provincial court hears labour case", "link": page, "guid": "u-1", "summary": summary}]
        web.add("/u/feed.xml", rss("Court Watch", web.url("/u/"), items), "application/rss+xml")

    base = OTHER[:2] + ["The hearing was adjourned until next month, the court clerk said."] * 3
    publish(base, "The hearing was adjourned.")
    src, wl = write_config(
        tmp_path,
        [("Court Watch", web.url("/u/feed.xml"))],
        "  - {name: bondage, terms: [debt bondage]}\n  - {name: courts, terms: [indicted]}\n",
    )
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        first = run_monitor(src, wl)
        assert first.matches == 1 and [p["title"].split(":")[0] for p in hook.posts] == ["[newswatch] bondage"]

        publish(
            [*base, "Update: two brokers were indicted on Friday for their role in the scheme."],
            "Update: two brokers indicted.",
        )
        second = run_monitor(src, wl, force=True)
        assert second.revised == 1 and second.new_articles == 0
        assert second.matches == 1 and len(hook.posts) == 2  # "courts" is new; "bondage" does not repeat
        assert hook.posts[1]["title"].startswith("[newswatch] courts:")
    with get_engine(home_db).connect() as conn:
        assert conn.execute(select(Article.revision)).scalar_one() == 2
        assert "indicted" not in conn.execute(select(ArticleRevision.text)).scalar_one()
