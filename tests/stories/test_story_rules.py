"""Which near-duplicates are one story (issue #19 item 14), through assign_stories on SQLite and
PostgreSQL: the window is measured on publication dates, and two short templated texts are one
story only when their titles' numbers agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage import repository
from storage.db import get_engine
from storage.models import Article
from tasks.stories import assign
from tasks.stories.assign import StoryReport, assign_stories
from tasks.stories.minhash import StoryFacts, signature
from tests.helpers import stored_article
from tests.newsweb import distinct_paragraphs
from tests.stories.test_minhash import TEMPLATE

NOTICE = (
    "AdWords API {v} sunset reminder. AdWords API {v} will be sunset on {d}. After this date, all requests "
    "made to {v} will fail. Please migrate to a newer version before then to ensure that your applications "
    "continue to work without interruption. The release notes and the migration guide describe the changes "
    "between versions, and the developer forum is open for any questions about the upgrade. As always, we "
    "recommend that you test your applications against the new version in a test account before you switch "
    "production traffic, and that you follow this blog and the forum for announcements."
)
WEEK = timedelta(days=7)


def store(db_url: str, articles: list[tuple[str, str, str, datetime | None]]) -> list[int]:
    """(url, title, text, published) stored with their signatures, as ingest stores them; their ids."""
    source = repository.upsert_sources(db_url, [("Ads Blog", "https://ads.example/feed", [])])["Ads Blog"]
    records = [
        stored_article(source, url, title, text, signature=signature(text), published_at=published)
        for url, title, text, published in articles
    ]
    return repository.insert_articles(db_url, records).new_ids


def stories(db_url: str) -> dict[str, int]:
    with get_engine(db_url).connect() as conn:
        return {url.rsplit("/", 1)[1]: story for url, story in conn.execute(select(Article.url, Article.story_id))}


def test_editions_a_year_apart_are_two_stories_though_fetched_together(db_url: str) -> None:
    """A backfilled feed: the 2016 and 2017 editions of one announcement, fetched the same day."""
    text = NOTICE.format(v="v201509", d="the first of the month")
    store(
        db_url,
        [
            ("https://ads.example/2016", "Annual reminder", text, datetime(2016, 8, 1, tzinfo=UTC)),
            ("https://ads.example/2017", "Annual reminder", text + " Updated.", datetime(2017, 8, 1, tzinfo=UTC)),
            ("https://ads.example/copy", "Annual reminder", text + " Copied.", datetime(2017, 8, 2, tzinfo=UTC)),
        ],
    )
    assign_stories(db_url, WEEK)
    got = stories(db_url)
    assert got["2016"] != got["2017"] == got["copy"]


def test_short_templated_notices_with_other_numbers_are_two_stories(db_url: str) -> None:
    """Two sunset notices, one text but for the version (estimated Jaccard 0.77), are two stories;
    a syndicated copy under another title without a conflicting number still joins its notice."""
    when = datetime(2026, 11, 27, tzinfo=UTC)
    store(
        db_url,
        [
            ("https://ads.example/v201506", "API v201506 sunset reminder", NOTICE.format(v="v201506", d="May 1"), when),
            ("https://ads.example/v201509", "API v201509 sunset reminder", NOTICE.format(v="v201509", d="May 1"), when),
            ("https://ads.example/copy", "Sunset of v201509 announced", NOTICE.format(v="v201509", d="May 1."), when),
        ],
    )
    assign_stories(db_url, WEEK)
    got = stories(db_url)
    assert got["v201506"] != got["v201509"] == got["copy"]


def test_long_templated_texts_are_still_judged_on_their_bodies() -> None:
    """The title rule is for short texts: a long text's hundreds of shingles speak for themselves."""
    from tasks.stories.minhash import StoryIndex

    long_text = " ".join([TEMPLATE.format(n=1, m=1), *distinct_paragraphs(19, 2, 120)])  # about 320 shingles
    index = StoryIndex()
    sig = signature(long_text)
    assert sig is not None
    index.add(1, sig, StoryFacts("Notice 1", None))
    assert index.nearest(sig, StoryFacts("Notice 2", None)) is not None


def test_a_later_run_joins_the_stories_of_earlier_runs(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test above assigned all its articles in one call, so the index's other half (the
    signatures of articles placed by earlier runs, loaded from the window) was never used: a copy
    stored in a later run must join the earlier article's story, and the earlier article's title
    and date must still keep other editions apart. Two articles a read, so the run reads thrice."""
    week_of = datetime(2026, 11, 27, tzinfo=UTC)
    notice, other_version = NOTICE.format(v="v201506", d="May 1"), NOTICE.format(v="v201509", d="May 1")
    edition = NOTICE.format(v="v201509", d="the first of the month")
    first = store(
        db_url,
        [
            ("https://ads.example/2016", "Annual reminder", edition, datetime(2016, 8, 1, tzinfo=UTC)),
            ("https://ads.example/v201506", "API v201506 sunset reminder", notice, week_of),
        ],
    )
    assert assign_stories(db_url, WEEK) == StoryReport(assigned=2, joined=0, indexed=0)
    monkeypatch.setattr(assign, "ARTICLES_PER_READ", 2)
    store(
        db_url,
        [
            ("https://ads.example/2017", "Annual reminder", edition + " Updated.", datetime(2017, 8, 1, tzinfo=UTC)),
            ("https://ads.example/v201509", "API v201509 sunset reminder", other_version, week_of),
            ("https://ads.example/copy", "Sunset of v201506 announced", notice + " Copied.", week_of),
            ("https://ads.example/short", "Short", "Too short to sign.", week_of),  # no signature
        ],
    )
    assert signature("Too short to sign.") is None
    report = assign_stories(db_url, WEEK)
    assert report == StoryReport(assigned=4, joined=1, indexed=2)
    got = stories(db_url)
    assert got["copy"] == got["v201506"] == first[1]  # joined the story of the earlier run
    assert got["2017"] not in (got["2016"], got["copy"])  # a year after the earlier edition
    assert got["v201509"] not in (got["v201506"], got["2017"])  # another version than the earlier notice
    assert len({got["short"], got["2017"], got["v201509"], got["2016"]}) == 4
    assert assign_stories(db_url, WEEK) == StoryReport()  # nothing left without a story
