"""Stories: one story told by five outlets is one story. Each new article joins the story of
its nearest near-duplicate among the articles of the last N days (MinHash + LSH, verified by
estimated similarity, publication dates within N days of each other and, for short texts,
titles that agree: tasks.stories.minhash), or starts a story of its own. Runs between storing and
matching, in one process, so matching can alert once per (topic, story)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import repository
from storage.clock import now_utc
from storage.db import storage_errors
from tasks.common.runlog import run_logger
from tasks.stories.minhash import StoryFacts, StoryIndex

ARTICLES_PER_READ = 500  # articles awaiting a story, read and assigned per round


@dataclass
class StoryReport:
    assigned: int = 0  # articles put in a story this run
    joined: int = 0  # of those, joined an existing story (near-duplicates of an earlier article)
    indexed: int = 0  # signatures loaded from the window


def assign_stories(db_url: str, window: timedelta) -> StoryReport:
    """Put every article that has no story yet into one. The index is rebuilt from the stored
    signatures of the window, so the cost grows with the window and the new articles, not
    with the archive; an article that lost the run (a crash) is picked up by the next."""
    report = StoryReport()
    batch = repository.articles_without_story(db_url, ARTICLES_PER_READ)
    if not batch:
        return report  # nothing new: the index (the window's signatures) is not even loaded
    # Two articles published (else fetched) further apart than the window are never one story: a
    # backfilled feed's 2016 and 2017 editions of one announcement were, fetched the same day.
    index = StoryIndex(window=window)  # keyed by article; story_of maps each to its story
    story_of: dict[int, int] = {}
    for article_id, story_id, stored, title, when in repository.story_signatures(db_url, now_utc() - window):
        index.add(article_id, stored, StoryFacts(title, when))
        story_of[article_id] = story_id
        report.indexed += 1
    while batch:
        assignments = []
        facts = repository.story_facts(db_url, [article_id for article_id, signature in batch if signature])
        for article_id, signature in batch:
            known = StoryFacts(*facts[article_id]) if signature else None
            nearest = index.nearest(signature, known) if signature else None
            story_id = story_of[nearest[0]] if nearest else article_id
            report.joined += nearest is not None
            if signature:
                index.add(article_id, signature, known)
                story_of[article_id] = story_id
            assignments.append((article_id, story_id))
        repository.set_stories(db_url, assignments)
        report.assigned += len(assignments)
        batch = repository.articles_without_story(db_url, ARTICLES_PER_READ)
    return report


@task(name="assign-stories", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
@storage_errors("assign-stories")
def stories_task(db_url: str, window_days: int) -> StoryReport:
    report = assign_stories(db_url, timedelta(days=window_days))
    run_logger().info(
        "stories: %d articles placed, %d joined an existing story (index of %d signatures)",
        report.assigned,
        report.joined,
        report.indexed,
    )
    return report
